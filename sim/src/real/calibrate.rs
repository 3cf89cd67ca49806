//! `mpisim calibrate`: measures this machine's MPI with real ping-pongs and writes a
//! platform file the simulator accepts.
//!
//! Ranks 0 and 1 bounce messages of 8 B to 4 MiB through the same `Comm` calls every
//! program makes (the catalogue's `pingpong`), so the figures describe what mpisim programs
//! see. A least-squares fit (relative errors, so small and large messages weigh alike) of
//! the one-way time `α + n/B + h·[n > E]` gives latency α, bandwidth B, and the eager limit
//! E with the rendezvous handshake h: the jump in the curve, found as the split that fits
//! best and then narrowed with more sizes around it. The check that follows runs the
//! ping-pong, a ring of `sendrecv` steps and an allreduce on real MPI and on the simulator
//! with the fitted platform, and prints both times and their difference.
//!
//! Measurement goes in rounds: each adds a few batches of every size, and each size's
//! figure is its fastest batch so far (other processes only ever slow a batch down). The
//! rounds go on until the fit settles (two rounds in a row agree: [`settled`]) or the time
//! budget is spent. A fit that did not settle, or that is more than [`POOR_FIT`] off on
//! average, is not written without `--force`, and a written one says so; the eager limit
//! written is always a size that was measured.

use super::launcher::Job;
use crate::report::EXIT_USAGE;
use std::path::PathBuf;
use std::time::Duration;

/// The help text of `mpisim calibrate`.
pub const USAGE: &str = "\
usage: mpisim calibrate [-n N] [-o FILE] [--budget SECONDS] [--force] [--launcher NAME|PATH]
                        [--timeout SECONDS] [-- LAUNCHER ARGS…]

Measures this machine's MPI with ping-pongs of 8 B to 4 MiB between ranks 0 and 1, in
rounds until the fit of latency, bandwidth and the eager limit settles, checks the fit by
running a ping-pong, a ring and an allreduce both for real and simulated, and writes a
platform file (--platform FILE). A fit that did not settle or is more than 10% off on
average is not written (exit code 1) unless --force is given.

  -n N                  ranks of the job (default 2; the ring and allreduce use all of them)
  -o, --output FILE     the platform file to write (default calibrated.ron)
  --budget SECONDS      the longest the ping-pong rounds may take (default 60)
  --force               write the platform file even if the fit is poor
  --launcher NAME|PATH  mpiexec, mpirun, srun, … (default: MPISIM_LAUNCHER, else found on PATH)
  --timeout SECONDS     stop the job after this long
  -- ARGS…              pass the rest to the launcher (e.g. -- --hostfile hosts)";

/// What `mpisim calibrate` was asked.
#[derive(Clone, Debug, PartialEq)]
struct Options {
    ranks: usize,
    output: PathBuf,
    launcher: Option<String>,
    timeout: Option<Duration>,
    launcher_args: Vec<String>,
    /// The longest the ping-pong rounds may take.
    budget: Duration,
    /// Write the platform file even if the fit is poor.
    force: bool,
}

/// Exit code of a calibration whose fit was too poor to write (without `--force`).
pub const EXIT_POOR_FIT: i32 = 1;

/// A file the launching process names for rank 0's exit code: rank 0 exits 0 and writes
/// its code there, since a rank that exits otherwise makes the launcher abort the job and
/// print a banner of its own.
#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
const EXIT_FILE_ENV: &str = "MPISIM_CALIBRATE_EXIT_FILE";

fn parse(args: &[String]) -> Result<Options, String> {
    let mut opts = Options {
        ranks: 2,
        output: PathBuf::from("calibrated.ron"),
        launcher: None,
        timeout: None,
        launcher_args: Vec::new(),
        budget: Duration::from_secs(60),
        force: false,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "-n" | "--ranks" | "-np" => {
                let v = value(arg)?;
                opts.ranks = v.parse().ok().filter(|&n| n >= 2).ok_or_else(|| {
                    format!("{arg}: `{v}` is not a number of ranks of 2 or more (a ping-pong needs two)")
                })?;
            }
            "-o" | "--output" => opts.output = PathBuf::from(value(arg)?),
            "--launcher" => opts.launcher = Some(value(arg)?),
            "--timeout" | "--budget" => {
                let v = value(arg)?;
                let secs: f64 = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0 && *s < 1e9)
                    .ok_or_else(|| format!("{arg}: `{v}` is not a number of seconds above 0"))?;
                match arg.as_str() {
                    "--timeout" => opts.timeout = Some(Duration::from_secs_f64(secs)),
                    _ => opts.budget = Duration::from_secs_f64(secs),
                }
            }
            "--force" => opts.force = true,
            "--" => opts.launcher_args = it.by_ref().cloned().collect(),
            other => return Err(format!("unexpected argument `{other}`")),
        }
    }
    Ok(opts)
}

/// `mpisim calibrate ARGS`: returns the exit code.
pub fn main(args: &[String]) -> i32 {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        crate::launch::emit(&format!("{USAGE}\n"));
        return 0;
    }
    let opts = match parse(args) {
        Ok(opts) => opts,
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return EXIT_USAGE;
        }
    };
    if !super::AVAILABLE {
        eprintln!(
            "error: calibrate measures a real MPI library, and this binary was built without it; {}",
            super::BUILD_HINT
        );
        return EXIT_USAGE;
    }
    let exit_file = std::env::temp_dir().join(format!("mpisim-calibrate-{}.exit", std::process::id()));
    let job = Job {
        launcher: opts.launcher.clone(),
        ranks: opts.ranks,
        launcher_args: opts.launcher_args.clone(),
        timeout: opts.timeout,
        env: vec![(EXIT_FILE_ENV.into(), exit_file.clone().into_os_string())],
    };
    #[cfg(feature = "mpi")]
    {
        if super::launcher::started_by_launcher().is_some() {
            return measure::in_job(&opts);
        }
        let outcome = super::launcher::relaunch(&job);
        let rank0 = std::fs::read_to_string(&exit_file).ok().and_then(|c| c.trim().parse::<i32>().ok());
        let _ = std::fs::remove_file(&exit_file);
        match outcome {
            Ok(super::launcher::Outcome::Exited(code)) => rank0.filter(|_| code == 0).unwrap_or(code),
            Ok(super::launcher::Outcome::TimedOut { launcher }) => {
                eprintln!("error: calibration did not finish within --timeout; {launcher} was stopped");
                crate::report::EXIT_DEADLOCK
            }
            Ok(super::launcher::Outcome::Interrupted { launcher }) => {
                eprintln!("error: calibration interrupted (Ctrl-C); {launcher} was stopped and nothing was written");
                crate::report::EXIT_DEADLOCK
            }
            Err(e) => {
                eprintln!("error: {e}");
                EXIT_USAGE
            }
        }
    }
    #[cfg(not(feature = "mpi"))]
    {
        let _ = (job, exit_file);
        unreachable!("checked above: the backend is available")
    }
}

#[cfg(any(feature = "mpi", test))]
/// One measured or simulated time: a message size and nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Point {
    bytes: u64,
    ns: f64,
}

#[cfg(any(feature = "mpi", test))]
/// The model `t(n) = α + βn + h·[n > E]` fitted to one-way times.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Fit {
    /// α, ns.
    latency: f64,
    /// β, ns per byte.
    per_byte: f64,
    /// E, bytes: the largest size sent eagerly (`u64::MAX`: no switch seen).
    eager_limit: u64,
    /// h, ns: the extra time above E.
    handshake: f64,
}

#[cfg(any(feature = "mpi", test))]
impl Fit {
    fn predict(&self, bytes: u64) -> f64 {
        let jump = if bytes > self.eager_limit { self.handshake } else { 0.0 };
        self.latency + self.per_byte * bytes as f64 + jump
    }

    /// The relative error of each point.
    fn errors(&self, points: &[Point]) -> Vec<f64> {
        points.iter().map(|p| self.predict(p.bytes) / p.ns - 1.0).collect()
    }

    fn rms(&self, points: &[Point]) -> f64 {
        let e = self.errors(points);
        (e.iter().map(|x| x * x).sum::<f64>() / e.len().max(1) as f64).sqrt()
    }

    /// Mean absolute relative error: what the fit minimises.
    fn mean_error(&self, points: &[Point]) -> f64 {
        let e = self.errors(points);
        e.iter().map(|x| x.abs()).sum::<f64>() / e.len().max(1) as f64
    }
}

#[cfg(any(feature = "mpi", test))]
/// The fit of `t ≈ α + βn + h·[n > limit]` with the least mean absolute relative error,
/// by iteratively reweighted least squares: a point that a busy machine slowed down pulls
/// on the line far less than under plain least squares. `None` if the points cannot
/// determine it.
fn fit_at(points: &[Point], limit: u64) -> Option<Fit> {
    let jump = points.iter().any(|p| p.bytes > limit) && points.iter().any(|p| p.bytes <= limit);
    let k = if jump { 3 } else { 2 };
    let mut weights = vec![1.0f64; points.len()];
    let mut fit = None;
    for _ in 0..50 {
        let mut ata = [[0.0f64; 3]; 3];
        let mut atb = [0.0f64; 3];
        for (p, weight) in points.iter().zip(&weights) {
            // Relative residuals: row and target divided by the measured time.
            let w = weight.sqrt() / p.ns;
            let row = [w, w * p.bytes as f64, if p.bytes > limit { w } else { 0.0 }];
            for i in 0..k {
                for j in 0..k {
                    ata[i][j] += row[i] * row[j];
                }
                atb[i] += row[i] * p.ns * w;
            }
        }
        let x = solve(ata, atb, k)?;
        let next = Fit {
            latency: x[0],
            per_byte: x[1],
            eager_limit: if jump { limit } else { u64::MAX },
            handshake: if jump { x[2] } else { 0.0 },
        };
        weights = next.errors(points).iter().map(|e| 1.0 / e.abs().max(1e-4)).collect();
        fit = Some(next);
    }
    fit.filter(|f| f.latency > 0.0 && f.per_byte > 0.0 && f.handshake >= 0.0)
}

#[cfg(any(feature = "mpi", test))]
/// Solves the `k`×`k` system by Gaussian elimination with partial pivoting.
fn solve(mut a: [[f64; 3]; 3], mut b: [f64; 3], k: usize) -> Option<[f64; 3]> {
    for col in 0..k {
        let pivot = (col..k).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-300 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let pivot_row = a[col];
        for row in col + 1..k {
            let f = a[row][col] / pivot_row[col];
            for (x, p) in a[row].iter_mut().zip(pivot_row).take(k).skip(col) {
                *x -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0.0; 3];
    for row in (0..k).rev() {
        let rest: f64 = (row + 1..k).map(|c| a[row][c] * x[c]).sum();
        x[row] = (b[row] - rest) / a[row][row];
    }
    Some(x)
}

/// The eager/rendezvous switch is looked for below this size. Libraries switch well below
/// it (Open MPI's shared memory at 4 KiB, TCP at 64 KiB, MPICH at 128 KiB); above it a
/// machine's memory system bends the curve in ways that are no protocol's doing.
#[cfg(any(feature = "mpi", test))]
const SWITCH_SEARCH_MAX: u64 = 256 * 1024;

#[cfg(any(feature = "mpi", test))]
/// The best fit over every split of the sizes: the eager limit is where the curve jumps.
/// A jump must earn its extra parameter: it is kept only if it cuts the mean error of the
/// fit without one by a tenth.
fn fit(points: &[Point]) -> Option<Fit> {
    let mut sizes: Vec<u64> = points.iter().map(|p| p.bytes).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let smooth = fit_at(points, u64::MAX);
    let jump = sizes
        .iter()
        .filter(|&&limit| limit < SWITCH_SEARCH_MAX)
        .filter_map(|&limit| fit_at(points, limit))
        .filter(|f| f.eager_limit != u64::MAX)
        .min_by(|a, b| a.mean_error(points).total_cmp(&b.mean_error(points)));
    match (smooth, jump) {
        (Some(s), Some(j)) if j.mean_error(points) >= 0.9 * s.mean_error(points) => Some(s),
        (s, j) => j.or(s),
    }
}

#[cfg(any(feature = "mpi", test))]
/// Two fits of successive rounds agree: the same eager limit, latency and bandwidth within
/// [`SETTLED`] of each other, mean errors within [`SETTLED`] (as a fraction) too.
fn settled(before: (&Fit, f64), after: (&Fit, f64)) -> bool {
    let ((a, a_error), (b, b_error)) = (before, after);
    let close = |x: f64, y: f64| (x / y - 1.0).abs() <= SETTLED;
    a.eager_limit == b.eager_limit
        && close(a.latency, b.latency)
        && close(a.per_byte, b.per_byte)
        && (a_error - b_error).abs() <= SETTLED
}

/// Successive fits within this fraction of each other have settled.
#[cfg(any(feature = "mpi", test))]
const SETTLED: f64 = 0.01;

/// A fit whose mean relative error is above this is poor: it is written only with
/// `--force`. The fits of a quiet machine are within about 5%; the 61% of a loaded one
/// is what this bound keeps out of platform files.
#[cfg(any(feature = "mpi", test))]
const POOR_FIT: f64 = 0.10;

#[cfg(any(feature = "mpi", test))]
/// Why the fit of `points` is too poor to write as it is, if it is: not settled within the
/// budget, or more than [`POOR_FIT`] off on average.
fn poor(fit: &Fit, points: &[Point], settled: bool) -> Option<String> {
    let error = fit.mean_error(points);
    let mut why = Vec::new();
    if error > POOR_FIT {
        why.push(format!("the fit is {:.1}% off on average (more than {:.0}%)", error * 100.0, POOR_FIT * 100.0));
    }
    if !settled {
        why.push("it had not settled when the budget was spent (each round moved it)".to_string());
    }
    (!why.is_empty()).then(|| why.join(", and "))
}

#[cfg(any(feature = "mpi", test))]
/// The eager limit to write: the fit's, or, if the curve had no jump, the largest size
/// measured (every size was sent eagerly, so the library's limit is at least that).
/// Always a size that was measured.
fn eager_limit(fit: &Fit, points: &[Point]) -> u64 {
    match fit.eager_limit {
        u64::MAX => points.iter().map(|p| p.bytes).max().unwrap_or(0),
        e => e,
    }
}

#[cfg(any(feature = "mpi", test))]
/// The platform a fit of `points` describes: this machine's link for every pair of ranks.
fn platform(fit: &Fit, points: &[Point]) -> crate::Platform {
    let link = crate::platform::Link {
        latency_ns: fit.latency.round() as u64,
        bandwidth: (1e9 / fit.per_byte).round() as u64,
        ..Default::default()
    };
    crate::Platform {
        name: "calibrated".into(),
        eager_limit: eager_limit(fit, points),
        intra: link.clone(),
        inter: link,
        handshake_ns: fit.handshake.round() as u64,
        ..Default::default()
    }
}

#[cfg(feature = "mpi")]
mod measure {
    //! The calibration job: measurements on every rank, the fit and the check on rank 0.

    use super::{fit, platform, poor, settled, Fit, Options, Point, EXIT_POOR_FIT};
    use crate::catalogue::pingpong;
    use crate::codec::payload_of_size;
    use crate::comm::Comm;
    use crate::launch::{emit, RunOptions};
    use crate::real::job::{run_in_job, JobEnd};
    use crate::report::{Backend, RunHeader, EXIT_USAGE};
    use crate::{op, Platform, World};
    use serde::{Deserialize, Serialize};
    use std::collections::BTreeMap;
    use std::fmt::Write;
    use std::time::Duration;

    /// Sizes of the coarse ping-pong sweep: 8 B to 4 MiB, ×2 and ×1.5 steps.
    fn sizes() -> Vec<u64> {
        (3..22).flat_map(|k| [1u64 << k, 3 << (k - 1)]).filter(|&n| n <= 4 << 20).collect()
    }

    /// Round trips per batch: about 100 µs of them (at least 2). Short batches are more
    /// likely to run while nothing else on the machine needs the cores.
    fn round_trips(bytes: u64) -> u64 {
        ((1u64 << 17) / (bytes + 2048)).clamp(2, 200)
    }

    /// Batches of each ring and allreduce measurement; the fastest counts. Other processes
    /// on the machine only ever slow a batch down, so the minimum is the figure least
    /// disturbed by them.
    const BATCHES: usize = 25;

    /// Batches of every ping-pong size in one round of measurement.
    const ROUND_BATCHES: usize = 5;

    /// What every rank measured; the ping-pong is rank 0's.
    #[derive(Default, Serialize, Deserialize)]
    struct Measured {
        pingpong: Vec<Point>,
        ring: Vec<Point>,
        allreduce: Vec<Point>,
        /// Rounds of ping-pongs, and whether the fit had settled after the last.
        rounds: u32,
        settled: bool,
        /// Wall time the rounds took, s.
        seconds: f64,
    }

    fn fastest(xs: impl Iterator<Item = f64>) -> f64 {
        xs.fold(f64::INFINITY, f64::min)
    }

    /// One-way time of a `bytes`-byte message (half a round trip), fastest of `batches`;
    /// 0 on ranks other than 0 and 1.
    fn one_way(comm: &Comm, bytes: u64, batches: usize) -> f64 {
        let trips = round_trips(bytes);
        pingpong(comm, bytes, trips.div_ceil(4)); // warm up
        fastest((0..batches).map(|_| pingpong(comm, bytes, trips) as f64 / 2.0))
    }

    /// The fastest one-way time of each size so far, as the points of a fit.
    struct Sweep {
        best: BTreeMap<u64, f64>,
    }

    impl Sweep {
        /// One round: [`ROUND_BATCHES`] more batches of each of `sizes`.
        fn round(&mut self, comm: &Comm, sizes: impl IntoIterator<Item = u64>) {
            for bytes in sizes {
                let ns = one_way(comm, bytes, ROUND_BATCHES);
                let best = self.best.entry(bytes).or_insert(f64::INFINITY);
                *best = best.min(ns);
            }
        }

        fn points(&self) -> Vec<Point> {
            self.best.iter().map(|(&bytes, &ns)| Point { bytes, ns }).collect()
        }
    }

    /// Nanoseconds per `sendrecv` step of a ring of `bytes`-byte messages, on rank 0.
    fn ring(comm: &Comm, bytes: u64, steps: u64) -> f64 {
        let (rank, size) = (comm.rank(), comm.size());
        let (right, left) = ((rank + 1) % size, (rank + size - 1) % size);
        let msg = payload_of_size(bytes);
        let step = || {
            let _: Vec<u8> = comm.sendrecv(&msg, right, 0, left, 0);
        };
        step(); // line the ranks up
        fastest((0..BATCHES).map(|_| {
            let start = comm.now();
            (0..steps).for_each(|_| step());
            (comm.now() - start).as_nanos() as f64 / steps as f64
        }))
    }

    /// Nanoseconds per allreduce (sum) of `len` doubles, on rank 0.
    fn allreduce(comm: &Comm, len: usize, calls: u64) -> f64 {
        let v = vec![1.0f64; len];
        let call = || {
            let _: Vec<f64> = comm.allreduce(&v, op::SUM);
        };
        call();
        fastest((0..BATCHES).map(|_| {
            let start = comm.now();
            (0..calls).for_each(|_| call());
            (comm.now() - start).as_nanos() as f64 / calls as f64
        }))
    }

    const RING_BYTES: [u64; 4] = [8, 1024, 65_536, 1 << 20];
    const ALLREDUCE_LENS: [usize; 4] = [1, 128, 8192, 131_072];
    const PINGPONG_CHECK: [u64; 6] = [8, 1024, 4096, 65_536, 1 << 20, 4 << 20];

    /// Steps of a ring or allreduce batch: about 100 µs of them (at least 2).
    fn reps(bytes: u64) -> u64 {
        ((1u64 << 18) / (bytes + 4096)).clamp(2, 50)
    }

    /// Everything measured on real MPI, as one program run on every rank: rounds of
    /// ping-pongs until the fit settles or `budget` is spent, then the ring and the
    /// allreduce.
    fn program(comm: &Comm, budget: Duration) -> Measured {
        let start = comm.now();
        let mut sweep = Sweep { best: BTreeMap::new() };
        sweep.round(comm, sizes());
        // Narrow the jump down: rank 0 finds the split of the coarse sweep and tells rank 1.
        let bracket = match comm.rank() {
            0 => {
                let fit = fit(&sweep.points());
                let sizes: Vec<u64> = sweep.best.keys().copied().collect();
                let e = fit.map_or(u64::MAX, |f| f.eager_limit);
                let bracket = sizes.iter().copied().filter(|&n| n > e).min().map(|n| (e, n));
                comm.send(&bracket, 1, 1);
                bracket
            }
            1 => comm.recv(0, 1),
            _ => None,
        };
        let mut extra: Vec<u64> = PINGPONG_CHECK.to_vec();
        if let Some((lo, hi)) = bracket {
            let step = ((hi - lo) / 16).max(1);
            extra.extend((1..16).map(|i| lo + i * step).filter(|&n| n < hi));
        }
        extra.retain(|n| !sweep.best.contains_key(n));
        sweep.round(comm, extra);
        // Rounds over every size until two fits in a row agree; rank 0 decides for all.
        // (Only rank 0's figures are ping-pong times: rank 1 answers, the others wait.)
        let judge = |sweep: &Sweep| {
            let points = sweep.points();
            (comm.rank() == 0).then(|| fit(&points).map(|f| (f, f.mean_error(&points)))).flatten()
        };
        let mut rounds = 1;
        let mut last = judge(&sweep);
        let settled = loop {
            let sizes: Vec<u64> = sweep.best.keys().copied().collect();
            sweep.round(comm, sizes);
            rounds += 1;
            let next = judge(&sweep);
            let settled = matches!((&last, &next), (Some((a, ae)), Some((b, be))) if settled((a, *ae), (b, *be)));
            last = next;
            let spent = (comm.now() - start).as_nanos() as f64 >= budget.as_nanos() as f64;
            let decision = (comm.rank() == 0).then_some((settled, settled || spent));
            let (settled, stop): (bool, bool) = comm.bcast(decision.as_ref(), 0);
            if stop {
                break settled;
            }
        };
        let mut m = Measured {
            pingpong: sweep.points(),
            rounds,
            settled,
            seconds: (comm.now() - start).as_nanos() as f64 / 1e9,
            ..Measured::default()
        };
        for bytes in RING_BYTES {
            m.ring.push(Point { bytes, ns: ring(comm, bytes, reps(bytes)) });
        }
        for len in ALLREDUCE_LENS {
            let bytes = len as u64 * 8;
            m.allreduce.push(Point { bytes, ns: allreduce(comm, len, reps(bytes)) });
        }
        m
    }

    /// Simulated times of the same measurements on `platform` with `ranks` ranks.
    fn simulate(platform: &Platform, ranks: usize) -> Measured {
        let world = World::new(ranks).platform(platform.clone()).record_trace(false);
        let on_rank0 = |run: Result<crate::Completed<f64>, crate::SimError>| {
            run.map(|c| c.results[0]).unwrap_or_else(|e| panic!("the calibration check failed to simulate: {e}"))
        };
        let mut m = Measured::default();
        for bytes in PINGPONG_CHECK {
            let trips = round_trips(bytes);
            let ns = on_rank0(world.run(|c| pingpong(c, bytes, trips) as f64 / 2.0));
            m.pingpong.push(Point { bytes, ns });
        }
        for bytes in RING_BYTES {
            m.ring.push(Point { bytes, ns: on_rank0(world.run(|c| ring(c, bytes, reps(bytes)))) });
        }
        for len in ALLREDUCE_LENS {
            let bytes = len as u64 * 8;
            m.allreduce.push(Point { bytes, ns: on_rank0(world.run(|c| allreduce(c, len, reps(bytes)))) });
        }
        m
    }

    /// Runs the calibration in this process, which an MPI launcher started; rank 0 fits,
    /// reports and writes the file, and leaves its exit code where the launching process
    /// said ([`EXIT_FILE_ENV`](super::EXIT_FILE_ENV)).
    pub fn in_job(opts: &Options) -> i32 {
        let run = RunOptions { ranks: Some(opts.ranks), ..RunOptions::default() };
        let header = RunHeader { program: "calibrate".into(), ..Default::default() };
        let budget = opts.budget;
        match run_in_job(&run, &header, 2, |comm: &Comm| program(comm, budget)) {
            JobEnd::Root(sim, header) => {
                let code = conclude(opts, &sim, &header);
                match std::env::var_os(super::EXIT_FILE_ENV) {
                    Some(file) if std::fs::write(&file, code.to_string()).is_ok() => 0,
                    _ => code,
                }
            }
            JobEnd::Other => 0,
            JobEnd::Usage(code) => code,
        }
    }

    /// Rank 0's part: the fit, the check, the report and the platform file; the exit code.
    fn conclude(opts: &Options, sim: &crate::Simulation<serde_json::Value>, header: &RunHeader) -> i32 {
        let Ok(results) = &sim.outcome else { unreachable!("a failing rank reports and stops the job itself") };
        let measured: Measured = serde_json::from_value(results[0].clone()).expect("rank 0's measurements read back");
        let library = match &header.backend {
            Backend::Real { library } => library.clone(),
            Backend::Simulated => unreachable!("a job runs on real MPI"),
        };
        let Some(fit) = fit(&measured.pingpong) else {
            eprintln!(
                "error: the ping-pong times do not fit a latency and a bandwidth (are other jobs running?); nothing \
                 was written"
            );
            return EXIT_POOR_FIT;
        };
        let platform = platform(&fit, &measured.pingpong);
        let simulated = simulate(&platform, opts.ranks);
        let text = report(&library, opts.ranks, &measured, &fit, &platform, &simulated);
        let poor = poor(&fit, &measured.pingpong, measured.settled);
        let file = match (&poor, opts.force) {
            (Some(why), false) => {
                emit(&text);
                eprintln!(
                    "error: {} was not written: {why}. Other jobs were probably using the cores: calibrate when the \
                     machine is quieter, give it more time (--budget), or write the file anyway with --force",
                    opts.output.display()
                );
                return EXIT_POOR_FIT;
            }
            (Some(why), true) => format!(
                "// A poor fit, written with --force: {why}.\n// mean error {:.1}% over {} sizes, {} rounds.\n{}\n",
                fit.mean_error(&measured.pingpong) * 100.0,
                measured.pingpong.len(),
                measured.rounds,
                platform.to_ron()
            ),
            (None, _) => format!("{}\n", platform.to_ron()),
        };
        if let Err(e) = std::fs::write(&opts.output, file) {
            eprintln!("error: cannot write {}: {e}", opts.output.display());
            emit(&text);
            return EXIT_USAGE;
        }
        let warning = if poor.is_some() { " (a poor fit, written because of --force)" } else { "" };
        emit(&format!(
            "{text}wrote {}{warning}: simulate with --platform {}\n",
            opts.output.display(),
            opts.output.display()
        ));
        0
    }

    fn bytes_text(n: u64) -> String {
        match n {
            n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
            n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
            n => format!("{n} B"),
        }
    }

    fn ns_text(ns: f64) -> String {
        crate::Time(ns.round() as u64).to_string()
    }

    fn report(library: &str, ranks: usize, m: &Measured, fit: &Fit, platform: &Platform, sim: &Measured) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "calibration of {library} on this machine: ping-pong between ranks 0 and 1 of {ranks}");
        let _ = writeln!(
            out,
            "  {} round{} of {} batches per size in {:.1} s: {}",
            m.rounds,
            crate::words::plural(m.rounds as usize),
            ROUND_BATCHES,
            m.seconds,
            if m.settled {
                "the fit settled (the last two rounds agree)"
            } else {
                "the fit had NOT settled when the budget was spent"
            }
        );
        let _ = writeln!(out, "\n  {:>9}  {:>12}  {:>12}  {:>7}", "bytes", "measured", "fitted", "error");
        let mut points = m.pingpong.clone();
        points.sort_by_key(|p| p.bytes);
        for p in &points {
            let fitted = fit.predict(p.bytes);
            let _ = writeln!(
                out,
                "  {:>9}  {:>12}  {:>12}  {:>+6.1}%",
                p.bytes,
                ns_text(p.ns),
                ns_text(fitted),
                (fitted / p.ns - 1.0) * 100.0
            );
        }
        let errors = fit.errors(&points);
        let (worst, at) = errors
            .iter()
            .zip(&points)
            .map(|(e, p)| (*e, p.bytes))
            .max_by(|a, b| a.0.abs().total_cmp(&b.0.abs()))
            .unwrap_or((0.0, 0));
        let _ = writeln!(
            out,
            "\nfit (one-way time α + n/B, plus h above the eager limit):\n  latency α = {}, bandwidth B = {:.2} GB/s",
            ns_text(fit.latency),
            1.0 / fit.per_byte
        );
        match fit.eager_limit {
            u64::MAX => {
                let _ = writeln!(
                    out,
                    "  no eager/rendezvous jump up to {}: every size measured was sent eagerly; eager limit E = {} \
                     bytes, the largest size measured (the library's may be larger)",
                    bytes_text(platform.eager_limit),
                    platform.eager_limit
                );
            }
            e => {
                let _ = writeln!(
                    out,
                    "  eager limit E = {e} bytes of payload (the curve jumps by h = {} above it: the rendezvous handshake)",
                    ns_text(fit.handshake)
                );
            }
        }
        let _ = writeln!(
            out,
            "  quality: mean error {:.1}%, rms {:.1}%, worst {:+.1}% at {} ({} sizes)",
            fit.mean_error(&points) * 100.0,
            fit.rms(&points) * 100.0,
            worst * 100.0,
            bytes_text(at),
            points.len()
        );
        let _ = writeln!(out, "\ncheck: the same programs simulated with this platform ({ranks} ranks)");
        let _ = writeln!(
            out,
            "  {:<10} {:>9}  {:>12}  {:>12}  {:>7}",
            "program", "bytes", "measured", "simulated", "error"
        );
        let mut worst = [0.0f64; 3];
        let rows = [
            ("pingpong", &m.pingpong, &sim.pingpong),
            ("ring", &m.ring, &sim.ring),
            ("allreduce", &m.allreduce, &sim.allreduce),
        ];
        for (i, (name, real, simulated)) in rows.iter().enumerate() {
            for s in simulated.iter() {
                let Some(r) = real.iter().find(|r| r.bytes == s.bytes) else {
                    continue;
                };
                let error = s.ns / r.ns - 1.0;
                worst[i] = worst[i].max(error.abs());
                let what = if *name == "pingpong" { "one-way" } else { "per call" };
                let _ = writeln!(
                    out,
                    "  {:<10} {:>9}  {:>12}  {:>12}  {:>+6.1}%   ({what})",
                    name,
                    s.bytes,
                    ns_text(r.ns),
                    ns_text(s.ns),
                    error * 100.0
                );
            }
        }
        let verdict = |w: f64, bound: f64| if w <= bound { "within" } else { "NOT within" };
        let _ = writeln!(
            out,
            "  ping-pong {} 10% (worst {:.1}%); ring {} 25% (worst {:.1}%); allreduce {} 25% (worst {:.1}%)\n",
            verdict(worst[0], 0.10),
            worst[0] * 100.0,
            verdict(worst[1], 0.25),
            worst[1] * 100.0,
            verdict(worst[2], 0.25),
            worst[2] * 100.0
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(latency: f64, per_byte: f64, limit: u64, handshake: f64) -> Vec<Point> {
        (3..23)
            .map(|k| 1u64 << k)
            .map(|bytes| Point {
                bytes,
                ns: latency + per_byte * bytes as f64 + if bytes > limit { handshake } else { 0.0 },
            })
            .collect()
    }

    #[test]
    fn a_clean_curve_is_fitted_exactly() {
        let points = curve(500.0, 0.12, 4096, 900.0);
        let f = fit(&points).unwrap();
        assert!((f.latency - 500.0).abs() < 1e-6, "{f:?}");
        assert!((f.per_byte - 0.12).abs() < 1e-9, "{f:?}");
        assert_eq!(f.eager_limit, 4096);
        assert!((f.handshake - 900.0).abs() < 1e-6, "{f:?}");
        assert!(f.rms(&points) < 1e-9 && f.mean_error(&points) < 1e-9, "{f:?}");
    }

    #[test]
    fn slow_outliers_do_not_move_the_jump() {
        let mut points = curve(500.0, 0.12, 4096, 900.0);
        for p in points.iter_mut().filter(|p| p.bytes >= 1 << 20) {
            p.ns *= 3.0; // a busy machine, or a memory system, slowed the largest sizes
        }
        let f = fit(&points).unwrap();
        assert_eq!(f.eager_limit, 4096, "{f:?}");
        assert!((f.latency - 500.0).abs() < 5.0 && (f.per_byte / 0.12 - 1.0).abs() < 0.05, "{f:?}");
    }

    #[test]
    fn no_jump_means_no_eager_limit() {
        let f = fit(&curve(1000.0, 1.0, u64::MAX, 0.0)).unwrap();
        assert_eq!(f.eager_limit, u64::MAX);
        assert!((f.latency - 1000.0).abs() < 1e-6 && (f.per_byte - 1.0).abs() < 1e-9, "{f:?}");
    }

    #[test]
    fn the_platform_carries_the_fit() {
        let f = Fit { latency: 180.4, per_byte: 1.0 / 8.4, eager_limit: 4080, handshake: 700.0 };
        let p = platform(&f, &curve(180.4, 1.0 / 8.4, 4080, 700.0));
        assert_eq!(
            (p.intra.latency_ns, p.intra.bandwidth, p.eager_limit, p.handshake_ns),
            (180, 8_400_000_000, 4080, 700)
        );
        assert_eq!(p.intra, p.inter);
        let back = crate::Platform::from_ron(&p.to_ron(), "calibrated.ron").unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn without_a_jump_the_eager_limit_is_the_largest_size_measured() {
        let points = curve(1000.0, 1.0, u64::MAX, 0.0);
        let f = fit(&points).unwrap();
        assert_eq!(f.eager_limit, u64::MAX, "no jump in the curve");
        assert_eq!(platform(&f, &points).eager_limit, 4 << 20, "8 B to 4 MiB were measured");
    }

    #[test]
    fn fits_settle_when_successive_rounds_agree() {
        let f = Fit { latency: 1000.0, per_byte: 2.5, eager_limit: 4096, handshake: 6000.0 };
        let moved = |latency: f64, per_byte: f64, eager_limit: u64| Fit { latency, per_byte, eager_limit, ..f };
        let check = |after: Fit, a_error: f64, b_error: f64, want: bool| {
            assert_eq!(
                settled((&f, a_error), (&after, b_error)),
                want,
                "{f:?} then {after:?}, {a_error} then {b_error}"
            );
        };
        check(f, 0.05, 0.05, true);
        check(moved(1005.0, 2.51, 4096), 0.050, 0.045, true);
        check(moved(1050.0, 2.5, 4096), 0.05, 0.05, false);
        check(moved(1000.0, 2.4, 4096), 0.05, 0.05, false);
        check(moved(1000.0, 2.5, 6144), 0.05, 0.05, false);
        check(f, 0.61, 0.40, false);
    }

    #[test]
    fn a_poor_or_unsettled_fit_says_why() {
        let points = curve(500.0, 0.12, 4096, 900.0);
        let f = fit(&points).unwrap();
        assert_eq!(poor(&f, &points, true), None);
        assert!(poor(&f, &points, false).unwrap().contains("not settled"));
        let mut loaded = points.clone();
        for (i, p) in loaded.iter_mut().enumerate() {
            p.ns *= if i % 2 == 0 { 1.0 } else { 2.5 }; // every other size slowed by other jobs
        }
        let f = fit(&loaded).unwrap();
        let why = poor(&f, &loaded, true).unwrap();
        assert!(why.contains("% off on average (more than 10%)") && !why.contains("settled"), "{why}");
    }

    #[test]
    fn options_parse() {
        let args: Vec<String> =
            ["-n", "4", "-o", "lab.ron", "--", "--hostfile", "h"].iter().map(|s| s.to_string()).collect();
        let o = parse(&args).unwrap();
        assert_eq!((o.ranks, o.output.to_str().unwrap()), (4, "lab.ron"));
        assert_eq!(o.launcher_args, ["--hostfile", "h"]);
        assert!(parse(&["-n".into(), "1".into()]).unwrap_err().contains("2 or more"));
        assert_eq!((o.budget, o.force), (Duration::from_secs(60), false));
        let o = parse(&["--budget".into(), "2.5".into(), "--force".into()]).unwrap();
        assert_eq!((o.budget, o.force), (Duration::from_millis(2500), true));
        assert!(parse(&["--budget".into(), "0".into()]).unwrap_err().contains("--budget: `0`"));
    }
}
