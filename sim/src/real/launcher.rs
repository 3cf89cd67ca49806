//! MPI launchers: telling whether this process was started by one, finding one, and
//! re-executing this very binary under it (`--real`).
//!
//! The job runs `LAUNCHER -n N [LAUNCHER ARGS…] THIS-BINARY SAME-ARGUMENTS`: every process
//! the launcher starts sees the launcher's variables in its environment and runs one rank
//! on real MPI, and the process that launched waits and passes on the exit code. Arguments
//! after `--` go to the launcher untouched (a host file, `--map-by node`, srun's
//! `--mpi=pmix`, …).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

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
pub fn find(choice: Option<&str>) -> Result<PathBuf, String> {
    let env = std::env::var("MPISIM_LAUNCHER").ok().filter(|s| !s.is_empty());
    let install = "install an MPI library (Debian, Ubuntu: apt-get install openmpi-bin libopenmpi-dev), or name \
                   the launcher with --launcher NAME|PATH (or MPISIM_LAUNCHER)";
    match choice.or(env.as_deref()) {
        Some(name) if name.contains('/') => {
            let path = PathBuf::from(name);
            if path.is_file() {
                Ok(path)
            } else {
                Err(format!("the MPI launcher {name} does not exist"))
            }
        }
        Some(name) => on_path(name).ok_or_else(|| format!("the MPI launcher `{name}` is not on PATH; {install}")),
        None => LAUNCHERS
            .iter()
            .find_map(|name| on_path(name))
            .ok_or_else(|| format!("no MPI launcher found: none of {} is on PATH; {install}", LAUNCHERS.join(", "))),
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

/// The command that runs `job`: the launcher, its arguments, then this binary with the
/// arguments it was given.
pub fn command(job: &Job) -> Result<Command, String> {
    let launcher = find(job.launcher.as_deref())?;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program's own binary: {e}"))?;
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
    cmd.args(&job.launcher_args).arg(exe).args(std::env::args_os().skip(1));
    Ok(cmd)
}

/// Runs `job` and waits for it (at most its timeout).
pub fn relaunch(job: &Job) -> Result<Outcome, String> {
    relaunch_with(job, || {})
}

/// Runs `job` and waits for it; at its timeout, calls `before_stop` (the job still runs)
/// and then stops it. SIGINT (Ctrl-C) stops it too, without `before_stop`: the launcher
/// has had the same signal and is stopping the job already.
pub fn relaunch_with(job: &Job, before_stop: impl FnOnce()) -> Result<Outcome, String> {
    let mut cmd = command(job)?;
    let name =
        Path::new(cmd.get_program()).file_name().map_or("the launcher".into(), |n| n.to_string_lossy().into_owned());
    let interrupt = Interrupt::catch();
    let mut child = cmd.spawn().map_err(|e| format!("cannot start {name}: {e}"))?;
    let status = match wait_for(&mut child, job.timeout, &interrupt)? {
        Waited::Exited(status) if !interrupt.caught() => status,
        Waited::Exited(_) | Waited::Interrupted => {
            stop(&mut child);
            return Ok(Outcome::Interrupted { launcher: name });
        }
        Waited::TimedOut => {
            before_stop();
            stop(&mut child);
            return Ok(Outcome::TimedOut { launcher: name });
        }
    };
    match status.code() {
        Some(code) => Ok(Outcome::Exited(code)),
        None => Err(format!("{name} was killed by a signal ({status})")),
    }
}

/// SIGINT caught while a job runs (with the real backend; without it, Ctrl-C ends the
/// launching process as usual).
struct Interrupt {
    #[cfg(feature = "mpi")]
    flag: std::sync::Arc<std::sync::atomic::AtomicBool>,
    #[cfg(feature = "mpi")]
    id: Option<signal_hook::SigId>,
}

impl Interrupt {
    fn catch() -> Interrupt {
        #[cfg(feature = "mpi")]
        {
            let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let id = signal_hook::flag::register(signal_hook::consts::SIGINT, flag.clone()).ok();
            Interrupt { flag, id }
        }
        #[cfg(not(feature = "mpi"))]
        Interrupt {}
    }

    /// One that never catches anything.
    #[cfg(feature = "mpi")]
    fn none() -> Interrupt {
        Interrupt { flag: Default::default(), id: None }
    }

    fn caught(&self) -> bool {
        #[cfg(feature = "mpi")]
        return self.flag.load(std::sync::atomic::Ordering::Relaxed);
        #[cfg(not(feature = "mpi"))]
        false
    }
}

impl Drop for Interrupt {
    fn drop(&mut self) {
        #[cfg(feature = "mpi")]
        if let Some(id) = self.id {
            signal_hook::low_level::unregister(id);
        }
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
) -> Result<Waited, String> {
    // The launching process measures wall time by design: it is no part of a simulation.
    #[allow(clippy::disallowed_methods)]
    let deadline = timeout.map(|t| std::time::Instant::now() + t);
    loop {
        if let Some(status) = child.try_wait().map_err(|e| format!("waiting for the launcher: {e}"))? {
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
    #[cfg(feature = "mpi")]
    {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        // SAFETY: plain call; the pid is our child's, which we have not reaped yet.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        let no_interrupt = Interrupt::none();
        if let Ok(Waited::Exited(_)) = wait_for(child, Some(Duration::from_secs(5)), &no_interrupt) {
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
        assert!(err.contains("`no-such-launcher-anywhere` is not on PATH"), "{err}");
        assert!(err.contains("apt-get install openmpi-bin"), "{err}");
        let err = find(Some("/no/such/mpiexec")).unwrap_err();
        assert!(err.contains("does not exist"), "{err}");
    }

    #[test]
    fn a_launcher_on_path_is_found() {
        // `sh` stands in for a launcher: found by name, on PATH, like mpiexec.
        let found = find(Some("sh")).unwrap();
        assert!(found.ends_with("sh") && found.is_absolute());
    }
}
