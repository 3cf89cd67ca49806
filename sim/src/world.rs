//! `World`: how a user builds and runs a simulated MPI job.

use crate::comm::Comm;
use crate::deadlock::{DeadlockReport, Unreceived};
use crate::engine::{Config, Engine};
use crate::error::SimError;
use crate::hazard::{BufferingCheck, Reliance};
use crate::platform::Platform;
use crate::sched::{Oracle, Schedule};
use crate::task::Tasks;
use crate::time::Time;
use crate::trace::{Site, Trace, TRACE_SCHEMA};
use crate::{CallKind, Rank};
use std::ops::ControlFlow;

/// Default size of each rank's stack: ample for ordinary programs; lower it for runs with
/// hundreds of thousands of ranks, raise it for deep recursion.
pub const DEFAULT_STACK_SIZE: usize = 256 * 1024;

/// Default limit on engine steps (resumptions of ranks): stops a livelock.
pub const DEFAULT_STEP_LIMIT: u64 = 1 << 32;

/// Default limit on virtual time: an hour of the simulated machine's time stops a program
/// that runs forever long before its trace or the wall clock do.
pub const DEFAULT_TIME_LIMIT: Time = Time(3_600_000_000_000);

/// Default limit on a trace's events (about 100 bytes each): about 800 MB at most.
pub const DEFAULT_TRACE_LIMIT: usize = 8_000_000;

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
    time_limit: Time,
    record_trace: bool,
    trace_limit: usize,
    schedule: Schedule,
    check_buffering: bool,
    algorithms: crate::coll::Algorithms,
    demand: crate::memory::Demand,
    program: String,
    params: Vec<(String, String)>,
}

/// Counts of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunStats {
    /// Point-to-point messages sent (not counting those to `PROC_NULL`).
    pub messages: u64,
    /// Bytes in those messages.
    pub bytes: u64,
    /// MPI calls made by all ranks.
    pub calls: u64,
    /// Virtual time spent in `compute` calls, summed over the ranks (POP's useful time).
    pub compute: Time,
    /// The most virtual time one rank spent in `compute` calls.
    pub compute_max: Time,
}

/// A line a rank printed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutputLine {
    /// Who printed it.
    pub rank: Rank,
    /// When, on the rank's clock.
    pub time: Time,
    /// The line.
    pub text: String,
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
    /// Everything that happened, up to the end or the failure (no events if
    /// [`World::record_trace`] is off).
    pub trace: Trace,
    /// Whether the buffering-hazard check re-ran the program strictly, and why.
    pub buffering_check: BufferingCheck,
}

/// Something wrong in a run that still completed.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Warning {
    /// A message arrived and was never received.
    Unreceived(Unreceived),
    /// The run completed only thanks to buffering: with zero buffering (every send
    /// synchronous) and synchronising collectives, as `--strict` runs it, it deadlocks.
    /// MPI promises neither, so another MPI library, platform or message size can hang.
    BufferingHazard {
        /// What the program relies on, in words.
        reliance: String,
        /// The deadlock of the strict run: its cycle, blocked calls and hint.
        deadlock: Box<DeadlockReport>,
    },
    /// The check for buffering hazards, a re-run with zero buffering, could not be set up
    /// (not enough memory for a second world, …): the run is unchecked, not hazard-free.
    HazardUnchecked {
        /// Why the re-run did not start.
        error: Box<SimError>,
    },
    /// The trace reached its limit of events and keeps only the first ones.
    TraceTruncated {
        /// The events it keeps.
        events: usize,
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
            Warning::Unreceived(u) => write!(f, "{u}"),
            Warning::BufferingHazard { reliance, deadlock } => {
                write!(f, "buffering hazard: the run completes only because {reliance}")?;
                if !deadlock.cycle.is_empty() {
                    write!(f, "; with zero buffering (--strict) it deadlocks in the cycle {}", deadlock.cycle_text())?;
                } else {
                    write!(f, "; with zero buffering (--strict) it deadlocks")?;
                }
                write!(f, "\n{}", deadlock.blocked_text().trim_end())?;
                write!(f, "\n  hint: {}", deadlock.hint)
            }
            Warning::HazardUnchecked { error } => write!(
                f,
                "the check for buffering hazards (a re-run with zero buffering) did not run, so reliance on \
                 buffering is unchecked: {error}"
            ),
            Warning::TraceTruncated { events } => write!(
                f,
                "the trace was truncated: it keeps the first {events} events of the run and none after (raise the \
                 limit with --trace-limit, World::trace_limit)"
            ),
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
            time_limit: DEFAULT_TIME_LIMIT,
            record_trace: true,
            trace_limit: DEFAULT_TRACE_LIMIT,
            schedule: Schedule::First,
            check_buffering: false,
            algorithms: crate::coll::Algorithms::default(),
            demand: crate::memory::Demand::default(),
            program: String::new(),
            params: Vec::new(),
        }
    }

    /// Names what runs, for its trace: the program and its parameters as a command line
    /// gives them (`mpisim run` names every run), so that a saved trace says what it is a
    /// trace of.
    pub fn describe(mut self, program: &str, params: &[(String, String)]) -> World {
        self.program = program.to_string();
        self.params = params.to_vec();
        self
    }

    /// Declares what the program holds at any number of ranks, so that a run that cannot
    /// fit on this machine (memory, `ulimit -v`, `vm.max_map_count`) is refused before it
    /// starts, with the figures and what to lower, instead of being killed half-way. Every
    /// world is checked for its ranks' own stacks and engine state; this adds the data.
    pub fn demand(mut self, demand: crate::memory::Demand) -> World {
        self.demand = demand;
        self
    }

    /// Makes the choices MPI leaves open (wildcard matches, `waitany`, `waitsome`, timing
    /// jitter) as `schedule` says: [`Schedule::First`] by default, or a token that
    /// [`World::explore`] or `--explore` printed, to replay a failure exactly.
    pub fn schedule(mut self, schedule: Schedule) -> World {
        self.schedule = schedule;
        self
    }

    /// After a run that completes, runs the program again with zero buffering and
    /// synchronising collectives (as `--strict` does); if that run deadlocks, adds a
    /// [`Warning::BufferingHazard`] with its cycle. Off by default, as it can double the
    /// cost of a run; `mpisim run` turns it on.
    pub fn check_buffering(mut self, on: bool) -> World {
        self.check_buffering = on;
        self
    }

    /// Runs `program` under up to `runs` schedules, stopping at the first run that does
    /// not complete: first under this world's own schedule, then under random ones
    /// (other wildcard matches and `waitany`/`waitsome` picks, then those with timing
    /// jitter too), drawn from this world's seed. The failure's [`Schedule`] is a token
    /// that replays it exactly with [`World::schedule`], `--replay TOKEN` or
    /// `MPISIM_SEED=TOKEN`.
    ///
    /// If the environment variable `MPISIM_SEED` holds a schedule token, only that
    /// schedule runs: set it to replay a failure that a test found.
    ///
    /// ```
    /// use mpisim::{World, ANY_SOURCE};
    /// // Which of ranks 1 and 2 the wildcard receive matches first is up to MPI.
    /// let found = World::new(3).explore(40, |comm| {
    ///     if comm.rank() == 0 {
    ///         let _: u8 = comm.recv(ANY_SOURCE, 0);
    ///         let _: u8 = comm.recv(2, 0); // wrong if the wildcard took rank 2's message
    ///     } else {
    ///         comm.send(&1u8, 0, 0);
    ///     }
    /// });
    /// let failure = found.failure.expect("some schedule matches rank 2 first");
    /// let replay = World::new(3).schedule(failure.schedule).run(|comm| {
    ///     if comm.rank() == 0 {
    ///         let _: u8 = comm.recv(ANY_SOURCE, 0);
    ///         let _: u8 = comm.recv(2, 0);
    ///     } else {
    ///         comm.send(&1u8, 0, 0);
    ///     }
    /// });
    /// assert!(replay.is_err());
    /// ```
    pub fn explore<R, F>(&self, runs: usize, program: F) -> Exploration<R>
    where
        F: Fn(&Comm) -> R,
    {
        self.explore_watched(runs, program, &mut |_| ControlFlow::Continue(()))
    }

    /// [`World::explore`], telling `watch` how many schedules have run after each one that
    /// completed; if it answers [`ControlFlow::Break`] (Ctrl-C, a progress bar's cancel),
    /// the exploration stops there with [`Exploration::stopped`] set.
    pub fn explore_watched<R, F>(
        &self,
        runs: usize,
        program: F,
        watch: &mut dyn FnMut(usize) -> ControlFlow<()>,
    ) -> Exploration<R>
    where
        F: Fn(&Comm) -> R,
    {
        let replay = std::env::var("MPISIM_SEED").ok().and_then(|v| v.parse::<Schedule>().ok());
        let schedules: Box<dyn Iterator<Item = Schedule>> = match replay {
            Some(token) => Box::new(std::iter::once(token)),
            None => Box::new(
                std::iter::once(self.schedule).chain((0..).map(|i| Schedule::explored(self.seed, i))).take(runs.max(1)),
            ),
        };
        let mut first = None;
        let mut done = 0;
        for (run, schedule) in schedules.enumerate() {
            let world = World { schedule, check_buffering: self.check_buffering && run == 0, ..self.clone() };
            let sim = world.simulate(&program);
            done += 1;
            if sim.outcome.is_err() {
                return Exploration {
                    runs: done,
                    first,
                    failure: Some(Box::new(ExploreFailure { schedule, run, simulation: sim })),
                    stopped: false,
                };
            }
            if first.is_none() {
                first = Some(sim);
            }
            if watch(done).is_break() {
                return Exploration { runs: done, first, failure: None, stopped: true };
            }
        }
        Exploration { runs: done, first, failure: None, stopped: false }
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

    /// Stops the run when its virtual time passes `limit` ([`DEFAULT_TIME_LIMIT`]: an hour),
    /// with what each rank was doing ([`SimError::TimeLimit`]).
    pub fn time_limit(mut self, limit: Time) -> World {
        self.time_limit = limit;
        self
    }

    /// Keeps at most `events` events in the trace ([`DEFAULT_TRACE_LIMIT`]); the run goes on
    /// and its trace says it was truncated ([`Warning::TraceTruncated`]).
    pub fn trace_limit(mut self, events: usize) -> World {
        self.trace_limit = events;
        self
    }

    /// Runs `collective` with `algorithm` instead of MPICH's choice by size (where the
    /// algorithm applies: see [`Algorithm`](crate::Algorithm)).
    ///
    /// # Panics
    /// If `algorithm` is not one of `collective`'s ([`Collective::algorithms`](crate::Collective::algorithms)).
    pub fn algorithm(mut self, collective: crate::Collective, algorithm: crate::Algorithm) -> World {
        if let Err(e) = self.algorithms.set(collective, algorithm) {
            panic!("World::algorithm: {e}");
        }
        self
    }

    /// Every algorithm choice at once (as `--algorithm` flags give them).
    pub fn algorithms(mut self, algorithms: crate::coll::Algorithms) -> World {
        self.algorithms = algorithms;
        self
    }

    /// Whether to record the trace (on by default; off for speed).
    pub fn record_trace(mut self, on: bool) -> World {
        self.record_trace = on;
        self
    }

    /// Whether the world fits on this machine as it is now (memory, `ulimit -v`,
    /// `vm.max_map_count`), with what its program declared it holds ([`World::demand`]):
    /// every run checks it before it starts; a command line checks it first to refuse a
    /// run that cannot fit as a usage error.
    pub fn fits(&self) -> Result<(), crate::memory::MemoryError> {
        crate::memory::check(&crate::memory::Plan {
            ranks: self.ranks,
            stack_size: self.stack_size,
            pooled_stacks: crate::task::pooled_stacks(self.stack_size),
            trace: self.record_trace.then_some(self.trace_limit),
            demand: &self.demand,
        })
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
        let mut oracle = self.schedule.oracle();
        self.simulate_with(program, &mut *oracle)
    }

    /// [`World::simulate`] with the choices MPI leaves open made by `oracle`.
    pub fn simulate_with<R, F>(&self, program: F, oracle: &mut dyn Oracle) -> Simulation<R>
    where
        F: Fn(&Comm) -> R,
    {
        let (mut sim, reliance) = self.run_once(&program, oracle);
        if self.check_buffering && sim.outcome.is_ok() && !self.strict {
            sim.buffering_check = match reliance {
                None => BufferingCheck::Unneeded,
                Some(reliance) if !reliance.needs_rerun() => BufferingCheck::Proven { reliance },
                Some(reliance) => {
                    let hazard = self.buffering_hazard(&program);
                    let check = match &hazard {
                        // The warning says why it did not run.
                        Some(Warning::HazardUnchecked { .. }) => BufferingCheck::NotRun,
                        found => BufferingCheck::Ran { reliance, hazard: found.is_some() },
                    };
                    sim.warnings.extend(hazard);
                    check
                }
            };
        }
        sim
    }

    /// The same program with zero buffering and synchronising collectives: a warning if
    /// it deadlocks.
    fn buffering_hazard<R>(&self, program: &dyn Fn(&Comm) -> R) -> Option<Warning> {
        let strict = World { strict: true, record_trace: false, check_buffering: false, ..self.clone() };
        let (sim, _) = strict.run_once(program, &mut *Schedule::First.oracle());
        let deadlock = match sim.outcome {
            Err(SimError::Deadlock(deadlock)) => deadlock,
            Err(error @ SimError::Setup { .. }) => return Some(Warning::HazardUnchecked { error: Box::new(error) }),
            _ => return None,
        };
        let collective = deadlock.blocked.iter().find(|b| b.call.is_collective());
        let reliance = match collective {
            Some(b) => format!(
                "{} returns before every rank has called it, which MPI allows but does not promise (collectives \
                 need not synchronise)",
                b.call.mpi_name()
            ),
            None => crate::words::buffered_below(self.platform.eager_limit),
        };
        Some(Warning::BufferingHazard { reliance, deadlock: Box::new(deadlock) })
    }

    /// One run; also says what in it a run without buffering could do otherwise.
    fn run_once<R>(&self, program: &dyn Fn(&Comm) -> R, oracle: &mut dyn Oracle) -> (Simulation<R>, Option<Reliance>) {
        let trace = |events| Trace {
            schema: TRACE_SCHEMA,
            program: self.program.clone(),
            params: self.params.clone(),
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
            buffering_check: BufferingCheck::NotRun,
        };
        if self.ranks == 0 {
            return (setup_error("a world needs at least 1 rank".into()), None);
        }
        if self.ranks > u32::MAX as usize {
            return (setup_error(format!("{} ranks is more than mpisim can number", self.ranks)), None);
        }
        if let Err(e) = self.fits() {
            return (setup_error(e.to_string()), None);
        }
        let mut tasks = match Tasks::<R>::new(self.ranks, self.stack_size) {
            Ok(t) => t,
            Err(message) => return (setup_error(message), None),
        };
        let algorithms = std::rc::Rc::new(self.algorithms.clone());
        let world = tasks.world();
        for rank in 0..self.ranks {
            let (size, seed, algorithms) = (self.ranks, self.seed, algorithms.clone());
            // SAFETY: `program` outlives `tasks`, which is dropped (unwinding every task)
            // at the end of this function.
            let spawned = unsafe {
                tasks.spawn(move |yielder| {
                    let (comm, _live) = Comm::world(world, rank, size, seed, yielder);
                    comm.ctx.coll.choose(algorithms);
                    program(&comm)
                })
            };
            if let Err(message) = spawned {
                return (setup_error(message), None);
            }
        }
        let cfg = Config {
            ranks: self.ranks,
            platform: self.platform.clone(),
            strict: self.strict,
            step_limit: self.step_limit,
            time_limit: self.time_limit,
            record_trace: self.record_trace,
            trace_limit: self.trace_limit,
            causality: self.check_buffering && !self.strict,
        };
        let mut engine = Engine::new(cfg, oracle);
        let outcome = engine.run(&mut tasks);
        drop(tasks);
        // Printed lines in virtual-time order, ties by rank (a stable sort keeps each
        // rank's own order).
        engine.output.sort_by_key(|line| (line.time, line.rank));
        let mut warnings = Vec::new();
        if outcome.is_ok() {
            warnings.extend(engine.unreceived().into_iter().map(Warning::Unreceived));
            for (rank, call, location) in engine.dangling_requests() {
                warnings.push(Warning::DanglingRequest { rank, call, location });
            }
        }
        if engine.truncated {
            warnings.push(Warning::TraceTruncated { events: engine.events.len() });
        }
        let sim = Simulation {
            outcome,
            time: engine.now(),
            stats: engine.stats,
            output: std::mem::take(&mut engine.output),
            warnings,
            trace: trace(std::mem::take(&mut engine.events)),
            buffering_check: BufferingCheck::NotRun,
        };
        (sim, engine.reliance())
    }
}

/// What [`World::explore`] found.
#[derive(Debug)]
pub struct Exploration<R> {
    /// How many schedules ran.
    pub runs: usize,
    /// The run under the world's own schedule, if it completed.
    pub first: Option<Simulation<R>>,
    /// The first run that did not complete.
    pub failure: Option<Box<ExploreFailure<R>>>,
    /// Whether the watcher of [`World::explore_watched`] stopped it before its last run.
    pub stopped: bool,
}

impl<R> Exploration<R> {
    /// `Ok(runs)` if every schedule completed, else the failure: for `?` and assertions
    /// in tests (`explore(..).result().unwrap()` prints how to replay).
    pub fn result(self) -> Result<usize, Box<ExploreFailure<R>>> {
        match self.failure {
            Some(failure) => Err(failure),
            None => Ok(self.runs),
        }
    }
}

/// A schedule under which a program failed, and what happened. Its `Debug` is its
/// `Display` (the failing run's error and how to replay it), so that a test's
/// `explore(..).result().unwrap()` prints that, not the whole run.
pub struct ExploreFailure<R> {
    /// The schedule: its text is the replay token.
    pub schedule: Schedule,
    /// Which run of the exploration found it (0 is the world's own schedule).
    pub run: usize,
    /// The failing run.
    pub simulation: Simulation<R>,
}

impl<R> ExploreFailure<R> {
    /// Why the run failed.
    pub fn error(&self) -> &SimError {
        self.simulation.outcome.as_ref().err().expect("a failure did not complete")
    }
}

impl<R> std::fmt::Display for ExploreFailure<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "run {} of the exploration failed, under schedule {}:", self.run, self.schedule)?;
        writeln!(f, "{}", self.error())?;
        write!(f, "replay it with MPISIM_SEED={} (tests), or --replay {} (mpisim run)", self.schedule, self.schedule)
    }
}

impl<R> std::fmt::Debug for ExploreFailure<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl<R: std::fmt::Debug> std::error::Error for ExploreFailure<R> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hazard_check_that_cannot_start_says_so() {
        // The strict re-run of a world it cannot set up: its setup error is the warning,
        // not silently no warning at all.
        let warning = World::new(0).buffering_hazard(&|_: &Comm| ()).expect("a warning");
        assert!(matches!(warning, Warning::HazardUnchecked { .. }), "{warning:?}");
        let text = warning.to_string();
        assert!(text.contains("did not run, so reliance on buffering is unchecked"), "{text}");
        assert!(text.contains("a world needs at least 1 rank"), "{text}");
    }
}
