//! Differential tests of the real MPI backend (`cargo test --release --features mpi --test
//! real`): every catalogue program that completes on the simulator gives the same per-rank
//! results on a real MPI library at n = 1, 2, 3, 4 and 8; every one that deadlocks on the
//! simulator gives, at `--timeout`, the same deadlock report (cycle, blocked calls); and
//! `--real` reports misuse, mismatched collectives, hangs and wrong launches as it should.
//!
//! This test binary is its own MPI program: the driver runs it as `THIS run PROGRAM …
//! --real`, which re-executes it under the launcher exactly as `mpisim run … --real` does,
//! and each process the launcher starts runs one rank. It needs an MPI launcher on PATH;
//! more ranks than cores need `OMPI_MCA_rmaps_base_oversubscribe=1` (see `.ci/run`). As
//! root, `--real` sets Open MPI's `OMPI_ALLOW_RUN_AS_ROOT` variables itself, which
//! [`root_needs_no_variables`] checks.
//!
//! Results that are measurements (they change with the platform's speed, like the
//! ping-pong's time) or that depend on choices MPI leaves open (they change with the
//! schedule) cannot match a real run value for value: for those the JSON shape must match.

#[path = "common/checks.rs"]
mod checks;

use checks::Check;
use mpisim::catalogue::{self, Program};
use mpisim::platform::Link;
use mpisim::sched::{Choice, Oracle, Schedule, SplitMix64};
use mpisim::{CallKind, Comm, EventKind, Platform, Time, World};
use serde_json::Value;
use std::process::Command;

const SIZES: [usize; 5] = [1, 2, 3, 4, 8];
/// Seconds a real run may take before `--timeout` stops it (and `timeout(1)` above that).
const TIMEOUT: u64 = 60;
/// Names a program of this file to run with `mpisim::launch::main`, as a user's program
/// does: `misuse`, `root-mismatch`, `busy`.
const PROGRAM: &str = "MPISIM_TEST_PROGRAM";
/// Seconds after which a deadlocked real run is stopped and asked where it is.
const DEADLOCK_TIMEOUT: &str = "3";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        // A job's process, or the one that launches it: `mpisim run`'s code path.
        Some("run") => {
            let program = catalogue::find(&args[1]).expect("the driver names catalogue programs");
            std::process::exit(mpisim::launch::run_program(program, &args[2..]))
        }
        // `mpisim calibrate`'s code path, as for `run`.
        Some("calibrate") => std::process::exit(mpisim::real::calibrate::main(&args[1..])),
        // `main`'s own flags only; launchers pass the environment on to their processes.
        _ => match std::env::var(PROGRAM).as_deref() {
            Ok("misuse") => mpisim::launch::main(misuse),
            Ok("root-mismatch") => mpisim::launch::main(root_mismatch),
            Ok("busy") => mpisim::launch::main(busy),
            _ => {}
        },
    }
    // The harness's own flags (--nocapture, --test-threads …) are ignored; a word filters.
    let filter = args.iter().find(|a| !a.starts_with('-')).cloned().unwrap_or_default();
    let mut checks: Vec<(String, Check)> = Vec::new();
    for program in catalogue::programs() {
        for n in SIZES.into_iter().filter(|&n| n >= program.min_ranks) {
            checks.push((format!("matches_simulator::{}::n{n}", program.name), Box::new(move || matches(program, n))));
        }
    }
    for program in catalogue::programs() {
        let n = program.default_ranks.max(program.min_ranks);
        checks
            .push((format!("deadlocks_as_simulated::{}", program.name), Box::new(move || deadlocks_alike(program, n))));
    }
    checks.push(("ring_parity_1mib_matches".into(), Box::new(ring_parity_1mib)));
    checks.push(("the_naive_ring_prints_its_deadlock".into(), Box::new(naive_ring_text)));
    checks.push(("a_busy_rank_is_hung_not_deadlocked".into(), Box::new(busy_hangs)));
    checks.push(("a_misuse_fails_as_on_the_simulator".into(), Box::new(misuse_fails_alike)));
    checks.push(("a_root_mismatch_fails_as_on_the_simulator".into(), Box::new(root_mismatch_fails_alike)));
    checks.push(("root_needs_no_variables".into(), Box::new(root_needs_no_variables)));
    checks.push(("calibrate_writes_only_what_it_measured".into(), Box::new(calibrate_writes_what_it_measured)));
    checks.push(("a_wrong_rank_count_is_refused".into(), Box::new(wrong_rank_count)));
    checks.push(("trace_is_refused".into(), Box::new(trace_refused)));

    std::process::exit(checks::run(checks, &filter))
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

/// The JSON report of a run of this binary with `args`, which must exit with `code`.
fn report_of(args: &[&str], env: &[(&str, &str)], code: i32) -> Result<Value, String> {
    let (got, stdout, stderr) = run_with(args, env);
    let report: Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| format!("no JSON report (exit {got})\nstdout: {stdout}\nstderr: {stderr}"))?;
    if got != code {
        return Err(format!("expected exit {code}, got {got}: {report}\nstderr: {stderr}"));
    }
    Ok(report)
}

/// What must agree between a simulated and a real deadlock: the cycle, the core, the
/// finished ranks, and each blocked rank's call, peer, communicator and site.
fn deadlock_facts(report: &Value) -> Value {
    let d = &report["deadlock"];
    let blocked: Vec<Value> = d["blocked"]
        .as_array()
        .map(|b| {
            b.iter()
                .map(|b| serde_json::json!([b["rank"], b["mpi_call"], b["peer"], b["comm"], b["location"]]))
                .collect()
        })
        .unwrap_or_default();
    serde_json::json!({ "cycle": d["cycle"], "core": d["core"], "finished": d["finished"], "blocked": blocked })
}

/// A catalogue program that deadlocks on the simulator (on the `openmpi` preset, whose
/// eager limit is Open MPI's, so the same sends block) deadlocks on real MPI, and
/// `--timeout` finds the same deadlock: the same cycle and the same blocked calls.
fn deadlocks_alike(program: &Program, n: usize) -> Result<(), String> {
    let openmpi = Platform::preset("openmpi").expect("openmpi is a preset");
    if simulated(program, World::new(n).platform(openmpi)).is_some() {
        println!("  ({} at n = {n} completes on the simulator: see matches_simulator)", program.name);
        return Ok(());
    }
    let ranks = n.to_string();
    let args = ["run", program.name, "-n", &ranks, "--platform", "openmpi", "--format", "json"];
    let simulated = report_of(&args, &[], 3)?;
    let mut real_args = args.to_vec();
    real_args.extend(["--real", "--timeout", DEADLOCK_TIMEOUT]);
    let real = report_of(&real_args, &[], 3)?;
    if real["outcome"] != "deadlock" || real["backend"] != "real" || real["stopped_by"] != "timeout" {
        return Err(format!("expected a real deadlock found at the timeout: {real}"));
    }
    let (want, got) = (deadlock_facts(&simulated), deadlock_facts(&real));
    if want != got {
        return Err(format!("the deadlocks differ\n  simulated: {want}\n  real:      {got}"));
    }
    if real["deadlock"]["hint"].as_str().is_none_or(str::is_empty) {
        return Err(format!("no hint: {real}"));
    }
    Ok(())
}

/// The case: the naive ring of 1 MiB messages, stopped after 5 s, prints the
/// simulator's report: the cycle 0 → 1 → 2 → 3 → 0, each rank's send with its size and
/// line, and what the run had sent; nothing of a trace.
fn naive_ring_text() -> Result<(), String> {
    let (code, stdout, stderr) = run(&["run", "ring", "-n", "4", "--bytes", "1MiB", "--real", "--timeout", "5"]);
    let mut want = vec![
        "deadlock: ring --bytes 1048576 --order naive on 4 ranks, real MPI (".to_string(),
        ": 4 ranks blocked, none can proceed".into(),
        "  cycle: 0 → 1 → 2 → 3 → 0".into(),
        "every blocked rank is sending and none is receiving".into(),
        "4 messages, 4 MiB before it stopped".into(),
        "found when --timeout stopped the job after 5 s".into(),
    ];
    for r in 0..4 {
        let next = (r + 1) % 4;
        want.push(format!(
            "  rank   {r}  MPI_Send to rank {next}, tag 0, 1 MiB on COMM_WORLD\n            the library did \
             not buffer it: it waits for rank {next} to post a matching receive\n            at \
             sim/src/catalogue/ring.rs:"
        ));
    }
    let missing: Vec<&String> = want.iter().filter(|w| !stdout.contains(w.as_str())).collect();
    if code != 3 || !missing.is_empty() || stdout.contains("trace") {
        return Err(format!("exit {code}, missing {missing:?}\nstdout: {stdout}\nstderr: {stderr}"));
    }
    Ok(())
}

/// Rank 0 computes for an hour while rank 1 waits for it.
fn busy(comm: &Comm) -> u64 {
    match comm.rank() {
        0 => {
            comm.compute(std::time::Duration::from_secs(3600));
            comm.send(&1u64, 1, 0);
            0
        }
        _ => comm.recv(0, 0),
    }
}

/// At the timeout, a run with a rank still running is not a deadlock: it hung, and the
/// report says what each rank was doing.
fn busy_hangs() -> Result<(), String> {
    let args = ["-n", "2", "--real", "--timeout", DEADLOCK_TIMEOUT, "--format", "json"];
    let report = report_of(&args, &[(PROGRAM, "busy")], 3)?;
    let ranks = report["ranks"].as_array().cloned().unwrap_or_default();
    let states: Vec<&str> = ranks.iter().filter_map(|r| r["state"].as_str()).collect();
    let rank1 = ranks.get(1).and_then(|r| r["doing"].as_str()).unwrap_or_default();
    if report["outcome"] != "hung" || states != ["running", "blocked"] || !rank1.starts_with("MPI_Recv from rank 0") {
        return Err(format!("expected rank 0 running and rank 1 blocked in MPI_Recv: {report}"));
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
    let (_, real) = fails_alike("misuse")?;
    if !real["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("holds a `i64` but the receive asked for a `f64`")
    {
        return Err(format!("the message does not name both types: {real}"));
    }
    Ok(())
}

/// Runs test program `name` simulated and for real: both must fail the same rank with the
/// same error in the same call at the same site, and count the same messages (the real
/// run every rank's, though one stopped the job). The two JSON reports.
fn fails_alike(name: &str) -> Result<(Value, Value), String> {
    let env = [(PROGRAM, name)];
    let simulated = report_of(&["-n", "3", "--format", "json"], &env, 4)?;
    let real = report_of(&["-n", "3", "--format", "json", "--real", "--timeout", "60"], &env, 4)?;
    let (s, r) = (&simulated["error"]["detail"], &real["error"]["detail"]);
    for field in ["kind", "rank", "call", "location", "error"] {
        if s[field] != r[field] {
            return Err(format!("`{field}` differs\n  simulated: {s}\n  real:      {r}"));
        }
    }
    if simulated["messages"] != real["messages"] || simulated["bytes"] != real["bytes"] {
        return Err(format!("the counts differ\n  simulated: {simulated}\n  real:      {real}"));
    }
    let message = real["error"]["message"].as_str().unwrap_or_default();
    if message.contains("trace") || !message.contains("MPI_Abort") {
        return Err(format!("a real run keeps no trace, and stops with MPI_Abort: {message}"));
    }
    Ok((simulated, real))
}

/// Rank 2 passes root 1 to a bcast where the others pass root 0; rank 0 first sends rank 1
/// a message, which the report counts.
fn root_mismatch(comm: &Comm) -> i64 {
    match comm.rank() {
        0 => comm.send(&5u8, 1, 9),
        1 => {
            let _: u8 = comm.recv(0, 9);
        }
        _ => {}
    }
    let root = if comm.rank() == 2 { 1 } else { 0 };
    let mine = comm.rank() as i64 * 10;
    comm.bcast((comm.rank() == root).then_some(&mine), root)
}

/// A bcast whose ranks disagree on the root is MPI_ERR_ROOT on real MPI as on the
/// simulator, where the library alone would let it complete.
fn root_mismatch_fails_alike() -> Result<(), String> {
    let (_, real) = fails_alike("root-mismatch")?;
    let detail = &real["error"]["detail"];
    if detail["error"]["class"] != "MPI_ERR_ROOT" || detail["rank"] != 2 || detail["call"] != "bcast" {
        return Err(format!("expected MPI_ERR_ROOT in rank 2's bcast: {real}"));
    }
    Ok(())
}

/// As root, without Open MPI's two variables, `--real` still runs: it sets them, and says
/// so on stderr. Not root, or not Open MPI: nothing to check.
fn root_needs_no_variables() -> Result<(), String> {
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let open_mpi = Command::new("mpiexec")
        .arg("--version")
        .output()
        .is_ok_and(|o| ["Open MPI", "OpenRTE"].iter().any(|n| String::from_utf8_lossy(&o.stdout).contains(n)));
    if !root || !open_mpi {
        println!("  (not root on Open MPI: nothing to check)");
        return Ok(());
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new("timeout")
        .arg(TIMEOUT.to_string())
        .arg(exe)
        .args(["run", "hello", "-n", "2", "--real", "--format", "json"])
        .env_remove("OMPI_ALLOW_RUN_AS_ROOT")
        .env_remove("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM")
        .output()
        .map_err(|e| e.to_string())?;
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.code() != Some(0) || !stdout.contains("\"completed\"") || !stderr.contains("note: running as root") {
        return Err(format!(
            "expected a completed run and a note, got {:?}\nstdout: {stdout}\nstderr: {stderr}",
            out.status.code()
        ));
    }
    Ok(())
}

/// `calibrate` with a short budget, then again with `--force`. Without it, a fit that is
/// poor or did not settle is refused (exit 1, nothing written, the reason on stderr) and a
/// good one written; with it, the file is always written and a poor fit says so in it.
/// Either way the file is a platform whose eager limit is one of the sizes measured.
fn calibrate_writes_what_it_measured() -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("mpisim-real-calibrate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let file = dir.join("lab.ron");
    let path = file.to_str().ok_or("a temporary path in UTF-8")?;
    let result = (|| {
        for force in [false, true] {
            let _ = std::fs::remove_file(&file);
            let mut args = vec!["calibrate", "-o", path, "--budget", "2", "--timeout", "120"];
            if force {
                args.push("--force");
            }
            let (code, stdout, stderr) = run(&args);
            let said = format!("exit {code} (--force: {force})\nstdout: {stdout}\nstderr: {stderr}");
            let refused = stderr.contains("was not written:") && stderr.contains("--force");
            match (code, force) {
                (1, false) if refused && !file.exists() => continue,
                (0, _) if !refused && file.exists() => {}
                _ => return Err(format!("expected a file written (exit 0) or a poor fit refused (exit 1): {said}")),
            }
            let text = std::fs::read_to_string(&file).map_err(|e| format!("{e}: {said}"))?;
            let platform = Platform::from_ron(&text, path).map_err(|e| format!("{e}\n{text}"))?;
            let poor = stdout.contains("(a poor fit, written because of --force)");
            if poor != text.starts_with("// A poor fit, written with --force") || (poor && !force) {
                return Err(format!("a poor fit must be marked in the file, and only forced: {said}\n{text}"));
            }
            // The table of the ping-pong: a row per size measured.
            let measured = |bytes: u64| {
                stdout.lines().any(|l| l.split_whitespace().next() == Some(&bytes.to_string()) && l.ends_with('%'))
            };
            if !measured(platform.eager_limit) {
                return Err(format!("eager limit {} is no size measured: {said}\n{text}", platform.eager_limit));
            }
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// `-n` that disagrees with the launcher's count is a usage error, not a wrong run.
fn wrong_rank_count() -> Result<(), String> {
    let launcher = mpisim::real::launcher::find(None).map_err(|e| e.to_string())?;
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
