//! The real MPI backend: the same programs on a real MPI library, on one machine or a
//! cluster.
//!
//! `--real` re-executes the program under an MPI launcher (`mpiexec -n N`, `mpirun`,
//! `srun`: [`launcher`]); each process the launcher starts finds itself under MPI and runs
//! one rank of the program with a `RealEngine` behind its `Comm`, which carries out the
//! same calls the simulator answers. At the end, rank 0 gathers every rank's result,
//! printed lines and counts, and prints the report of a simulated run with measured wall
//! time in place of virtual time.
//!
//! The engine needs the cargo feature `mpi` (the `mpi` crate, rsmpi 0.8, which needs an
//! MPI library with its headers and libclang). Without it, this module still finds
//! launchers and explains what is missing; the simulator never depends on any of it.
//!
//! Choices a real run makes:
//! - `compute(d)` spends `d` of the rank's own CPU time in a busy loop (and
//!   `compute_flops(n)` the platform's time for `n` flops): the rank occupies a core as
//!   real computation would, so when ranks outnumber cores they share them and wall-clock
//!   speedups stay honest. Sleeping would let every rank "compute" at once on one core.
//! - Times are wall-clock nanoseconds since a barrier at the start of the run, on each
//!   rank's own clock (`wtime`, printed lines, the run's time: the latest rank's end).
//! - A deadlock hangs the job as the real library does. At `--timeout` (or Ctrl-C) every
//!   rank says what it is blocked in ([`snapshot`]), and the report is the simulator's:
//!   each blocked call with its peer, tag, size and file:line, the wait-for graph's cycle
//!   and the hint ([`stopped`]). A run that was still moving is reported as hung.
//! - Collectives are checked across ranks as the simulator checks them (kind, root, op,
//!   count: [`signatures`]), without making them synchronise.

pub mod calibrate;
#[cfg(feature = "mpi")]
mod engine;
pub mod launcher;
#[cfg(feature = "mpi")]
mod mpit;
#[cfg(feature = "mpi")]
mod signatures;
#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
mod snapshot;
#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
mod stopped;
#[cfg(feature = "mpi")]
mod wire;

#[cfg(feature = "mpi")]
pub(crate) use engine::RealEngine;

use crate::comm::Comm;
use crate::launch::RunOptions;
use crate::report::{RunHeader, EXIT_USAGE};
use serde::Serialize;

/// Whether this binary was built with the real MPI backend (the cargo feature `mpi`).
pub const AVAILABLE: bool = cfg!(feature = "mpi");

/// How to get a binary with the real backend.
pub const BUILD_HINT: &str =
    "rebuild with `cargo build --release --features mpi`, which needs an MPI library with its \
                              development headers and libclang (Debian, Ubuntu: apt-get install openmpi-bin \
                              libopenmpi-dev libclang-dev)";

/// Runs `program` on real MPI if the options (`--real`) or the environment (a process
/// started by an MPI launcher) ask for it, and returns the exit code; `None` means
/// "simulate".
pub(crate) fn intercept<R: Serialize>(
    opts: &RunOptions,
    header: &RunHeader,
    default_ranks: usize,
    min_ranks: usize,
    program: impl Fn(&Comm) -> R,
) -> Option<i32> {
    let launched = launcher::started_by_launcher();
    if launched.is_none() && !opts.real {
        return None;
    }
    if !AVAILABLE {
        match launched {
            Some(var) => eprintln!(
                "error: this process was started by an MPI launcher ({var} is set), but this binary was built \
                 without the real MPI backend; {BUILD_HINT}, or run it without the launcher to simulate"
            ),
            None => eprintln!(
                "error: --real needs the real MPI backend, and this binary was built without it; {BUILD_HINT}"
            ),
        }
        return Some(EXIT_USAGE);
    }
    if opts.trace.is_some() || opts.tui {
        let flag = if opts.tui { "--tui" } else { "--trace" };
        eprintln!("error: {flag}: a run on real MPI records no trace; drop {flag}, or run on the simulator");
        return Some(EXIT_USAGE);
    }
    #[cfg(feature = "mpi")]
    {
        Some(match launched {
            Some(_) => job::run_rank(opts, header, min_ranks, program),
            None => job::relaunch(opts, header, opts.ranks.unwrap_or(default_ranks)),
        })
    }
    #[cfg(not(feature = "mpi"))]
    {
        let _ = (header, default_ranks, min_ranks, program);
        unreachable!("checked above: the backend is available")
    }
}

#[cfg(feature = "mpi")]
pub(crate) mod job {
    //! One run on real MPI: the launching process, and each rank's process.

    use super::launcher::{self, Job, Outcome};
    use super::snapshot::{write_json, RankSnapshot, REPORTS_ENV};
    use super::stopped::{self, FailureFile, Looks, Reports, Stopped};
    use super::RealEngine;
    use crate::comm::Comm;
    use crate::error::{RankFailure, SimError};
    use crate::launch::{emit, Format, RunOptions};
    use crate::report::{self, Backend, RunHeader, EXIT_DEADLOCK, EXIT_USAGE};
    use crate::time::Time;
    use crate::trace::{Site, Trace, TRACE_SCHEMA};
    use crate::words::plural;
    use crate::world::{OutputLine, RunStats};
    use crate::world::{Simulation, Warning};
    use mpi::traits::*;
    use serde::{Deserialize, Serialize};
    use serde_json::{json, Value};
    use std::cell::RefCell;
    use std::panic::{self, AssertUnwindSafe};
    use std::rc::Rc;

    /// Starts the job under the launcher and waits for it. The ranks print the report of
    /// a run that ends; of one that a rank fails, a timeout or Ctrl-C stops, this process
    /// does, from what the ranks left in a report directory ([`stopped`](super::stopped)).
    pub fn relaunch(opts: &RunOptions, header: &RunHeader, ranks: usize) -> i32 {
        let reports = match Reports::create() {
            Ok(r) => Some(r),
            Err(e) => {
                eprintln!(
                    "warning: cannot make a directory for the ranks' reports ({e}); a timeout of this run will only \
                     say that it hung"
                );
                None
            }
        };
        let job = Job {
            launcher: opts.launcher.clone(),
            ranks,
            launcher_args: opts.launcher_args.clone(),
            timeout: opts.timeout,
            env: reports.iter().map(|r| (REPORTS_ENV.to_string(), r.dir().as_os_str().to_owned())).collect(),
        };
        #[allow(clippy::disallowed_methods)] // wall time of a real run, by design
        let start = std::time::Instant::now();
        let mut looks = Looks::default();
        let outcome = launcher::relaunch_with(&job, || {
            if let Some(r) = &reports {
                looks = r.look(ranks);
            }
        });
        let time = Time::from(start.elapsed());
        let (launcher, why) = match outcome {
            Ok(Outcome::Exited(code)) => {
                return match reports.as_ref().and_then(Reports::failure) {
                    Some(failure) => print_failure(opts, header, ranks, failure, reports.as_ref()),
                    None => code,
                };
            }
            Ok(Outcome::TimedOut { launcher }) => {
                let seconds = job.timeout.map_or(0.0, |t| t.as_secs_f64());
                (launcher, Stop::Timeout(seconds))
            }
            Ok(Outcome::Interrupted { launcher }) => {
                // The ranks wrote what they were doing as the launcher stopped them.
                if let Some(r) = &reports {
                    looks = Looks { first: r.read("final", ranks), second: Vec::new() };
                }
                (launcher, Stop::Interrupt)
            }
            Err(message) => {
                eprintln!("error: {message}");
                return EXIT_USAGE;
            }
        };
        print_stopped(opts, header, ranks, &looks, time, &launcher, why)
    }

    /// Why a job was stopped.
    #[derive(Clone, Copy)]
    enum Stop {
        /// `--timeout`, in seconds.
        Timeout(f64),
        /// SIGINT (Ctrl-C) to the launching process.
        Interrupt,
    }

    /// The report of a job stopped before it finished.
    fn print_stopped(
        opts: &RunOptions,
        header: &RunHeader,
        ranks: usize,
        looks: &Looks,
        time: Time,
        launcher: &str,
        why: Stop,
    ) -> i32 {
        let snaps = || looks.second.iter().chain(&looks.first).flatten();
        let library = snaps().next().map_or_else(|| "an MPI library".to_string(), |s| s.library.clone());
        let header = RunHeader { backend: Backend::Real { library }, ..header.clone() };
        let stats = sum_stats(ranks, looks);
        let output = merged_output(ranks, looks);
        // The ranks' clocks at the last look (time since the run's start), rather than this
        // process's, which also counts the launch.
        let time = latest(ranks, looks).into_iter().flatten().map(|s| s.time).max().unwrap_or(time);
        let (stopped, json_why) = match why {
            Stop::Timeout(seconds) => (
                format!("--timeout stopped the job after {seconds} s"),
                json!({ "stopped_by": "timeout", "timeout_s": seconds }),
            ),
            Stop::Interrupt => ("Ctrl-C (SIGINT) stopped the job".to_string(), json!({ "stopped_by": "interrupt" })),
        };
        match stopped::judge(looks, ranks, time, opts.platform.eager_limit) {
            Stopped::Deadlock(report) => {
                let moved = if looks.second.is_empty() {
                    "each rank said where it was blocked".to_string()
                } else {
                    "each rank said where it was blocked, and none had moved when asked again".to_string()
                };
                let sim: Simulation<Value> = Simulation {
                    outcome: Err(SimError::Deadlock(report)),
                    time,
                    stats,
                    output,
                    warnings: Vec::new(),
                    trace: empty_trace(opts, ranks),
                    buffering_check: crate::BufferingCheck::NotRun,
                };
                let text = match opts.format {
                    Format::Text => format!("{}  found when {stopped}: {moved}\n", report::text(&sim, &header)),
                    Format::Json => {
                        let mut json = report::json(&sim, &header);
                        if let (Value::Object(j), Value::Object(w)) = (&mut json, json_why) {
                            j.extend(w);
                        }
                        format!("{json}\n")
                    }
                };
                emit(&text);
                report::exit_code(&sim)
            }
            Stopped::Hung(states) => {
                let library = match &header.backend {
                    Backend::Real { library } => library.clone(),
                    Backend::Simulated => String::new(),
                };
                let setup = format!(
                    "{}{} on {ranks} rank{}, real MPI ({library})",
                    header.program,
                    params(&header),
                    plural(ranks)
                );
                let text = match opts.format {
                    Format::Text => {
                        let mut out: String =
                            output.iter().map(|l| format!("[rank {}] {}\n", l.rank, l.text)).collect();
                        out += &format!("hung: {setup}\n  no result: {stopped} ({launcher} was stopped)");
                        if !states.is_empty() {
                            out += "; each rank was:\n";
                        }
                        for s in &states {
                            out += &format!("  rank {:>3}  {}\n", s.rank, s.doing);
                            if let Some(at) = &s.location {
                                out += &format!("            at {at}\n");
                            }
                        }
                        out += &format!(
                            "  hint: a run longer than --timeout, or ranks that compute or poll (iprobe, test) without \
                             end: raise --timeout, or simulate it (the simulator tells deadlocks and livelocks apart)\n  \
                             wall time {time}; {} message{}, {} bytes before it stopped\n",
                            stats.messages,
                            plural(stats.messages as usize),
                            stats.bytes
                        );
                        out
                    }
                    Format::Json => {
                        let mut json = json!({
                            "outcome": "hung",
                            "backend": "real",
                            "library": library,
                            "program": header.program,
                            "params": header.params.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect::<serde_json::Map<_, _>>(),
                            "size": ranks,
                            "wall_time_ns": time.as_nanos(),
                            "messages": stats.messages,
                            "bytes": stats.bytes,
                            "ranks": states,
                            "output": output.iter().map(|l| json!({"rank": l.rank, "time_ns": l.time.as_nanos(), "text": l.text})).collect::<Vec<_>>(),
                        });
                        if let (Value::Object(j), Value::Object(w)) = (&mut json, json_why) {
                            j.extend(w);
                        }
                        format!("{json}\n")
                    }
                };
                emit(&text);
                EXIT_DEADLOCK
            }
        }
    }

    /// The report of a run a rank failed, with what the other ranks said as the job was
    /// stopped.
    fn print_failure(
        opts: &RunOptions,
        header: &RunHeader,
        ranks: usize,
        failure: FailureFile,
        reports: Option<&Reports>,
    ) -> i32 {
        let finals = reports.map(|r| r.read("final", ranks)).unwrap_or_default();
        let others = Looks {
            first: finals.into_iter().enumerate().map(|(r, s)| s.filter(|_| r != failure.rank)).collect(),
            second: Vec::new(),
        };
        let mut stats = sum_stats(ranks, &others);
        stats.messages += failure.stats.messages;
        stats.bytes += failure.stats.bytes;
        stats.calls += failure.stats.calls;
        let mut output = merged_output(ranks, &others);
        output.extend(failure.output);
        output.sort_by_key(|l| (l.time, l.rank));
        let header = RunHeader { backend: Backend::Real { library: failure.library }, ..header.clone() };
        let sim: Simulation<Value> = Simulation {
            outcome: Err(failure.error),
            time: failure.time,
            stats,
            output,
            warnings: Vec::new(),
            trace: empty_trace(opts, ranks),
            buffering_check: crate::BufferingCheck::NotRun,
        };
        print(&sim, &header, opts.format)
    }

    /// Messages, bytes and calls of every rank, each as its latest snapshot says.
    fn sum_stats(ranks: usize, looks: &Looks) -> RunStats {
        let mut stats = RunStats::default();
        for snap in latest(ranks, looks).into_iter().flatten() {
            stats.messages += snap.stats.messages;
            stats.bytes += snap.stats.bytes;
            stats.calls += snap.stats.calls;
        }
        stats
    }

    /// Every rank's printed lines, as its latest snapshot has them, in time order.
    fn merged_output(ranks: usize, looks: &Looks) -> Vec<OutputLine> {
        let mut output: Vec<OutputLine> =
            latest(ranks, looks).into_iter().flatten().flat_map(|s| s.output.iter().cloned()).collect();
        output.sort_by_key(|l| (l.time, l.rank));
        output
    }

    fn latest(ranks: usize, looks: &Looks) -> Vec<Option<&RankSnapshot>> {
        (0..ranks)
            .map(|r| looks.second.get(r).and_then(Option::as_ref).or(looks.first.get(r).and_then(Option::as_ref)))
            .collect()
    }

    /// The trace of a real run: its setup, and no events.
    fn empty_trace(opts: &RunOptions, ranks: usize) -> Trace {
        Trace {
            schema: TRACE_SCHEMA,
            program: String::new(),
            params: Vec::new(),
            ranks,
            seed: opts.seed,
            strict: opts.strict,
            platform: opts.platform.clone(),
            events: Vec::new(),
        }
    }

    /// What each rank sends rank 0 at the end of a run.
    #[derive(Serialize, Deserialize)]
    struct RankReport {
        result: String,
        time: Time,
        stats: RunStats,
        output: Vec<OutputLine>,
        warnings: Vec<Warning>,
    }

    thread_local! {
        static PANIC: RefCell<Option<(String, Option<Site>)>> = const { RefCell::new(None) };
    }

    /// Runs one rank of the program in this process, which an MPI launcher started; rank 0
    /// prints the report.
    pub fn run_rank<R: Serialize>(
        opts: &RunOptions,
        header: &RunHeader,
        min_ranks: usize,
        program: impl Fn(&Comm) -> R,
    ) -> i32 {
        match run_in_job(opts, header, min_ranks, program) {
            JobEnd::Root(sim, header) => print(&sim, &header, opts.format),
            JobEnd::Other => 0,
            JobEnd::Usage(code) => code,
        }
    }

    /// How a rank's part in a job ended.
    pub enum JobEnd {
        /// Rank 0: the whole run, as a report tells it.
        Root(Box<Simulation<Value>>, RunHeader),
        /// Another rank: rank 0 has it all.
        Other,
        /// The job could not run as asked (the reason is printed); the exit code.
        Usage(i32),
    }

    /// Runs one rank of `program` in this process, which an MPI launcher started, and
    /// gathers the run at rank 0. A failing rank reports and stops the job itself.
    pub fn run_in_job<R: Serialize>(
        opts: &RunOptions,
        header: &RunHeader,
        min_ranks: usize,
        program: impl Fn(&Comm) -> R,
    ) -> JobEnd {
        keep_freed_memory();
        // Funneled: the rank's helper thread (super::snapshot) never calls MPI.
        let Some((universe, _)) = mpi::initialize_with_threading(mpi::Threading::Funneled) else {
            eprintln!("error: MPI was initialised already; a program run by mpisim must leave MPI to it");
            return JobEnd::Usage(EXIT_USAGE);
        };
        let world = universe.world();
        let (rank, size) = (world.rank() as usize, world.size() as usize);
        if let Some(n) = opts.ranks.filter(|&n| n != size) {
            if rank == 0 {
                eprintln!("error: -n {n} was given, but the MPI launcher started {size} processes; give the same number to both");
            }
            return JobEnd::Usage(EXIT_USAGE);
        }
        if size < min_ranks {
            if rank == 0 {
                eprintln!(
                    "error: program `{}` needs at least {min_ranks} ranks; the MPI launcher started {size}",
                    header.program
                );
            }
            return JobEnd::Usage(EXIT_USAGE);
        }
        let library = mpi::environment::library_version().unwrap_or_else(|_| "an MPI library".into());
        // "Open MPI v4.1.4, package: …" or "MPICH Version: 4.0.2\nMPICH Release date: …".
        let library = library.lines().next().and_then(|l| l.split(',').next()).unwrap_or_default().trim().to_string();
        let header = RunHeader { backend: Backend::Real { library: library.clone() }, ..header.clone() };
        let trace = Trace { program: header.program.clone(), params: header.params.clone(), ..empty_trace(opts, size) };
        let format = opts.format;
        let failure_header = header.clone();
        let failure_trace = trace.clone();
        let failure_library = library.clone();
        let report = Box::new(move |error: &SimError, time: Time, stats: &RunStats, output: &[OutputLine]| {
            let sim: Simulation<Value> = Simulation {
                outcome: Err(error.clone()),
                time,
                stats: *stats,
                output: output.to_vec(),
                warnings: Vec::new(),
                trace: failure_trace.clone(),
                buffering_check: crate::BufferingCheck::NotRun,
            };
            // Under `mpisim … --real`, the launching process reports the failure with every
            // rank's counts; a job started by hand has only this rank's to tell.
            if let Some(dir) = std::env::var_os(REPORTS_ENV).map(std::path::PathBuf::from) {
                let file = FailureFile {
                    rank,
                    library: failure_library.clone(),
                    error: error.clone(),
                    time,
                    stats: *stats,
                    output: output.to_vec(),
                };
                if write_json(&dir.join(format!("failure-{rank}.json")), &file).is_ok() {
                    return report::exit_code(&sim);
                }
            }
            print(&sim, &failure_header, format)
        });
        let engine = Rc::new(RealEngine::new(&world, library, opts.platform.clone(), report));
        let (comm, live) = Comm::with_backend(engine.clone(), rank, size, opts.seed);

        let previous = panic::take_hook();
        panic::set_hook(Box::new(|info| {
            PANIC.with(|p| *p.borrow_mut() = Some(crate::task::describe_panic(info)));
        }));
        let result = panic::catch_unwind(AssertUnwindSafe(|| program(&comm)));
        panic::set_hook(previous);
        drop(live);
        let result = match result.map(|r| serde_json::to_string(&r)) {
            Ok(Ok(json)) => json,
            Ok(Err(e)) => engine.fail(|rank, time| {
                SimError::RankFailed(RankFailure {
                    rank,
                    time,
                    call: None,
                    location: None,
                    error: None,
                    panic: Some(format!("the program's result cannot be written as JSON: {e}")),
                })
            }),
            Err(_) => {
                let (message, location) =
                    PANIC.with(|p| p.borrow_mut().take()).unwrap_or_else(|| ("the rank unwound".into(), None));
                engine.fail(|rank, time| {
                    SimError::RankFailed(RankFailure {
                        rank,
                        time,
                        call: None,
                        location,
                        error: None,
                        panic: Some(message),
                    })
                })
            }
        };

        let finished = engine.finish();
        let mine = RankReport {
            result,
            time: finished.time,
            stats: finished.stats,
            output: finished.output,
            warnings: finished.warnings,
        };
        let bytes = serde_json::to_vec(&mine).expect("rank reports are JSON");
        let gathered = gather_bytes(&world, &bytes);
        drop(comm);
        drop(engine);
        let Some(reports) = gathered else {
            return JobEnd::Other;
        };
        let reports: Vec<RankReport> =
            reports.iter().map(|b| serde_json::from_slice(b).expect("rank reports read back")).collect();
        let mut sim: Simulation<Value> = Simulation {
            outcome: Ok(Vec::new()),
            time: Time::ZERO,
            stats: RunStats::default(),
            output: Vec::new(),
            warnings: Vec::new(),
            trace,
            buffering_check: crate::BufferingCheck::NotRun,
        };
        let mut results = Vec::with_capacity(size);
        for r in reports {
            results.push(serde_json::from_str(&r.result).expect("results read back"));
            sim.time = sim.time.max(r.time);
            sim.stats.messages += r.stats.messages;
            sim.stats.bytes += r.stats.bytes;
            sim.stats.calls += r.stats.calls;
            sim.output.extend(r.output);
            sim.warnings.extend(r.warnings);
        }
        sim.outcome = Ok(results);
        sim.output.sort_by_key(|l| (l.time, l.rank));
        JobEnd::Root(Box::new(sim), header)
    }

    /// Every message allocates buffers of its size (the encoded value, its frame, the
    /// receive buffer, the decoded value). glibc hands large ones back to the kernel when
    /// they are freed, so the next message pays a page fault per 4 KiB again, which made
    /// messages above a few hundred KiB two to three times slower than their bytes. The
    /// rank's process keeps freed memory instead, as an MPI program reusing its buffers
    /// would.
    fn keep_freed_memory() {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: plain calls that only tune the allocator; made before any thread starts.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
        }
    }

    fn print(sim: &Simulation<Value>, header: &RunHeader, format: Format) -> i32 {
        let text = match format {
            Format::Text => report::text(sim, header),
            Format::Json => format!("{}\n", report::json(sim, header)),
        };
        emit(&text);
        report::exit_code(sim)
    }

    /// Gathers every rank's bytes at rank 0: the sizes first, then one varcount gather.
    fn gather_bytes(world: &mpi::topology::SimpleCommunicator, bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
        use mpi::datatype::PartitionMut;
        let root = world.process_at_rank(0);
        let len = bytes.len() as i32;
        if world.rank() != 0 {
            root.gather_into(&len);
            root.gather_varcount_into(bytes);
            return None;
        }
        let mut counts = vec![0i32; world.size() as usize];
        root.gather_into_root(&len, &mut counts[..]);
        let displs: Vec<i32> = counts.iter().scan(0, |acc, &c| Some(std::mem::replace(acc, *acc + c))).collect();
        let mut all = vec![0u8; counts.iter().map(|&c| c as usize).sum()];
        {
            let mut partition = PartitionMut::new(&mut all[..], &counts[..], &displs[..]);
            root.gather_varcount_into_root(bytes, &mut partition);
        }
        Some(counts.iter().zip(&displs).map(|(&c, &d)| all[d as usize..(d + c) as usize].to_vec()).collect())
    }

    fn params(header: &RunHeader) -> String {
        header.params.iter().map(|(k, v)| format!(" --{k} {v}")).collect()
    }
}

/// A rank's wall clock on a real run: nanoseconds since every rank left a barrier at the
/// start.
#[cfg(feature = "mpi")]
#[derive(Clone, Copy)]
pub(crate) struct Clock {
    start: std::time::Instant,
}

#[cfg(feature = "mpi")]
impl Clock {
    /// Starts the clock of this rank once every rank of `world` is ready.
    pub fn start(world: &mpi::topology::SimpleCommunicator) -> Clock {
        use mpi::traits::*;
        world.barrier();
        // The real backend measures wall time by design; the simulator never does.
        #[allow(clippy::disallowed_methods)]
        Clock { start: std::time::Instant::now() }
    }

    /// Time since the start.
    pub fn now(&self) -> crate::time::Time {
        self.start.elapsed().into()
    }
}

/// Spends `duration` of this thread's CPU time in a busy loop: the real backend's
/// `compute` (see the module docs for why not sleep).
#[cfg(feature = "mpi")]
pub(crate) fn spend_cpu(duration: crate::time::Time) {
    let start = thread_cpu_ns();
    let mut spin = 0u64;
    while thread_cpu_ns().saturating_sub(start) < duration.as_nanos() {
        // Work the optimiser cannot remove, between reads of the clock.
        for _ in 0..64 {
            spin = std::hint::black_box(spin.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
}

#[cfg(feature = "mpi")]
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: plain call with a valid out-pointer; this clock exists on every Linux and BSD.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Reports a real run that `--timeout` stopped (a deadlock, or a run longer than the
/// timeout) and returns its exit code, as a deadlock's.
pub(crate) fn report_hung(
    format: crate::launch::Format,
    header: &RunHeader,
    ranks: usize,
    launcher: &str,
    timeout: Option<std::time::Duration>,
) -> i32 {
    use crate::launch::Format;
    use serde_json::{json, Value};
    let seconds = timeout.map_or(0.0, |t| t.as_secs_f64());
    let params: String = header.params.iter().map(|(k, v)| format!(" --{k} {v}")).collect();
    let setup = format!("{}{params} on {ranks} rank{}, real MPI", header.program, crate::words::plural(ranks));
    let text = match format {
        Format::Text => format!(
            "hung: {setup}\n  no result after {seconds} s: {launcher} was stopped; a deadlock, or a run longer than \
             --timeout (simulate it to find out: the simulator reports deadlocks)\n"
        ),
        Format::Json => format!(
            "{}\n",
            json!({
                "outcome": "hung",
                "backend": "real",
                "program": header.program,
                "params": header.params.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect::<serde_json::Map<_, _>>(),
                "size": ranks,
                "timeout_s": seconds,
            })
        ),
    };
    crate::launch::emit(&text);
    crate::report::EXIT_DEADLOCK
}
