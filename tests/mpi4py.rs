//! mpi4py scripts on the simulator (`cargo test --release --test mpi4py`): the corpus in
//! tests/mpi4py (one script per lecture topic, each with its expected output in NAME.out)
//! prints what it should, twice the same; the ring deadlocks at its `comm.send` line, its
//! parity fix completes, 8-byte messages complete with a buffering hazard; exceptions,
//! missing interpreters and missing numpy are explained; every run flag works; no Python
//! process outlives a run, whatever its end; and, where mpiexec and the real mpi4py are
//! installed, the corpus on real MPI prints the same lines (else the check says it was
//! skipped).
//!
//! This binary is also the `mpisim run` and `mpisim scale` command line (`THIS run
//! SCRIPT.py …` with MPISIM_TEST_AS_MPISIM set), which the command-line checks and the
//! terminal test run as a child. Each script's header says how to run it: `# mpisim: -n 4` (its run flags), `# outcome: deadlock`, `# warning:
//! buffering hazard`, `# real: skip WHY`. `MPISIM_BLESS=1` writes a missing NAME.out
//! from the simulator's output (then compare it with real mpi4py's before committing).

#[path = "common/checks.rs"]
mod checks;

use checks::Check;
use mpisim::launch::RunOptions;
use mpisim::python::Script;
use mpisim::timeline::Timeline;
use mpisim::{EventKind, SimError, Simulation, Warning, World};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const CORPUS: &str = "tests/mpi4py";
/// Seconds a real run may take (`--timeout`); a hanging script's real run gets less.
const REAL_TIMEOUT: u64 = 120;
const HANG_TIMEOUT: u64 = 8;
const SIGINT: i32 = 2;
const SIGKILL: i32 = 9;

/// Set in the environment of this binary when it runs as the command line (`THIS run …`,
/// `THIS scale …`), so that a test filter (`cargo test --test mpi4py -- scale`) is not
/// taken for a command.
const AS_MPISIM: &str = "MPISIM_TEST_AS_MPISIM";

/// A check that is a plain function.
type Named = (&'static str, fn() -> Result<(), String>);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str).filter(|_| std::env::var_os(AS_MPISIM).is_some()) {
        Some("run") => std::process::exit(mpisim::python::run_script(&args[1], &args[2..], Some(&mpisim_tui::viewer))),
        Some("scale") => std::process::exit(mpisim_tui::scale::main(&args[1..])),
        _ => {}
    }
    let filter = args.iter().find(|a| !a.starts_with('-')).cloned().unwrap_or_default();
    let mut checks: Vec<(String, Check)> = Vec::new();
    for case in corpus() {
        let name = case.name.clone();
        let c = case.clone();
        checks.push((
            format!("corpus::{name}::prints_its_expected_output_twice_the_same"),
            Box::new(move || c.simulated()),
        ));
        checks.push((format!("real::{name}::prints_what_the_simulator_prints"), Box::new(move || case.real())));
    }
    let named: Vec<Named> = vec![
        ("ring_deadlocks_at_its_send_line", ring_deadlocks_at_its_send_line),
        ("ring_parity_completes_and_small_messages_warn", ring_parity_completes_and_small_messages_warn),
        ("every_call_is_attributed_to_the_script", every_call_is_attributed_to_the_script),
        ("kmeans_trace_has_its_messages", kmeans_trace_has_its_messages),
        ("kmeans_in_the_terminal_ui", kmeans_in_the_terminal_ui),
        ("explore_finds_the_wildcard_race_and_replay_replays_it", explore_finds_the_race_and_replay_replays_it),
        ("cli_explore_prints_a_token_that_replays", cli_explore_prints_a_token_that_replays),
        ("an_exception_fails_its_rank_at_the_innermost_line", an_exception_fails_its_rank_at_the_innermost_line),
        ("errors_in_mpi_calls_name_the_call", errors_in_mpi_calls_name_the_call),
        ("an_operator_may_print_and_comm_self_works", an_operator_may_print_and_comm_self_works),
        ("a_missing_interpreter_or_numpy_is_explained", a_missing_interpreter_or_numpy_is_explained),
        ("run_flags_work_for_scripts", run_flags_work_for_scripts),
        ("script_arguments_follow_the_double_dash", script_arguments_follow_the_double_dash),
        ("measure_charges_python_cpu_time_and_says_so", measure_charges_python_cpu_time_and_says_so),
        ("no_process_outlives_a_run", no_process_outlives_a_run),
        ("no_process_outlives_ctrl_c_or_kill", no_process_outlives_ctrl_c_or_kill),
        (
            "ctrl_c_ends_an_exploration_of_a_script_with_a_summary",
            ctrl_c_ends_an_exploration_of_a_script_with_a_summary,
        ),
        ("real_runs_of_a_hanging_script_are_stopped", real_runs_of_a_hanging_script_are_stopped),
        ("runaway_scripts_are_stopped_by_the_limits", runaway_scripts_are_stopped_by_the_limits),
        ("scale_sweeps_a_script", scale_sweeps_a_script),
        ("scale_passes_a_script_its_arguments_and_interpreter", scale_passes_a_script_its_arguments_and_interpreter),
        ("scale_refuses_what_a_script_cannot_do", scale_refuses_what_a_script_cannot_do),
        ("scale_of_a_script_on_real_mpi", scale_of_a_script_on_real_mpi),
    ];
    for (name, f) in named {
        checks.push((name.to_string(), Box::new(f)));
    }

    let code = checks::run(checks, &filter);
    let _ = std::fs::remove_dir_all(scratch_root());
    std::process::exit(code)
}

/// Where the checks write their own scripts and files (removed at the end).
fn scratch_root() -> PathBuf {
    std::env::temp_dir().join(format!("mpisim-py-tests-{}", std::process::id()))
}

/// One script of the corpus and what its header says.
#[derive(Clone, Debug)]
struct Case {
    name: String,
    path: String,
    flags: Vec<String>,
    deadlocks: bool,
    hazard: bool,
    real_skip: Option<String>,
}

fn corpus() -> Vec<Case> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(CORPUS)
        .expect("the corpus directory")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .collect();
    paths.sort();
    paths.iter().map(|p| Case::read(p)).collect()
}

impl Case {
    fn read(path: &Path) -> Case {
        let text = std::fs::read_to_string(path).expect("a corpus script");
        let header = |key: &str| {
            text.lines()
                .take_while(|l| l.starts_with('#'))
                .find_map(|l| l.strip_prefix(&format!("# {key}:")))
                .map(str::trim)
        };
        Case {
            name: path.file_stem().unwrap().to_string_lossy().into_owned(),
            path: path.to_string_lossy().into_owned(),
            flags: header("mpisim").unwrap_or_default().split_whitespace().map(String::from).collect(),
            deadlocks: header("outcome") == Some("deadlock"),
            hazard: header("warning") == Some("buffering hazard"),
            real_skip: header("real").and_then(|r| r.strip_prefix("skip")).map(|r| r.trim().to_string()),
        }
    }

    fn expected_path(&self) -> PathBuf {
        Path::new(&self.path).with_extension("out")
    }

    /// The expected lines, in the simulator's order.
    fn expected(&self, got: &[String]) -> Result<Vec<String>, String> {
        let path = self.expected_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(text.lines().map(String::from).collect()),
            Err(_) if std::env::var_os("MPISIM_BLESS").is_some() => {
                std::fs::write(&path, got.iter().map(|l| format!("{l}\n")).collect::<String>())
                    .map_err(|e| e.to_string())?;
                Ok(got.to_vec())
            }
            Err(e) => Err(format!("{}: {e}; write it with MPISIM_BLESS=1", path.display())),
        }
    }

    fn simulate(&self) -> Result<Simulation<()>, String> {
        simulate(&self.path, &self.flags)
    }

    fn simulated(&self) -> Result<(), String> {
        let first = self.simulate()?;
        let lines = output(&first);
        let expected = self.expected(&lines)?;
        if lines != expected {
            return Err(format!(
                "printed\n{}\nbut {} says\n{}",
                lines.join("\n"),
                self.expected_path().display(),
                expected.join("\n")
            ));
        }
        match (&first.outcome, self.deadlocks) {
            (Ok(_), false) | (Err(SimError::Deadlock(_)), true) => {}
            (other, _) => {
                return Err(format!("the outcome is {other:?}; the header says deadlock: {}", self.deadlocks))
            }
        }
        let hazard = first.warnings.iter().any(|w| matches!(w, Warning::BufferingHazard { .. }));
        if hazard != self.hazard {
            return Err(format!(
                "buffering hazard: {hazard}, but the header says {}: {:?}",
                self.hazard, first.warnings
            ));
        }
        let second = self.simulate()?;
        if second.trace.to_json() != first.trace.to_json() || output(&second) != lines || second.time != first.time {
            return Err("a second run differs from the first".into());
        }
        Ok(())
    }

    /// The same script on real MPI prints the same lines (line order aside).
    fn real(&self) -> Result<(), String> {
        if let Some(why) = real_mpi_missing() {
            println!("  note: {} not run on real MPI: {why}", self.name);
            return Ok(());
        }
        if let Some(why) = &self.real_skip {
            println!("  note: {} not compared with real MPI: {why}", self.name);
            return Ok(());
        }
        if self.deadlocks {
            // Deadlocks are checked by real_runs_of_a_hanging_script_are_stopped.
            return Ok(());
        }
        let timeout = REAL_TIMEOUT.to_string();
        let mut args = vec![self.path.as_str(), "--real", "--timeout", &timeout, "--format", "json"];
        args.extend(self.flags.iter().map(String::as_str));
        let (code, stdout, stderr) = cli(&args, &[]);
        let report = json_report(&stdout).ok_or_else(|| format!("no JSON report (exit {code}): {stdout}\n{stderr}"))?;
        if code != 0 || report["outcome"] != "completed" {
            return Err(format!("the real run did not complete (exit {code}): {report}\n{stderr}"));
        }
        let mut real: Vec<String> = report["output"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| l["text"].as_str().unwrap_or("").to_string())
            .collect();
        let mut expected = self.expected(&[])?;
        real.sort();
        expected.sort();
        if real != expected {
            return Err(format!(
                "real mpi4py printed\n{}\nbut the expected lines are\n{}",
                real.join("\n"),
                expected.join("\n")
            ));
        }
        Ok(())
    }
}

/// Simulates `path` with the run flags `flags` through the library, recording the trace.
fn simulate(path: &str, flags: &[String]) -> Result<Simulation<()>, String> {
    let (mut opts, rest) = RunOptions::parse(flags).map_err(|e| e.to_string())?;
    assert!(rest.is_empty(), "corpus headers give run flags only");
    // The checks read the trace (sites, messages, the same trace twice).
    opts.record_trace = true;
    let script = Script::new(path, &opts.launcher_args, None).map_err(|e| e.to_string())?;
    Ok(opts.world(mpisim::python::DEFAULT_RANKS).simulate(script.program(&opts.platform, opts.seed)))
}

fn output(sim: &Simulation<()>) -> Vec<String> {
    sim.output.iter().map(|l| l.text.clone()).collect()
}

/// The 1-based line of `path` that contains `needle` (exactly one must).
fn line_of(path: &str, needle: &str) -> u32 {
    let text = std::fs::read_to_string(path).expect("a script");
    let lines: Vec<u32> =
        text.lines().enumerate().filter(|(_, l)| l.contains(needle)).map(|(i, _)| i as u32 + 1).collect();
    assert_eq!(lines.len(), 1, "{needle:?} must be on exactly one line of {path}");
    lines[0]
}

/// Runs this binary as `mpisim run ARGS…` (under timeout(1)); (exit code, stdout, stderr).
fn cli(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    command("run", args, env)
}

/// Runs this binary as `mpisim COMMAND ARGS…` (`run` or `scale`, under timeout(1)); (exit
/// code, stdout, stderr).
fn command(command: &str, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let out = Command::new("timeout")
        .arg((REAL_TIMEOUT + 60).to_string())
        .arg(exe)
        .arg(command)
        .args(args)
        .env(AS_MPISIM, "1")
        .envs(real_mpi_env())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("timeout(1) runs");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

/// As root, Open MPI runs only when told it may; more ranks than cores need no flag
/// (`--real` adds --oversubscribe itself).
fn real_mpi_env() -> [(&'static str, &'static str); 2] {
    [("OMPI_ALLOW_RUN_AS_ROOT", "1"), ("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")]
}

fn json_report(stdout: &str) -> Option<Value> {
    stdout.lines().rev().find_map(|l| serde_json::from_str(l).ok())
}

/// Why the real corpus cannot run here, if it cannot.
fn real_mpi_missing() -> Option<String> {
    if mpisim::real::launcher::find(None).is_err() {
        return Some("no MPI launcher (mpiexec) on PATH".into());
    }
    let mpi4py = Command::new("python3").args(["-c", "import mpi4py"]).stderr(Stdio::null()).status();
    if !mpi4py.is_ok_and(|s| s.success()) {
        return Some("python3 cannot import mpi4py (pip install mpi4py)".into());
    }
    None
}

fn expect(cond: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(what())
    }
}

fn ring_deadlocks_at_its_send_line() -> Result<(), String> {
    let path = format!("{CORPUS}/ring.py");
    let sim = simulate(&path, &[])?;
    let Err(SimError::Deadlock(report)) = &sim.outcome else {
        return Err(format!("the ring of range(1000000) should deadlock: {:?}", sim.outcome));
    };
    let send = format!("{path}:{}", line_of(&path, "comm.send("));
    let sites: Vec<String> = report.blocked.iter().map(|b| b.location.to_string()).collect();
    expect(sites == vec![send.clone(); 4], || format!("blocked at {sites:?}, not four times {send}"))?;
    expect(report.blocked.iter().all(|b| b.call == mpisim::CallKind::Send), || format!("{report:?}"))?;
    expect(report.cycle == [0, 1, 2, 3], || format!("cycle {:?}", report.cycle))?;
    // A pickle of a million ints is megabytes: far above the eager limit.
    let bytes = report.blocked[0].bytes.unwrap_or(0);
    expect(bytes > 4_000_000, || format!("the send moves {bytes} bytes"))
}

fn ring_parity_completes_and_small_messages_warn() -> Result<(), String> {
    let parity = simulate(&format!("{CORPUS}/ring_parity.py"), &[])?;
    expect(parity.outcome.is_ok() && parity.warnings.is_empty(), || {
        format!("{:?} {:?}", parity.outcome, parity.warnings)
    })?;
    let path = format!("{CORPUS}/ring_small.py");
    let small = simulate(&path, &[])?;
    let send = format!("{path}:{}", line_of(&path, "comm.Send("));
    let hazard = small.warnings.iter().find_map(|w| match w {
        Warning::BufferingHazard { deadlock, .. } => Some(deadlock),
        _ => None,
    });
    let Some(deadlock) = hazard else { return Err(format!("no buffering hazard: {:?}", small.warnings)) };
    expect(small.outcome.is_ok(), || format!("{:?}", small.outcome))?;
    expect(deadlock.blocked.iter().all(|b| b.location.to_string() == send && b.bytes == Some(9)), || {
        format!("the hazard's sends should be the 8-byte Sends at {send} (9 bytes with the length): {deadlock:?}")
    })
}

fn every_call_is_attributed_to_the_script() -> Result<(), String> {
    let path = format!("{CORPUS}/reduce_ops.py");
    let sim = simulate(&path, &[])?;
    let sites: Vec<String> = sim
        .trace
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Enter { site, .. } => Some(site.to_string()),
            _ => None,
        })
        .collect();
    expect(!sites.is_empty() && sites.iter().all(|s| s.starts_with(&path)), || {
        let other: Vec<&String> = sites.iter().filter(|s| !s.starts_with(&path)).take(5).collect();
        format!("calls attributed elsewhere than {path}: {other:?}")
    })?;
    let allreduce = format!("{path}:{}", line_of(&path, "comm.Allreduce(a, out"));
    expect(sites.contains(&allreduce), || format!("no call at {allreduce}"))
}

fn kmeans_trace_has_its_messages() -> Result<(), String> {
    let path = format!("{CORPUS}/kmeans.py");
    let sim = simulate(&path, &[])?;
    let timeline = Timeline::new(&sim.trace);
    expect(timeline.messages.len() as u64 == sim.stats.messages && sim.stats.messages > 0, || {
        format!("{} messages in the timeline, {} counted", timeline.messages.len(), sim.stats.messages)
    })?;
    let bcast = format!("{path}:{}", line_of(&path, "comm.Bcast("));
    let minloc = format!("{path}:{}", line_of(&path, "MPI.MINLOC"));
    for site in [&bcast, &minloc] {
        let carried = timeline.messages.iter().any(|m| {
            m.send_call
                .and_then(|c| timeline.calls[c].parent)
                .is_some_and(|p| timeline.calls[p].site.to_string() == *site)
        });
        expect(carried, || format!("no message of the collective at {site}"))?;
    }
    Ok(())
}

/// `--tui` on the k-means script in tmux, 80×24, as a user drives it: its messages are
/// drawn and the matrix counts them.
fn kmeans_in_the_terminal_ui() -> Result<(), String> {
    if Command::new("tmux").arg("-V").output().is_err() {
        println!("  note: tmux is not installed: the terminal check was skipped");
        return Ok(());
    }
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let session = format!("mpisim-py-{}", std::process::id());
    let command = format!(
        "NO_COLOR=1 {AS_MPISIM}=1 {} run {CORPUS}/kmeans.py -n 4 --tui; echo EXIT=$?; sleep 600",
        exe.display()
    );
    let tmux = |args: &[&str]| Command::new("tmux").args(args).output().map_err(|e| e.to_string());
    tmux(&["new-session", "-d", "-s", &session, "-x", "80", "-y", "24", &command])?;
    let screen =
        || tmux(&["capture-pane", "-p", "-t", &session]).map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    let wait_for = |text: &str| -> Result<String, String> {
        let mut shown = String::new();
        for _ in 0..400 {
            shown = screen()?;
            if shown.contains(text) {
                return Ok(shown);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Err(format!("the screen never showed {text:?}; it shows:\n{shown}"))
    };
    let path = format!("{CORPUS}/kmeans.py");
    let minloc = format!("{path}:{}", line_of(&path, "MPI.MINLOC"));
    let sim = simulate(&path, &[])?;
    let zero_to_one: u64 =
        Timeline::new(&sim.trace).messages.iter().filter(|m| (m.src, m.dst) == (0, 1)).map(|m| m.bytes).sum();
    let result = (|| {
        let first = wait_for("kmeans.py · 4 ranks")?;
        expect(first.contains("completed") && first.lines().count() == 24, || first.clone())?;
        let arrows = first.lines().filter(|l| l.starts_with("│▶r") || l.starts_with("│ r")).filter(|l| l.contains('▼'));
        expect(arrows.count() >= 2, || format!("messages are drawn as arrows:\n{first}"))?;
        // The first message of rank 0: a step of the MINLOC allreduce, at the script's line.
        tmux(&["send-keys", "-t", &session, "Home", "m"])?;
        let message = wait_for("r0 → r1")?;
        expect(message.contains("step of MPI_Allreduce") && message.contains(&minloc), || message.clone())?;
        tmux(&["send-keys", "-t", &session, "3"])?;
        let matrix = wait_for("Communication matrix")?;
        expect(matrix.contains(&format!("{zero_to_one} B")), || format!("r0 sent r1 {zero_to_one} B:\n{matrix}"))?;
        tmux(&["send-keys", "-t", &session, "q"])?;
        let after = wait_for("EXIT=0")?;
        expect(after.contains("completed: tests/mpi4py/kmeans.py"), || format!("the report follows the UI:\n{after}"))
    })();
    let _ = tmux(&["kill-session", "-t", &session]);
    result
}

fn explore_finds_the_race_and_replay_replays_it() -> Result<(), String> {
    let path = format!("{CORPUS}/wildcard_race.py");
    let script = Script::new(&path, &[], None).map_err(|e| e.to_string())?;
    let world = World::new(3);
    let found = world.explore(50, script.program(world.platform_ref(), 0));
    let failure = found.failure.ok_or_else(|| format!("50 schedules of {path} found no failure"))?;
    let Err(SimError::Deadlock(first)) = &failure.simulation.outcome else {
        return Err(format!("the failure is no deadlock: {:?}", failure.simulation.outcome));
    };
    let named = format!("{path}:{}", line_of(&path, "comm.recv(source=size - 1)"));
    expect(first.blocked.len() == 1 && first.blocked[0].location.to_string() == named, || format!("{first:?}"))?;
    let replayed = World::new(3).schedule(failure.schedule).simulate(script.program(world.platform_ref(), 0));
    expect(replayed.trace.to_json() == failure.simulation.trace.to_json(), || {
        format!("the replay of {} differs from the failing run", failure.schedule)
    })
}

fn cli_explore_prints_a_token_that_replays() -> Result<(), String> {
    let path = format!("{CORPUS}/wildcard_race.py");
    let (code, out, err) = cli(&[&path, "-n", "3", "--explore", "50"], &[]);
    expect(code == 3, || format!("exit {code}: {out}{err}"))?;
    let token = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("replay: add --replay "))
        .and_then(|rest| rest.split_whitespace().next())
        .ok_or_else(|| format!("no replay token in\n{out}"))?
        .to_string();
    let (code, replay, err) = cli(&[&path, "-n", "3", "--replay", &token], &[]);
    expect(code == 3, || format!("the replay exits {code}: {replay}{err}"))?;
    let report = |text: &str| text.lines().take_while(|l| !l.starts_with("explore:")).collect::<Vec<_>>().join("\n");
    expect(report(&out) == report(&replay), || format!("explored:\n{out}\nreplayed:\n{replay}"))
}

fn scratch(name: &str, text: &str) -> String {
    let dir = scratch_root();
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("a scratch script");
    path.to_string_lossy().into_owned()
}

fn an_exception_fails_its_rank_at_the_innermost_line() -> Result<(), String> {
    let path = scratch(
        "raises.py",
        "from mpi4py import MPI\ncomm = MPI.COMM_WORLD\n\ndef share(x):\n    return 10 // x\n\ncomm.barrier()\nif comm.rank == 2:\n    share(0)\ncomm.barrier()\n",
    );
    let sim = simulate(&path, &[])?;
    let Err(SimError::RankFailed(f)) = &sim.outcome else { return Err(format!("{:?}", sim.outcome)) };
    let message = f.error.as_ref().map(|e| e.message.clone()).unwrap_or_default();
    expect(f.rank == 2 && f.location.as_ref().map(ToString::to_string) == Some(format!("{path}:5")), || {
        format!("{f:?}")
    })?;
    expect(message.contains("ZeroDivisionError: integer division or modulo by zero"), || message.clone())?;
    expect(message.contains(&format!("{path}:9 in <module> → {path}:5 in share")), || message.clone())?;
    let (code, out, _) = cli(&[&path], &[]);
    expect(code == 4 && out.contains("rank 2 failed") && out.contains("the other ranks were stopped"), || {
        format!("exit {code}: {out}")
    })
}

fn errors_in_mpi_calls_name_the_call() -> Result<(), String> {
    let cases = [
        ("cart.py", "from mpi4py import MPI\nMPI.COMM_WORLD.Create_cart([2, 2])\n", "NotImplementedError: Intracomm.Create_cart", "compute", 2),
        (
            "badop.py",
            "from mpi4py import MPI\nMPI.COMM_WORLD.allreduce({'a': 1}, op=MPI.SUM)\n",
            "TypeError: unsupported operand type(s) for +: 'dict' and 'dict'",
            "allreduce",
            2,
        ),
        (
            "short.py",
            "from mpi4py import MPI\nimport numpy as np\ncomm = MPI.COMM_WORLD\nif comm.rank == 0:\n    comm.Send(np.zeros(10), dest=1)\nelif comm.rank == 1:\n    comm.Recv(np.zeros(4), source=0)\n",
            "MPI_ERR_TRUNCATE: a message of 80 bytes from rank 0 with tag 0 does not fit the receive buffer of 32 bytes",
            "recv",
            7,
        ),
        (
            "opcalls.py",
            "from mpi4py import MPI\ncomm = MPI.COMM_WORLD\ndef bad(a, b):\n    comm.send(a, dest=0)\n    return a\ncomm.allreduce(1, op=bad)\n",
            "the operator of this reduction made an MPI call (send at ",
            "allreduce",
            6,
        ),
        (
            "scatter.py",
            "from mpi4py import MPI\ncomm = MPI.COMM_WORLD\ncomm.scatter([1, 2] if comm.rank == 0 else None, root=0)\n",
            "MPI_ERR_COUNT",
            "scatter",
            3,
        ),
    ];
    for (name, text, says, call, line) in cases {
        let path = scratch(name, text);
        let sim = simulate(&path, &[])?;
        let Err(SimError::RankFailed(f)) = &sim.outcome else { return Err(format!("{name}: {:?}", sim.outcome)) };
        let shown = SimError::RankFailed(f.clone()).to_string();
        expect(shown.contains(says), || format!("{name}: {shown}"))?;
        expect(f.call.map(|c| c.to_string()) == Some(call.to_string()), || format!("{name}: in {:?}", f.call))?;
        expect(f.location.as_ref().map(|l| l.line) == Some(line), || format!("{name}: at {:?}", f.location))?;
    }
    Ok(())
}

fn an_operator_may_print_and_comm_self_works() -> Result<(), String> {
    let path = scratch(
        "opprint.py",
        "from mpi4py import MPI\ncomm = MPI.COMM_WORLD\ndef add(a, b):\n    print(f'{a} + {b}')\n    return a + b\n\
         total = comm.allreduce(comm.rank + 1, op=add)\nme = MPI.COMM_SELF\nprint(total, me.size, me.allreduce([comm.rank]), me is MPI.COMM_SELF)\n",
    );
    let sim = simulate(&path, &["-n".into(), "3".into()])?;
    let lines = output(&sim);
    expect(sim.outcome.is_ok() && lines.iter().filter(|l| l.contains(" + ")).count() >= 2, || {
        format!("{:?} {lines:?}", sim.outcome)
    })?;
    let printed_at = format!("{path}:4");
    let print_sites = sim.trace.events.iter().filter(|e| match &e.kind {
        EventKind::Enter { call, site, .. } => *call == mpisim::CallKind::Print && site.to_string() == printed_at,
        _ => false,
    });
    expect(print_sites.count() >= 2, || format!("the operator's prints are at {printed_at}"))?;
    expect((0..3).all(|r| lines.contains(&format!("6 1 [{r}] True"))), || format!("{lines:?}"))
}

fn a_missing_interpreter_or_numpy_is_explained() -> Result<(), String> {
    let hello = format!("{CORPUS}/hello.py");
    for (flag, says) in [("/no/such/python3", "does not exist"), ("no-such-python3", "is not on PATH")] {
        let (code, _, err) = cli(&[&hello, "--python", flag], &[]);
        expect(code == 2 && err.contains(says) && err.contains("apt-get install python3"), || {
            format!("exit {code}: {err}")
        })?;
    }
    let (code, _, err) = cli(&[&hello], &[("MPISIM_PYTHON", "/no/such/python3")]);
    expect(code == 2 && err.contains("/no/such/python3 does not exist"), || format!("exit {code}: {err}"))?;
    // An interpreter without numpy: a numpy that is not there.
    let dir = scratch_root().join("nonumpy");
    std::fs::create_dir_all(dir.join("numpy")).map_err(|e| e.to_string())?;
    std::fs::write(
        dir.join("numpy/__init__.py"),
        "raise ModuleNotFoundError(\"No module named 'numpy'\", name='numpy')\n",
    )
    .map_err(|e| e.to_string())?;
    let (code, out, _) = cli(&[&format!("{CORPUS}/kmeans.py")], &[("PYTHONPATH", &dir.to_string_lossy())]);
    expect(
        code == 4 && out.contains("No module named 'numpy' (install numpy for this interpreter: pip install numpy"),
        || format!("exit {code}: {out}"),
    )?;
    let (code, _, err) = cli(&["no/such/script.py"], &[]);
    expect(code == 2 && err.contains("cannot read the script no/such/script.py"), || format!("exit {code}: {err}"))
}

fn run_flags_work_for_scripts() -> Result<(), String> {
    let small = format!("{CORPUS}/ring_small.py");
    for flags in [&["--strict"][..], &["--platform", "zero"], &["--eager-limit", "0"]] {
        let mut args = vec![small.as_str()];
        args.extend(flags);
        let (code, out, _) = cli(&args, &[]);
        expect(code == 3 && out.contains("deadlock: tests/mpi4py/ring_small.py"), || {
            format!("{flags:?}: exit {code}\n{out}")
        })?;
    }
    let dir = scratch_root().join("flags");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let (dot, trace) = (dir.join("ring.dot"), dir.join("ring.json"));
    let ring = format!("{CORPUS}/ring.py");
    let (code, out, _) =
        cli(&[&ring, "--format", "json", "--dot", &dot.to_string_lossy(), "--trace", &trace.to_string_lossy()], &[]);
    let report = json_report(&out).ok_or_else(|| format!("no JSON: {out}"))?;
    let send = format!("{ring}:{}", line_of(&ring, "comm.send("));
    expect(code == 3 && report["outcome"] == "deadlock" && report["program"] == ring.as_str(), || report.to_string())?;
    expect(
        report["deadlock"]["blocked"].as_array().is_some_and(|b| b.iter().all(|b| b["location"] == send.as_str())),
        || report["deadlock"].to_string(),
    )?;
    let dot = std::fs::read_to_string(&dot).map_err(|e| e.to_string())?;
    expect(dot.contains(&format!("MPI_Send\\n{send}")), || dot.clone())?;
    let saved = std::fs::read_to_string(&trace).map_err(|e| e.to_string())?;
    let mpisim::SavedRun { trace, error, .. } =
        mpisim::Trace::from_json_with_outcome(&saved).map_err(|e| e.to_string())?;
    expect(trace.ranks == 4 && matches!(error, Some(SimError::Deadlock(_))), || "the saved trace".into())?;
    let hello = format!("{CORPUS}/hello.py");
    let (code, out, _) = cli(&[&hello, "-n", "3", "--format", "json", "--seed", "7"], &[]);
    let report = json_report(&out).ok_or_else(|| format!("no JSON: {out}"))?;
    expect(
        code == 0 && report["size"] == 3 && report["seed"] == 7 && report["output"].as_array().map(Vec::len) == Some(4),
        || report.to_string(),
    )?;
    let (code, _, err) = cli(&[&hello, "--bytes", "8"], &[]);
    expect(code == 2 && err.contains("unknown flag --bytes"), || format!("exit {code}: {err}"))
}

fn measure_charges_python_cpu_time_and_says_so() -> Result<(), String> {
    let path = scratch(
        "works.py",
        "from mpi4py import MPI\ncomm = MPI.COMM_WORLD\ncomm.barrier()\nx = sum(i * i for i in range(300000))\ncomm.barrier()\n",
    );
    let time = |extra: &[&str]| -> Result<(u64, Value), String> {
        let mut args = vec![path.as_str(), "-n", "2", "--format", "json"];
        args.extend(extra);
        let (code, out, err) = cli(&args, &[]);
        let report = json_report(&out).ok_or_else(|| format!("no JSON (exit {code}): {out}{err}"))?;
        Ok((report["virtual_time_ns"].as_u64().unwrap_or(0), report))
    };
    let (plain, report) = time(&[])?;
    expect(!report["program"].as_str().unwrap_or("").contains("measure"), || report.to_string())?;
    let (measured, report) = time(&["--measure"])?;
    expect(measured > plain, || format!("measured {measured} ns, plain {plain} ns"))?;
    expect(report["program"].as_str().unwrap_or("").contains("not deterministic"), || report.to_string())?;
    let (code, _, err) = cli(&[&path, "--measure", "--real"], &[]);
    expect(code == 2 && err.contains("--measure"), || format!("exit {code}: {err}"))
}

fn script_arguments_follow_the_double_dash() -> Result<(), String> {
    let path = scratch(
        "argv.py",
        "import sys\nimport random\nfrom mpi4py import MPI\nr = MPI.COMM_WORLD.rank\nprint(r, sys.argv[1:], {'apple', 'pear', 'fig', 'plum'}, random.random())\nimport time\nt = MPI.Wtime()\ntime.sleep(0.25)\nprint(r, 'slept', round(MPI.Wtime() - t, 9))\n",
    );
    let (code, first, _) = cli(&[&path, "-n", "2", "--format", "json", "--", "a b", "--strict"], &[]);
    let report = json_report(&first).ok_or_else(|| format!("no JSON: {first}"))?;
    let lines: Vec<&str> =
        report["output"].as_array().into_iter().flatten().filter_map(|l| l["text"].as_str()).collect();
    expect(code == 0 && report["strict"] == false, || report.to_string())?;
    expect(lines.len() == 4 && lines[0].starts_with("0 ['a b', '--strict'] {"), || format!("{lines:?}"))?;
    expect(lines.contains(&"1 slept 0.25") && report["virtual_time_ns"] == 250_000_000, || format!("{lines:?}"))?;
    let (_, second, _) = cli(&[&path, "-n", "2", "--format", "json", "--", "a b", "--strict"], &[]);
    expect(first == second, || "random numbers differ between two runs".into())?;
    let (_, third, _) = cli(&[&path, "-n", "2", "--format", "json", "--seed", "1", "--", "a b", "--strict"], &[]);
    expect(first != third, || "another seed, other random numbers".into())
}

/// Python processes of `script` that are still alive (or not yet reaped: zombies).
fn processes_of(script: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains("mpisim_boot.py") && cmdline.contains(script) {
            found.push(format!("{} {cmdline}", entry.file_name().to_string_lossy()));
        }
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        if stat.contains("(python") && stat.split_whitespace().nth(2) == Some("Z") {
            found.push(format!("zombie {stat}"));
        }
    }
    found
}

/// Waits (polling up to 200 times 25 ms) until no process of `script` is left.
fn none_left(script: &str) -> Result<(), String> {
    for _ in 0..200 {
        if processes_of(script).is_empty() {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    Err(format!("processes left over: {:?}", processes_of(script)))
}

fn no_process_outlives_a_run() -> Result<(), String> {
    // A deadlock, a failure, an abort and a completed run: each leaves nothing behind.
    let ring = format!("{CORPUS}/ring.py");
    let sim = simulate(&ring, &[])?;
    expect(matches!(sim.outcome, Err(SimError::Deadlock(_))), || "the ring deadlocks".into())?;
    expect(processes_of(&ring).is_empty(), || format!("after a deadlock: {:?}", processes_of(&ring)))?;
    let abort = scratch(
        "aborts.py",
        "from mpi4py import MPI\nif MPI.COMM_WORLD.rank == 1:\n    MPI.COMM_WORLD.Abort(5)\nMPI.COMM_WORLD.barrier()\n",
    );
    let sim = simulate(&abort, &[])?;
    expect(matches!(sim.outcome, Err(SimError::Aborted { rank: 1, code: 5, .. })), || format!("{:?}", sim.outcome))?;
    expect(processes_of(&abort).is_empty(), || format!("after an abort: {:?}", processes_of(&abort)))?;
    let explored = format!("{CORPUS}/wildcard_race.py");
    let (code, ..) = cli(&[&explored, "-n", "3", "--explore", "20"], &[]);
    expect(code == 3, || format!("exit {code}"))?;
    none_left(&explored)
}

/// This binary as `mpisim run ARGS…` in a process group of its own, as a terminal's
/// foreground job (Ctrl-C signals the group), once `ranks` of `script`'s processes run.
fn foreground_job(args: &[&str], script: &str, ranks: usize, stdout: Stdio) -> Result<std::process::Child, String> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let child = Command::new(&exe)
        .arg("run")
        .args(args)
        .env(AS_MPISIM, "1")
        .process_group(0)
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    for _ in 0..400 {
        if processes_of(script).len() == ranks {
            return Ok(child);
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    Err(format!("the {ranks} ranks of {script} never ran: {:?}", processes_of(script)))
}

/// kill(1) `signal` to `target` (a pid, or `-PGID` for a group).
fn kill(signal: i32, target: &str) -> Result<(), String> {
    let status = Command::new("kill").arg(format!("-{signal}")).arg("--").arg(target).status();
    expect(status.is_ok_and(|s| s.success()), || "kill(1) failed".into())
}

fn no_process_outlives_ctrl_c_or_kill() -> Result<(), String> {
    for (i, signal) in [(0, SIGINT), (1, SIGKILL)] {
        let path = scratch(
            &format!("spins{i}.py"),
            "from mpi4py import MPI\ncomm = MPI.COMM_WORLD\ncomm.barrier()\nif comm.rank == 0:\n    print('spinning', flush=True)\n    while True:\n        pass\ncomm.barrier()\n",
        );
        let mut child = foreground_job(&[&path, "-n", "4"], &path, 4, Stdio::null())?;
        // Ctrl-C reaches the whole group; SIGKILL only mpisim, which cannot clean up.
        let target = if signal == SIGKILL { child.id().to_string() } else { format!("-{}", child.id()) };
        kill(signal, &target)?;
        let _ = child.wait();
        none_left(&path)?;
    }
    Ok(())
}

/// Ctrl-C, which reaches the ranks' processes too, ends `--explore` after the run in
/// progress: the ranks ignore it, so that run is not reported as a failure.
fn ctrl_c_ends_an_exploration_of_a_script_with_a_summary() -> Result<(), String> {
    let path = scratch("explored.py", "from mpi4py import MPI\nMPI.COMM_WORLD.barrier()\n");
    let args = [path.as_str(), "-n", "2", "--explore", "1000000", "--format", "json"];
    let child = foreground_job(&args, &path, 2, Stdio::piped())?;
    kill(SIGINT, &format!("-{}", child.id()))?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = json_report(&stdout).ok_or_else(|| format!("no JSON: {stdout}"))?;
    let explore = &report["explore"];
    expect(
        out.status.code() == Some(130)
            && report["outcome"] == "completed"
            && explore["interrupted"] == true
            && explore["failed_run"].is_null()
            && explore["runs"].as_u64().is_some_and(|n| n >= 1),
        || format!("exit {:?}: {report}", out.status.code()),
    )?;
    none_left(&path)
}

fn real_runs_of_a_hanging_script_are_stopped() -> Result<(), String> {
    if let Some(why) = real_mpi_missing() {
        println!("  note: not run on real MPI: {why}");
        return Ok(());
    }
    let ring = format!("{CORPUS}/ring.py");
    let timeout = HANG_TIMEOUT.to_string();
    let (code, out, err) = cli(&[&ring, "--real", "--timeout", &timeout], &[]);
    expect(code == 3 && out.contains("hung: tests/mpi4py/ring.py on 4 ranks, real MPI"), || {
        format!("exit {code}: {out}{err}")
    })?;
    let leftover: Vec<String> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains("mpi4py") && c.contains(&ring))
        .collect();
    expect(leftover.is_empty(), || format!("real ranks left running: {leftover:?}"))?;
    let (code, _, err) = cli(&[&ring, "--real", "--trace", "x.json"], &[]);
    expect(code == 2 && err.contains("records no trace"), || format!("exit {code}: {err}"))
}

fn runaway_scripts_are_stopped_by_the_limits() -> Result<(), String> {
    // A rank that loops in Python without a call: the wall-clock watchdog stops the run.
    let spins = scratch(
        "spins_alone.py",
        "from mpi4py import MPI\ncomm = MPI.COMM_WORLD\ncomm.barrier()\nif comm.rank == 0:\n    while True:\n        pass\ncomm.barrier()\n",
    );
    let (code, _, err) = cli(&[&spins, "-n", "2", "--wall-limit", "1"], &[]);
    let barrier = format!("its last call was MPI_Barrier at {spins}:3");
    expect(code == 4 && err.contains("rank 0 has run its own code for") && err.contains(&barrier), || {
        format!("exit {code}: {err}")
    })?;
    none_left(&spins)?;
    // A script that sleeps and synchronises forever: the virtual-time limit stops it.
    let forever = scratch(
        "forever.py",
        "from mpi4py import MPI\nimport time\ncomm = MPI.COMM_WORLD\nwhile True:\n    time.sleep(1)\n    comm.barrier()\n",
    );
    let (code, out, _) = cli(&[&forever, "-n", "2", "--time-limit", "10s"], &[]);
    let sleep = format!("its last call was compute at {forever}:5");
    expect(
        code == 4 && out.contains("stopped at the virtual-time limit t = 10.000 s") && out.contains(&sleep),
        || format!("exit {code}: {out}"),
    )?;
    none_left(&forever)
}

/// `mpisim scale ARGS…` as a child of this binary.
fn scale(args: &[&str]) -> (i32, String, String) {
    command("scale", args, &[])
}

fn scale_sweeps_a_script() -> Result<(), String> {
    // Rank 0 hands 8 tasks of 10, 20, 30, 10, 20, 30, 10, 20 ms (150 ms) to its workers,
    // the next to whoever answers first; alone it waits for a worker forever.
    let path = format!("{CORPUS}/master_worker.py");
    let (code, out, err) = scale(&[&path, "-n", "1,2,4,8", "--format", "json"]);
    let report: Value = serde_json::from_str(&out).map_err(|e| format!("exit {code}: {e}: {out}{err}"))?;
    expect(code == 3 && report["program"] == path.as_str() && report["completed"] == false, || report.to_string())?;
    let rows = report["rows"].as_array().ok_or("no rows")?;
    expect(rows[0]["failure"]["outcome"] == "deadlock", || rows[0].to_string())?;
    // On an ideal network the time is the greedy schedule's: one worker does all 150 ms;
    // three finish at 60 ms; seven take a task each and the first free one takes the
    // eighth (10 + 20 ms). Every task and answer is a message, and one stop per worker.
    for (row, (n, ideal_ms)) in rows[1..].iter().zip([(2u64, 150u64), (4, 60), (8, 30)]) {
        let m = &row["measure"];
        let sim = simulate(&path, &["-n".into(), n.to_string()])?;
        expect(
            row["ranks"] == n
                && m["ideal_time_ns"] == ideal_ms * 1_000_000
                && m["useful_total_ns"] == 150_000_000
                && m["messages"] == 16 + (n - 1)
                && m["time_ns"] == sim.time.as_nanos(),
            || format!("N = {n}: {row}; `mpisim run` takes {}", sim.time),
        )?;
    }
    let (_, again, _) = scale(&[&path, "-n", "1,2,4,8", "--format", "json"]);
    expect(again == out, || "two sweeps differ".into())?;
    let (code, text, _) = scale(&[&path, "-n", "2..8"]);
    expect(code == 0 && text.starts_with(&format!("scale: {path} on 2 to 8 ranks, platform default")), || {
        text.clone()
    })?;
    none_left(&path)
}

fn scale_passes_a_script_its_arguments_and_interpreter() -> Result<(), String> {
    // Work shared evenly: its argument (seconds of work) over the ranks, then a barrier.
    let path = scratch(
        "shares.py",
        "from mpi4py import MPI\nimport sys, time\ncomm = MPI.COMM_WORLD\ntime.sleep(float(sys.argv[1]) / comm.size)\ncomm.barrier()\n",
    );
    let (code, out, err) =
        scale(&[&path, "-n", "1..4", "--platform", "ideal", "--python", "python3", "--format", "json", "--", "0.5"]);
    let report: Value = serde_json::from_str(&out).map_err(|e| format!("exit {code}: {e}: {out}{err}"))?;
    expect(code == 0 && report["program"] == format!("{path} 0.5").as_str(), || report.to_string())?;
    let times: Vec<u64> =
        report["rows"].as_array().ok_or("no rows")?.iter().filter_map(|r| r["measure"]["time_ns"].as_u64()).collect();
    expect(times == [500_000_000, 250_000_000, 125_000_000], || format!("T(N) = {times:?}"))?;
    let (code, _, err) = scale(&[&path, "-n", "1,2", "--python", "/nonexistent/python3"]);
    expect(code == 2 && err.contains("the Python interpreter /nonexistent/python3 does not exist"), || {
        format!("exit {code}: {err}")
    })?;
    none_left(&path)
}

fn scale_refuses_what_a_script_cannot_do() -> Result<(), String> {
    let path = format!("{CORPUS}/parallel_map.py");
    for (args, message) in [
        (&["--weak", "items"][..], "--weak items: a script has no parameters for mpisim to grow"),
        (&["--items", "10"], "unknown flag --items for the script tests/mpi4py/parallel_map.py"),
        (&["--trace", "t.json"], "a sweep runs with the trace off"),
        (&["--explore", "3"], "a sweep runs the default schedule"),
    ] {
        let mut all = vec![path.as_str(), "-n", "1,2"];
        all.extend(args);
        let (code, out, err) = scale(&all);
        expect(code == 2 && out.is_empty() && err.contains(message), || format!("{args:?}: exit {code}: {err}"))?;
    }
    let (code, _, err) = scale(&["tests/mpi4py/no_such_script.py", "-n", "1,2"]);
    expect(code == 2 && err.contains("cannot read the script tests/mpi4py/no_such_script.py"), || {
        format!("exit {code}: {err}")
    })
}

fn scale_of_a_script_on_real_mpi() -> Result<(), String> {
    if let Some(why) = real_mpi_missing() {
        println!("  note: not run on real MPI: {why}");
        return Ok(());
    }
    let path = format!("{CORPUS}/master_worker.py");
    let (code, out, err) = command("scale", &[&path, "-n", "2,4", "--real", "--repeat", "1", "--format", "json"], &[]);
    let report: Value = serde_json::from_str(&out).map_err(|e| format!("exit {code}: {e}: {out}{err}"))?;
    let rows = report["rows"].as_array().ok_or("no rows")?;
    // The real runs sleep for real: at least the ideal schedule's 150 ms and 60 ms.
    for (row, least) in rows.iter().zip([150_000_000u64, 60_000_000]) {
        let real = &row["real"];
        expect(real["failure"].is_null() && real["median_ns"].as_u64().is_some_and(|t| t >= least), || {
            row.to_string()
        })?;
    }
    expect(code == 0, || format!("exit {code}: {err}"))
}
