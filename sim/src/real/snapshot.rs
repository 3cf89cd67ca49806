//! What a rank of a real run is doing, kept where a helper thread can read it at any
//! moment, even while the rank itself is blocked inside MPI.
//!
//! A real deadlock is a job that hangs: no rank returns to say where it is. So the engine
//! publishes, before each wait that may block, what the wait is for (its call and site,
//! and each pending operation with its peer as a world rank, tag, size and communicator),
//! and helper threads of the rank's process write that out when asked:
//! - when the launching `mpisim` creates `request-N` in the directory it named in
//!   [`REPORTS_ENV`] (it does so at `--timeout`, twice, to see whether anything moved),
//!   as `rank-R.N.json`;
//! - when the process gets SIGTERM or SIGINT (the launcher stopping the job: after a
//!   Ctrl-C, or after another rank's `MPI_Abort`), as `rank-R.final.json`, or, with no
//!   directory (a job started by hand under `mpiexec`), as one line on stderr; then the
//!   signal does what it would have done.
//!
//! The helper never calls MPI (the job runs at `MPI_THREAD_FUNNELED`), and the rank's
//! thread holds the lock only to copy a few words: publishing costs a lock and a store
//! per blocking call, and nothing while the rank runs.

use crate::call::CallKind;
use crate::time::Time;
use crate::trace::Site;
use crate::world::{OutputLine, RunStats};
use crate::{Rank, Tag};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The environment variable that names the directory where ranks write their snapshots.
pub(crate) const REPORTS_ENV: &str = "MPISIM_REAL_REPORTS";

/// How often the helper looks for a request.
const POLL: Duration = Duration::from_millis(25);

/// One pending operation of a blocked wait. Ranks are world ranks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum PendingOp {
    /// A send the library has not completed.
    Send {
        dest: Rank,
        tag: Tag,
        bytes: u64,
        /// `ssend`: completes only once its receive has started.
        synchronous: bool,
    },
    /// A receive (`source: None` for ANY_SOURCE). `matched`: its message is arriving.
    Recv { source: Option<Rank>, tag: Option<Tag>, matched: bool },
    /// A blocking probe.
    Probe { source: Option<Rank>, tag: Option<Tag> },
    /// A collective that synchronises (`MPI_Comm_split`): waits for every member to reach
    /// its `position` among the communicator's splits.
    Join { position: u64 },
}

/// A pending operation and where it travels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Pending {
    #[serde(flatten)]
    pub op: PendingOp,
    /// The rank's own id of the communicator (see [`CommFacts`]).
    pub comm: u32,
    /// On the communicator's collective context: a step of a collective's algorithm.
    pub collective: bool,
    /// The request's own call when it is not the wait's (an `MPI_Isend` waited for by
    /// `MPI_Waitall`), with its site.
    pub request: Option<(CallKind, Site)>,
}

/// The user's collective a rank is inside.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct InCollective {
    pub kind: CallKind,
    pub location: Site,
    /// The rank's own id of the communicator.
    pub comm: u32,
    /// World rank of the root, if rooted.
    pub root: Option<Rank>,
    /// Its algorithm, as the simulator names it.
    pub algorithm: Cow<'static, str>,
}

/// A wait that may block, as the engine publishes it before blocking.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Wait {
    pub call: Option<CallKind>,
    pub location: Option<Site>,
    pub collective: Option<InCollective>,
    /// `waitany`/`waitsome`: one completion would do.
    pub any: bool,
    pub pending: Vec<Pending>,
}

/// A communicator of the rank, by the rank's own id (its index here).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CommFacts {
    /// World ranks of the members, by rank in the communicator.
    pub members: Vec<Rank>,
    /// Collectives the rank has begun on it (its position in the communicator's order).
    pub collectives: u64,
    /// Splits the rank has entered on it.
    pub splits: u64,
}

/// What the rank is doing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub(crate) enum Activity {
    /// In the program's own code, or in a call that does not block; `last` is its last
    /// wait that blocked, if any.
    Running { last: Option<Wait> },
    /// In a wait that has not returned.
    Blocked { wait: Wait },
    /// The program returned.
    Finished,
}

/// A rank as its snapshot file tells it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RankSnapshot {
    pub rank: Rank,
    /// The MPI library, as it names itself.
    pub library: String,
    /// The library's own eager limit, if it says (MPI_T).
    pub eager_limit: Option<u64>,
    pub activity: Activity,
    /// Waits entered so far: unchanged between two snapshots means nothing moved.
    pub entered: u64,
    pub stats: RunStats,
    pub comms: Vec<CommFacts>,
    pub output: Vec<OutputLine>,
    /// Wall time on the rank's clock when the snapshot was taken.
    pub time: Time,
}

/// What the rank's thread publishes for the helper.
#[derive(Default)]
struct Published {
    entered: u64,
    wait: Wait,
    finished: bool,
    comms: Vec<CommFacts>,
    output: Vec<OutputLine>,
}

/// A rank's published state (the rank's thread writes, the helper reads).
#[derive(Default)]
pub(crate) struct Watch {
    published: Mutex<Published>,
    /// Waits left: equal to `Published::entered` when the rank is not blocked.
    left: AtomicU64,
    calls: AtomicU64,
    messages: AtomicU64,
    bytes: AtomicU64,
}

/// The rank's handle on its [`Watch`], which only its own thread holds.
pub(crate) struct Publisher {
    watch: Arc<Watch>,
    /// Waits entered, as the rank's thread knows without the lock.
    entered: u64,
}

/// Counts a single writer keeps: a load and a store, no read-modify-write.
fn bump(counter: &AtomicU64, by: u64) {
    counter.store(counter.load(Ordering::Relaxed) + by, Ordering::Relaxed);
}

impl Publisher {
    pub fn new() -> Publisher {
        Publisher { watch: Arc::new(Watch::default()), entered: 0 }
    }

    pub fn watch(&self) -> Arc<Watch> {
        self.watch.clone()
    }

    fn lock(&self) -> MutexGuard<'_, Published> {
        self.watch.published.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The rank is about to block in the wait `fill` describes (it is handed the last one,
    /// to reuse its memory).
    pub fn enter(&mut self, fill: impl FnOnce(&mut Wait)) {
        self.entered += 1;
        let mut p = self.lock();
        p.entered = self.entered;
        fill(&mut p.wait);
    }

    /// The wait entered last has returned.
    pub fn leave(&self) {
        self.watch.left.store(self.entered, Ordering::Release);
    }

    pub fn finished(&self) {
        self.lock().finished = true;
    }

    pub fn count_call(&self) {
        bump(&self.watch.calls, 1);
    }

    pub fn count_message(&self, bytes: u64) {
        bump(&self.watch.messages, 1);
        bump(&self.watch.bytes, bytes);
    }

    /// Messages, bytes and calls so far.
    pub fn stats(&self) -> RunStats {
        self.watch.stats()
    }

    pub fn print(&self, lines: impl Iterator<Item = OutputLine>) {
        self.lock().output.extend(lines);
    }

    /// The printed lines, taken (at the end of the run).
    pub fn take_output(&self) -> Vec<OutputLine> {
        std::mem::take(&mut self.lock().output)
    }

    /// A new communicator, whose id is the next index.
    pub fn comm_created(&self, members: Vec<Rank>) {
        self.lock().comms.push(CommFacts { members, collectives: 0, splits: 0 });
    }

    /// A collective begins on communicator `comm`.
    pub fn collective_begun(&self, comm: u32) {
        if let Some(c) = self.lock().comms.get_mut(comm as usize) {
            c.collectives += 1;
        }
    }

    /// A split begins on communicator `comm`; its position among the splits there.
    pub fn split_begun(&self, comm: u32) -> u64 {
        let mut p = self.lock();
        let Some(c) = p.comms.get_mut(comm as usize) else { return 0 };
        c.splits += 1;
        c.splits - 1
    }
}

impl Watch {
    fn stats(&self) -> RunStats {
        RunStats {
            messages: self.messages.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            calls: self.calls.load(Ordering::Relaxed),
            ..RunStats::default()
        }
    }

    /// The rank as it stands now.
    pub fn snapshot(&self, me: &Identity, time: Time) -> RankSnapshot {
        let p = self.published.lock().unwrap_or_else(|e| e.into_inner());
        let blocked = self.left.load(Ordering::Acquire) < p.entered;
        let wait = (p.entered > 0).then(|| p.wait.clone());
        let activity = match (p.finished, blocked, wait) {
            (true, _, _) => Activity::Finished,
            (false, true, Some(wait)) => Activity::Blocked { wait },
            (false, _, last) => Activity::Running { last },
        };
        RankSnapshot {
            rank: me.rank,
            library: me.library.clone(),
            eager_limit: me.eager_limit,
            activity,
            entered: p.entered,
            stats: self.stats(),
            comms: p.comms.clone(),
            output: p.output.clone(),
            time,
        }
    }
}

/// Who the helper speaks for.
#[derive(Clone, Debug)]
pub(crate) struct Identity {
    pub rank: Rank,
    pub library: String,
    pub eager_limit: Option<u64>,
}

/// The file of `rank`'s snapshot `round` (a number, or `final`) in `dir`.
pub(crate) fn snapshot_path(dir: &Path, rank: Rank, round: &str) -> PathBuf {
    dir.join(format!("rank-{rank}.{round}.json"))
}

/// The file whose existence asks every rank for snapshot `round`.
pub(crate) fn request_path(dir: &Path, round: u32) -> PathBuf {
    dir.join(format!("request-{round}"))
}

/// Writes `value` as JSON to `path` whole or not at all (a temporary file, renamed).
pub(crate) fn write_json(path: &Path, value: &impl Serialize) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(value).map_err(std::io::Error::other)?)?;
    std::fs::rename(tmp, path)
}

/// Starts the rank's helper thread (see the module docs). `now` reads the rank's clock.
#[cfg(feature = "mpi")]
pub(crate) fn spawn_helper(
    watch: Arc<Watch>,
    me: Identity,
    now: impl Fn() -> Time + Send + Sync + 'static,
) -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT])?;
    let dir = std::env::var_os(REPORTS_ENV).map(PathBuf::from).filter(|d| d.is_dir());
    let now = Arc::new(now);
    // The signal's thread blocks until one comes, so it answers at once, however busy the
    // rank's own thread is: the launcher kills a rank that has not gone a second after
    // SIGTERM (Open MPI's odls_base_sigkill_timeout), on a loaded machine too.
    let (final_watch, final_me, final_now, final_dir) = (watch.clone(), me.clone(), now.clone(), dir.clone());
    std::thread::Builder::new().name("mpisim-final".into()).spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let snap = final_watch.snapshot(&final_me, final_now());
            match &final_dir {
                Some(dir) => {
                    let _ = write_json(&snapshot_path(dir, final_me.rank, "final"), &snap);
                }
                None => eprintln!("{}", stopped_line(&snap)),
            }
            // What the signal would have done had the helper not caught it.
            let _ = signal_hook::low_level::emulate_default_handler(signal);
            std::process::abort();
        }
    })?;
    let Some(dir) = dir else { return Ok(()) };
    std::thread::Builder::new().name("mpisim-snapshot".into()).spawn(move || {
        let mut round = 1;
        loop {
            if request_path(&dir, round).exists() {
                let _ = write_json(&snapshot_path(&dir, me.rank, &round.to_string()), &watch.snapshot(&me, now()));
                round += 1;
                continue;
            }
            std::thread::sleep(POLL);
        }
    })?;
    Ok(())
}

/// A stopped rank in one line, for a job started without `mpisim` around it.
fn stopped_line(snap: &RankSnapshot) -> String {
    let rank = snap.rank;
    match &snap.activity {
        Activity::Finished => format!("mpisim: rank {rank} was stopped after its program had returned"),
        Activity::Running { .. } => format!("mpisim: rank {rank} was stopped while running (not blocked in MPI)"),
        Activity::Blocked { wait } => {
            let call = wait.collective.as_ref().map_or(wait.call, |c| Some(c.kind));
            let site = wait.collective.as_ref().map(|c| &c.location).or(wait.location.as_ref());
            let what = match wait.pending.first().map(|p| p.op) {
                Some(PendingOp::Send { dest, tag, bytes, .. }) => {
                    format!(" (a send to world rank {dest}, tag {tag}, {bytes} bytes)")
                }
                Some(PendingOp::Recv { source: Some(s), .. }) => format!(" (a receive from world rank {s})"),
                Some(PendingOp::Recv { source: None, .. }) => " (a receive from any source)".into(),
                _ => String::new(),
            };
            format!(
                "mpisim: rank {rank} was stopped while blocked in {}{what}{}",
                call.map_or("an MPI call", CallKind::mpi_name),
                site.map(|s| format!(" at {s}")).unwrap_or_default()
            )
        }
    }
}
