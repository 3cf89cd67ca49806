//! The flags of every run, as one table ([`FLAGS`]): what each is called, whether it takes
//! a value, which flag it belongs to and which it cannot go with. The parser, the help
//! text and the check that a program's parameter does not shadow a flag all read it.
//!
//! Flags that a run does not know are handed on as the program's parameters
//! ([`ParamArg`]): only the program knows which of them it declares, so only it can tell
//! an unknown flag from a parameter without its value.

use crate::catalogue::{ParamArg, ParamError};
use crate::coll::{AlgorithmError, Algorithms};
use crate::platform::{Platform, PlatformError, PRESETS};
use crate::sched::{Schedule, ScheduleError};
use serde::Serialize;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Output format of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON object.
    Json,
}

impl Format {
    /// The format `args` ask for, read before (and whatever) the rest of them fail to
    /// parse, so that a usage error can be given in it: JSON if `--format json` is there.
    pub fn requested(args: &[String]) -> Format {
        let mut it = args.iter().take_while(|a| *a != "--");
        while let Some(arg) = it.next() {
            let value = match arg.split_once('=') {
                Some(("--format", value)) => Some(value),
                _ if arg == "--format" => it.next().map(String::as_str),
                _ => None,
            };
            if value == Some("json") {
                return Format::Json;
            }
        }
        Format::Text
    }
}

/// How `--trace FILE` writes the trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceFormat {
    /// mpisim's own JSON (versioned schema), with how the run ended: `mpisim view` opens it.
    Json,
    /// Chrome trace event JSON: opens in Perfetto and chrome://tracing.
    Chrome,
}

/// A flag of every run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Flag {
    /// `-n`, `--ranks`, `-np`.
    Ranks,
    /// `--platform`.
    Platform,
    /// `--eager-limit`.
    EagerLimit,
    /// `--strict`.
    Strict,
    /// `--seed`.
    Seed,
    /// `--stack-size`.
    StackSize,
    /// `--time-limit`.
    TimeLimit,
    /// `--step-limit`.
    StepLimit,
    /// `--trace-limit`.
    TraceLimit,
    /// `--wall-limit`.
    WallLimit,
    /// `--format`.
    Format,
    /// `--trace`.
    Trace,
    /// `--algorithm COLL=NAME`.
    Algorithm,
    /// `--trace-format`.
    TraceFormat,
    /// `--tui`.
    Tui,
    /// `--mouse`.
    Mouse,
    /// `--dot`.
    Dot,
    /// `--explore`.
    Explore,
    /// `--replay`.
    Replay,
    /// `--real`.
    Real,
    /// `--launcher`.
    Launcher,
    /// `--timeout`.
    Timeout,
    /// `-- ARGS…`.
    LauncherArgs,
}

/// One row of [`FLAGS`].
#[derive(Clone, Copy, Debug)]
pub struct FlagSpec {
    /// The flag.
    pub flag: Flag,
    /// Its names; the first long one is the one messages use.
    pub names: &'static [&'static str],
    /// The name of its value in the help (`N`, `FILE`), or `None` for a switch.
    pub value: Option<&'static str>,
    /// What it does; `{presets}` stands for the preset names.
    pub help: &'static str,
    /// The flag it does nothing without.
    pub needs: Option<Flag>,
    /// Whether the help shows it only when a terminal UI is linked in.
    pub viewer: bool,
}

impl FlagSpec {
    const fn new(flag: Flag, names: &'static [&'static str], value: Option<&'static str>, help: &'static str) -> Self {
        FlagSpec { flag, names, value, help, needs: None, viewer: false }
    }

    const fn needs(self, flag: Flag) -> Self {
        FlagSpec { needs: Some(flag), ..self }
    }

    const fn viewer(self) -> Self {
        FlagSpec { viewer: true, ..self }
    }

    /// The name messages use: `--ranks`.
    pub fn name(&self) -> &'static str {
        self.names.iter().find(|n| n.starts_with("--")).unwrap_or(&self.names[0])
    }

    /// `-n, --ranks N`: the flag as the help shows it.
    fn usage(&self) -> String {
        let names: Vec<&str> = self.names.iter().filter(|n| **n != "-np").copied().collect();
        match self.value {
            Some(v) => format!("{} {v}", names.join(", ")),
            None => names.join(", "),
        }
    }
}

use Flag as F;

/// Every flag of a run, in the order the help lists them.
pub const FLAGS: &[FlagSpec] = &[
    FlagSpec::new(F::Ranks, &["-n", "--ranks", "-np"], Some("N"), "number of ranks"),
    FlagSpec::new(F::Platform, &["--platform"], Some("NAME|FILE"), "a preset ({presets}) or a RON file"),
    FlagSpec::new(
        F::EagerLimit,
        &["--eager-limit"],
        Some("BYTES"),
        "override the platform's eager limit (0: every send synchronous)",
    ),
    FlagSpec::new(F::Strict, &["--strict"], None, "every standard send synchronous: exposes reliance on buffering"),
    FlagSpec::new(F::Seed, &["--seed"], Some("S"), "seed of the run (default: MPISIM_SEED, else 0)"),
    FlagSpec::new(
        F::StackSize,
        &["--stack-size"],
        Some("BYTES"),
        "each rank's stack (default 256KiB); raise it for deep recursion",
    ),
    FlagSpec::new(
        F::TimeLimit,
        &["--time-limit"],
        Some("DURATION"),
        "stop the run at this virtual time (default 1h; 10s, 500ms, 20us work)",
    ),
    FlagSpec::new(F::StepLimit, &["--step-limit"], Some("N"), "stop the run after N engine steps (default 4294967296)"),
    FlagSpec::new(
        F::TraceLimit,
        &["--trace-limit"],
        Some("EVENTS"),
        "keep at most this many events in the trace (default 8000000)",
    ),
    FlagSpec::new(
        F::WallLimit,
        &["--wall-limit"],
        Some("SECONDS"),
        "stop a rank that runs its own code this long between calls (default 60; 0: never)",
    ),
    FlagSpec::new(F::Format, &["--format"], Some("text|json"), "output format (default text)"),
    FlagSpec::new(F::Trace, &["--trace"], Some("FILE"), "save the trace (mpisim JSON; `mpisim view FILE` opens it)"),
    FlagSpec::new(
        F::Algorithm,
        &["--algorithm"],
        Some("COLL=NAME"),
        "run a collective with this algorithm instead of MPICH's choice (repeatable),\n\
         e.g. bcast=binomial, allreduce=ring; `mpisim list` names them",
    ),
    FlagSpec::new(
        F::TraceFormat,
        &["--trace-format"],
        Some("json|chrome"),
        "format of --trace: mpisim's JSON, or Chrome trace events for Perfetto",
    )
    .needs(F::Trace),
    FlagSpec::new(F::Tui, &["--tui"], None, "explore the run in the terminal UI, then print the report").viewer(),
    FlagSpec::new(F::Mouse, &["--mouse"], None, "with --tui: clicks and the wheel select ranks, events and messages")
        .needs(F::Tui)
        .viewer(),
    FlagSpec::new(
        F::Dot,
        &["--dot"],
        Some("FILE"),
        "on a deadlock, write its wait-for graph as Graphviz DOT (AND edges solid, OR dashed)",
    ),
    FlagSpec::new(
        F::Explore,
        &["--explore"],
        Some("N"),
        "run up to N schedules (other ANY_SOURCE matches, waitany picks, timing jitter) and\n\
         stop at the first failure, printing a token that replays it",
    ),
    FlagSpec::new(F::Replay, &["--replay"], Some("TOKEN"), "run the schedule a token names (also MPISIM_SEED=TOKEN)"),
    FlagSpec::new(
        F::Real,
        &["--real"],
        None,
        "run on a real MPI library: re-executes under `mpiexec -n N` (needs the `mpi` feature)",
    ),
    FlagSpec::new(
        F::Launcher,
        &["--launcher"],
        Some("NAME|PATH"),
        "launcher of --real: mpiexec, mpirun, srun, … (default: MPISIM_LAUNCHER, else found on PATH)",
    )
    .needs(F::Real),
    FlagSpec::new(
        F::Timeout,
        &["--timeout"],
        Some("SECONDS"),
        "stop a --real run after this long and report it as hung",
    )
    .needs(F::Real),
    FlagSpec::new(
        F::LauncherArgs,
        &["--"],
        Some("ARGS…"),
        "pass the rest to the launcher of --real (e.g. -- --hostfile hosts)",
    )
    .needs(F::Real),
];

/// Flags that cannot go together, and why: the second does nothing, or contradicts the
/// first.
const CONFLICTS: &[(Flag, Flag, &str)] = &[
    (F::Replay, F::Explore, "--replay runs the one schedule it names, --explore tries others; give one of them"),
    (F::Real, F::Trace, "a run on real MPI records no trace; drop --trace, or run on the simulator"),
    (F::Real, F::Tui, "a run on real MPI records no trace to show; drop --tui, or run on the simulator"),
    (F::Real, F::Dot, "a run on real MPI draws no wait-for graph; simulate the program to get one"),
    (F::Real, F::Explore, "a real MPI library makes its own choices; exploring schedules needs the simulator"),
    (F::Real, F::Replay, "a real MPI library makes its own choices; replaying a schedule needs the simulator"),
    (
        F::Real,
        F::EagerLimit,
        "a real MPI library keeps its own eager limit (Open MPI: the btl_*_eager_limit MCA parameters)",
    ),
    (F::Real, F::Strict, "a real MPI library buffers as it does; --strict is the simulator's zero buffering"),
    (F::Real, F::StackSize, "the ranks of a real run are processes with stacks of their own"),
];

impl Flag {
    /// Its row of [`FLAGS`].
    pub fn spec(self) -> &'static FlagSpec {
        FLAGS.iter().find(|s| s.flag == self).expect("every flag has a row")
    }

    /// The name messages use: `--ranks`.
    pub fn name(self) -> &'static str {
        self.spec().name()
    }
}

/// Whether `--NAME` is a flag of every run, so that a program's parameter may not be
/// called NAME. `--algorithm` is shared: `--algorithm COLL=NAME` is the run's, `--algorithm
/// NAME` a parameter's (the `coll` program takes one).
pub(crate) fn is_flag(name: &str) -> bool {
    let long = format!("--{name}");
    name == "help" || FLAGS.iter().any(|s| s.flag != F::Algorithm && s.names.contains(&long.as_str()))
}

/// Why a command line does not describe a run. Each variant names the flag or parameter,
/// what was given and what is accepted; `Display` gives the sentence a usage error
/// prints, and the JSON of a usage error carries the fields.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum UsageError {
    /// A flag's value is refused.
    Value {
        /// The flag as typed.
        flag: String,
        /// The value given.
        given: String,
        /// What is accepted.
        expected: String,
    },
    /// A flag that takes a value came last, or was followed by another flag.
    NeedsValue {
        /// The flag as typed.
        flag: String,
    },
    /// A switch was given a value (`--strict=yes`).
    TakesNoValue {
        /// The flag as typed.
        flag: String,
        /// The value given.
        given: String,
    },
    /// A flag that may be given once was given again.
    Repeated {
        /// The flag.
        flag: String,
    },
    /// Two flags that cannot go together.
    Conflict {
        /// The flag that does not fit.
        flag: String,
        /// The one it does not fit with.
        with: String,
        /// Why, and what to do.
        why: String,
    },
    /// A flag that does nothing without another.
    Orphan {
        /// The flag.
        flag: String,
        /// The flag it belongs to.
        needs: String,
    },
    /// A single-dash flag that no run takes (`-x`).
    UnknownFlag {
        /// The flag as typed.
        flag: String,
    },
    /// A word where a flag was expected.
    Unexpected {
        /// The word.
        arg: String,
    },
    /// An environment variable's value is refused.
    Env {
        /// The variable.
        var: String,
        /// Its value.
        given: String,
        /// What is accepted.
        expected: String,
    },
    /// `--platform` names no preset and no readable, valid file.
    Platform {
        /// Why.
        #[serde(serialize_with = "as_text")]
        error: PlatformError,
    },
    /// `--algorithm COLL=NAME` is refused.
    Algorithm {
        /// What was given.
        given: String,
        /// Why.
        #[serde(serialize_with = "as_text")]
        error: AlgorithmError,
    },
    /// `--replay TOKEN` (or `MPISIM_SEED=TOKEN`) is not a schedule token.
    Replay {
        /// What was given.
        given: String,
        /// Why.
        #[serde(serialize_with = "as_text")]
        error: ScheduleError,
    },
    /// A program's parameter is refused.
    Param(ParamError),
    /// No catalogue program has this name.
    UnknownProgram {
        /// The name given.
        given: String,
        /// The catalogue's programs.
        known: Vec<String>,
    },
    /// The program needs more ranks than the run has.
    TooFewRanks {
        /// The program.
        program: String,
        /// The fewest it runs on.
        needs: usize,
        /// The ranks given.
        given: usize,
    },
    /// An output file cannot be written: found before the run, so nothing is lost.
    Output(super::outputs::OutputError),
    /// The run does not fit on this machine: refused before it starts.
    DoesNotFit(crate::memory::MemoryError),
    /// `--tui` without a viewer linked in.
    NoViewer,
    /// A program declares a parameter named as a flag of every run.
    ShadowsFlag {
        /// The parameter, without dashes.
        param: String,
    },
    /// A flag that has no meaning where it was given (an in-process run, a lesson).
    NotHere {
        /// The flag.
        flag: String,
        /// Why, and what to do.
        why: String,
    },
}

fn as_text<S: serde::Serializer, T: fmt::Display>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

/// Why `--tui` is refused when no viewer is linked in.
const NO_VIEWER: &str = "--tui: this program has no terminal UI; call mpisim_tui::main(program) from the mpisim-tui \
                         crate in its main, or save the trace with --trace FILE and open it with `mpisim view FILE`";

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::Value { flag, given, expected } => write!(f, "{flag}: `{given}` is not {expected}"),
            UsageError::NeedsValue { flag } => write!(f, "{flag} needs a value"),
            UsageError::TakesNoValue { flag, given } => write!(f, "{flag} takes no value, but `{given}` was given"),
            UsageError::Repeated { flag } => write!(f, "{flag} was given twice; give it once"),
            UsageError::Conflict { flag, with, why } => write!(f, "{flag} cannot go with {with}: {why}"),
            UsageError::Orphan { flag, needs } => {
                write!(f, "{flag} does nothing without {needs}; add {needs}, or drop {flag}")
            }
            UsageError::UnknownFlag { flag } => write!(f, "unknown flag `{flag}`"),
            UsageError::Unexpected { arg } => write!(f, "unexpected argument `{arg}`"),
            UsageError::Env { var, given, expected } => write!(f, "{var}=`{given}` is not {expected}"),
            UsageError::Platform { error } => write!(f, "{error}"),
            UsageError::Algorithm { error, .. } => write!(f, "--algorithm: {error}"),
            UsageError::Replay { error, .. } => write!(f, "--replay: {error}"),
            UsageError::Param(e) => write!(f, "{e}"),
            UsageError::UnknownProgram { given, known } => {
                write!(f, "unknown program `{given}`; the catalogue has {}", known.join(", "))
            }
            UsageError::TooFewRanks { program, needs, given } => {
                write!(f, "program `{program}` needs at least {needs} ranks; -n {given} was given")
            }
            UsageError::Output(e) => write!(f, "{e}; nothing was run"),
            UsageError::DoesNotFit(e) => write!(f, "{e}"),
            UsageError::NoViewer => f.write_str(NO_VIEWER),
            UsageError::ShadowsFlag { param } => write!(
                f,
                "the program declares a parameter --{param}, which is a flag of every run; give it another name"
            ),
            UsageError::NotHere { flag, why } => write!(f, "{flag}: {why}"),
        }
    }
}

impl std::error::Error for UsageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            UsageError::Platform { error } => Some(error),
            UsageError::Algorithm { error, .. } => Some(error),
            UsageError::Replay { error, .. } => Some(error),
            UsageError::Param(e) => Some(e),
            UsageError::DoesNotFit(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ParamError> for UsageError {
    fn from(e: ParamError) -> UsageError {
        UsageError::Param(e)
    }
}

impl UsageError {
    /// The usage error as the JSON object a run prints under `--format json`: the outcome
    /// `usage_error`, the sentence, and the fields.
    pub fn to_json(&self) -> serde_json::Value {
        usage_json(&self.to_string(), serde_json::to_value(self).unwrap_or(serde_json::Value::Null))
    }
}

/// The JSON object of a usage error: the outcome `usage_error`, the sentence, and the
/// fields (`null` for a command's own usage errors that have none).
pub fn usage_json(message: &str, detail: serde_json::Value) -> serde_json::Value {
    serde_json::json!({ "outcome": "usage_error", "error": { "message": message, "detail": detail } })
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
    /// `--algorithm COLL=NAME` (repeatable): collective algorithms instead of MPICH's choice.
    pub algorithms: Algorithms,
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
    pub timeout: Option<Duration>,
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
    pub wall_limit: Option<Duration>,
    /// Keep the run's whole trace in memory although neither `--trace` nor `--tui` asks for
    /// it: lessons and graders query it. Without any of the three, no trace is recorded
    /// (a 4,096-rank run would otherwise hold hundreds of megabytes nobody reads).
    pub record_trace: bool,
}

/// How long a rank may run its own code between two calls before a run is stopped.
pub const DEFAULT_WALL_LIMIT: Duration = Duration::from_secs(60);

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
            algorithms: Algorithms::default(),
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

/// Where the schedule of a run came from, for the conflict of a replay with `--explore`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ReplayFrom {
    None,
    Flag,
    Env,
}

impl RunOptions {
    /// Parses run flags, and `MPISIM_SEED` (a seed, or a schedule token to replay); what
    /// is not a run flag is returned for the program's parameters.
    pub fn parse(args: &[String]) -> Result<(RunOptions, Vec<ParamArg>), UsageError> {
        RunOptions::parse_with_env(args, std::env::var("MPISIM_SEED").ok())
    }

    /// [`RunOptions::parse`] with `MPISIM_SEED` as given here (`None`: unset), so that a
    /// run that must not depend on the environment (a lesson's) can ignore it.
    pub fn parse_with_env(
        args: &[String],
        mpisim_seed: Option<String>,
    ) -> Result<(RunOptions, Vec<ParamArg>), UsageError> {
        let mut opts = RunOptions::default();
        let mut replay_from = ReplayFrom::None;
        if let Some(seed) = mpisim_seed {
            match (seed.parse(), seed.parse::<Schedule>()) {
                (Ok(n), _) => opts.seed = n,
                (_, Ok(token)) => {
                    opts.replay = Some(token);
                    replay_from = ReplayFrom::Env;
                }
                _ => {
                    return Err(UsageError::Env {
                        var: "MPISIM_SEED".into(),
                        given: seed,
                        expected: "a whole number (a seed) or a schedule token (like j17)".into(),
                    })
                }
            }
        }
        let mut seen: Vec<Flag> = Vec::new();
        let mut rest = Vec::new();
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            i += 1;
            if arg == "--" {
                opts.launcher_args = args[i..].to_vec();
                if !opts.launcher_args.is_empty() {
                    seen.push(F::LauncherArgs);
                }
                break;
            }
            let (name, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with('-') => (f, Some(v.to_string())),
                _ => (arg.as_str(), None),
            };
            // A value is the next word unless it is a flag: no value of a run starts with `--`.
            let mut next_value = |inline: Option<String>| {
                inline.or_else(|| {
                    let next = args.get(i).filter(|v| !v.starts_with("--"))?;
                    i += 1;
                    Some(next.clone())
                })
            };
            let Some(spec) = FLAGS.iter().find(|s| s.names.contains(&name)) else {
                if let Some(param) = name.strip_prefix("--").filter(|p| !p.is_empty()) {
                    rest.push(ParamArg { name: param.to_string(), value: next_value(inline) });
                } else if name.starts_with('-') && name.len() > 1 {
                    return Err(UsageError::UnknownFlag { flag: name.to_string() });
                } else {
                    return Err(UsageError::Unexpected { arg: arg.clone() });
                }
                continue;
            };
            let value = match spec.value {
                Some(_) => Some(next_value(inline).ok_or_else(|| UsageError::NeedsValue { flag: name.to_string() })?),
                None => match inline {
                    Some(given) => return Err(UsageError::TakesNoValue { flag: name.to_string(), given }),
                    None => None,
                },
            };
            if seen.contains(&spec.flag) && spec.flag != F::Algorithm {
                return Err(UsageError::Repeated { flag: spec.name().to_string() });
            }
            if let Some(param) = opts.set(spec.flag, name, value.unwrap_or_default())? {
                rest.push(param);
                continue;
            }
            if spec.flag == F::Replay {
                replay_from = ReplayFrom::Flag;
            }
            seen.push(spec.flag);
        }
        check_combinations(&seen, replay_from)?;
        Ok((opts, rest))
    }

    /// Sets `flag` (typed as `name`) from `value`; `--algorithm NAME` is handed back as
    /// the program's parameter.
    fn set(&mut self, flag: Flag, name: &str, value: String) -> Result<Option<ParamArg>, UsageError> {
        let bad = |expected: &str| UsageError::Value {
            flag: name.to_string(),
            given: value.clone(),
            expected: expected.into(),
        };
        match flag {
            F::Ranks => {
                let n: usize = value.parse().map_err(|_| bad("a number of ranks"))?;
                if n == 0 {
                    return Err(bad("a number of ranks: a run needs at least 1"));
                }
                self.ranks = Some(n);
            }
            F::Platform => self.platform = Platform::resolve(&value).map_err(|error| UsageError::Platform { error })?,
            F::EagerLimit => {
                let limit =
                    crate::catalogue::parse_bytes(&value).ok_or_else(|| bad("a byte count (try 0, 4096, 64KiB)"))?;
                self.eager_limit = Some(limit);
            }
            F::Strict => self.strict = true,
            F::StackSize => {
                let bytes = crate::catalogue::parse_bytes(&value)
                    .and_then(|b| usize::try_from(b).ok())
                    .filter(|&b| (16 * 1024..=1 << 30).contains(&b))
                    .ok_or_else(|| bad("a stack size from 16KiB to 1GiB"))?;
                self.stack_size = Some(bytes);
            }
            F::TimeLimit => {
                let limit = parse_duration(&value).ok_or_else(|| bad("a virtual time (try 10s, 500ms, 20us, 1h)"))?;
                self.time_limit = Some(limit);
            }
            F::StepLimit => {
                let n =
                    value.parse().ok().filter(|&n: &u64| n > 0).ok_or_else(|| bad("a number of steps (1 or more)"))?;
                self.step_limit = Some(n);
            }
            F::TraceLimit => self.trace_limit = Some(value.parse().map_err(|_| bad("a number of events"))?),
            F::WallLimit => {
                let secs: f64 = value
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s >= 0.0 && *s < 1e9)
                    .ok_or_else(|| bad("a number of seconds (0 turns it off)"))?;
                self.wall_limit = (secs > 0.0).then(|| Duration::from_secs_f64(secs));
            }
            F::Seed => self.seed = value.parse().map_err(|_| bad("a whole number"))?,
            F::Format => {
                self.format = match value.as_str() {
                    "text" => Format::Text,
                    "json" => Format::Json,
                    _ => return Err(bad("text or json")),
                }
            }
            F::Trace => self.trace = Some(PathBuf::from(value)),
            F::Algorithm if !value.contains('=') => {
                // `--algorithm NAME` is a parameter of the program (`coll` takes one).
                return Ok(Some(ParamArg { name: "algorithm".into(), value: Some(value) }));
            }
            F::Algorithm => {
                self.algorithms
                    .parse_and_set(&value)
                    .map_err(|error| UsageError::Algorithm { given: value.clone(), error })?;
            }
            F::TraceFormat => {
                self.trace_format = match value.as_str() {
                    "json" => TraceFormat::Json,
                    "chrome" => TraceFormat::Chrome,
                    _ => return Err(bad("json or chrome")),
                }
            }
            F::Dot => self.dot = Some(PathBuf::from(value)),
            F::Explore => {
                let n =
                    value.parse().ok().filter(|&n: &usize| n > 0).ok_or_else(|| bad("a number of runs (1 or more)"))?;
                self.explore = Some(n);
            }
            F::Replay => {
                let token =
                    value.parse::<Schedule>().map_err(|error| UsageError::Replay { given: value.clone(), error })?;
                self.replay = Some(token);
            }
            F::Tui => self.tui = true,
            F::Mouse => self.mouse = true,
            F::Real => self.real = true,
            F::Launcher => self.launcher = Some(value),
            F::Timeout => {
                let secs: f64 = value
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0 && *s < 1e9)
                    .ok_or_else(|| bad("a number of seconds above 0"))?;
                self.timeout = Some(Duration::from_secs_f64(secs));
            }
            F::LauncherArgs => unreachable!("`--` ends the flags before a value is read"),
        }
        Ok(None)
    }
}

/// Flags that do nothing without another, and flags that cannot go together.
fn check_combinations(seen: &[Flag], replay_from: ReplayFrom) -> Result<(), UsageError> {
    for spec in FLAGS {
        if let Some(needs) = spec.needs.filter(|needs| seen.contains(&spec.flag) && !seen.contains(needs)) {
            let flag = if spec.flag == F::LauncherArgs { "-- ARGS".into() } else { spec.name().to_string() };
            return Err(UsageError::Orphan { flag, needs: needs.name().to_string() });
        }
    }
    for &(a, b, why) in CONFLICTS {
        if seen.contains(&a) && seen.contains(&b) {
            return Err(UsageError::Conflict {
                flag: b.name().to_string(),
                with: a.name().to_string(),
                why: why.into(),
            });
        }
    }
    if replay_from == ReplayFrom::Env && seen.contains(&F::Explore) {
        return Err(UsageError::Conflict {
            flag: F::Explore.name().into(),
            with: "MPISIM_SEED=TOKEN".into(),
            why: "the token in MPISIM_SEED names one schedule to replay; unset MPISIM_SEED to explore others".into(),
        });
    }
    Ok(())
}

/// The help of the run flags: one line a flag (two for long ones), as `mpisim help` and a
/// program's `--help` print them; `--tui` and `--mouse` only when `viewer` is linked in.
pub fn run_flags(viewer: bool) -> String {
    let presets: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
    let mut out = Vec::new();
    for spec in FLAGS.iter().filter(|s| viewer || !s.viewer) {
        let help = spec.help.replace("{presets}", &presets.join(", "));
        let mut lines = help.lines();
        let usage = spec.usage();
        let first = lines.next().unwrap_or_default();
        if usage.chars().count() < 25 {
            out.push(format!("  {usage:<25}{first}"));
        } else {
            out.push(format!("  {usage}\n{:27}{first}", ""));
        }
        out.extend(lines.map(|l| format!("{:27}{l}", "")));
    }
    out.join("\n")
}
