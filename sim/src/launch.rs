//! The command line of a simulated run, shared by `mpisim run` and by users' own programs:
//! `fn main() { mpisim::launch::main(my_program) }` gives a program every flag of
//! `mpisim run`.

use crate::catalogue::Program;
pub use crate::catalogue::{Param, ParamKind, Params};
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
pub type Viewer<'a> = &'a dyn Fn(&Trace, Option<&SimError>, &[Warning], &RunHeader, &RunOptions) -> Result<(), String>;

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
    /// `--time-limit DURATION`: the run's virtual-time limit (default an hour).
    pub time_limit: Option<crate::Time>,
    /// `--step-limit N`: the run's limit of engine steps.
    pub step_limit: Option<u64>,
    /// `--trace-limit EVENTS`: the trace keeps at most this many events.
    pub trace_limit: Option<usize>,
    /// `--wall-limit SECONDS`: the longest a rank may run its own code between two calls
    /// before the run is stopped (default [`DEFAULT_WALL_LIMIT`]; `0` turns it off).
    pub wall_limit: Option<std::time::Duration>,
    /// Keep the run's whole trace in memory although neither `--trace` nor `--tui` asks for
    /// it: lessons and graders query it. Without any of the three, no trace is recorded
    /// (a 4,096-rank run would otherwise hold hundreds of megabytes nobody reads).
    pub record_trace: bool,
}

/// The flags every run takes, for help texts.
pub const RUN_FLAGS: &str = "  -n, --ranks N            number of ranks
  --platform NAME|FILE     a preset (default, smpi, mpich, openmpi, openmpi-tcp, zero, infinite, ideal) or a RON file
  --eager-limit BYTES      override the platform's eager limit (0: every send synchronous)
  --strict                 every standard send synchronous: exposes reliance on buffering
  --seed S                 seed of the run (default: MPISIM_SEED, else 0)
  --stack-size BYTES       each rank's stack (default 256KiB); raise it for deep recursion
  --time-limit DURATION    stop the run at this virtual time (default 1h; 10s, 500ms, 20us work)
  --step-limit N           stop the run after N engine steps (default 4294967296)
  --trace-limit EVENTS     keep at most this many events in the trace (default 8000000)
  --wall-limit SECONDS     stop a rank that runs its own code this long between calls (default 60; 0: never)
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
            time_limit: None,
            step_limit: None,
            trace_limit: None,
            wall_limit: Some(DEFAULT_WALL_LIMIT),
            record_trace: false,
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
        let rest = opts.parse_flags(args)?;
        Ok((opts, rest))
    }

    /// Sets the flags in `args`; returns the `(name, value)` pairs it does not know.
    fn parse_flags(&mut self, args: &[String]) -> Result<Vec<(String, String)>, String> {
        let opts = self;
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
                "--time-limit" => {
                    let v = value(flag)?;
                    opts.time_limit = Some(parse_duration(&v).ok_or_else(|| {
                        format!("--time-limit: `{v}` is not a virtual time (try 10s, 500ms, 20us, 1h)")
                    })?);
                }
                "--step-limit" => {
                    let v = value(flag)?;
                    opts.step_limit = Some(
                        v.parse()
                            .ok()
                            .filter(|&n: &u64| n > 0)
                            .ok_or_else(|| format!("--step-limit: `{v}` is not a number of steps (1 or more)"))?,
                    );
                }
                "--trace-limit" => {
                    let v = value(flag)?;
                    opts.trace_limit =
                        Some(v.parse().map_err(|_| format!("--trace-limit: `{v}` is not a number of events"))?);
                }
                "--wall-limit" => {
                    let v = value(flag)?;
                    let secs: f64 =
                        v.parse().ok().filter(|s: &f64| s.is_finite() && *s >= 0.0).ok_or_else(|| {
                            format!("--wall-limit: `{v}` is not a number of seconds (0 turns it off)")
                        })?;
                    opts.wall_limit = (secs > 0.0).then(|| std::time::Duration::from_secs_f64(secs));
                }
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
        Ok(rest)
    }

    /// Whether `--NAME` is a flag of every run, so that a program's parameter may not be
    /// called NAME: asks the parser itself rather than keeping a second list of flags.
    fn is_flag(name: &str) -> bool {
        let probe = [format!("--{name}"), "0".to_string()];
        name == "help" || !matches!(RunOptions::default().parse_flags(&probe), Ok(rest) if rest.len() == 1)
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
            .time_limit(self.time_limit.unwrap_or(crate::DEFAULT_TIME_LIMIT))
            .step_limit(self.step_limit.unwrap_or(crate::DEFAULT_STEP_LIMIT))
            .trace_limit(self.trace_limit.unwrap_or(crate::DEFAULT_TRACE_LIMIT))
            .record_trace(self.record_trace || self.trace.is_some() || self.tui)
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
        let world = self.world(default_ranks).describe(&header.program, &header.params);
        let format = self.format;
        let _watchdog = self.wall_limit.map(|limit| {
            crate::watchdog::Watchdog::start(limit, move |stuck| {
                match format {
                    Format::Text => eprintln!("error: {stuck}"),
                    Format::Json => {
                        let json = serde_json::json!({"outcome": "error", "error": {"kind": "wall_limit", "message": stuck.to_string(), "rank": stuck.rank}});
                        emit(&format!("{json}\n"));
                    }
                }
                std::process::exit(report::EXIT_PROGRAM_ERROR)
            })
        });
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
        header.exploration = Some(Explored { runs: found.runs, limit: runs, failed });
        sim
    }

    /// Prints the run as the options ask, saves its trace, and returns the exit code.
    pub fn report<R: Serialize>(&self, sim: &Simulation<R>, header: &RunHeader) -> i32 {
        if let Some(path) = &self.trace {
            let text = match self.trace_format {
                TraceFormat::Json => sim.trace.to_json_with_outcome(sim.outcome.as_ref().err(), &sim.warnings),
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

/// How long a rank may run its own code between two calls before a run is stopped.
pub const DEFAULT_WALL_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// A virtual duration: `10s`, `500ms`, `20us` (or `µs`), `7ns`, `2m`, `1h`; a bare number is
/// seconds.
pub fn parse_duration(text: &str) -> Option<crate::Time> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().ok().filter(|v: &f64| v.is_finite() && *v >= 0.0)?;
    let ns_per = match unit.trim() {
        "" | "s" => 1e9,
        "ms" => 1e6,
        "us" | "µs" => 1e3,
        "ns" => 1.0,
        "m" | "min" => 60e9,
        "h" => 3600e9,
        _ => return None,
    };
    let ns = value * ns_per;
    (ns <= u64::MAX as f64).then(|| crate::Time(ns.round() as u64))
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
    let prepared = prepare(program, args).and_then(|(opts, params)| {
        check_viewer(&opts, viewer)?;
        Ok((opts, params))
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

/// Why `--tui` is refused when no viewer is linked in.
const NO_VIEWER: &str = "--tui: this program has no terminal UI; call mpisim_tui::main(program) from the mpisim-tui \
                         crate in its main, or save the trace with --trace FILE and open it with `mpisim view FILE`";

/// Parses a catalogue program's arguments: the run flags and the program's parameters.
pub fn prepare(program: &Program, args: &[String]) -> Result<(RunOptions, Params), String> {
    let (opts, rest) = RunOptions::parse(args)?;
    let params = program.params(rest.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    match opts.ranks {
        Some(n) if n < program.min_ranks => {
            Err(format!("program `{}` needs at least {} ranks; -n {n} was given", program.name, program.min_ranks))
        }
        _ => Ok((opts, params)),
    }
}

/// Simulates a catalogue program as `mpisim run` would with these arguments, without
/// printing: what a grader runs in-process as an exercise's reference.
pub fn simulate_catalogue(
    program: &Program,
    args: &[String],
) -> Result<(Simulation<serde_json::Value>, RunHeader), String> {
    let (mut opts, params) = prepare(program, args)?;
    // In-process runs are for tests and viewers: they keep the trace, as simulate_program's do.
    opts.record_trace = true;
    let mut header = RunHeader { program: program.name.to_string(), params: params.describe(), ..Default::default() };
    let sim = opts.simulate(program.default_ranks, &mut header, |comm: &Comm| (program.run)(comm, &params));
    Ok((sim, header))
}

/// `--tui` needs a viewer: the engine has none.
pub(crate) fn check_viewer(opts: &RunOptions, viewer: Option<Viewer>) -> Result<(), String> {
    if opts.tui && viewer.is_none() {
        return Err(NO_VIEWER.into());
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
        if let Err(e) = view(&sim.trace, sim.outcome.as_ref().err(), &sim.warnings, header, opts) {
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
    main_with_params_viewer(&[], move |comm: &Comm, _: &Params| program(comm), viewer)
}

/// [`main`] for a program that takes its own parameters, declared as catalogue programs
/// declare theirs: typed, with a default, a range and a help line. `--help` lists them; a
/// value that does not parse or is out of range is a usage error naming the parameter.
///
/// ```no_run
/// use mpisim::launch::{self, Param};
///
/// const PARAMS: &[Param] = &[
///     Param::bytes("bytes", "8", "size of each message").range(1, 1 << 30),
///     Param::count("rounds", "3", "times round the ring").range(1, 1000),
/// ];
///
/// fn main() {
///     launch::main_with_params(PARAMS, |comm, params| {
///         let (bytes, rounds) = (params.number("bytes"), params.number("rounds"));
///         comm.rank() as u64 * bytes * rounds
///     })
/// }
/// ```
pub fn main_with_params<R: Serialize, F: Fn(&Comm, &Params) -> R>(params: &[Param], program: F) -> ! {
    main_with_params_viewer(params, program, None)
}

/// [`main_with_params`] with a viewer for `--tui` (see `mpisim_tui::main_with_params`).
pub fn main_with_params_viewer<R: Serialize, F: Fn(&Comm, &Params) -> R>(
    declared: &[Param],
    program: F,
    viewer: Option<Viewer>,
) -> ! {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = std::env::args().next().map_or("program".into(), |a| {
        std::path::Path::new(&a).file_name().map_or(a.clone(), |f| f.to_string_lossy().into_owned())
    });
    let invocation = match Invocation::parse(&name, declared, &args, viewer.is_some()) {
        Ok(invocation) => invocation,
        Err(Usage::Help(text)) => {
            emit(&text);
            std::process::exit(0)
        }
        Err(Usage::Error(message)) => {
            eprintln!("error: {message}\n(see `{name} --help` for its parameters and flags)");
            std::process::exit(EXIT_USAGE)
        }
    };
    let mut header = invocation.header(&name);
    let run = |comm: &Comm| program(comm, &invocation.params);
    if let Some(code) = crate::real::intercept(&invocation.opts, &header, DEFAULT_RANKS, 1, run) {
        std::process::exit(code);
    }
    let sim = invocation.opts.simulate(DEFAULT_RANKS, &mut header, run);
    std::process::exit(finish(&invocation.opts, &sim, &header, viewer))
}

/// Ranks of a user's program run without `-n`.
pub const DEFAULT_RANKS: usize = 4;

/// A user's program's command line, parsed: the run flags and the program's own parameters.
#[derive(Clone, Debug)]
pub struct Invocation {
    /// The flags of the run.
    pub opts: RunOptions,
    /// The program's parameters, defaults filled in.
    pub params: Params,
}

/// Why a command line does not describe a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Usage {
    /// `-h` or `--help`: the help text to print (and exit 0).
    Help(String),
    /// A usage error: one line naming the flag or parameter and what it accepts.
    Error(String),
}

impl Invocation {
    /// Parses the arguments of program `name`, which declares `declared`; `viewer` says
    /// whether `--tui` is available (and so offered by the help).
    pub fn parse(name: &str, declared: &[Param], args: &[String], viewer: bool) -> Result<Invocation, Usage> {
        if args.iter().any(|a| a == "-h" || a == "--help") {
            return Err(Usage::Help(help(name, declared, viewer)));
        }
        if let Some(p) = declared.iter().find(|p| RunOptions::is_flag(p.name)) {
            return Err(Usage::Error(format!(
                "the program declares a parameter --{}, which is a flag of every run; give it another name",
                p.name
            )));
        }
        let (opts, rest) = RunOptions::parse(args).map_err(Usage::Error)?;
        let params =
            Params::parse(name, declared, rest.iter().map(|(k, v)| (k.as_str(), v.as_str()))).map_err(Usage::Error)?;
        if opts.tui && !viewer {
            return Err(Usage::Error(NO_VIEWER.into()));
        }
        Ok(Invocation { opts, params })
    }

    /// The header of the run's report: the program's name and its parameters.
    pub fn header(&self, name: &str) -> RunHeader {
        RunHeader { program: name.to_string(), params: self.params.describe(), ..Default::default() }
    }
}

/// Simulates a user's program as its binary would with these arguments, without printing
/// or exiting: what a grader runs in-process. `--tui`, `--real` and `--help` are usage
/// errors here.
pub fn simulate_program<R: Serialize, F: Fn(&Comm, &Params) -> R>(
    name: &str,
    declared: &[Param],
    program: F,
    args: &[String],
) -> Result<(Simulation<R>, RunHeader), String> {
    let mut invocation = match Invocation::parse(name, declared, args, false) {
        Ok(invocation) => invocation,
        Err(Usage::Help(_)) => return Err("--help: an in-process run prints no help".into()),
        Err(Usage::Error(e)) => return Err(e),
    };
    if invocation.opts.real {
        return Err("--real: an in-process run is simulated".into());
    }
    let mut header = invocation.header(name);
    invocation.opts.record_trace = true;
    let sim = invocation.opts.simulate(DEFAULT_RANKS, &mut header, |comm: &Comm| program(comm, &invocation.params));
    Ok((sim, header))
}

/// The help of a user's program: its usage, its parameters, and the run flags (`--tui`
/// and `--mouse` only when a viewer is linked in).
pub fn help(name: &str, declared: &[Param], viewer: bool) -> String {
    let mut out = format!("usage: {name} [-n N]");
    if !declared.is_empty() {
        out += " [--PARAM VALUE ...]";
    }
    out += " [flags]\n";
    if !declared.is_empty() {
        out += "\nparameters:\n";
        let width = declared.iter().map(|p| p.usage().chars().count()).max().unwrap_or(0);
        for p in declared {
            out += &format!("  {:<width$}  {}\n", p.usage(), p.description());
        }
    }
    out += &format!("\nflags of a run (default {DEFAULT_RANKS} ranks):\n{}\n", run_flags(viewer));
    out
}

/// [`RUN_FLAGS`], without `--tui` and `--mouse` when no viewer is linked in.
pub fn run_flags(viewer: bool) -> String {
    RUN_FLAGS
        .lines()
        .filter(|line| viewer || !(line.starts_with("  --tui ") || line.starts_with("  --mouse ")))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DECLARED: &[Param] = &[
        Param::bytes("bytes", "8", "message size").range(1, 1 << 30),
        Param::count("rounds", "3", "times round").range(1, 10),
        Param::choice("order", &["naive", "parity"], "naive", "call order"),
    ];

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    /// Parses `line` as program `prog`'s arguments and describes the outcome in one line:
    /// the parameters, or the usage error.
    #[track_caller]
    fn check(line: &str, expected: &str) {
        let seen = match Invocation::parse("prog", DECLARED, &args(line), false) {
            Ok(inv) => format!("{:?} n={:?} strict={}", inv.params.describe(), inv.opts.ranks, inv.opts.strict),
            Err(Usage::Error(e)) => format!("error: {e}"),
            Err(Usage::Help(_)) => "help".into(),
        };
        assert_eq!(seen, expected, "for `{line}`");
    }

    #[test]
    fn a_programs_own_parameters_parse_beside_the_run_flags() {
        check("", r#"[("bytes", "8"), ("order", "naive"), ("rounds", "3")] n=None strict=false"#);
        check(
            "-n 6 --bytes 1MiB --strict --order=parity",
            r#"[("bytes", "1048576"), ("order", "parity"), ("rounds", "3")] n=Some(6) strict=true"#,
        );
        check("--rounds 11", "error: prog --rounds: 11 is outside the range 1 to 10");
        check("--bytes 0", "error: prog --bytes: 0 is outside the range 1 B to 1 GiB");
        check("--bytes 2GiB", "error: prog --bytes: 2GiB is outside the range 1 B to 1 GiB");
        check("--rounds many", "error: prog --rounds: `many` is not a whole number");
        check("--colour red", "error: program `prog` has no parameter --colour; it takes --bytes, --rounds, --order");
        check("--order sideways", "error: prog --order: `sideways` is not one of naive, parity");
        check("--tui", &format!("error: {NO_VIEWER}"));
        check("-n 4 --help", "help");
    }

    #[test]
    fn a_parameter_may_not_shadow_a_run_flag() {
        for name in ["strict", "seed", "platform", "format", "help", "trace"] {
            let declared = [Param::count(name, "0", "shadows a flag")];
            let Err(Usage::Error(e)) = Invocation::parse("prog", &declared, &[], false) else {
                panic!("--{name} was accepted as a parameter");
            };
            assert!(e.contains(&format!("--{name}, which is a flag of every run")), "{e}");
        }
        let declared = [Param::count("algorithm", "0", "coll's own"), Param::count("n-items", "0", "fine")];
        assert!(Invocation::parse("prog", &declared, &[], false).is_ok());
    }

    #[test]
    fn a_wrong_default_is_an_error_in_the_declaration() {
        let declared = [Param::count("rounds", "0", "times round").range(1, 10)];
        let Err(Usage::Error(e)) = Invocation::parse("prog", &declared, &[], false) else { panic!("accepted") };
        assert_eq!(
            e,
            "prog --rounds: 0 is outside the range 1 to 10 (the default in the declaration of --rounds is wrong)"
        );
    }

    #[test]
    fn help_lists_the_parameters_and_offers_the_viewer_only_when_linked_in() {
        let text = help("prog", DECLARED, false);
        assert!(text.starts_with("usage: prog [-n N] [--PARAM VALUE ...] [flags]\n\nparameters:\n"), "{text}");
        assert!(text.contains("  --bytes BYTES         message size (default 8; 1 B to 1 GiB)\n"), "{text}");
        assert!(text.contains("  --order naive|parity  call order (default naive)\n"), "{text}");
        assert!(text.contains("\n  -n, --ranks N "), "{text}");
        assert!(!text.contains("--tui") && !text.contains("--mouse"), "{text}");
        let with_viewer = help("prog", DECLARED, true);
        assert!(with_viewer.contains("\n  --tui ") && with_viewer.contains("\n  --mouse "), "{with_viewer}");
        assert!(!help("prog", &[], false).contains("parameters:"));
    }

    #[test]
    fn an_in_process_run_is_the_binarys_run() {
        let program = |comm: &Comm, p: &Params| comm.rank() as u64 * p.number("rounds");
        let (sim, header) = simulate_program("prog", DECLARED, program, &args("-n 3 --rounds 5")).unwrap();
        assert_eq!(sim.outcome.unwrap(), vec![0, 5, 10]);
        assert_eq!(header.program, "prog");
        assert!(header.params.contains(&("rounds".to_string(), "5".to_string())));
        let e = simulate_program("prog", DECLARED, program, &args("--rounds 0")).unwrap_err();
        assert_eq!(e, "prog --rounds: 0 is outside the range 1 to 10");
    }
}
