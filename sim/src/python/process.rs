//! The Python processes of a run: the interpreter, one process per rank started together,
//! and their reaping on every outcome.
//!
//! A run's processes start as soon as its first rank needs one, all at once, so their
//! interpreters start up (and import what the scripts import) in parallel while the
//! engine runs one rank at a time; each then waits in a read of its pipe until its proxy
//! speaks. A process is killed and waited for when its proxy lets go of it: when the rank
//! finishes, or when the engine unwinds a rank that a deadlock or another rank's failure
//! stopped. On Linux a process also dies with mpisim (`PR_SET_PDEATHSIG`), and one that
//! finds its pipe closed exits at once, so none outlives a killed mpisim.

use super::shim;
use super::wire::{self, Frame};
use serde::Serialize;
use std::cell::RefCell;
use std::fmt;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};

/// The oldest Python the shim runs on.
const OLDEST: (u32, u32) = (3, 8);

/// A Python interpreter that runs the shim.
#[derive(Clone, Debug)]
pub(crate) struct Interpreter {
    /// The executable.
    pub path: PathBuf,
    /// Its version, `3.11.7`.
    pub version: String,
}

impl Interpreter {
    /// `choice` (`--python`), else `MPISIM_PYTHON`, else `python3` on `PATH`; run once to
    /// check that it is a Python 3.8 or later. The ranks run `sys.executable`, so that a
    /// wrapper (pyenv's shims are shell scripts) is not started again for each of them.
    pub fn find(choice: Option<&str>) -> Result<Interpreter, InterpreterError> {
        let env = std::env::var("MPISIM_PYTHON").ok().filter(|s| !s.is_empty());
        let name = choice.map(str::to_string).or(env).unwrap_or_else(|| "python3".into());
        let path = if name.contains('/') {
            let path = PathBuf::from(&name);
            if !path.is_file() {
                return Err(InterpreterError::Missing { name });
            }
            path
        } else {
            crate::real::launcher::on_path(&name).ok_or_else(|| InterpreterError::NotOnPath { name: name.clone() })?
        };
        let probe =
            "import sys; print('%d.%d %s' % (sys.version_info[0], sys.version_info[1], sys.version.split()[0]))";
        let out = match Command::new(&path).args(["-c", probe]).stdin(Stdio::null()).output() {
            Ok(out) => out,
            Err(source) => return Err(InterpreterError::CannotRun { path, source }),
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        let mut words = lines.next().unwrap_or_default().split_whitespace();
        let executable = lines.next().filter(|l| !l.is_empty());
        let (Some(major_minor), Some(version)) = (words.next(), words.next()) else {
            return Err(InterpreterError::NotWorking {
                stdout: text.trim().to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
                path,
            });
        };
        let parsed =
            major_minor.split_once('.').and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)));
        if parsed.is_none_or(|v| v < OLDEST) {
            return Err(InterpreterError::TooOld { path, version: version.to_string() });
        }
        let path = executable.map(PathBuf::from).filter(|p| p.is_file()).unwrap_or(path);
        Ok(Interpreter { path, version: version.to_string() })
    }
}

/// What to do when no interpreter fits, the end of every [`InterpreterError`].
const INSTALL: &str = "install Python 3 (Debian, Ubuntu: apt-get install python3 python3-numpy), or name an \
                       interpreter with --python PATH (or MPISIM_PYTHON)";

/// Why no Python interpreter can run a script's ranks. Each names the interpreter tried;
/// `Display` gives the sentence, which ends with how to install or name one.
#[derive(Debug)]
#[non_exhaustive]
pub enum InterpreterError {
    /// A path (`--python ./venv/bin/python`) names no file.
    Missing {
        /// The path as given.
        name: String,
    },
    /// A bare name (`python3`) is not found on `PATH`.
    NotOnPath {
        /// The name as given.
        name: String,
    },
    /// The interpreter could not be started.
    CannotRun {
        /// The executable.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// It ran, but did not print its version as Python does.
    NotWorking {
        /// The executable.
        path: PathBuf,
        /// What it printed on standard output, trimmed.
        stdout: String,
        /// What it printed on standard error, trimmed.
        stderr: String,
    },
    /// It is older than the shim supports.
    TooOld {
        /// The executable.
        path: PathBuf,
        /// Its version, `3.6.9`.
        version: String,
    },
}

impl fmt::Display for InterpreterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InterpreterError::Missing { name } => write!(f, "the Python interpreter {name} does not exist; {INSTALL}"),
            InterpreterError::NotOnPath { name } => write!(f, "`{name}` is not on PATH; {INSTALL}"),
            InterpreterError::CannotRun { path, source } => {
                write!(f, "cannot run the Python interpreter {}: {source}; {INSTALL}", path.display())
            }
            InterpreterError::NotWorking { path, stdout, stderr } => write!(
                f,
                "{} is not a working Python interpreter (it printed {stdout:?}, and {stderr:?} on stderr); {INSTALL}",
                path.display()
            ),
            InterpreterError::TooOld { path, version } => write!(
                f,
                "{} is Python {version}; mpisim's mpi4py needs Python {}.{} or later; {INSTALL}",
                path.display(),
                OLDEST.0,
                OLDEST.1
            ),
        }
    }
}

impl std::error::Error for InterpreterError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InterpreterError::CannotRun { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Why a rank's Python process could not be started.
#[derive(Debug)]
#[non_exhaustive]
pub struct SpawnError {
    /// The interpreter.
    pub python: PathBuf,
    /// The rank whose process it was.
    pub rank: usize,
    /// Why.
    pub source: io::Error,
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot start {} for rank {}: {}", self.python.display(), self.rank, self.source)
    }
}

impl std::error::Error for SpawnError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// How to start the ranks of a script.
#[derive(Clone, Debug)]
pub(crate) struct Launch {
    pub python: PathBuf,
    /// The installed shim directory.
    pub shim: PathBuf,
    /// The script's path as the user gave it (so reports name it so).
    pub script: String,
    pub args: Vec<String>,
    /// Ranks per simulated node, for `MPI.Get_processor_name()`.
    pub ranks_per_node: u32,
    /// The run's seed, for each rank's `random`.
    pub seed: u64,
    /// `--measure`: each call says how much CPU time the rank spent since the last one.
    pub measure: bool,
}

impl Launch {
    /// Starts rank `rank` of `size`.
    fn spawn(&self, rank: usize, size: usize) -> Result<RankProcess, SpawnError> {
        let node = rank / self.ranks_per_node.max(1) as usize;
        let mut cmd = Command::new(&self.python);
        cmd.arg(self.shim.join(shim::BOOT))
            .arg(&self.script)
            .args(&self.args)
            .env("PYTHONHASHSEED", "0")
            .env_remove("PYTHONSAFEPATH")
            .env("MPISIM_RANK", rank.to_string())
            .env("MPISIM_SIZE", size.to_string())
            .env("MPISIM_NODE", format!("node{node}"))
            .env("MPISIM_RANK_SEED", format!("{}:{rank}", self.seed))
            .env("MPISIM_MEASURE", if self.measure { "1" } else { "0" })
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        tie_to_parent(&mut cmd);
        let mut child = cmd.spawn().map_err(|source| SpawnError { python: self.python.clone(), rank, source })?;
        let writer = child.stdin.take().expect("piped");
        let reader = BufReader::with_capacity(1 << 16, child.stdout.take().expect("piped"));
        Ok(RankProcess { child, reader, writer, reaped: None })
    }
}

/// The child gets SIGKILL when the thread that started it ends, so that killing mpisim
/// (even with SIGKILL) leaves no rank running; and it ignores SIGINT (Python then installs
/// no KeyboardInterrupt handler), so that Ctrl-C, which a terminal sends to the whole
/// group, is mpisim's to answer: a plain run dies of it and takes its ranks along, an
/// `--explore` ends after the run in progress, which no rank has failed by being hit.
#[cfg(target_os = "linux")]
fn tie_to_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl and signal are async-signal-safe and touch only the child's own state.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::signal(libc::SIGINT, libc::SIG_IGN) == libc::SIG_ERR {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn tie_to_parent(_: &mut Command) {}

/// One rank's Python process and its end of the pipes.
pub(crate) struct RankProcess {
    child: Child,
    reader: BufReader<ChildStdout>,
    writer: ChildStdin,
    /// How it ended, once waited for.
    reaped: Option<ExitStatus>,
}

impl RankProcess {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next frame from the process; `Ok(None)` if it closed its end.
    pub fn read(&mut self) -> io::Result<Option<Frame>> {
        wire::read_frame(&mut self.reader)
    }

    /// Sends a frame to the process.
    pub fn write(&mut self, header: &impl Serialize, blobs: &[&[u8]]) -> io::Result<()> {
        wire::write_frame(&mut self.writer, header, blobs)
    }

    /// Waits for the process to exit by itself (it said it is done).
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        if let Some(status) = self.reaped {
            return Ok(status);
        }
        let status = self.child.wait()?;
        self.reaped = Some(status);
        Ok(status)
    }

    /// Kills the process (if it still runs) and reaps it: how it ended.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        if self.reaped.is_none() {
            let _ = self.child.kill();
            self.reaped = self.child.wait().ok();
        }
        self.reaped
    }
}

impl Drop for RankProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// How a process's end reads in a report: `exit code 1`, `killed by signal 9 (SIGKILL)`.
pub(crate) fn describe_exit(status: Option<ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Some(s) => match (s.code(), s.signal()) {
            (Some(code), _) => format!("exit code {code}"),
            (None, Some(9)) => "killed by signal 9 (SIGKILL: out of memory, or killed from outside?)".into(),
            (None, Some(11)) => "killed by signal 11 (SIGSEGV: a crash in native code)".into(),
            (None, Some(sig)) => format!("killed by signal {sig}"),
            (None, None) => s.to_string(),
        },
        None => "an unknown status".into(),
    }
}

/// The processes of the runs of one program: a run's are started when its first rank
/// needs one. Dropping the pool kills and reaps any left over.
pub(crate) struct Pool {
    launch: Launch,
    slots: RefCell<Vec<Option<Result<RankProcess, SpawnError>>>>,
}

impl Pool {
    pub fn new(launch: Launch) -> Pool {
        Pool { launch, slots: RefCell::new(Vec::new()) }
    }

    /// The process for `rank` of `size` in this run. A rank whose slot is empty starts a
    /// new run: every empty slot gets a fresh process, all started together.
    pub fn take(&self, rank: usize, size: usize) -> Result<RankProcess, SpawnError> {
        let mut slots = self.slots.borrow_mut();
        if slots.len() != size {
            slots.clear();
            slots.resize_with(size, || None);
        }
        if slots[rank].is_none() {
            for (r, slot) in slots.iter_mut().enumerate() {
                if slot.is_none() {
                    *slot = Some(self.launch.spawn(r, size));
                }
            }
        }
        slots[rank].take().expect("filled above")
    }

    /// The script, as reports name it.
    pub fn script(&self) -> &str {
        &self.launch.script
    }

    /// Whether the ranks' CPU time is charged (`--measure`).
    pub fn measures(&self) -> bool {
        self.launch.measure
    }
}

/// Whether `path` names a script mpisim runs with Python.
pub(crate) fn is_python_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "py")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpreter_and_spawn_errors_name_what_was_tried() {
        let err = Interpreter::find(Some("/nonexistent/python3")).unwrap_err();
        assert!(matches!(&err, InterpreterError::Missing { name } if name == "/nonexistent/python3"), "{err:?}");
        assert!(err.to_string().starts_with("the Python interpreter /nonexistent/python3 does not exist; install"));
        let err = Interpreter::find(Some("mpisim-no-such-python")).unwrap_err();
        assert!(matches!(&err, InterpreterError::NotOnPath { name } if name == "mpisim-no-such-python"), "{err:?}");

        let pool = Pool::new(Launch {
            python: PathBuf::from("/nonexistent/python3"),
            shim: PathBuf::from("/nonexistent"),
            script: "ring.py".into(),
            args: Vec::new(),
            ranks_per_node: 1,
            seed: 0,
            measure: false,
        });
        let Err(err) = pool.take(1, 2) else { panic!("a missing interpreter started") };
        assert_eq!((err.rank, err.source.kind()), (1, io::ErrorKind::NotFound));
        assert!(err.to_string().starts_with("cannot start /nonexistent/python3 for rank 1: "), "{err}");
        assert!(std::error::Error::source(&err).is_some());
    }
}
