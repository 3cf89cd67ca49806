//! A wall-clock watchdog for code that never yields: a rank that loops without calling MPI
//! never suspends into the engine, so nothing in virtual time can stop it. The watchdog is
//! a thread that watches the heartbeat of the simulation thread (each resumption of a rank
//! beats once) and, when one rank has run its own code for longer than the limit, reports
//! it. What to do then is the caller's: `mpisim run` prints the rank and its last call and
//! exits.
//!
//! The simulation itself stays on virtual time: the watchdog only observes it, from
//! another thread, and is the one place outside `real/` that reads the wall clock.
#![allow(clippy::disallowed_methods)]

use crate::call::CallKind;
use crate::site::CallSite;
use crate::trace::Site;
use crate::Rank;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// What the simulation thread tells the watchdog: a beat per resumption of a rank, the
/// rank running now, and its last call.
#[derive(Default)]
pub(crate) struct Pulse {
    beats: AtomicU64,
    /// The rank running, plus one (0: none).
    running: AtomicUsize,
    /// The last call's kind (`CallKind as usize + 1`, 0: none) and site.
    last_kind: AtomicUsize,
    last_site: AtomicUsize,
    last_script: AtomicUsize,
}

thread_local! {
    static PULSE: RefCell<Option<Arc<Pulse>>> = const { RefCell::new(None) };
}

/// The pulse of the watchdog that watches this thread, if one does: a world's tasks take
/// it once (a thread-local lookup on every switch cost the ping-pong a hundred
/// instructions a message).
pub(crate) fn pulse() -> Option<Arc<Pulse>> {
    PULSE.with(|p| p.borrow().clone())
}

impl Pulse {
    /// Beats for `rank` starting to run (`Some`) or having stopped (`None`); `last` is the
    /// call it just made.
    pub(crate) fn beat(&self, rank: Option<Rank>, last: Option<(CallKind, CallSite)>) {
        // Only the simulation thread writes the pulse: a load and a store, not the locked
        // read-modify-write of `fetch_add` (tens of cycles, twice a switch).
        self.beats.store(self.beats.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
        self.running.store(rank.map_or(0, |r| r + 1), Ordering::Relaxed);
        if let Some((kind, site)) = last {
            self.last_kind.store(kind as u8 as usize + 1, Ordering::Relaxed);
            let (address, script) = match site {
                CallSite::Rust(l) => (l as *const _ as usize, 0),
                CallSite::Script(s) => (s as *const _ as usize, 1),
            };
            self.last_site.store(address, Ordering::Relaxed);
            self.last_script.store(script, Ordering::Relaxed);
        }
    }
}

/// A rank found running its own code for too long.
#[derive(Clone, Debug, PartialEq)]
pub struct Stuck {
    /// The rank.
    pub rank: Rank,
    /// For how long, in wall-clock seconds, it has run without a call.
    pub seconds: f64,
    /// Its last MPI call and where it was made, if it made one.
    pub last_call: Option<(CallKind, Site)>,
}

impl std::fmt::Display for Stuck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "rank {} has run its own code for {:.0} s of wall time without an MPI call",
            self.rank, self.seconds
        )?;
        match &self.last_call {
            Some((call, site)) => write!(f, " (its last call was {} at {site})", call.mpi_name())?,
            None => write!(f, " (it has made no call yet)")?,
        }
        write!(
            f,
            ": a loop that never calls MPI can never see a message or end. The run is stopped. If the rank is \
             only computing for long, tell the simulator with comm.compute(duration) instead, or raise the limit \
             with --wall-limit SECONDS"
        )
    }
}

/// Watches the ranks that this thread runs while it lives; calls `stuck` (on its own
/// thread) if one runs its own code for longer than `limit`.
pub struct Watchdog {
    pulse: Arc<Pulse>,
    done: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    /// Starts watching the simulations run on this thread.
    pub fn start(limit: Duration, stuck: impl FnOnce(Stuck) + Send + 'static) -> Watchdog {
        let pulse = Arc::new(Pulse::default());
        PULSE.with(|p| *p.borrow_mut() = Some(pulse.clone()));
        let done = Arc::new((Mutex::new(false), Condvar::new()));
        let (watched, finished) = (pulse.clone(), done.clone());
        let every = (limit / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
        let thread = std::thread::spawn(move || {
            let mut stuck = Some(stuck);
            let (mut seen, mut since) = (u64::MAX, Instant::now());
            let (lock, wake) = &*finished;
            let mut over = lock.lock().unwrap_or_else(|e| e.into_inner());
            while !*over {
                over = wake.wait_timeout(over, every).unwrap_or_else(|e| e.into_inner()).0;
                let beats = watched.beats.load(Ordering::Relaxed);
                let running = watched.running.load(Ordering::Relaxed);
                if beats != seen || running == 0 {
                    (seen, since) = (beats, Instant::now());
                    continue;
                }
                if since.elapsed() >= limit {
                    if let Some(report) = stuck.take() {
                        report(Stuck {
                            rank: running - 1,
                            seconds: since.elapsed().as_secs_f64(),
                            last_call: last_call(&watched),
                        });
                    }
                    return;
                }
            }
        });
        Watchdog { pulse, done, thread: Some(thread) }
    }
}

/// The last call the pulse recorded.
fn last_call(pulse: &Pulse) -> Option<(CallKind, Site)> {
    let kind = pulse.last_kind.load(Ordering::Relaxed).checked_sub(1)?;
    // SAFETY: `CallKind` is `repr(u8)` and the number was stored from one (`kind as u8`).
    let kind = unsafe { std::mem::transmute::<u8, CallKind>(kind as u8) };
    let address = pulse.last_site.load(Ordering::Relaxed);
    // SAFETY: the address was stored from a `&'static` location or script line, which
    // lives for the whole process.
    let site = unsafe {
        match pulse.last_script.load(Ordering::Relaxed) {
            0 => CallSite::Rust(&*(address as *const std::panic::Location<'static>)),
            _ => CallSite::Script(&*(address as *const crate::site::ScriptLine)),
        }
    };
    Some((kind, site.site()))
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        PULSE.with(|p| {
            let mut p = p.borrow_mut();
            if p.as_ref().is_some_and(|mine| Arc::ptr_eq(mine, &self.pulse)) {
                *p = None;
            }
        });
        let (lock, wake) = &*self.done;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::World;
    use std::sync::atomic::AtomicBool;
    use std::sync::mpsc;

    #[test]
    fn a_rank_that_never_calls_mpi_is_reported_with_its_last_call() {
        let (found, stuck) = mpsc::channel();
        let release = Arc::new(AtomicBool::new(false));
        let free = release.clone();
        let run = std::thread::spawn(move || {
            let _watchdog = Watchdog::start(Duration::from_millis(50), move |s| found.send(s).unwrap());
            World::new(2)
                .run(move |comm| {
                    comm.barrier(); // @last
                    if comm.rank() == 1 {
                        while !free.load(Ordering::Relaxed) {
                            std::hint::spin_loop();
                        }
                    }
                })
                .map(|r| r.results.len())
        });
        let stuck = stuck.recv_timeout(Duration::from_secs(60)).expect("the watchdog reports the spinning rank");
        release.store(true, Ordering::Relaxed);
        assert_eq!(run.join().unwrap().unwrap(), 2, "the run itself goes on once the rank stops spinning");
        assert_eq!(stuck.rank, 1);
        let (call, site) = stuck.last_call.clone().expect("its last call");
        assert_eq!((call, site.file.as_ref()), (CallKind::Barrier, file!()));
        let text = stuck.to_string();
        assert!(text.contains("rank 1 has run its own code") && text.contains("--wall-limit"), "{text}");
    }
}
