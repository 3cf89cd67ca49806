//! MPI launchers: telling whether this process was started by one, finding one, and
//! re-executing this very binary under it (`--real`).
//!
//! The job runs `LAUNCHER -n N [LAUNCHER ARGS…] THIS-BINARY SAME-ARGUMENTS`: every process
//! the launcher starts sees the launcher's variables in its environment and runs one rank
//! on real MPI, and the process that launched waits and passes on the exit code. Arguments
//! after `--` go to the launcher untouched (a host file, `--map-by node`, srun's
//! `--mpi=pmix`, …).

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

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether `launcher` is Open MPI's (`mpiexec --version` says so).
fn is_open_mpi(launcher: &Path) -> bool {
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
}

/// The command that runs `job`: the launcher, its arguments, then this binary with the
/// arguments it was given.
pub fn command(job: &Job) -> Result<Command, LauncherError> {
    let launcher = find(job.launcher.as_deref())?;
    let exe = std::env::current_exe().map_err(|e| LauncherError::OwnBinary { reason: e.to_string() })?;
    let mut cmd = Command::new(&launcher);
    cmd.arg("-n").arg(job.ranks.to_string());
    // Open MPI refuses more processes than cores unless told; with no launcher arguments
    // this is a run on this machine, where sharing cores is what the user asked for.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if job.ranks > cores && job.launcher_args.is_empty() && is_open_mpi(&launcher) {
        cmd.arg("--oversubscribe");
    }
    cmd.args(&job.launcher_args).arg(exe).args(std::env::args_os().skip(1));
    Ok(cmd)
}

/// Runs `job` and waits for it (at most its timeout).
pub fn relaunch(job: &Job) -> Result<Outcome, LauncherError> {
    let mut cmd = command(job)?;
    let name =
        Path::new(cmd.get_program()).file_name().map_or("the launcher".into(), |n| n.to_string_lossy().into_owned());
    let mut child = cmd.spawn().map_err(|e| LauncherError::Start { launcher: name.clone(), reason: e.to_string() })?;
    let waiting = |e: std::io::Error| LauncherError::Wait { launcher: name.clone(), reason: e.to_string() };
    let status = match job.timeout {
        None => child.wait().map_err(waiting)?,
        Some(timeout) => match wait_for(&mut child, timeout).map_err(waiting)? {
            Some(status) => status,
            None => {
                stop(&mut child);
                return Ok(Outcome::TimedOut { launcher: name });
            }
        },
    };
    match status.code() {
        Some(code) => Ok(Outcome::Exited(code)),
        None => Err(LauncherError::Killed { launcher: name, status: status.to_string() }),
    }
}

/// Waits for `child` at most `timeout`; `None` if it is still running then.
fn wait_for(
    child: &mut std::process::Child,
    timeout: Duration,
) -> Result<Option<std::process::ExitStatus>, std::io::Error> {
    // The launching process measures wall time by design: it is no part of a simulation.
    #[allow(clippy::disallowed_methods)]
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        #[allow(clippy::disallowed_methods)]
        let now = std::time::Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(20)));
    }
}

/// Stops a launcher: SIGTERM, which launchers pass on to their processes, then SIGKILL if
/// it has not gone after a grace period.
fn stop(child: &mut std::process::Child) {
    #[cfg(feature = "mpi")]
    {
        // SAFETY: plain call; the pid is our child's, which we have not reaped yet.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        if let Ok(Some(_)) = wait_for(child, Duration::from_secs(5)) {
            return;
        }
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
