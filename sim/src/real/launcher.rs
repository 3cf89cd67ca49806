//! MPI launchers: telling whether this process was started by one, finding one, and
//! re-executing this very binary under it (`--real`).
//!
//! The job runs `LAUNCHER -n N [LAUNCHER ARGS…] THIS-BINARY SAME-ARGUMENTS`: every process
//! the launcher starts sees the launcher's variables in its environment and runs one rank
//! on real MPI, and the process that launched waits and passes on the exit code. Arguments
//! after `--` go to the launcher untouched (a host file, `--map-by node`, srun's
//! `--mpi=pmix`, …).

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// How to get an MPI launcher, for the errors that find none.
const INSTALL: &str = "install an MPI library (Debian, Ubuntu: apt-get install openmpi-bin libopenmpi-dev), or name \
                       the launcher with --launcher NAME|PATH (or MPISIM_LAUNCHER)";

/// Why a job could not be started or waited for.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LauncherError {
    /// The launcher named by a path does not exist.
    Missing {
        /// The path given.
        path: String,
    },
    /// The launcher named is not on `PATH`.
    NotOnPath {
        /// The name given.
        name: String,
    },
    /// No launcher was named, and none of [`LAUNCHERS`] is on `PATH`.
    NoneFound,
    /// This program's own binary, which the job runs, cannot be found.
    OwnBinary {
        /// The operating system's reason.
        reason: String,
    },
    /// The launcher could not be started.
    Start {
        /// The launcher's name.
        launcher: String,
        /// The operating system's reason.
        reason: String,
    },
    /// Waiting for the launcher failed.
    Wait {
        /// The launcher's name.
        launcher: String,
        /// The operating system's reason.
        reason: String,
    },
    /// The launcher was killed by a signal.
    Killed {
        /// The launcher's name.
        launcher: String,
        /// How it ended.
        status: String,
    },
}

impl fmt::Display for LauncherError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LauncherError::Missing { path } => write!(f, "the MPI launcher {path} does not exist"),
            LauncherError::NotOnPath { name } => write!(f, "the MPI launcher `{name}` is not on PATH; {INSTALL}"),
            LauncherError::NoneFound => {
                write!(f, "no MPI launcher found: none of {} is on PATH; {INSTALL}", LAUNCHERS.join(", "))
            }
            LauncherError::OwnBinary { reason } => write!(f, "cannot find this program's own binary: {reason}"),
            LauncherError::Start { launcher, reason } => write!(f, "cannot start {launcher}: {reason}"),
            LauncherError::Wait { launcher, reason } => write!(f, "waiting for {launcher}: {reason}"),
            LauncherError::Killed { launcher, status } => write!(f, "{launcher} was killed by a signal ({status})"),
        }
    }
}

impl std::error::Error for LauncherError {}

/// Launchers `--real` looks for on `PATH`, in this order.
pub const LAUNCHERS: [&str; 3] = ["mpiexec", "mpirun", "srun"];

/// Environment variables that MPI launchers set in the processes they start: Open MPI's
/// mpiexec (`OMPI_COMM_WORLD_SIZE`), PMIx launchers (`PMIX_RANK`: Open MPI, Slurm's
/// `srun --mpi=pmix`), PMI launchers (`PMI_SIZE`, `PMI_RANK`: MPICH's Hydra, `srun
/// --mpi=pmi2`) and Hydra (`MPI_LOCALNRANKS`).
pub const LAUNCHER_ENV: [&str; 5] = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK", "MPI_LOCALNRANKS"];

/// The variable that says this process was started by an MPI launcher, if one does.
pub fn started_by_launcher() -> Option<&'static str> {
    LAUNCHER_ENV.into_iter().find(|var| std::env::var_os(var).is_some())
}

/// The launcher to use: `choice` (from `--launcher`), else `MPISIM_LAUNCHER`, else the first
/// of [`LAUNCHERS`] on `PATH`. A choice is a name looked up on `PATH`, or a path.
pub fn find(choice: Option<&str>) -> Result<PathBuf, LauncherError> {
    let env = std::env::var("MPISIM_LAUNCHER").ok().filter(|s| !s.is_empty());
    match choice.or(env.as_deref()) {
        Some(name) if name.contains('/') => {
            let path = PathBuf::from(name);
            if path.is_file() {
                Ok(path)
            } else {
                Err(LauncherError::Missing { path: name.to_string() })
            }
        }
        Some(name) => on_path(name).ok_or_else(|| LauncherError::NotOnPath { name: name.to_string() }),
        None => LAUNCHERS.iter().find_map(|name| on_path(name)).ok_or(LauncherError::NoneFound),
    }
}

/// The executable `name` in a directory of `PATH`.
pub(crate) fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether `launcher` is Open MPI's (`mpiexec --version` says so).
pub(crate) fn is_open_mpi(launcher: &Path) -> bool {
    Command::new(launcher).arg("--version").output().is_ok_and(|out| {
        let text = String::from_utf8_lossy(&out.stdout);
        text.contains("Open MPI") || text.contains("OpenRTE")
    })
}

/// A job to start.
#[derive(Clone, Debug)]
pub struct Job {
    /// `--launcher`: a name or a path (else found as [`find`] says).
    pub launcher: Option<String>,
    /// Number of processes.
    pub ranks: usize,
    /// Arguments for the launcher, given after `--`.
    pub launcher_args: Vec<String>,
    /// Stop the job after this long.
    pub timeout: Option<Duration>,
    /// Variables set in the job's environment.
    pub env: Vec<(String, OsString)>,
}

/// How a job ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The launcher exited with this code.
    Exited(i32),
    /// The job ran past its timeout and was stopped.
    TimedOut {
        /// The launcher's name.
        launcher: String,
    },
    /// The launching process got SIGINT (Ctrl-C), and the job was stopped.
    Interrupted {
        /// The launcher's name.
        launcher: String,
    },
}

/// Open MPI's variables without which it refuses to run as root.
const OPEN_MPI_ROOT: [&str; 2] = ["OMPI_ALLOW_RUN_AS_ROOT", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"];

fn running_as_root() -> bool {
    // SAFETY: a plain call with no arguments that cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The launcher's part of the command that runs `job`: `LAUNCHER -n N [ARGS…]` with the
/// job's environment, to which the program and its arguments are added.
pub(crate) fn launcher_command(job: &Job) -> Result<Command, LauncherError> {
    let launcher = find(job.launcher.as_deref())?;
    let mut cmd = Command::new(&launcher);
    cmd.arg("-n").arg(job.ranks.to_string());
    let open_mpi = is_open_mpi(&launcher);
    // Open MPI refuses more processes than cores unless told; with no launcher arguments
    // this is a run on this machine, where sharing cores is what the user asked for.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if job.ranks > cores && job.launcher_args.is_empty() && open_mpi {
        cmd.arg("--oversubscribe");
    }
    // As root, Open MPI prints a warning and exits 1 unless both variables are set: a
    // container or a CI machine is where mpisim runs as root, and where that is meant.
    if open_mpi && running_as_root() && OPEN_MPI_ROOT.iter().any(|v| std::env::var_os(v).is_none()) {
        eprintln!(
            "note: running as root: mpisim sets {}=1 for this job, without which Open MPI refuses to start (set them \
             yourself to silence this note)",
            OPEN_MPI_ROOT.join("=1 and ")
        );
        cmd.envs(OPEN_MPI_ROOT.map(|v| (v, "1")));
    }
    cmd.envs(job.env.iter().map(|(k, v)| (k, v)));
    cmd.args(&job.launcher_args);
    Ok(cmd)
}

/// The command that runs `job`: the launcher, its arguments, then this binary with the
/// arguments it was given.
pub fn command(job: &Job) -> Result<Command, LauncherError> {
    let exe = std::env::current_exe().map_err(|e| LauncherError::OwnBinary { reason: e.to_string() })?;
    let mut cmd = launcher_command(job)?;
    cmd.arg(exe).args(std::env::args_os().skip(1));
    Ok(cmd)
}

/// Runs `job` and waits for it (at most its timeout).
pub fn relaunch(job: &Job) -> Result<Outcome, LauncherError> {
    relaunch_with(job, || {})
}

/// Runs `job` and waits for it; at its timeout, calls `before_stop` (the job still runs)
/// and then stops it. SIGINT (Ctrl-C) stops it too, without `before_stop`: the launcher
/// has had the same signal and is stopping the job already.
pub fn relaunch_with(job: &Job, before_stop: impl FnOnce()) -> Result<Outcome, LauncherError> {
    run_with(command(job)?, job.timeout, before_stop).map(|(outcome, _)| outcome)
}

/// Runs a job's command and waits for it, at most `timeout`: how it ended, and after how
/// long (wall time).
pub(crate) fn run_timed(cmd: Command, timeout: Option<Duration>) -> Result<(Outcome, Duration), LauncherError> {
    run_with(cmd, timeout, || {})
}

fn run_with(
    mut cmd: Command,
    timeout: Option<Duration>,
    before_stop: impl FnOnce(),
) -> Result<(Outcome, Duration), LauncherError> {
    let name =
        Path::new(cmd.get_program()).file_name().map_or("the launcher".into(), |n| n.to_string_lossy().into_owned());
    let interrupt = Interrupt::catch();
    // The launching process measures wall time by design: it is no part of a simulation.
    #[allow(clippy::disallowed_methods)]
    let started = std::time::Instant::now();
    let mut child = cmd.spawn().map_err(|e| LauncherError::Start { launcher: name.clone(), reason: e.to_string() })?;
    let waited = wait_for(&mut child, timeout, &interrupt)
        .map_err(|e| LauncherError::Wait { launcher: name.clone(), reason: e.to_string() })?;
    let status = match waited {
        Waited::Exited(status) if !interrupt.caught() => status,
        Waited::Exited(_) | Waited::Interrupted => {
            stop(&mut child);
            return Ok((Outcome::Interrupted { launcher: name }, started.elapsed()));
        }
        Waited::TimedOut => {
            before_stop();
            stop(&mut child);
            return Ok((Outcome::TimedOut { launcher: name }, started.elapsed()));
        }
    };
    match status.code() {
        Some(code) => Ok((Outcome::Exited(code), started.elapsed())),
        None => Err(LauncherError::Killed { launcher: name, status: status.to_string() }),
    }
}

/// SIGINT caught while a job runs (with the real backend; without it, Ctrl-C ends the
/// launching process as usual).
struct Interrupt(Option<crate::sigint::Sigint>);

impl Interrupt {
    fn catch() -> Interrupt {
        Interrupt(cfg!(feature = "mpi").then(|| crate::sigint::Sigint::catch(None)))
    }

    /// One that never catches anything.
    fn none() -> Interrupt {
        Interrupt(None)
    }

    fn caught(&self) -> bool {
        self.0.as_ref().is_some_and(crate::sigint::Sigint::caught)
    }
}

/// How waiting for a launcher ended.
enum Waited {
    Exited(std::process::ExitStatus),
    TimedOut,
    Interrupted,
}

/// Waits for `child`, at most `timeout` if there is one, or until SIGINT.
fn wait_for(
    child: &mut std::process::Child,
    timeout: Option<Duration>,
    interrupt: &Interrupt,
) -> Result<Waited, std::io::Error> {
    // The launching process measures wall time by design: it is no part of a simulation.
    #[allow(clippy::disallowed_methods)]
    let deadline = timeout.map(|t| std::time::Instant::now() + t);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Waited::Exited(status));
        }
        if interrupt.caught() {
            return Ok(Waited::Interrupted);
        }
        #[allow(clippy::disallowed_methods)]
        let now = std::time::Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            return Ok(Waited::TimedOut);
        }
        let left = deadline.map_or(Duration::from_millis(20), |d| d - now);
        std::thread::sleep(left.min(Duration::from_millis(20)));
    }
}

/// Stops a launcher: SIGTERM, which launchers pass on to their processes, then SIGKILL if
/// it has not gone after a grace period.
fn stop(child: &mut std::process::Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    // SAFETY: plain call; the pid is our child's, which we have not reaped yet.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    if let Ok(Waited::Exited(_)) = wait_for(child, Some(Duration::from_secs(5)), &Interrupt::none()) {
        return;
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_launcher_is_explained() {
        let err = find(Some("no-such-launcher-anywhere")).unwrap_err();
        assert_eq!(err, LauncherError::NotOnPath { name: "no-such-launcher-anywhere".into() });
        let text = err.to_string();
        assert!(text.contains("`no-such-launcher-anywhere` is not on PATH"), "{text}");
        assert!(text.contains("apt-get install openmpi-bin"), "{text}");
        let err = find(Some("/no/such/mpiexec")).unwrap_err();
        assert_eq!(err.to_string(), "the MPI launcher /no/such/mpiexec does not exist");
    }

    #[test]
    fn a_launcher_on_path_is_found() {
        // `sh` stands in for a launcher: found by name, on PATH, like mpiexec.
        let found = find(Some("sh")).unwrap();
        assert!(found.ends_with("sh") && found.is_absolute());
    }
}
