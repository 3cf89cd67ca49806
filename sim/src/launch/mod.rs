//! The command line of a simulated run, shared by `mpisim run` and by users' own programs:
//! `fn main() { mpisim::launch::main(my_program) }` gives a program every flag of
//! `mpisim run`. The flags are one table (`flags.rs`); what they do not claim are the
//! program's own parameters; the output files are opened before the run (`outputs.rs`).

mod flags;
mod outputs;
mod progress;

pub use crate::catalogue::{Param, ParamArg, ParamError, ParamKind, Params};
pub use flags::{
    parse_duration, run_flags, usage_json, Flag, FlagSpec, Format, RunOptions, TraceFormat, UsageError,
    DEFAULT_WALL_LIMIT, FLAGS,
};
pub use outputs::{Output, OutputError, Outputs};

use crate::catalogue::Program;
use crate::comm::Comm;
use crate::error::SimError;
use crate::report::{self, Explored, RunHeader, EXIT_USAGE};
use crate::trace::Trace;
use crate::world::{Simulation, Warning, World};
use serde::Serialize;

/// Shows a finished run before its report is printed: the terminal UI of the
/// `mpisim-tui` crate (`--tui`). The engine has no UI of its own.
pub type Viewer<'a> = &'a dyn Fn(&Trace, Option<&SimError>, &[Warning], &RunHeader, &RunOptions) -> Result<(), String>;

impl RunOptions {
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

    /// Simulates `program` as the options ask on their world (see [`RunOptions::world`]).
    pub fn simulate<R, F: Fn(&Comm) -> R>(
        &self,
        default_ranks: usize,
        header: &mut RunHeader,
        program: F,
    ) -> Simulation<R> {
        self.simulate_on(self.world(default_ranks), header, program)
    }

    /// Simulates `program` on `world` as the options ask: one run, or with `--explore N`
    /// up to N schedules until one fails (that run is returned, and `header` says which).
    pub fn simulate_on<R, F: Fn(&Comm) -> R>(&self, world: World, header: &mut RunHeader, program: F) -> Simulation<R> {
        let world = world.describe(&header.program, &header.params);
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
        let found = {
            let watch = progress::ExploreWatch::start(runs);
            world.explore_watched(runs, program, &mut |done| watch.ran(done))
        };
        let (sim, failed) = match (found.failure, found.first) {
            (Some(f), _) => {
                header.schedule = f.schedule;
                (f.simulation, Some((f.run, f.schedule)))
            }
            (None, Some(first)) => (first, None),
            (None, None) => unreachable!("an exploration runs at least once"),
        };
        header.exploration = Some(Explored { runs: found.runs, limit: runs, failed, interrupted: found.stopped });
        sim
    }

    /// Opens the files the run will write (`--trace`, `--dot`): before the run, so that a
    /// path that cannot be written costs nothing.
    pub fn outputs(&self) -> Result<Outputs, UsageError> {
        Outputs::open(self.trace.as_deref(), self.dot.as_deref())
    }

    /// Saves the run's trace and wait-for graph into `outputs`, prints the report as the
    /// options ask (always, even if a file could not be written), and returns the exit
    /// code: the run's, or a usage error's if a file could not be written after a run
    /// that completed.
    pub fn report<R: Serialize>(&self, sim: &Simulation<R>, header: &RunHeader, mut outputs: Outputs) -> i32 {
        let mut failed = Vec::new();
        if let Some(out) = &mut outputs.trace {
            let text = match self.trace_format {
                TraceFormat::Json => sim.trace.to_json_with_outcome(sim.outcome.as_ref().err(), &sim.warnings),
                TraceFormat::Chrome => crate::chrome::to_string(&sim.trace),
            };
            failed.extend(out.write(&text).err());
        }
        if let Some(out) = &mut outputs.dot {
            let deadlock = match &sim.outcome {
                Err(SimError::Deadlock(d)) => Some(d),
                _ => sim.warnings.iter().find_map(|w| match w {
                    Warning::BufferingHazard { deadlock, .. } => Some(&**deadlock),
                    _ => None,
                }),
            };
            match deadlock {
                Some(d) => failed.extend(out.write(&d.dot()).err()),
                None => eprintln!("note: no deadlock, so no wait-for graph was written to {}", out.path().display()),
            }
        }
        let text = match self.format {
            Format::Text => report::text(sim, header),
            Format::Json => format!("{}\n", report::json(sim, header)),
        };
        emit(&text);
        for e in &failed {
            eprintln!("error: {e}");
        }
        let mut code = report::exit_code(sim);
        if header.exploration.is_some_and(|e| e.interrupted) {
            code = code.max(report::EXIT_INTERRUPTED);
        }
        if failed.is_empty() {
            code
        } else {
            code.max(EXIT_USAGE)
        }
    }
}

/// Writes to standard output; a closed pipe (`| head`) is not an error worth a panic.
pub fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
}

/// Prints a usage error as `args` ask: one JSON object on standard output under
/// `--format json`, else a line on standard error and `hint` (where to look for help).
/// Returns the exit code of a usage error.
pub fn usage_error(error: &UsageError, args: &[String], hint: &str) -> i32 {
    match Format::requested(args) {
        Format::Json => emit(&format!("{}\n", error.to_json())),
        Format::Text => eprintln!("error: {error}\n({hint})"),
    }
    EXIT_USAGE
}

/// Whether `args` ask for help (before any `--`).
fn asks_help(args: &[String]) -> bool {
    args.iter().take_while(|a| *a != "--").any(|a| a == "-h" || a == "--help")
}

/// Runs a catalogue program with its parameters and the run flags from `args`, prints the
/// report, and returns the exit code (usage errors are printed to standard error).
pub fn run_program(program: &Program, args: &[String]) -> i32 {
    run_program_with(program, args, None)
}

/// [`run_program`] with a viewer for `--tui`; without one, `--tui` is a usage error.
pub fn run_program_with(program: &Program, args: &[String], viewer: Option<Viewer>) -> i32 {
    if asks_help(args) {
        let name = format!("mpisim run {}", program.name);
        emit(&help_of(&name, program.params, viewer.is_some(), program.default_ranks));
        return 0;
    }
    let prepared = prepare(program, args).and_then(|(opts, params)| {
        check_viewer(&opts, viewer)?;
        let outputs = opts.outputs()?;
        Ok((opts, params, outputs))
    });
    let hint = || {
        format!(
            "`mpisim run {} --help` lists its parameters and the flags of a run; `mpisim list` the programs",
            program.name
        )
    };
    let (opts, params, outputs) = match prepared {
        Ok(prepared) => prepared,
        Err(e) => return usage_error(&e, args, &hint()),
    };
    let mut header = RunHeader { program: program.name.to_string(), params: params.describe(), ..Default::default() };
    let run = |comm: &Comm| (program.run)(comm, &params);
    if let Some(code) = crate::real::intercept(&opts, &header, program.default_ranks, program.min_ranks, run) {
        return code;
    }
    let world = catalogue_world(program, &opts, &params);
    if let Err(e) = fits(&world) {
        return usage_error(&e, args, &hint());
    }
    let sim = opts.simulate_on(world, &mut header, run);
    finish(&opts, &sim, &header, viewer, outputs)
}

/// Parses a catalogue program's arguments: the run flags and the program's parameters,
/// checked against the ranks of the run.
pub fn prepare(program: &Program, args: &[String]) -> Result<(RunOptions, Params), UsageError> {
    let (opts, rest) = RunOptions::parse(args)?;
    prepare_parsed(program, opts, &rest)
}

/// [`prepare`] of flags already parsed: the program's parameters from what the flags left
/// over, and the ranks checked.
pub fn prepare_parsed(
    program: &Program,
    opts: RunOptions,
    rest: &[ParamArg],
) -> Result<(RunOptions, Params), UsageError> {
    let params = program_params(program.name, program.params, rest)?;
    let ranks = opts.ranks.unwrap_or(program.default_ranks);
    if ranks < program.min_ranks {
        return Err(UsageError::TooFewRanks { program: program.name.into(), needs: program.min_ranks, given: ranks });
    }
    params.fit_ranks(ranks)?;
    Ok((opts, params))
}

/// The program's parameters from what the run flags left over: `--algorithm NAME` is the
/// program's only if it declares `--algorithm`, else a malformed run flag.
pub fn program_params(program: &str, declared: &[Param], rest: &[ParamArg]) -> Result<Params, UsageError> {
    if !declared.iter().any(|p| p.name == "algorithm") {
        if let Some(arg) = rest.iter().find(|a| a.name == "algorithm") {
            return Err(UsageError::Value {
                flag: "--algorithm".into(),
                given: arg.value.clone().unwrap_or_default(),
                expected: "COLL=NAME (e.g. bcast=binomial; `mpisim list` names the algorithms)".into(),
            });
        }
    }
    Ok(Params::from_args(program, declared, rest)?)
}

/// The world of a catalogue program's run: the options' world, with what the program's
/// parameters make it hold declared, so that a run that cannot fit is refused.
pub fn catalogue_world(program: &Program, opts: &RunOptions, params: &Params) -> World {
    let world = opts.world(program.default_ranks);
    let demand = program.demand(params, world.ranks());
    world.demand(demand)
}

/// Simulates a catalogue program as `mpisim run` would with these arguments, without
/// printing: what a grader runs in-process as an exercise's reference.
pub fn simulate_catalogue(
    program: &Program,
    args: &[String],
) -> Result<(Simulation<serde_json::Value>, RunHeader), UsageError> {
    let (mut opts, params) = prepare(program, args)?;
    // A grader queries the reference's trace.
    opts.record_trace = true;
    let mut header = RunHeader { program: program.name.to_string(), params: params.describe(), ..Default::default() };
    let world = catalogue_world(program, &opts, &params);
    let sim = opts.simulate_on(world, &mut header, |comm: &Comm| (program.run)(comm, &params));
    Ok((sim, header))
}

/// Whether `world` fits on this machine, as a usage error: checked before the run (and
/// before a viewer or a progress bar starts) so that a refusal is a moment's message with
/// the figures and what to lower.
pub fn fits(world: &World) -> Result<(), UsageError> {
    world.fits().map_err(UsageError::DoesNotFit)
}

/// `--tui` needs a viewer: the engine has none.
pub(crate) fn check_viewer(opts: &RunOptions, viewer: Option<Viewer>) -> Result<(), UsageError> {
    if opts.tui && viewer.is_none() {
        return Err(UsageError::NoViewer);
    }
    Ok(())
}

/// Shows the run if `--tui` asked for it, then prints the report (also when the viewer
/// failed); returns the exit code.
pub(crate) fn finish<R: Serialize>(
    opts: &RunOptions,
    sim: &Simulation<R>,
    header: &RunHeader,
    viewer: Option<Viewer>,
    outputs: Outputs,
) -> i32 {
    let viewed = match (opts.tui, viewer) {
        (true, Some(view)) => view(&sim.trace, sim.outcome.as_ref().err(), &sim.warnings, header, opts),
        _ => Ok(()),
    };
    let code = opts.report(sim, header, outputs);
    match viewed {
        Ok(()) => code,
        Err(e) => {
            eprintln!("error: {e}");
            code.max(EXIT_USAGE)
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
    let parsed = Invocation::parse(&name, declared, &args, viewer.is_some())
        .and_then(|invocation| Ok((invocation.opts.outputs().map_err(Usage::Error)?, invocation)));
    let (outputs, invocation) = match parsed {
        Ok(parsed) => parsed,
        Err(Usage::Help(text)) => {
            emit(&text);
            std::process::exit(0)
        }
        Err(Usage::Error(e)) => {
            std::process::exit(usage_error(&e, &args, &format!("see `{name} --help` for its parameters and flags")))
        }
    };
    let mut header = invocation.header(&name);
    let run = |comm: &Comm| program(comm, &invocation.params);
    if let Some(code) = crate::real::intercept(&invocation.opts, &header, DEFAULT_RANKS, 1, run) {
        std::process::exit(code);
    }
    if let Err(e) = fits(&invocation.opts.world(DEFAULT_RANKS)) {
        std::process::exit(usage_error(&e, &args, &format!("see `{name} --help` for its parameters and flags")))
    }
    let sim = invocation.opts.simulate(DEFAULT_RANKS, &mut header, run);
    std::process::exit(finish(&invocation.opts, &sim, &header, viewer, outputs))
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
#[derive(Clone, Debug, PartialEq)]
pub enum Usage {
    /// `-h` or `--help`: the help text to print (and exit 0).
    Help(String),
    /// A usage error: which flag or parameter, and what it accepts.
    Error(UsageError),
}

impl Invocation {
    /// Parses the arguments of program `name`, which declares `declared`; `viewer` says
    /// whether `--tui` is available (and so offered by the help).
    pub fn parse(name: &str, declared: &[Param], args: &[String], viewer: bool) -> Result<Invocation, Usage> {
        if asks_help(args) {
            return Err(Usage::Help(help(name, declared, viewer)));
        }
        if let Some(p) = declared.iter().find(|p| flags::is_flag(p.name)) {
            return Err(Usage::Error(UsageError::ShadowsFlag { param: p.name.to_string() }));
        }
        let (opts, rest) = RunOptions::parse(args).map_err(Usage::Error)?;
        let params = program_params(name, declared, &rest).map_err(Usage::Error)?;
        if opts.tui && !viewer {
            return Err(Usage::Error(UsageError::NoViewer));
        }
        params.fit_ranks(opts.ranks.unwrap_or(DEFAULT_RANKS)).map_err(|e| Usage::Error(e.into()))?;
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
) -> Result<(Simulation<R>, RunHeader), UsageError> {
    let not_here = |flag: &str, why: &str| UsageError::NotHere { flag: flag.into(), why: why.into() };
    let mut invocation = match Invocation::parse(name, declared, args, false) {
        Ok(invocation) => invocation,
        Err(Usage::Help(_)) => return Err(not_here("--help", "an in-process run prints no help")),
        Err(Usage::Error(e)) => return Err(e),
    };
    if invocation.opts.real {
        return Err(not_here("--real", "an in-process run is simulated"));
    }
    let mut header = invocation.header(name);
    invocation.opts.record_trace = true;
    let sim = invocation.opts.simulate(DEFAULT_RANKS, &mut header, |comm: &Comm| program(comm, &invocation.params));
    Ok((sim, header))
}

/// The help of a user's program: its usage, its parameters, and the run flags (`--tui`
/// and `--mouse` only when a viewer is linked in).
pub fn help(name: &str, declared: &[Param], viewer: bool) -> String {
    help_of(name, declared, viewer, DEFAULT_RANKS)
}

/// [`help`] of a program that runs on `default_ranks` ranks without `-n`.
fn help_of(name: &str, declared: &[Param], viewer: bool, default_ranks: usize) -> String {
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
    out += &format!("\nflags of a run (default {default_ranks} ranks):\n{}\n", run_flags(viewer));
    out
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
        check("--bytes 0", "error: prog --bytes: 0 is outside the range 1 byte to 1 GiB");
        check("--bytes 2GiB", "error: prog --bytes: 2GiB is outside the range 1 byte to 1 GiB");
        check("--rounds many", "error: prog --rounds: `many` is not a whole number");
        check("--colour red", "error: program `prog` has no parameter --colour; it takes --bytes, --rounds, --order");
        check("--order sideways", "error: prog --order: `sideways` is not one of naive, parity");
        check("--tui", &format!("error: {}", UsageError::NoViewer));
        check("-n 4 --help", "help");
    }

    #[test]
    fn a_parameter_may_not_shadow_a_run_flag() {
        for name in ["strict", "seed", "platform", "format", "help", "trace"] {
            let declared = [Param::count(name, "0", "shadows a flag")];
            let Err(Usage::Error(e)) = Invocation::parse("prog", &declared, &[], false) else {
                panic!("--{name} was accepted as a parameter");
            };
            assert!(e.to_string().contains(&format!("--{name}, which is a flag of every run")), "{e}");
        }
        let declared = [Param::count("algorithm", "0", "coll's own"), Param::count("n-items", "0", "fine")];
        assert!(Invocation::parse("prog", &declared, &[], false).is_ok());
    }

    #[test]
    fn a_wrong_default_is_an_error_in_the_declaration() {
        let declared = [Param::count("rounds", "0", "times round").range(1, 10)];
        let Err(Usage::Error(e)) = Invocation::parse("prog", &declared, &[], false) else { panic!("accepted") };
        assert_eq!(
            e.to_string(),
            "prog --rounds: 0 is outside the range 1 to 10 (the default in the declaration of --rounds is wrong)"
        );
    }

    #[test]
    fn help_lists_the_parameters_and_offers_the_viewer_only_when_linked_in() {
        let text = help("prog", DECLARED, false);
        assert!(text.starts_with("usage: prog [-n N] [--PARAM VALUE ...] [flags]\n\nparameters:\n"), "{text}");
        assert!(text.contains("  --bytes BYTES         message size (default 8; 1 byte to 1 GiB)\n"), "{text}");
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
        assert_eq!(e.to_string(), "prog --rounds: 0 is outside the range 1 to 10");
    }
}
