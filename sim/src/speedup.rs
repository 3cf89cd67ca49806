//! Speedup against Amdahl's law, and where the lost time goes.
//!
//! [`sweep`] runs a program at each number of ranks, twice: on its platform, and on the
//! same platform with an ideal network ([`Platform::ideal_network`]: zero latency and
//! overheads, infinite bandwidth, the same eager limit). [`analyse`] turns the runs into
//! the figures of a scaling study:
//!
//! - strong scaling: T(N), speedup S = N₀·T(N₀)/T(N) over the smallest size N₀ that
//!   completed (N₀ = 1 gives the usual T(1)/T(N)), efficiency S/N, the Karp–Flatt serial
//!   fraction e = (1/S − 1/N)/(1 − 1/N), and the Amdahl serial fraction s fitted by least
//!   squares to 1/S = s + (1 − s)/N, with its bound 1/s and curve 1/(s + (1 − s)/N);
//! - weak scaling (the work grows with N): weak efficiency T(N₀)/T(N), the scaled
//!   speedup N·T(N₀)/T(N), and Gustafson's serial fraction fitted to N − s(N − 1);
//! - why time is lost, in POP's terms, from each rank's useful (compute) time: load
//!   balance mean/max, serialisation max/T_ideal, transfer T_ideal/T, and communication
//!   efficiency serialisation × transfer = max/T.
//!
//! ```
//! use mpisim::speedup::{self, Scaling};
//! use mpisim::{Comm, World};
//!
//! // 100 µs of work shared by the ranks, then an allreduce.
//! let program = |comm: &Comm| {
//!     comm.compute(std::time::Duration::from_nanos(100_000 / comm.size() as u64));
//!     comm.allreduce(&1u32, mpisim::op::SUM)
//! };
//! let points = speedup::sweep(&[1, 2, 4, 8], |n| Ok((World::new(n), program)), |_| {});
//! let study = speedup::analyse(&points, Scaling::Strong);
//! let s8 = study.rows[3].speedup.unwrap();
//! assert!(s8 > 6.0 && s8 < 8.0, "{s8}");                 // the allreduce costs 3 µs at N = 8
//! assert_eq!(study.rows[3].pop.unwrap().serialisation, Some(1.0)); // no waiting on an ideal network
//! ```

use crate::comm::Comm;
use crate::error::SimError;
use crate::platform::Platform;
use crate::time::Time;
use crate::world::World;
use serde::Serialize;

/// What one completed size measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Measure {
    /// T(N): virtual time of the run (the last rank's end).
    #[serde(rename = "time_ns")]
    pub time: Time,
    /// The same program's time on the ideal network of the same platform.
    #[serde(rename = "ideal_time_ns")]
    pub ideal_time: Time,
    /// Useful (compute) time summed over the ranks.
    #[serde(rename = "useful_total_ns")]
    pub useful_total: Time,
    /// The most useful time of one rank.
    #[serde(rename = "useful_max_ns")]
    pub useful_max: Time,
    /// Point-to-point messages (collectives' included).
    pub messages: u64,
    /// Bytes in them.
    pub bytes: u64,
}

/// Why a size gave no figures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// `deadlock`, `error`, or `refused` (the size could not be run).
    pub outcome: String,
    /// What happened, in one line.
    pub message: String,
    /// The exit code `mpisim run` gives such a run.
    pub exit_code: i32,
}

impl Failure {
    /// A size that cannot be run at all (below the program's least number of ranks, …).
    pub fn refused(message: impl Into<String>) -> Failure {
        Failure { outcome: "refused".into(), message: message.into(), exit_code: crate::report::EXIT_USAGE }
    }

    fn of(error: &SimError) -> Failure {
        let text = error.to_string();
        let mut message = text.lines().next().unwrap_or_default().to_string();
        match error {
            // A setup error is short, and its later lines say what to do.
            SimError::Setup { .. } => message = text.lines().map(str::trim).collect::<Vec<_>>().join(" "),
            SimError::Deadlock(d) if !d.cycle.is_empty() => message += &format!("; cycle {}", d.cycle_text()),
            SimError::RankFailed(r) => {
                if let Some(location) = &r.location {
                    message += &format!(" at {location}");
                }
            }
            _ => {}
        }
        let exit_code = match error {
            SimError::Deadlock(_) => crate::report::EXIT_DEADLOCK,
            SimError::Setup { .. } => crate::report::EXIT_USAGE,
            _ => crate::report::EXIT_PROGRAM_ERROR,
        };
        Failure { outcome: error.outcome().into(), message, exit_code }
    }
}

/// Wall-clock times of one size on real MPI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Real {
    /// Each repetition's wall time, in the order they ran.
    #[serde(rename = "runs_ns")]
    pub runs: Vec<Time>,
}

impl Real {
    /// The median of the runs (the lower middle one of an even count): robust to the odd
    /// slow run that other jobs on the machine cause.
    pub fn median(&self) -> Option<Time> {
        let mut sorted = self.runs.clone();
        sorted.sort();
        sorted.get(sorted.len().saturating_sub(1) / 2).copied()
    }
}

/// One size of a sweep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Point {
    /// N.
    pub ranks: usize,
    /// Its figures, or why there are none.
    pub result: Result<Measure, Failure>,
    /// Its times on real MPI, if it was measured there (or why that failed).
    pub real: Option<Result<Real, String>>,
}

/// Runs `program` in `world` (trace and buffering check off, as a sweep wants them) on
/// its platform and on that platform's ideal network.
pub fn measure<R, F: Fn(&Comm) -> R>(world: &World, program: F) -> Result<Measure, Failure> {
    let world = world.clone().record_trace(false).check_buffering(false);
    let sim = world.simulate(&program);
    if let Err(e) = &sim.outcome {
        return Err(Failure::of(e));
    }
    let platform: &Platform = world.platform_ref();
    let ideal = world.clone().platform(platform.ideal_network()).simulate(&program);
    if let Err(e) = &ideal.outcome {
        let mut failure = Failure::of(e);
        failure.message = format!("completes on {}, but not on its ideal network: {}", platform.name, failure.message);
        return Err(failure);
    }
    Ok(Measure {
        time: sim.time,
        ideal_time: ideal.time,
        useful_total: sim.stats.compute,
        useful_max: sim.stats.compute_max,
        messages: sim.stats.messages,
        bytes: sim.stats.bytes,
    })
}

/// Measures each size in turn: `setup(N)` gives the world of N ranks and the program to
/// run there (or why N cannot run), and `progress` sees each point as it is done.
pub fn sweep<R, F>(
    sizes: &[usize],
    mut setup: impl FnMut(usize) -> Result<(World, F), Failure>,
    mut progress: impl FnMut(&Point),
) -> Vec<Point>
where
    F: Fn(&Comm) -> R,
{
    let mut points = Vec::with_capacity(sizes.len());
    for &ranks in sizes {
        let result = setup(ranks).and_then(|(world, program)| measure(&world, program));
        let point = Point { ranks, result, real: None };
        progress(&point);
        points.push(point);
    }
    points
}

/// How the problem size follows the number of ranks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scaling {
    /// The same problem on more ranks: Amdahl's law.
    Strong,
    /// The work grows with the ranks: Gustafson's law.
    Weak,
}

/// POP's efficiencies of one run: why its time is not all useful work.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Pop {
    /// mean(useful)/max(useful): how evenly the work is shared.
    pub load_balance: Option<f64>,
    /// max(useful)/T_ideal: time lost waiting for one another even on an ideal network.
    pub serialisation: Option<f64>,
    /// T_ideal/T: time lost on the network.
    pub transfer: Option<f64>,
    /// serialisation × transfer (= max(useful)/T).
    pub communication: Option<f64>,
    /// load balance × communication (= mean(useful)/T).
    pub parallel: Option<f64>,
}

/// `a/b`, if `b` is not zero.
fn ratio(a: f64, b: f64) -> Option<f64> {
    (b != 0.0).then(|| a / b)
}

impl Pop {
    /// The efficiencies of a run of `ranks` ranks. Each is `None` where its denominator is
    /// zero (no compute at all, or a run that takes no time).
    pub fn of(m: &Measure, ranks: usize) -> Pop {
        let ns = |t: Time| t.as_nanos() as f64;
        let (max, time, ideal) = (ns(m.useful_max), ns(m.time), ns(m.ideal_time));
        let mean = ns(m.useful_total) / ranks.max(1) as f64;
        let load_balance = ratio(mean, max);
        let serialisation = ratio(max, ideal);
        let transfer = ratio(ideal, time);
        let communication = match (serialisation, transfer) {
            (Some(s), Some(t)) => Some(s * t),
            _ => ratio(max, time),
        };
        let parallel = load_balance.zip(communication).map(|(l, c)| l * c);
        Pop { load_balance, serialisation, transfer, communication, parallel }
    }

    /// The factor that loses the most time, and its value; `None` if none loses more than
    /// `tolerance` (a fraction of the run).
    pub fn dominant(&self, tolerance: f64) -> Option<(Cause, f64)> {
        let causes = [
            (Cause::LoadImbalance, self.load_balance),
            (Cause::Serialisation, self.serialisation),
            (Cause::Transfer, self.transfer),
        ];
        causes
            .into_iter()
            .filter_map(|(cause, e)| e.map(|e| (cause, e)))
            .filter(|&(_, e)| 1.0 - e > tolerance)
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }
}

/// A reason for lost time, as POP splits it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// Ranks wait for the busiest one (load balance).
    LoadImbalance,
    /// Ranks wait for one another even on an ideal network (serialisation).
    Serialisation,
    /// Time on the network (transfer).
    Transfer,
}

impl Cause {
    /// Its name in a sentence.
    pub fn name(self) -> &'static str {
        match self {
            Cause::LoadImbalance => "load imbalance",
            Cause::Serialisation => "serialisation",
            Cause::Transfer => "transfer",
        }
    }

    fn efficiency(self) -> &'static str {
        match self {
            Cause::LoadImbalance => "load balance",
            Cause::Serialisation => "serialisation efficiency",
            Cause::Transfer => "transfer efficiency",
        }
    }

    fn why(self) -> &'static str {
        match self {
            Cause::LoadImbalance => {
                "the ranks wait for the busiest one, which computes more than the mean (a serial part, or fewer \
                 pieces of work than ranks)"
            }
            Cause::Serialisation => {
                "even on an ideal network the ranks wait for one another: the order of the communication (a chain, \
                 one rank serving all) holds them up"
            }
            Cause::Transfer => {
                "time on the network (latency and bandwidth) that an ideal network would not take: fewer, larger or \
                 overlapped messages help"
            }
        }
    }
}

/// A fitted serial fraction.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Fit {
    /// The serial fraction s.
    pub serial: f64,
    /// Amdahl's bound on the speedup, 1/s (strong scaling, s > 0).
    pub bound: Option<f64>,
    /// Root mean square of the fitted curve's relative error against the measured
    /// speedups.
    pub rms_error: f64,
    /// Sizes the fit used (those above N = 1 that completed).
    pub points: usize,
}

/// The figures of one size.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// N.
    pub ranks: usize,
    /// What the runs measured (`None` if the size failed).
    pub measure: Option<Measure>,
    /// Why the size failed.
    pub failure: Option<Failure>,
    /// S (strong scaling).
    pub speedup: Option<f64>,
    /// S/N (strong scaling).
    pub efficiency: Option<f64>,
    /// (1/S − 1/N)/(1 − 1/N), for N > 1 (strong scaling).
    pub karp_flatt: Option<f64>,
    /// The fitted Amdahl curve at N (strong scaling).
    pub amdahl_speedup: Option<f64>,
    /// N − s(N − 1) with the fitted serial fraction: the speedup if the problem grew with
    /// N (strong scaling: Amdahl's s; weak scaling: Gustafson's).
    pub gustafson_speedup: Option<f64>,
    /// T(N₀)/T(N) (weak scaling).
    pub weak_efficiency: Option<f64>,
    /// N·T(N₀)/T(N) (weak scaling).
    pub scaled_speedup: Option<f64>,
    /// Why time is lost.
    pub pop: Option<Pop>,
    /// Real MPI beside the simulation.
    pub real: Option<RealRow>,
}

/// One size on real MPI.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RealRow {
    /// Each repetition's wall time.
    #[serde(rename = "runs_ns")]
    pub runs: Vec<Time>,
    /// Their median.
    #[serde(rename = "median_ns")]
    pub median: Option<Time>,
    /// The measured speedup (strong) or scaled speedup (weak), over the same N₀.
    pub speedup: Option<f64>,
    /// (simulated − measured)/measured time: how far the prediction is off.
    pub error: Option<f64>,
    /// Why the real runs failed, if they did.
    pub failure: Option<String>,
}

/// A scaling study: every size's figures, the fit, and what they say.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Analysis {
    /// Strong or weak.
    pub scaling: Scaling,
    /// N₀: the smallest size that completed, which speedups are relative to.
    pub base: Option<usize>,
    /// One row per size, in the sweep's order.
    pub rows: Vec<Row>,
    /// Amdahl's law fitted to the speedups (strong scaling).
    pub amdahl: Option<Fit>,
    /// Gustafson's law fitted to the scaled speedups (weak scaling).
    pub gustafson: Option<Fit>,
    /// What the figures say, in sentences: where speedup stops, which loss dominates where.
    pub findings: Vec<String>,
}

impl Analysis {
    /// Whether every size completed (on the simulator, and on real MPI if asked).
    pub fn all_completed(&self) -> bool {
        self.rows.iter().all(|r| r.failure.is_none() && r.real.as_ref().is_none_or(|real| real.failure.is_none()))
    }

    /// The exit code of the sweep: 0 if every size completed, else the worst code of a
    /// failed size (as `mpisim run` would give it; 4 for a failed real run).
    pub fn exit_code(&self) -> i32 {
        let simulated = self.rows.iter().filter_map(|r| r.failure.as_ref().map(|f| f.exit_code));
        let real = self
            .rows
            .iter()
            .filter(|r| r.real.as_ref().is_some_and(|real| real.failure.is_some()))
            .map(|_| crate::report::EXIT_PROGRAM_ERROR);
        simulated.chain(real).max().unwrap_or(crate::report::EXIT_COMPLETED)
    }
}

/// The least-squares slope of y = s·x through the origin: Σxy/Σx².
fn slope_through_origin(pairs: impl Iterator<Item = (f64, f64)>) -> Option<(f64, usize)> {
    let (mut sxy, mut sxx, mut n) = (0.0, 0.0, 0);
    for (x, y) in pairs {
        sxy += x * y;
        sxx += x * x;
        n += 1;
    }
    (sxx > 0.0).then(|| (sxy / sxx, n))
}

/// Amdahl's speedup with serial fraction `s` on `n` ranks.
pub fn amdahl_speedup(s: f64, n: f64) -> f64 {
    1.0 / (s + (1.0 - s) / n)
}

/// Gustafson's scaled speedup with serial fraction `s` on `n` ranks.
pub fn gustafson_speedup(s: f64, n: f64) -> f64 {
    n - s * (n - 1.0)
}

/// Fits Amdahl's law to (N, S) pairs: 1/S − 1/N = s(1 − 1/N), least squares in s.
pub fn fit_amdahl(points: &[(usize, f64)]) -> Option<Fit> {
    let pairs = points.iter().filter(|p| p.0 > 1).map(|&(n, s)| {
        let n = n as f64;
        (1.0 - 1.0 / n, 1.0 / s - 1.0 / n)
    });
    let (serial, used) = slope_through_origin(pairs)?;
    let rms_error = rms(points.iter().map(|&(n, s)| amdahl_speedup(serial, n as f64) / s - 1.0));
    Some(Fit { serial, bound: (serial > 0.0).then(|| 1.0 / serial), rms_error, points: used })
}

/// Fits Gustafson's law to (N, scaled speedup) pairs: N − S = s(N − 1), least squares.
pub fn fit_gustafson(points: &[(usize, f64)]) -> Option<Fit> {
    let pairs = points.iter().filter(|p| p.0 > 1).map(|&(n, s)| (n as f64 - 1.0, n as f64 - s));
    let (serial, used) = slope_through_origin(pairs)?;
    let rms_error = rms(points.iter().map(|&(n, s)| gustafson_speedup(serial, n as f64) / s - 1.0));
    Some(Fit { serial, bound: None, rms_error, points: used })
}

fn rms(errors: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = errors.fold((0.0, 0usize), |(sum, n), e| (sum + e * e, n + 1));
    if n == 0 {
        0.0
    } else {
        (sum / n as f64).sqrt()
    }
}

/// The Karp–Flatt serial fraction of speedup `s` on `n > 1` ranks.
pub fn karp_flatt(s: f64, n: usize) -> Option<f64> {
    let n = n as f64;
    (n > 1.0 && s != 0.0).then(|| (1.0 / s - 1.0 / n) / (1.0 - 1.0 / n))
}

/// Losses below this fraction of a run are not named.
const TOLERANCE: f64 = 0.05;

/// The figures of a sweep.
pub fn analyse(points: &[Point], scaling: Scaling) -> Analysis {
    let base =
        points.iter().find_map(|p| p.result.as_ref().ok().filter(|m| m.time > Time::ZERO).map(|m| (p.ranks, *m)));
    let real_base = points.iter().find_map(|p| match &p.real {
        Some(Ok(real)) => real.median().filter(|t| *t > Time::ZERO).map(|t| (p.ranks, t)),
        _ => None,
    });
    // N₀·T(N₀)/T(N): the speedup (strong) or scaled speedup (weak) over the base.
    let gain = |base: Option<(usize, Time)>, ranks: usize, time: Time| -> Option<f64> {
        let (n0, t0) = base?;
        match scaling {
            Scaling::Strong => ratio(n0 as f64 * t0.as_nanos() as f64, time.as_nanos() as f64),
            Scaling::Weak => ratio(ranks as f64 * t0.as_nanos() as f64, time.as_nanos() as f64),
        }
    };
    let mut rows: Vec<Row> = points
        .iter()
        .map(|p| {
            let measure = p.result.as_ref().ok().copied();
            let g = measure.and_then(|m| gain(base.map(|(n, m)| (n, m.time)), p.ranks, m.time));
            let strong = scaling == Scaling::Strong;
            let real = p.real.as_ref().map(|real| match real {
                Ok(real) => {
                    let median = real.median();
                    RealRow {
                        runs: real.runs.clone(),
                        median,
                        speedup: median.and_then(|t| gain(real_base, p.ranks, t)),
                        error: measure.zip(median).and_then(|(m, t)| {
                            ratio(m.time.as_nanos() as f64 - t.as_nanos() as f64, t.as_nanos() as f64)
                        }),
                        failure: None,
                    }
                }
                Err(why) => {
                    RealRow { runs: Vec::new(), median: None, speedup: None, error: None, failure: Some(why.clone()) }
                }
            });
            Row {
                ranks: p.ranks,
                measure,
                failure: p.result.as_ref().err().cloned(),
                speedup: g.filter(|_| strong),
                efficiency: g.filter(|_| strong).map(|s| s / p.ranks as f64),
                karp_flatt: g.filter(|_| strong).and_then(|s| karp_flatt(s, p.ranks)),
                amdahl_speedup: None,
                gustafson_speedup: None,
                weak_efficiency: g.filter(|_| !strong).map(|s| s / p.ranks as f64),
                scaled_speedup: g.filter(|_| !strong),
                pop: measure.map(|m| Pop::of(&m, p.ranks)),
                real,
            }
        })
        .collect();
    let measured: Vec<(usize, f64)> =
        rows.iter().filter_map(|r| r.speedup.or(r.scaled_speedup).map(|s| (r.ranks, s))).collect();
    let (amdahl, gustafson) = match scaling {
        Scaling::Strong => (fit_amdahl(&measured), None),
        Scaling::Weak => (None, fit_gustafson(&measured)),
    };
    for row in &mut rows {
        let n = row.ranks as f64;
        row.amdahl_speedup = amdahl.map(|f| amdahl_speedup(f.serial, n));
        row.gustafson_speedup = amdahl.or(gustafson).map(|f| gustafson_speedup(f.serial, n));
    }
    let findings = findings(&rows, scaling);
    Analysis { scaling, base: base.map(|b| b.0), rows, amdahl, gustafson, findings }
}

/// `2–16`, or `8` alone.
fn range_text(first: usize, last: usize) -> String {
    if first == last {
        format!("N = {first}")
    } else {
        format!("N = {first}–{last}")
    }
}

/// What the figures say, in sentences.
fn findings(rows: &[Row], scaling: Scaling) -> Vec<String> {
    let mut out = Vec::new();
    let gains: Vec<(usize, f64)> =
        rows.iter().filter_map(|r| r.speedup.or(r.scaled_speedup).map(|s| (r.ranks, s))).collect();
    if let Some(&(peak_n, peak)) = gains.iter().max_by(|a, b| a.1.total_cmp(&b.1)) {
        let &(last_n, last) = gains.last().expect("a peak was found");
        let what = match scaling {
            Scaling::Strong => "speedup",
            Scaling::Weak => "scaled speedup",
        };
        if peak_n != last_n {
            out.push(format!("{what} peaks at N = {peak_n} ({peak:.2}) and falls to {last:.2} at N = {last_n}"));
        } else if let [.., (prev_n, prev), _] = gains[..] {
            let (step, ideal) = (last / prev, last_n as f64 / prev_n as f64);
            if step - 1.0 < 0.25 * (ideal - 1.0) {
                out.push(format!(
                    "{what} stops growing: N = {prev_n} → {last_n} gives ×{step:.2} ({prev:.2} → {last:.2}), where \
                     ×{ideal:.0} would be ideal"
                ));
            } else {
                out.push(format!(
                    "{what} still grows at N = {last_n} ({last:.2}, efficiency {:.2})",
                    last / last_n as f64
                ));
            }
        }
    }
    // Consecutive sizes where the same factor loses the most time.
    let mut spans: Vec<(Option<Cause>, usize, usize, f64)> = Vec::new();
    for row in rows {
        let Some(pop) = row.pop else { continue };
        let dominant = pop.dominant(TOLERANCE);
        let (cause, value) = (dominant.map(|d| d.0), dominant.map_or(1.0, |d| d.1));
        match spans.last_mut() {
            Some(span) if span.0 == cause => {
                span.2 = row.ranks;
                span.3 = span.3.min(value);
            }
            _ => spans.push((cause, row.ranks, row.ranks, value)),
        }
    }
    for (cause, first, last, worst) in spans {
        let range = range_text(first, last);
        out.push(match cause {
            Some(c) => format!("{range}: {} loses the most time ({} down to {worst:.2}): {}", c.name(), c.efficiency(), c.why()),
            None => format!(
                "{range}: load balance, serialisation and transfer efficiency are all above {:.2}: no loss worth naming",
                1.0 - TOLERANCE
            ),
        });
    }
    for row in rows {
        if let Some(f) = &row.failure {
            out.push(format!("N = {}: no figures ({}): {}", row.ranks, f.outcome, f.message));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn measure(time: u64, ideal: u64, total: u64, max: u64) -> Measure {
        Measure {
            time: Time(time),
            ideal_time: Time(ideal),
            useful_total: Time(total),
            useful_max: Time(max),
            messages: 0,
            bytes: 0,
        }
    }

    fn point(ranks: usize, time: u64) -> Point {
        Point { ranks, result: Ok(measure(time, time, time * ranks as u64, time)), real: None }
    }

    /// Amdahl's T(N) = s + (1 − s)/N in ns of a total `work`, rounded as a simulator would.
    fn amdahl_points(s: f64, work: f64, sizes: &[usize]) -> Vec<Point> {
        sizes.iter().map(|&n| point(n, (work * (s + (1.0 - s) / n as f64)).round() as u64)).collect()
    }

    #[track_caller]
    fn check_close(got: f64, want: f64, tolerance: f64) {
        assert!((got - want).abs() <= tolerance, "got {got}, want {want} ± {tolerance}");
    }

    #[test]
    fn speedup_efficiency_and_karp_flatt() {
        let study = analyse(&amdahl_points(0.1, 1e9, &[1, 2, 4, 8, 16]), Scaling::Strong);
        let s16 = amdahl_speedup(0.1, 16.0);
        check_close(study.rows[4].speedup.unwrap(), s16, 1e-6);
        check_close(study.rows[4].efficiency.unwrap(), s16 / 16.0, 1e-6);
        assert_eq!(study.rows[0].karp_flatt, None, "Karp–Flatt needs N > 1");
        for row in &study.rows[1..] {
            check_close(row.karp_flatt.unwrap(), 0.1, 1e-8);
        }
        let fit = study.amdahl.unwrap();
        check_close(fit.serial, 0.1, 1e-8);
        check_close(fit.bound.unwrap(), 10.0, 1e-6);
        assert_eq!(fit.points, 4);
        check_close(study.rows[3].gustafson_speedup.unwrap(), 8.0 - 0.1 * 7.0, 1e-8);
    }

    #[test]
    fn speedups_are_relative_to_the_smallest_size_that_completed() {
        let mut points = amdahl_points(0.0, 1e6, &[1, 2, 4]);
        points[0].result = Err(Failure::refused("needs at least 2 ranks"));
        let study = analyse(&points, Scaling::Strong);
        assert_eq!(study.base, Some(2));
        check_close(study.rows[1].speedup.unwrap(), 2.0, 1e-12);
        check_close(study.rows[2].speedup.unwrap(), 4.0, 1e-12);
        assert_eq!(study.exit_code(), crate::report::EXIT_USAGE);
        assert!(study.findings.iter().any(|f| f == "N = 1: no figures (refused): needs at least 2 ranks"));
    }

    #[test]
    fn weak_scaling_fits_gustafson() {
        // Gustafson: a serial part of 10% of the time at every N, the rest grows with N.
        let points: Vec<Point> = [1, 2, 4, 8].iter().map(|&n| point(n, 1_000_000)).collect();
        let study = analyse(&points, Scaling::Weak);
        assert_eq!(study.rows[2].weak_efficiency, Some(1.0));
        assert_eq!(study.rows[2].scaled_speedup, Some(4.0));
        assert_eq!(study.rows[2].speedup, None);
        let fit = study.gustafson.unwrap();
        check_close(fit.serial, 0.0, 1e-12);
        let slower: Vec<Point> = [1usize, 2, 4, 8]
            .iter()
            .map(|&n| point(n, (1e6 * n as f64 / gustafson_speedup(0.1, n as f64)).round() as u64))
            .collect();
        check_close(analyse(&slower, Scaling::Weak).gustafson.unwrap().serial, 0.1, 1e-6);
    }

    #[test]
    fn pop_efficiencies_and_what_dominates() {
        // 4 ranks: useful 40, 40, 40, 80 µs; 100 µs on the ideal network, 125 µs for real.
        let m = measure(125_000, 100_000, 200_000, 80_000);
        let pop = Pop::of(&m, 4);
        check_close(pop.load_balance.unwrap(), 0.625, 1e-15);
        check_close(pop.serialisation.unwrap(), 0.8, 1e-15);
        check_close(pop.transfer.unwrap(), 0.8, 1e-15);
        check_close(pop.communication.unwrap(), 0.64, 1e-15);
        check_close(pop.parallel.unwrap(), 0.4, 1e-15);
        assert_eq!(pop.dominant(0.05).map(|d| d.0), Some(Cause::LoadImbalance));
        // No compute at all: no load balance, and communication is all there is.
        let pop = Pop::of(&measure(1000, 0, 0, 0), 2);
        assert_eq!((pop.load_balance, pop.serialisation, pop.transfer), (None, None, Some(0.0)));
        assert_eq!(pop.communication, Some(0.0));
    }

    #[test]
    fn findings_name_the_peak_and_the_causes() {
        let mut points = amdahl_points(0.0, 1e6, &[1, 2, 4, 8]);
        points[3].result = Ok(measure(400_000, 125_000, 1_000_000, 125_000));
        let study = analyse(&points, Scaling::Strong);
        assert_eq!(study.findings[0], "speedup peaks at N = 4 (4.00) and falls to 2.50 at N = 8");
        assert!(study.findings[1]
            .starts_with("N = 1–4: load balance, serialisation and transfer efficiency are all above 0.95"));
        assert!(study.findings[2].starts_with("N = 8: transfer loses the most time (transfer efficiency down to 0.31)"));
    }

    #[test]
    fn the_median_of_real_runs() {
        let real = |ns: &[u64]| Real { runs: ns.iter().map(|&t| Time(t)).collect() };
        assert_eq!(real(&[5, 1, 3]).median(), Some(Time(3)));
        assert_eq!(real(&[4, 1, 3, 2]).median(), Some(Time(2)));
        assert_eq!(real(&[]).median(), None);
    }

    #[test]
    fn a_sweep_measures_useful_time_and_the_ideal_network() {
        let points = sweep(
            &[1, 2, 4],
            |n| {
                let world = World::new(n);
                Ok((world, |comm: &Comm| {
                    comm.compute(std::time::Duration::from_nanos(12_000 / comm.size() as u64));
                    comm.barrier()
                }))
            },
            |_| {},
        );
        let m = points[2].result.as_ref().unwrap();
        // Dissemination barrier: ⌈lg 4⌉ = 2 latencies of 1 µs after 3 µs of compute.
        assert_eq!((m.time, m.ideal_time), (Time(5_000), Time(3_000)));
        assert_eq!((m.useful_total, m.useful_max), (Time(12_000), Time(3_000)));
        let pop = Pop::of(m, 4);
        assert_eq!((pop.load_balance, pop.serialisation, pop.transfer), (Some(1.0), Some(1.0), Some(0.6)));
    }

    proptest! {
        /// On Amdahl's data the fit recovers s, and Karp–Flatt is s at every N.
        #[test]
        fn the_fit_recovers_s_on_amdahl_data(s in 0.0f64..1.0, sizes in proptest::collection::btree_set(2usize..4096, 1..10)) {
            let sizes: Vec<usize> = std::iter::once(1).chain(sizes).collect();
            let speedups: Vec<(usize, f64)> = sizes.iter().map(|&n| (n, amdahl_speedup(s, n as f64))).collect();
            let fit = fit_amdahl(&speedups).unwrap();
            prop_assert!((fit.serial - s).abs() < 1e-9, "fitted {} for {}", fit.serial, s);
            prop_assert!(fit.rms_error < 1e-9);
            for &(n, sp) in &speedups[1..] {
                prop_assert!((karp_flatt(sp, n).unwrap() - s).abs() < 1e-9);
            }
        }

        /// Communication efficiency is serialisation × transfer and equals max/T; parallel
        /// efficiency is load balance × communication and equals mean/T.
        #[test]
        fn the_pop_identity_holds(ranks in 1usize..1024, max in 1u64..1u64 << 40, extra in 0u64..1u64 << 40,
                                  wire in 0u64..1u64 << 40, spread in 0.0f64..1.0) {
            let ideal = max + extra;
            let time = ideal + wire;
            let total = max + ((ranks as u64 - 1) as f64 * max as f64 * spread) as u64;
            let pop = Pop::of(&measure(time, ideal, total, max), ranks);
            let (comm, ser, trf) = (pop.communication.unwrap(), pop.serialisation.unwrap(), pop.transfer.unwrap());
            prop_assert_eq!(comm, ser * trf);
            prop_assert!((comm - max as f64 / time as f64).abs() <= 4.0 * f64::EPSILON * comm);
            let mean = total as f64 / ranks as f64;
            prop_assert!((pop.parallel.unwrap() - mean / time as f64).abs() <= 8.0 * f64::EPSILON);
            prop_assert!(pop.load_balance.unwrap() <= 1.0 + f64::EPSILON && ser <= 1.0 && trf <= 1.0);
        }
    }
}
