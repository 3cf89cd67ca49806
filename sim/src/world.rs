//! `World`: how a user builds and runs a simulated MPI job.

use crate::comm::Comm;
use crate::engine::{Config, Engine, OutputLine, RunStats};
use crate::error::SimError;
use crate::platform::Platform;
use crate::sched::{FirstChoice, Oracle};
use crate::task::Tasks;
use crate::time::Time;
use crate::trace::{Site, Trace, TRACE_SCHEMA};
use crate::{CallKind, Rank, Tag};

/// Default size of each rank's stack: ample for ordinary programs; lower it for runs with
/// hundreds of thousands of ranks, raise it for deep recursion.
pub const DEFAULT_STACK_SIZE: usize = 256 * 1024;

/// Default limit on engine steps (resumptions of ranks): stops a livelock.
pub const DEFAULT_STEP_LIMIT: u64 = 1 << 32;

/// A simulated MPI job of `n` ranks: the builder for a run.
///
/// ```
/// use mpisim::World;
/// let run = World::new(4).run(|comm| {
///     let right = (comm.rank() + 1) % comm.size();
///     let left = (comm.rank() + comm.size() - 1) % comm.size();
///     comm.sendrecv::<usize, usize>(&comm.rank(), right, 0, left, 0)
/// }).unwrap();
/// assert_eq!(run.results, vec![3, 0, 1, 2]);
/// ```
#[derive(Clone, Debug)]
pub struct World {
    ranks: usize,
    platform: Platform,
    seed: u64,
    strict: bool,
    stack_size: usize,
    step_limit: u64,
    record_trace: bool,
}

/// A run that completed.
#[derive(Debug)]
pub struct Completed<R> {
    /// Each rank's return value, in rank order.
    pub results: Vec<R>,
    /// Virtual time at which the last rank finished.
    pub time: Time,
    /// Message and call counts.
    pub stats: RunStats,
    /// The lines the ranks printed, in virtual-time order.
    pub output: Vec<OutputLine>,
    /// Warnings about a run that completed but is not clean.
    pub warnings: Vec<Warning>,
    /// Everything that happened.
    pub trace: Trace,
}

/// A run, however it ended: what `mpisim run` reports.
#[derive(Debug)]
pub struct Simulation<R> {
    /// Each rank's result, or why the run did not complete.
    pub outcome: Result<Vec<R>, SimError>,
    /// Virtual time reached.
    pub time: Time,
    /// Message and call counts.
    pub stats: RunStats,
    /// The lines the ranks printed, in virtual-time order.
    pub output: Vec<OutputLine>,
    /// Warnings (for a completed run).
    pub warnings: Vec<Warning>,
    /// Everything that happened, up to the end or the failure.
    pub trace: Trace,
}

/// Something wrong in a run that still completed.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Warning {
    /// A message arrived and was never received.
    Unreceived {
        /// The rank it was sent to.
        rank: Rank,
        /// Its sender.
        source: Rank,
        /// Its tag.
        tag: Tag,
        /// Its size.
        bytes: u64,
    },
    /// A request was never completed or freed.
    DanglingRequest {
        /// Its rank.
        rank: Rank,
        /// The call that made it.
        call: CallKind,
        /// Where.
        location: Site,
    },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::Unreceived { rank, source, tag, bytes } => {
                write!(f, "a message from rank {source} to rank {rank} (tag {tag}, {bytes} bytes) was never received")
            }
            Warning::DanglingRequest { rank, call, location } => write!(
                f,
                "rank {rank}: the request of {} at {location} was never completed (wait or test it) or freed",
                call.mpi_name()
            ),
        }
    }
}

impl<R> Simulation<R> {
    /// The completed run, or the error.
    pub fn into_result(self) -> Result<Completed<R>, SimError> {
        let results = self.outcome?;
        Ok(Completed {
            results,
            time: self.time,
            stats: self.stats,
            output: self.output,
            warnings: self.warnings,
            trace: self.trace,
        })
    }
}

impl World {
    /// A world of `ranks` ranks on the default platform, seed 0.
    pub fn new(ranks: usize) -> World {
        World {
            ranks,
            platform: Platform::default(),
            seed: 0,
            strict: false,
            stack_size: DEFAULT_STACK_SIZE,
            step_limit: DEFAULT_STEP_LIMIT,
            record_trace: true,
        }
    }

    /// Simulates on `platform`.
    pub fn platform(mut self, platform: Platform) -> World {
        self.platform = platform;
        self
    }

    /// Overrides the platform's eager limit (bytes; 0 makes every send synchronous).
    pub fn eager_limit(mut self, bytes: u64) -> World {
        self.platform.eager_limit = bytes;
        self
    }

    /// Seeds the run: same program, platform and seed give the same trace.
    pub fn seed(mut self, seed: u64) -> World {
        self.seed = seed;
        self
    }

    /// Strict mode: every standard send is synchronous, exposing programs that work only
    /// because small messages are buffered.
    pub fn strict(mut self, strict: bool) -> World {
        self.strict = strict;
        self
    }

    /// Bytes of stack per rank.
    pub fn stack_size(mut self, bytes: usize) -> World {
        self.stack_size = bytes;
        self
    }

    /// Stops the run after this many engine steps.
    pub fn step_limit(mut self, steps: u64) -> World {
        self.step_limit = steps;
        self
    }

    /// Whether to record the trace (on by default; off for speed).
    pub fn record_trace(mut self, on: bool) -> World {
        self.record_trace = on;
        self
    }

    /// The number of ranks.
    pub fn ranks(&self) -> usize {
        self.ranks
    }

    /// The platform.
    pub fn platform_ref(&self) -> &Platform {
        &self.platform
    }

    /// Runs `program` on every rank; `Ok` if every rank returned.
    pub fn run<R, F>(&self, program: F) -> Result<Completed<R>, SimError>
    where
        F: Fn(&Comm) -> R,
    {
        self.simulate(program).into_result()
    }

    /// Runs `program` on every rank and keeps everything, however the run ends.
    pub fn simulate<R, F>(&self, program: F) -> Simulation<R>
    where
        F: Fn(&Comm) -> R,
    {
        self.simulate_with(program, &mut FirstChoice)
    }

    /// [`World::simulate`] with the choices MPI leaves open made by `oracle`.
    pub fn simulate_with<R, F>(&self, program: F, oracle: &mut dyn Oracle) -> Simulation<R>
    where
        F: Fn(&Comm) -> R,
    {
        let trace = |events| Trace {
            schema: TRACE_SCHEMA,
            ranks: self.ranks,
            seed: self.seed,
            strict: self.strict,
            platform: self.platform.clone(),
            events,
        };
        let setup_error = |message: String| Simulation {
            outcome: Err(SimError::Setup { message }),
            time: Time::ZERO,
            stats: RunStats::default(),
            output: Vec::new(),
            warnings: Vec::new(),
            trace: trace(Vec::new()),
        };
        if self.ranks == 0 {
            return setup_error("a world needs at least 1 rank".into());
        }
        if self.ranks > u32::MAX as usize {
            return setup_error(format!("{} ranks is more than mpisim can number", self.ranks));
        }
        let mut tasks = match Tasks::<R>::new(self.ranks, self.stack_size) {
            Ok(t) => t,
            Err(message) => return setup_error(message),
        };
        let program = &program;
        for rank in 0..self.ranks {
            let (size, seed) = (self.ranks, self.seed);
            // SAFETY: `program` outlives `tasks`, which is dropped (unwinding every task)
            // at the end of this function.
            let spawned = unsafe {
                tasks.spawn(move |yielder| {
                    let (comm, _live) = Comm::world(rank, size, seed, yielder);
                    program(&comm)
                })
            };
            if let Err(message) = spawned {
                return setup_error(message);
            }
        }
        let cfg = Config {
            ranks: self.ranks,
            platform: self.platform.clone(),
            strict: self.strict,
            step_limit: self.step_limit,
            record_trace: self.record_trace,
        };
        let mut engine = Engine::new(cfg, oracle);
        let outcome = engine.run(&mut tasks);
        drop(tasks);
        // Printed lines in virtual-time order, ties by rank (a stable sort keeps each
        // rank's own order).
        engine.output.sort_by_key(|line| (line.time, line.rank));
        let mut warnings = Vec::new();
        if outcome.is_ok() {
            for (rank, source, tag, bytes) in engine.unreceived() {
                warnings.push(Warning::Unreceived { rank, source, tag, bytes });
            }
            for (rank, call, location) in engine.dangling_requests() {
                warnings.push(Warning::DanglingRequest { rank, call, location });
            }
        }
        Simulation {
            outcome,
            time: engine.now(),
            stats: engine.stats,
            output: std::mem::take(&mut engine.output),
            warnings,
            trace: trace(std::mem::take(&mut engine.events)),
        }
    }
}
