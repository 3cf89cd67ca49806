//! mpi4py scripts on the simulator: `mpisim run ring.py -n 4`.
//!
//! Each rank of a script is its own `python3` process, so module globals and random state
//! are per rank as under `mpiexec`. The process imports mpisim's `mpi4py` (python/mpi4py,
//! embedded here and put first on its module path), which forwards every MPI call, with
//! the caller's file:line, over a pipe to a proxy rank in the engine ([`proxy`]); the proxy
//! makes the call through the ordinary [`Comm`], so matching, collectives' algorithms and
//! the cost model are the engine's. Only one rank runs at a time (the engine resumes one
//! proxy; the other processes wait in a read of their pipe), so a run is as deterministic
//! as a Rust program's: same script, platform and seed, same trace and output. The
//! script's printed lines become the run's output lines, at the rank's virtual time;
//! `time.sleep(s)` computes for `s` of virtual time.
//!
//! Messages are what mpi4py sends: a pickle for the lowercase methods, a buffer's bytes
//! for the uppercase ones (each with the engine's 1–4 byte length prefix; buffer
//! reductions and v-collectives move exactly the bytes). A reduction of Python objects
//! applies the operator in the rank's own process, as mpi4py does.

mod process;
mod proxy;
mod real;
mod shim;
mod values;
mod wire;

use crate::catalogue::{self, ParamArg};
use crate::comm::Comm;
use crate::launch::{self, RunOptions, UsageError, Viewer};
use crate::platform::Platform;
use crate::report::{RunHeader, EXIT_USAGE};
use process::{Interpreter, Launch, Pool};
pub use process::{InterpreterError, SpawnError};
pub use shim::ShimError;
use std::fmt;
use std::path::{Path, PathBuf};

/// Ranks of a script run without `-n`.
pub const DEFAULT_RANKS: usize = 4;

/// Whether `program`, a PROGRAM of `mpisim run`, names a Python script: it ends in `.py`,
/// or it is an existing file (not a catalogue name) whose first line runs Python.
pub fn is_script(program: &str) -> bool {
    if process::is_python_file(Path::new(program)) {
        return true;
    }
    catalogue::find(program).is_none()
        && std::fs::read(program).is_ok_and(|text| {
            let first = text.split(|&b| b == b'\n').next().unwrap_or_default();
            first.starts_with(b"#!") && String::from_utf8_lossy(first).contains("python")
        })
}

/// An mpi4py script ready to run: its path and arguments, the interpreter of its ranks,
/// and the installed shim.
#[derive(Clone, Debug)]
pub struct Script {
    path: String,
    args: Vec<String>,
    python: Interpreter,
    shim: PathBuf,
    measure: bool,
}

impl Script {
    /// Checks that `path` can be read, finds the interpreter (`python`, else
    /// `MPISIM_PYTHON`, else `python3` on `PATH`) and installs the shim. `args` are the
    /// script's own (its `sys.argv[1:]`).
    pub fn new(path: &str, args: &[String], python: Option<&str>) -> Result<Script, ScriptError> {
        match std::fs::metadata(path) {
            Err(source) => return Err(ScriptError::Unreadable { path: path.to_string(), source }),
            Ok(m) if !m.is_file() => return Err(ScriptError::NotAFile { path: path.to_string() }),
            Ok(_) => {}
        }
        let python = Interpreter::find(python).map_err(ScriptError::Interpreter)?;
        let shim = shim::install().map_err(ScriptError::Shim)?;
        Ok(Script { path: path.to_string(), args: args.to_vec(), python, shim, measure: false })
    }

    /// With `on`, each call of a rank first charges the CPU time the rank's process spent
    /// since its previous call (`--measure`): Python's own computation takes virtual time,
    /// as measured, so such a run is not deterministic.
    pub fn measured(mut self, on: bool) -> Script {
        self.measure = on;
        self
    }

    /// The script's path, as given.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The interpreter that runs the ranks.
    pub fn interpreter(&self) -> &Path {
        &self.python.path
    }

    /// The interpreter's version, e.g. `3.11.7`.
    pub fn python_version(&self) -> &str {
        &self.python.version
    }

    /// The program of every rank, for [`World::simulate`](crate::World::simulate) or
    /// [`World::explore`](crate::World::explore) on `platform` with `seed` (which seeds
    /// each rank's `random`). Each run starts one Python process per rank; all of them are
    /// reaped by the end of the run, whatever its outcome.
    pub fn program(&self, platform: &Platform, seed: u64) -> impl Fn(&Comm) + '_ {
        let pool = Pool::new(Launch {
            python: self.python.path.clone(),
            shim: self.shim.clone(),
            script: self.path.clone(),
            args: self.args.clone(),
            ranks_per_node: platform.ranks_per_node,
            seed,
            measure: self.measure,
        });
        move |comm: &Comm| proxy::serve(&pool, comm)
    }

    /// How reports name the run: the script and its arguments (and, measured, that the run
    /// is not deterministic: every report says so).
    pub fn title(&self) -> String {
        let mut title = std::iter::once(self.path.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ");
        if self.measure {
            title += " [--measure: Python's CPU time charged as measured; not deterministic]";
        }
        title
    }
}

/// A script's command line after its path, as `mpisim run SCRIPT.py` and `mpisim scale
/// SCRIPT.py` take it: the run flags, `--python PATH`, `--measure`, and the script's own
/// arguments after `--`.
#[derive(Debug)]
pub struct ScriptArgs {
    /// The run flags.
    pub opts: RunOptions,
    /// `--python PATH`.
    pub python: Option<String>,
    /// `--measure`.
    pub measure: bool,
    /// The script's own arguments (after `--`).
    pub script_args: Vec<String>,
}

impl ScriptArgs {
    /// Parses `args`; an unknown flag is an error naming the script `path`.
    pub fn parse(path: &str, args: &[String]) -> Result<ScriptArgs, ScriptError> {
        // The script's own arguments follow `--`: split off here, as `--` before them is no
        // launcher's (RunOptions would refuse it without --real).
        let (flags, script_args) = match args.iter().position(|a| a == "--") {
            Some(at) => (&args[..at], args[at + 1..].to_vec()),
            None => (args, Vec::new()),
        };
        // `--measure` takes no value, unlike the program parameters RunOptions passes on.
        let measure = flags.iter().any(|a| a == "--measure");
        let flags: Vec<String> = flags.iter().filter(|a| *a != "--measure").cloned().collect();
        let (opts, rest) = RunOptions::parse(&flags)?;
        let mut python = None;
        for ParamArg { name, value } in rest {
            match (name.as_str(), value) {
                ("python", Some(value)) => python = Some(value),
                ("python", None) => return Err(ScriptError::PythonNeedsPath),
                (other, _) => return Err(ScriptError::UnknownFlag { flag: format!("--{other}"), script: path.into() }),
            }
        }
        Ok(ScriptArgs { opts, python, measure, script_args })
    }

    /// The script at `path` with these arguments, interpreter and `--measure`.
    pub fn script(&self, path: &str) -> Result<Script, ScriptError> {
        Script::new(path, &self.script_args, self.python.as_deref()).map(|script| script.measured(self.measure))
    }
}

/// `mpisim run SCRIPT.py [flags] [-- ARGS]`: runs the script with the run flags (every one
/// of a catalogue program's, `--python PATH` and `--measure`); the arguments after `--`
/// are the script's. Prints the report and returns the exit code.
pub fn run_script(path: &str, args: &[String], viewer: Option<Viewer>) -> i32 {
    let parsed = match ScriptArgs::parse(path, args) {
        Ok(parsed) => parsed,
        Err(e) => return usage(&e.to_string()),
    };
    let opts = &parsed.opts;
    if opts.real {
        if parsed.measure {
            return usage("--measure charges measured time in a simulated run; a real run's time is measured anyway");
        }
        let ranks = opts.ranks.unwrap_or(DEFAULT_RANKS);
        return real::run(opts, path, &parsed.script_args, parsed.python.as_deref(), ranks);
    }
    let ready = parsed.script(path).and_then(|script| {
        launch::check_viewer(opts, viewer)?;
        // Opened before the run, so that a path that cannot be written costs nothing.
        let outputs = opts.outputs()?;
        Ok((script, outputs))
    });
    match ready {
        Ok((script, outputs)) => {
            let mut header = RunHeader { program: script.title(), ..Default::default() };
            let program = script.program(&opts.platform, opts.seed);
            let sim = opts.simulate(DEFAULT_RANKS, &mut header, program);
            launch::finish(opts, &sim, &header, viewer, outputs)
        }
        Err(e) => usage(&e.to_string()),
    }
}

fn usage(message: &str) -> i32 {
    eprintln!("error: {message}\n(`mpisim help` lists the flags of a run)");
    EXIT_USAGE
}

/// Why a script cannot run: its file, its interpreter, the shim, or its command line.
/// `Display` gives the sentence a usage error prints.
#[derive(Debug)]
#[non_exhaustive]
pub enum ScriptError {
    /// The script cannot be read.
    Unreadable {
        /// The script, as given.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The script's path names a directory or another file that is not a regular file.
    NotAFile {
        /// The path, as given.
        path: String,
    },
    /// No interpreter can run the ranks.
    Interpreter(InterpreterError),
    /// The shim could not be installed.
    Shim(ShimError),
    /// A run flag is refused.
    Usage(UsageError),
    /// `--python` was given without a path.
    PythonNeedsPath,
    /// A flag that neither a run nor a script takes.
    UnknownFlag {
        /// The flag as typed, `--bytes`.
        flag: String,
        /// The script, as given.
        script: String,
    },
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScriptError::Unreadable { path, source } => write!(f, "cannot read the script {path}: {source}"),
            ScriptError::NotAFile { path } => write!(f, "{path} is not a file"),
            ScriptError::Interpreter(e) => write!(f, "{e}"),
            ScriptError::Shim(e) => write!(f, "{e}"),
            ScriptError::Usage(e) => write!(f, "{e}"),
            ScriptError::PythonNeedsPath => f.write_str("--python needs the path of a Python interpreter"),
            ScriptError::UnknownFlag { flag, script } => write!(
                f,
                "unknown flag {flag} for the script {script}: a script takes the run flags, --python PATH and \
                 --measure; its own arguments go after --"
            ),
        }
    }
}

impl std::error::Error for ScriptError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ScriptError::Unreadable { source, .. } => Some(source),
            ScriptError::Interpreter(e) => Some(e),
            ScriptError::Shim(e) => Some(e),
            ScriptError::Usage(e) => Some(e),
            _ => None,
        }
    }
}

impl From<UsageError> for ScriptError {
    fn from(e: UsageError) -> ScriptError {
        ScriptError::Usage(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &str) -> Vec<String> {
        words.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn script_errors_carry_their_facts() {
        let err = ScriptArgs::parse("ring.py", &args("-n 4 --bytes 8")).unwrap_err();
        assert!(
            matches!(&err, ScriptError::UnknownFlag { flag, script } if flag == "--bytes" && script == "ring.py"),
            "{err:?}"
        );
        assert!(err.to_string().starts_with("unknown flag --bytes for the script ring.py: "), "{err}");
        assert!(matches!(ScriptArgs::parse("ring.py", &args("--python")).unwrap_err(), ScriptError::PythonNeedsPath));
        let usage = ScriptArgs::parse("ring.py", &args("-n x")).unwrap_err();
        assert!(matches!(usage, ScriptError::Usage(UsageError::Value { .. })), "{usage:?}");
        assert!(std::error::Error::source(&usage).is_some());
        // The script's own arguments are not flags of the run.
        assert_eq!(ScriptArgs::parse("ring.py", &args("-n 2 -- --bytes 8")).unwrap().script_args, args("--bytes 8"));

        let dir = std::env::temp_dir();
        let dir_name = dir.display().to_string();
        let err = Script::new(&dir_name, &[], None).unwrap_err();
        assert!(matches!(&err, ScriptError::NotAFile { path } if *path == dir_name), "{err:?}");
        let err = Script::new("/nonexistent/ring.py", &[], None).unwrap_err();
        assert!(
            matches!(&err, ScriptError::Unreadable { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
        );
        assert!(err.to_string().starts_with("cannot read the script /nonexistent/ring.py: "), "{err}");
    }
}
