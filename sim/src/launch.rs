//! The command line of a simulated run, shared by `mpisim run` and by users' own programs:
//! `fn main() { mpisim::launch::main(my_program) }` gives a program every flag of
//! `mpisim run`.

use crate::catalogue::Program;
use crate::comm::Comm;
use crate::error::SimError;
use crate::platform::Platform;
use crate::report::{self, Explored, RunHeader, EXIT_USAGE};
use crate::sched::Schedule;
use crate::trace::Trace;
use crate::world::{Simulation, Warning, World};
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

/// How `--trace FILE` writes the trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceFormat {
    /// mpisim's own JSON (versioned schema), with how the run ended: `mpisim view` opens it.
    Json,
    /// Chrome trace event JSON: opens in Perfetto and chrome://tracing.
    Chrome,
}

/// Shows a finished run before its report is printed: the terminal UI of the
/// `mpisim-tui` crate (`--tui`). The engine has no UI of its own.
pub type Viewer<'a> = &'a dyn Fn(&Trace, Option<&SimError>, &RunHeader, &RunOptions) -> Result<(), String>;

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
    /// `--algorithm COLL=NAME` (repeatable): collective algorithms instead of MPICH's choice.
    pub algorithms: crate::coll::Algorithms,
    /// `--dot FILE`: where to write the wait-for graph of a deadlock (Graphviz DOT).
    pub dot: Option<PathBuf>,
    /// `--explore N`: run up to N schedules, stopping at the first failure.
    pub explore: Option<usize>,
    /// `--replay TOKEN` (or `MPISIM_SEED=TOKEN`): the schedule to run.
    pub replay: Option<Schedule>,
    /// `--trace FILE`.
    pub trace: Option<PathBuf>,
    /// `--trace-format json|chrome`.
    pub trace_format: TraceFormat,
    /// `--tui`: show the run in the terminal UI, then print the report.
    pub tui: bool,
    /// `--mouse`: let the terminal UI take mouse clicks and the wheel.
    pub mouse: bool,
    /// `--real`: run on a real MPI library under an MPI launcher.
    pub real: bool,
    /// `--launcher NAME|PATH` of a real run (default: `MPISIM_LAUNCHER`, else the first of
    /// mpiexec, mpirun, srun on `PATH`).
    pub launcher: Option<String>,
    /// Arguments after `--`, passed to the launcher of a real run (a host file, …).
    pub launcher_args: Vec<String>,
    /// `--timeout SECONDS` of a real run: stop it then, and report it as hung.
    pub timeout: Option<std::time::Duration>,
    /// `--stack-size BYTES`: each rank's stack (default [`crate::DEFAULT_STACK_SIZE`]).
    pub stack_size: Option<usize>,
}

/// The flags every run takes, for help texts.
pub const RUN_FLAGS: &str = "\
  -n, --ranks N            number of ranks
  --platform NAME|FILE     a preset (default, smpi, mpich, openmpi, openmpi-tcp, zero, infinite) or a RON file
  --eager-limit BYTES      override the platform's eager limit (0: every send synchronous)
  --strict                 every standard send synchronous: exposes reliance on buffering
  --seed S                 seed of the run (default: MPISIM_SEED, else 0)
  --stack-size BYTES       each rank's stack (default 256KiB); raise it for deep recursion
  --format text|json       output format (default text)
  --trace FILE             save the trace (mpisim JSON; `mpisim view FILE` opens it)
  --algorithm COLL=NAME    run a collective with this algorithm instead of MPICH's choice (repeatable),
                           e.g. bcast=binomial, allreduce=ring; `mpisim list` names them
  --trace-format json|chrome
                           format of --trace: mpisim's JSON, or Chrome trace events for Perfetto
  --tui                    explore the run in the terminal UI, then print the report
  --mouse                  with --tui: clicks and the wheel select ranks, events and messages
  --dot FILE               on a deadlock, write its wait-for graph as Graphviz DOT (AND edges solid, OR dashed)
  --explore N              run up to N schedules (other ANY_SOURCE matches, waitany picks, timing jitter) and
                           stop at the first failure, printing a token that replays it
  --replay TOKEN           run the schedule a token names (also MPISIM_SEED=TOKEN)
  --real                   run on a real MPI library: re-executes under `mpiexec -n N` (needs the `mpi` feature)
  --launcher NAME|PATH     launcher of --real: mpiexec, mpirun, srun, … (default: MPISIM_LAUNCHER, else found on PATH)
  --timeout SECONDS        stop a --real run after this long and report it as hung
  -- ARGS…                 pass the rest to the launcher of --real (e.g. -- --hostfile hosts)";

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
            algorithms: crate::coll::Algorithms::default(),
            dot: None,
            explore: None,
            replay: None,
            real: false,
            launcher: None,
            launcher_args: Vec::new(),
            timeout: None,
            trace_format: TraceFormat::Json,
            tui: false,
            mouse: false,
            stack_size: None,
        }
    }
}

impl RunOptions {
    /// Parses run flags; flags it does not know are returned as `(name, value)` pairs for
    /// the program's own parameters (every such flag takes a value).
    pub fn parse(args: &[String]) -> Result<(RunOptions, Vec<(String, String)>), String> {
        let mut opts = RunOptions::default();
        if let Ok(seed) = std::env::var("MPISIM_SEED") {
            match (seed.parse(), seed.parse::<Schedule>()) {
                (Ok(n), _) => opts.seed = n,
                (_, Ok(token)) => opts.replay = Some(token),
                _ => {
                    return Err(format!(
                        "MPISIM_SEED=`{seed}` is neither a whole number (a seed) nor a schedule token (like j17)"
                    ))
                }
            }
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
                "--stack-size" => {
                    let v = value(flag)?;
                    let bytes = crate::catalogue::parse_bytes(&v)
                        .and_then(|b| usize::try_from(b).ok())
                        .filter(|&b| (16 * 1024..=1 << 30).contains(&b))
                        .ok_or_else(|| format!("--stack-size: `{v}` is not a stack size from 16KiB to 1GiB"))?;
                    opts.stack_size = Some(bytes);
                }
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
                "--algorithm" => {
                    let v = value(flag)?;
                    if v.contains('=') {
                        opts.algorithms.parse_and_set(&v).map_err(|e| format!("--algorithm: {e}"))?;
                    } else {
                        // `--algorithm NAME` is a parameter of the program (`coll` takes one).
                        rest.push(("algorithm".to_string(), v));
                    }
                }
                "--trace-format" => {
                    opts.trace_format = match value(flag)?.as_str() {
                        "json" => TraceFormat::Json,
                        "chrome" => TraceFormat::Chrome,
                        other => return Err(format!("--trace-format: `{other}` is not json or chrome")),
                    }
                }
                "--dot" => opts.dot = Some(PathBuf::from(value(flag)?)),
                "--explore" => {
                    let v = value(flag)?;
                    let n: usize = v
                        .parse()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or_else(|| format!("--explore: `{v}` is not a number of runs (1 or more)"))?;
                    opts.explore = Some(n);
                }
                "--replay" => {
                    opts.replay = Some(value(flag)?.parse::<Schedule>().map_err(|e| format!("--replay: {e}"))?)
                }
                "--tui" => opts.tui = true,
                "--mouse" => opts.mouse = true,
                "--real" => opts.real = true,
                "--launcher" => opts.launcher = Some(value(flag)?),
                "--timeout" => {
                    let v = value(flag)?;
                    let secs: f64 = v
                        .parse()
                        .ok()
                        .filter(|s: &f64| s.is_finite() && *s > 0.0)
                        .ok_or_else(|| format!("--timeout: `{v}` is not a number of seconds above 0"))?;
                    opts.timeout = Some(std::time::Duration::from_secs_f64(secs));
                }
                "--" => {
                    opts.launcher_args = it.by_ref().cloned().collect();
                }
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
        World::new(self.ranks.unwrap_or(default_ranks))
            .platform(platform)
            .seed(self.seed)
            .strict(self.strict)
            .algorithms(self.algorithms.clone())
            .schedule(self.replay.unwrap_or_default())
            .stack_size(self.stack_size.unwrap_or(crate::DEFAULT_STACK_SIZE))
            .check_buffering(true)
    }

    /// Simulates `program` as the options ask: one run, or with `--explore N` up to N
    /// schedules until one fails (that run is returned, and `header` says which).
    pub fn simulate<R, F: Fn(&Comm) -> R>(
        &self,
        default_ranks: usize,
        header: &mut RunHeader,
        program: F,
    ) -> Simulation<R> {
        let world = self.world(default_ranks);
        header.schedule = self.replay.unwrap_or_default();
        let Some(runs) = self.explore.filter(|_| self.replay.is_none()) else {
            return world.simulate(program);
        };
        let found = world.explore(runs, program);
        let (sim, failed) = match (found.failure, found.first) {
            (Some(f), _) => {
                header.schedule = f.schedule;
                (f.simulation, Some((f.run, f.schedule)))
            }
            (None, Some(first)) => (first, None),
            (None, None) => unreachable!("an exploration runs at least once"),
        };
        header.exploration = Some(Explored { runs: found.runs, failed });
        sim
    }

    /// Prints the run as the options ask, saves its trace, and returns the exit code.
    pub fn report<R: Serialize>(&self, sim: &Simulation<R>, header: &RunHeader) -> i32 {
        if let Some(path) = &self.trace {
            let text = match self.trace_format {
                TraceFormat::Json => sim.trace.to_json_with_outcome(sim.outcome.as_ref().err()),
                TraceFormat::Chrome => crate::chrome::to_string(&sim.trace),
            };
            if let Err(e) = std::fs::write(path, text) {
                eprintln!("error: cannot write the trace to {}: {e}", path.display());
                return EXIT_USAGE;
            }
        }
        if let Some(path) = &self.dot {
            let deadlock = match &sim.outcome {
                Err(SimError::Deadlock(d)) => Some(d),
                _ => sim.warnings.iter().find_map(|w| match w {
                    Warning::BufferingHazard { deadlock, .. } => Some(&**deadlock),
                    _ => None,
                }),
            };
            match deadlock {
                Some(d) => {
                    if let Err(e) = std::fs::write(path, d.dot()) {
                        eprintln!("error: cannot write the wait-for graph to {}: {e}", path.display());
                        return EXIT_USAGE;
                    }
                }
                None => eprintln!("note: no deadlock, so no wait-for graph was written to {}", path.display()),
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
    run_program_with(program, args, None)
}

/// [`run_program`] with a viewer for `--tui`; without one, `--tui` is a usage error.
pub fn run_program_with(program: &Program, args: &[String], viewer: Option<Viewer>) -> i32 {
    let prepared = RunOptions::parse(args).and_then(|(opts, rest)| {
        let params = program.params(rest.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        check_viewer(&opts, viewer)?;
        match opts.ranks {
            Some(n) if n < program.min_ranks => {
                Err(format!("program `{}` needs at least {} ranks; -n {n} was given", program.name, program.min_ranks))
            }
            _ => Ok((opts, params)),
        }
    });
    match prepared {
        Ok((opts, params)) => {
            let mut header =
                RunHeader { program: program.name.to_string(), params: params.describe(), ..Default::default() };
            let run = |comm: &Comm| (program.run)(comm, &params);
            if let Some(code) = crate::real::intercept(&opts, &header, program.default_ranks, program.min_ranks, run) {
                return code;
            }
            let sim = opts.simulate(program.default_ranks, &mut header, run);
            finish(&opts, &sim, &header, viewer)
        }
        Err(e) => {
            eprintln!(
                "error: {e}\n(`mpisim help` lists the flags of a run; `mpisim list` the programs and their parameters)"
            );
            EXIT_USAGE
        }
    }
}

/// `--tui` needs a viewer: the engine has none.
pub(crate) fn check_viewer(opts: &RunOptions, viewer: Option<Viewer>) -> Result<(), String> {
    if opts.tui && viewer.is_none() {
        return Err("--tui: this program has no terminal UI; call mpisim_tui::main(program) from the mpisim-tui \
                    crate in its main, or save the trace with --trace FILE and open it with `mpisim view FILE`"
            .into());
    }
    Ok(())
}

/// Shows the run if `--tui` asked for it, then prints the report; returns the exit code.
pub(crate) fn finish<R: Serialize>(
    opts: &RunOptions,
    sim: &Simulation<R>,
    header: &RunHeader,
    viewer: Option<Viewer>,
) -> i32 {
    if let (true, Some(view)) = (opts.tui, viewer) {
        if let Err(e) = view(&sim.trace, sim.outcome.as_ref().err(), header, opts) {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    }
    opts.report(sim, header)
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
    main_with(program, None)
}

/// [`main`] with a viewer for `--tui` (see `mpisim_tui::main`).
pub fn main_with<R: Serialize, F: Fn(&Comm) -> R>(program: F, viewer: Option<Viewer>) -> ! {
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
    if let Err(e) = check_viewer(&opts, viewer) {
        usage_exit(&e, &name);
    }
    let mut header = RunHeader { program: name, ..Default::default() };
    if let Some(code) = crate::real::intercept(&opts, &header, 4, 1, &program) {
        std::process::exit(code);
    }
    let sim = opts.simulate(4, &mut header, program);
    std::process::exit(finish(&opts, &sim, &header, viewer))
}

fn usage_exit(message: &str, name: &str) -> ! {
    eprintln!("error: {message}\n\nusage: {name} [-n N] [flags]\n\n{RUN_FLAGS}");
    std::process::exit(EXIT_USAGE)
}
