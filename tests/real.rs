//! Differential tests of the real MPI backend (`cargo test --release --features mpi --test
//! real`): every catalogue program that completes on the simulator gives the same per-rank
//! results on a real MPI library at n = 1, 2, 3, 4 and 8, and `--real` reports misuse,
//! hangs and wrong launches as it should.
//!
//! This test binary is its own MPI program: the driver runs it as `THIS run PROGRAM …
//! --real`, which re-executes it under the launcher exactly as `mpisim run … --real` does,
//! and each process the launcher starts runs one rank. It needs an MPI launcher on PATH;
//! as root, Open MPI also needs `OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1`,
//! and more ranks than cores `OMPI_MCA_rmaps_base_oversubscribe=1` (see `.ci/run`).
//!
//! Results that are measurements (they change with the platform's speed, like the
//! ping-pong's time) or that depend on choices MPI leaves open (they change with the
//! schedule) cannot match a real run value for value: for those the JSON shape must match.

use mpisim::catalogue::{self, Program};
use mpisim::platform::Link;
use mpisim::sched::{Choice, Oracle, Schedule, SplitMix64};
use mpisim::{CallKind, Comm, EventKind, Platform, Time, World};
use serde_json::Value;
use std::process::Command;

const SIZES: [usize; 5] = [1, 2, 3, 4, 8];
/// Seconds a real run may take before `--timeout` stops it (and `timeout(1)` above that).
const TIMEOUT: u64 = 60;
/// Set to run [`misuse`] with `mpisim::launch::main`, as a user's program does.
const MISUSE: &str = "MPISIM_TEST_MISUSE";

/// One named check of this harness: `Err` says what differed.
type Check = Box<dyn Fn() -> Result<(), String>>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        // A job's process, or the one that launches it: `mpisim run`'s code path.
        Some("run") => {
            let program = catalogue::find(&args[1]).expect("the driver names catalogue programs");
            std::process::exit(mpisim::launch::run_program(program, &args[2..]))
        }
        // `main`'s own flags only; launchers pass the environment on to their processes.
        _ if std::env::var_os(MISUSE).is_some() => mpisim::launch::main(misuse),
        _ => {}
    }
    // The harness's own flags (--nocapture, --test-threads …) are ignored; a word filters.
    let filter = args.iter().find(|a| !a.starts_with('-')).cloned().unwrap_or_default();
    let mut checks: Vec<(String, Check)> = Vec::new();
    for program in catalogue::programs() {
        for n in SIZES.into_iter().filter(|&n| n >= program.min_ranks) {
            checks.push((format!("matches_simulator::{}::n{n}", program.name), Box::new(move || matches(program, n))));
        }
    }
    checks.push(("ring_parity_1mib_matches".into(), Box::new(ring_parity_1mib)));
    checks.push(("a_deadlock_is_reported_as_hung".into(), Box::new(deadlock_hangs)));
    checks.push(("a_misuse_fails_as_on_the_simulator".into(), Box::new(misuse_fails_alike)));
    checks.push(("a_wrong_rank_count_is_refused".into(), Box::new(wrong_rank_count)));
    checks.push(("trace_is_refused".into(), Box::new(trace_refused)));

    let (mut passed, mut failed) = (0, 0);
    let checks: Vec<_> = checks.into_iter().filter(|(name, _)| name.contains(&filter)).collect();
    println!("\nrunning {} tests", checks.len());
    for (name, check) in checks {
        match check() {
            Ok(()) => {
                passed += 1;
                println!("test {name} ... ok");
            }
            Err(why) => {
                failed += 1;
                println!("test {name} ... FAILED\n  {}", why.replace('\n', "\n  "));
            }
        }
    }
    println!("\n{passed} passed, {failed} failed");
    std::process::exit(i32::from(failed > 0));
}

/// Runs this binary with `args`, under `timeout(1)`; returns (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    run_with(args, &[])
}

fn run_with(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let out = Command::new("timeout")
        .arg((TIMEOUT + 30).to_string())
        .arg(exe)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("timeout(1) runs");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

/// A real run of a catalogue program: its JSON report.
fn real(name: &str, n: usize, params: &[(&str, &str)]) -> Result<Value, String> {
    let (n, timeout) = (n.to_string(), TIMEOUT.to_string());
    let mut args = vec!["run", name, "-n", &n, "--real", "--timeout", &timeout, "--format", "json"];
    for (k, v) in params {
        args.push(k);
        args.push(v);
    }
    let (code, stdout, stderr) = run(&args);
    let report: Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| format!("no JSON report (exit {code})\nstdout: {stdout}\nstderr: {stderr}"))?;
    if code != 0 || report["outcome"] != "completed" {
        return Err(format!("the real run did not complete (exit {code}): {report}\nstderr: {stderr}"));
    }
    if report["backend"] != "real" {
        return Err(format!("the report is not of a real run: {report}"));
    }
    Ok(report)
}

fn results(report: &Value) -> Vec<Value> {
    report["ranks"].as_array().map(|r| r.iter().map(|e| e["result"].clone()).collect()).unwrap_or_default()
}

/// The simulated results of `program` at `n` ranks on `world`, if the run completes.
fn simulated(program: &Program, world: World) -> Option<Vec<Value>> {
    let params = program.defaults();
    world.run(|comm: &Comm| (program.run)(comm, &params)).ok().map(|c| c.results)
}

/// Whether `program` reads the clock (`MPI_Wtime`) at `n` ranks: what it returns may then
/// be a measurement even where the model charges nothing (a barrier on one rank).
fn reads_clock(program: &Program, n: usize) -> bool {
    let params = program.defaults();
    let run = World::new(n).simulate(|comm: &Comm| (program.run)(comm, &params));
    run.trace.events.iter().any(|e| matches!(e.kind, EventKind::Enter { call: CallKind::Wtime, .. }))
}

/// Delays every message by up to a millisecond more than the model says, as a loaded
/// machine does: results that follow who finishes first (a dynamic task farm) change.
struct Delays(SplitMix64);

impl Oracle for Delays {
    fn choose(&mut self, _: Choice, options: usize) -> usize {
        self.0.below(options as u64) as usize
    }

    fn delay(&mut self, _: usize, _: usize, _: Time) -> Time {
        Time::from_nanos(self.0.below(1_000_000))
    }
}

/// The simulated results of `program` at `n` ranks with messages delayed at random.
fn delayed(program: &Program, n: usize, seed: u64) -> Option<Vec<Value>> {
    let params = program.defaults();
    let mut oracle = Delays(SplitMix64::new(seed));
    World::new(n).simulate_with(|comm: &Comm| (program.run)(comm, &params), &mut oracle).outcome.ok()
}

/// The default platform ten times slower: what changes on it is a measurement.
fn slow() -> Platform {
    let link = Link { latency_ns: 10_000, bandwidth: 100_000_000, ..Link::default() };
    Platform { name: "slow".into(), intra: link.clone(), inter: link, ..Platform::default() }
}

fn matches(program: &Program, n: usize) -> Result<(), String> {
    let Some(expected) = simulated(program, World::new(n)) else {
        // Deadlocks (or fails) by design: it would hang on real MPI too. Not run for real.
        println!("  ({} at n = {n} does not complete on the simulator: not run for real)", program.name);
        return Ok(());
    };
    let measured =
        reads_clock(program, n) || simulated(program, World::new(n).platform(slow())).as_ref() != Some(&expected);
    let mut explored: Vec<_> =
        (0..64).map(|i| simulated(program, World::new(n).schedule(Schedule::explored(0, i)))).collect();
    explored.extend((0..16).map(|seed| delayed(program, n, seed)));
    if explored.iter().any(Option::is_none) {
        // Deadlocks under some legal match order (which sender ANY_SOURCE takes): a real run
        // may take that order and hang. Not run for real either.
        println!("  ({} at n = {n} deadlocks under another legal schedule: not run for real)", program.name);
        return Ok(());
    }
    let racy = explored.iter().any(|r| r.as_ref() != Some(&expected));
    let got = results(&real(program.name, n, &[])?);
    let ok = if measured || racy {
        same_shape(&Value::from(got.clone()), &Value::from(expected.clone()))
    } else {
        got == expected
    };
    if ok {
        Ok(())
    } else {
        let how = if measured || racy { " in shape" } else { "" };
        Err(format!(
            "{} at n = {n}: real results differ{how} from the simulator's\n  simulated: {}\n  real:      {}",
            program.name,
            Value::from(expected),
            Value::from(got)
        ))
    }
}

/// Same JSON structure: numbers match any number, arrays and objects match elementwise.
fn same_shape(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => true,
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_shape(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_shape(v, w)))
        }
        _ => a == b,
    }
}

/// The headline: the ring with parity ordering and 1 MiB messages.
fn ring_parity_1mib() -> Result<(), String> {
    let program = catalogue::find("ring").expect("ring is in the catalogue");
    let params = program.params([("order", "parity"), ("bytes", "1048576")]).map_err(|e| e.to_string())?;
    let expected = World::new(4).run(|c: &Comm| (program.run)(c, &params)).map_err(|e| e.to_string())?.results;
    let report = real("ring", 4, &[("--order", "parity"), ("--bytes", "1048576")])?;
    let got = results(&report);
    if got != expected {
        return Err(format!("simulated {expected:?}, real {got:?}"));
    }
    if report["bytes"] != 4 * 1048576 || report["messages"] != 4 {
        return Err(format!("counts differ from the simulator's (4 messages, 4 MiB): {report}"));
    }
    Ok(())
}

/// The naive ring above the eager limit hangs on real MPI as on the simulator; `--timeout`
/// stops it and says so.
fn deadlock_hangs() -> Result<(), String> {
    let (code, stdout, stderr) =
        run(&["run", "ring", "-n", "4", "--bytes", "1MiB", "--real", "--timeout", "3", "--format", "json"]);
    let report: Value = serde_json::from_str(stdout.trim()).map_err(|e| format!("{e}: {stdout}\n{stderr}"))?;
    if code != 3 || report["outcome"] != "hung" || report["size"] != 4 {
        return Err(format!("expected a hung report and exit 3, got exit {code}: {report}\n{stderr}"));
    }
    Ok(())
}

/// Rank 1 receives an `f64` where rank 0 sent an `i64`.
fn misuse(comm: &Comm) -> i32 {
    match comm.rank() {
        0 => comm.send(&7i64, 1, 5),
        1 => {
            let _: f64 = comm.recv(0, 5);
        }
        _ => {}
    }
    comm.rank() as i32
}

/// A type mismatch fails the rank with the same MPI error and message on both backends,
/// and the exit code of a program error.
fn misuse_fails_alike() -> Result<(), String> {
    let error = |args: &[&str]| -> Result<Value, String> {
        let (code, stdout, stderr) = run_with(args, &[(MISUSE, "1")]);
        let report: Value = stdout
            .lines()
            .find_map(|l| serde_json::from_str(l).ok())
            .ok_or_else(|| format!("no JSON report (exit {code}): {stdout}\n{stderr}"))?;
        if code != 4 || report["outcome"] != "error" {
            return Err(format!("expected a program error and exit 4, got exit {code}: {report}"));
        }
        Ok(report["error"]["detail"].clone())
    };
    let simulated = error(&["-n", "2", "--format", "json"])?;
    let real = error(&["-n", "2", "--format", "json", "--real", "--timeout", "60"])?;
    for field in ["kind", "rank", "call", "location", "error"] {
        if simulated[field] != real[field] {
            return Err(format!("`{field}` differs\n  simulated: {simulated}\n  real:      {real}"));
        }
    }
    if !real["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("holds a `i64` but the receive asked for a `f64`")
    {
        return Err(format!("the message does not name both types: {real}"));
    }
    Ok(())
}

/// `-n` that disagrees with the launcher's count is a usage error, not a wrong run.
fn wrong_rank_count() -> Result<(), String> {
    let launcher = mpisim::real::launcher::find(None)?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new("timeout")
        .arg(TIMEOUT.to_string())
        .arg(launcher)
        .args(["-n", "2"])
        .arg(exe)
        .args(["run", "ring", "-n", "3"])
        .output()
        .map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(2) && stderr.contains("-n 3 was given, but the MPI launcher started 2 processes") {
        Ok(())
    } else {
        Err(format!("expected exit 2 and an explanation, got {:?}: {stderr}", out.status.code()))
    }
}

/// A real run records no trace; asking for one is a usage error.
fn trace_refused() -> Result<(), String> {
    let (code, _, stderr) = run(&["run", "hello", "--real", "--trace", "/dev/null"]);
    if code == 2 && stderr.contains("records no trace") {
        Ok(())
    } else {
        Err(format!("expected exit 2, got {code}: {stderr}"))
    }
}
