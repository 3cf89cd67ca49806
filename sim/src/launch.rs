//! The command line of a simulated run, shared by `mpisim run` and by users' own programs:
//! `fn main() { mpisim::launch::main(my_program) }` gives a program every flag of
//! `mpisim run`.

use crate::catalogue::Program;
use crate::comm::Comm;
use crate::platform::Platform;
use crate::report::{self, RunHeader, EXIT_USAGE};
use crate::world::{Simulation, World};
use serde::Serialize;
use std::path::PathBuf;

/// Output format of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON object.
    Json,
}

/// The flags of a simulated run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Number of ranks (`-n`).
    pub ranks: Option<usize>,
    /// `--platform NAME|FILE`.
    pub platform: Platform,
    /// `--eager-limit BYTES`.
    pub eager_limit: Option<u64>,
    /// `--strict`.
    pub strict: bool,
    /// `--seed S` (or `MPISIM_SEED`).
    pub seed: u64,
    /// `--format text|json`.
    pub format: Format,
    /// `--trace FILE`.
    pub trace: Option<PathBuf>,
}

/// The flags every run takes, for help texts.
pub const RUN_FLAGS: &str = "\
  -n, --ranks N            number of ranks
  --platform NAME|FILE     a preset (default, smpi, mpich, openmpi, openmpi-tcp, zero, infinite) or a RON file
  --eager-limit BYTES      override the platform's eager limit (0: every send synchronous)
  --strict                 every standard send synchronous: exposes reliance on buffering
  --seed S                 seed of the run (default: MPISIM_SEED, else 0)
  --format text|json       output format (default text)
  --trace FILE             save the trace as JSON";

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            ranks: None,
            platform: Platform::default(),
            eager_limit: None,
            strict: false,
            seed: 0,
            format: Format::Text,
            trace: None,
        }
    }
}

impl RunOptions {
    /// Parses run flags; flags it does not know are returned as `(name, value)` pairs for
    /// the program's own parameters (every such flag takes a value).
    pub fn parse(args: &[String]) -> Result<(RunOptions, Vec<(String, String)>), String> {
        let mut opts = RunOptions::default();
        if let Ok(seed) = std::env::var("MPISIM_SEED") {
            opts.seed = seed.parse().map_err(|_| format!("MPISIM_SEED=`{seed}` is not a whole number"))?;
        }
        let mut rest = Vec::new();
        let mut it = args.iter().peekable();
        while let Some(arg) = it.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with('-') => (f, Some(v.to_string())),
                _ => (arg.as_str(), None),
            };
            let mut value = |name: &str| -> Result<String, String> {
                inline.clone().or_else(|| it.next().cloned()).ok_or_else(|| format!("{name} needs a value"))
            };
            match flag {
                "-n" | "--ranks" | "-np" => {
                    let v = value(flag)?;
                    let n: usize = v.parse().map_err(|_| format!("{flag}: `{v}` is not a number of ranks"))?;
                    if n == 0 {
                        return Err(format!("{flag}: a run needs at least 1 rank"));
                    }
                    opts.ranks = Some(n);
                }
                "--platform" => opts.platform = Platform::resolve(&value(flag)?).map_err(|e| e.to_string())?,
                "--eager-limit" => {
                    let v = value(flag)?;
                    opts.eager_limit = Some(
                        crate::catalogue::parse_bytes(&v)
                            .ok_or_else(|| format!("--eager-limit: `{v}` is not a byte count (try 0, 4096, 64KiB)"))?,
                    );
                }
                "--strict" => opts.strict = true,
                "--seed" => {
                    let v = value(flag)?;
                    opts.seed = v.parse().map_err(|_| format!("--seed: `{v}` is not a whole number"))?;
                }
                "--format" => {
                    opts.format = match value(flag)?.as_str() {
                        "text" => Format::Text,
                        "json" => Format::Json,
                        other => return Err(format!("--format: `{other}` is not text or json")),
                    }
                }
                "--trace" => opts.trace = Some(PathBuf::from(value(flag)?)),
                f if f.starts_with("--") && f.len() > 2 => {
                    let name = f.trim_start_matches("--").to_string();
                    rest.push((name, value(f)?));
                }
                other => return Err(format!("unexpected argument `{other}`")),
            }
        }
        Ok((opts, rest))
    }

    /// The world these options describe, with `default_ranks` if `-n` was not given.
    pub fn world(&self, default_ranks: usize) -> World {
        let mut platform = self.platform.clone();
        if let Some(limit) = self.eager_limit {
            platform.eager_limit = limit;
        }
        World::new(self.ranks.unwrap_or(default_ranks)).platform(platform).seed(self.seed).strict(self.strict)
    }

    /// Prints the run as the options ask, saves its trace, and returns the exit code.
    pub fn report<R: Serialize>(&self, sim: &Simulation<R>, header: &RunHeader) -> i32 {
        if let Some(path) = &self.trace {
            if let Err(e) = std::fs::write(path, sim.trace.to_json()) {
                eprintln!("error: cannot write the trace to {}: {e}", path.display());
                return EXIT_USAGE;
            }
        }
        let text = match self.format {
            Format::Text => report::text(sim, header),
            Format::Json => format!("{}\n", report::json(sim, header)),
        };
        emit(&text);
        report::exit_code(sim)
    }
}

/// Writes to standard output; a closed pipe (`| head`) is not an error worth a panic.
pub fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
}

/// Runs a catalogue program with its parameters and the run flags from `args`, prints the
/// report, and returns the exit code (usage errors are printed to standard error).
pub fn run_program(program: &Program, args: &[String]) -> i32 {
    let prepared = RunOptions::parse(args).and_then(|(opts, rest)| {
        let params = program.params(rest.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        match opts.ranks {
            Some(n) if n < program.min_ranks => {
                Err(format!("program `{}` needs at least {} ranks; -n {n} was given", program.name, program.min_ranks))
            }
            _ => Ok((opts, params)),
        }
    });
    match prepared {
        Ok((opts, params)) => {
            let sim = opts.world(program.default_ranks).simulate(|comm| (program.run)(comm, &params));
            opts.report(&sim, &RunHeader { program: program.name.to_string(), params: params.describe() })
        }
        Err(e) => {
            eprintln!("error: {e}\n(flags of a run:\n{RUN_FLAGS})");
            EXIT_USAGE
        }
    }
}

/// `main` of an example: runs the named catalogue program with the process's arguments.
pub fn catalogue_main(name: &str) -> ! {
    let program = crate::catalogue::find(name).unwrap_or_else(|| panic!("`{name}` is not in the catalogue"));
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(run_program(program, &args))
}

/// Runs a user's program with the flags of `mpisim run` taken from the process's
/// arguments, prints the report, and exits with its code.
///
/// ```no_run
/// mpisim::launch::main(|comm| comm.rank() * 2)
/// ```
pub fn main<R: Serialize, F: Fn(&Comm) -> R>(program: F) -> ! {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = std::env::args().next().map_or("program".into(), |a| {
        std::path::Path::new(&a).file_name().map_or(a.clone(), |f| f.to_string_lossy().into_owned())
    });
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("usage: {name} [-n N] [flags]\n\n{RUN_FLAGS}");
        std::process::exit(0);
    }
    let opts = match RunOptions::parse(&args) {
        Ok((opts, rest)) if rest.is_empty() => opts,
        Ok((_, rest)) => usage_exit(&format!("unknown flag --{}", rest[0].0), &name),
        Err(e) => usage_exit(&e, &name),
    };
    let sim = opts.world(4).simulate(program);
    std::process::exit(opts.report(&sim, &RunHeader { program: name, params: Vec::new() }))
}

fn usage_exit(message: &str, name: &str) -> ! {
    eprintln!("error: {message}\n\nusage: {name} [-n N] [flags]\n\n{RUN_FLAGS}");
    std::process::exit(EXIT_USAGE)
}
