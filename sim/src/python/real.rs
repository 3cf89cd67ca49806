//! `--real` for a script: `mpiexec -n N python3 -m mpi4py script.py ARGS` with the real
//! mpi4py (the shim is not on its path), stopped by `--timeout` like any real run.
//! `-m mpi4py` makes an uncaught exception call `MPI_Abort`, as a rank failure stops a
//! simulated run; a plain `python3 script.py` would wait in `MPI_Finalize` forever.
//!
//! Under Open MPI each rank's output goes to its own file (`--output-filename`), because
//! mpiexec merges the ranks' streams in chunks that can cut lines in two; the report then
//! prints each rank's lines, in rank order, as a simulated run prints them. Other
//! launchers' output passes straight through.

use super::process::Interpreter;
use crate::launch::{emit, Format, RunOptions};
use crate::real::launcher::{self, Job, Outcome};
use crate::report::{RunHeader, EXIT_COMPLETED, EXIT_PROGRAM_ERROR, EXIT_USAGE};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Runs the script on real MPI and reports it; returns the exit code.
pub(crate) fn run(opts: &RunOptions, script: &str, args: &[String], python: Option<&str>, ranks: usize) -> i32 {
    match prepare(opts, script, python) {
        Ok(python) => launch(opts, script, args, &python, ranks),
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_USAGE
        }
    }
}

fn prepare(opts: &RunOptions, script: &str, python: Option<&str>) -> Result<Interpreter, String> {
    for (set, flag) in [(opts.trace.is_some(), "--trace"), (opts.tui, "--tui"), (opts.dot.is_some(), "--dot")] {
        if set {
            return Err(format!("{flag}: a run on real MPI records no trace; drop {flag}, or run on the simulator"));
        }
    }
    if opts.explore.is_some() || opts.replay.is_some() {
        return Err("--explore and --replay choose the simulator's schedules; a real MPI makes its own choices".into());
    }
    if !Path::new(script).is_file() {
        return Err(format!("cannot read the script {script}"));
    }
    let python = Interpreter::find(python).map_err(|e| e.to_string())?;
    let probe = Command::new(&python.path)
        .args(["-c", "import mpi4py"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.path.display()))?;
    if !probe.status.success() {
        return Err(format!(
            "--real runs the script with the real mpi4py, which {} cannot import ({}); install it: pip install mpi4py \
             (it builds against an MPI library: apt-get install openmpi-bin libopenmpi-dev)",
            python.path.display(),
            String::from_utf8_lossy(&probe.stderr).lines().last().unwrap_or("no message").trim()
        ));
    }
    Ok(python)
}

fn launch(opts: &RunOptions, script: &str, args: &[String], python: &Interpreter, ranks: usize) -> i32 {
    let job = Job {
        launcher: opts.launcher.clone(),
        ranks,
        launcher_args: Vec::new(),
        timeout: opts.timeout,
        env: Vec::new(),
    };
    let mut cmd = match launcher::launcher_command(&job) {
        Ok(cmd) => cmd,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let launcher_name =
        Path::new(cmd.get_program()).file_name().map_or("mpiexec".into(), |n| n.to_string_lossy().into_owned());
    let outputs = launcher::is_open_mpi(Path::new(cmd.get_program()))
        .then(|| std::env::temp_dir().join(format!("mpisim-real-{}-{}", std::process::id(), unique())));
    if let Some(dir) = &outputs {
        // `:nocopy`: to the files only, not also to the terminal.
        let mut spec = dir.clone().into_os_string();
        spec.push(":nocopy");
        cmd.arg("--output-filename").arg(spec);
    }
    cmd.arg(&python.path)
        .args(["-m", "mpi4py"])
        .arg(script)
        .args(args)
        // As in a simulated run, so that sets print in the same order.
        .env("PYTHONHASHSEED", "0")
        .env("PYTHONUNBUFFERED", "1");
    let title = std::iter::once(script).chain(args.iter().map(String::as_str)).collect::<Vec<_>>().join(" ");
    let header = RunHeader { program: title.clone(), ..Default::default() };
    let ended = launcher::run_timed(cmd, opts.timeout);
    let lines = outputs.as_deref().map(|dir| collect(dir, ranks)).unwrap_or_default();
    if let Some(dir) = &outputs {
        let _ = std::fs::remove_dir_all(dir);
    }
    let (outcome, elapsed) = match ended {
        Ok(ended) => ended,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    for (rank, line) in lines.iter().filter(|l| l.stream == Stream::Err).map(|l| (l.rank, &l.text)) {
        eprintln!("[rank {rank}] {line}");
    }
    let stdout: Vec<&Line> = lines.iter().filter(|l| l.stream == Stream::Out).collect();
    let code = match outcome {
        Outcome::TimedOut { launcher } => {
            emit(&printed(&stdout));
            return crate::real::report_hung(opts.format, &header, ranks, &launcher, opts.timeout);
        }
        Outcome::Interrupted { launcher } => {
            emit(&printed(&stdout));
            eprintln!("interrupted: Ctrl-C stopped the job ({launcher} was stopped)");
            return crate::report::EXIT_INTERRUPTED;
        }
        Outcome::Exited(code) => code,
    };
    let setup = format!(
        "{title} on {ranks} rank{}, real MPI ({launcher_name}, Python {})",
        crate::words::plural(ranks),
        python.version
    );
    match opts.format {
        Format::Text => {
            let mut text = printed(&stdout);
            if code == 0 {
                text += &format!("completed: {setup}\n  wall time {}\n", wall(elapsed));
            } else {
                text += &format!(
                    "error: {setup}\n  {launcher_name} exited with code {code}: a rank failed (its error is above) \
                     or called Abort\n"
                );
            }
            emit(&text);
        }
        Format::Json => {
            let value = json!({
                "outcome": if code == 0 { "completed" } else { "error" },
                "backend": "real",
                "program": title,
                "params": {},
                "size": ranks,
                "wall_time_ns": elapsed.as_nanos() as u64,
                "exit_code": code,
                "output": stdout.iter().map(|l| json!({"rank": l.rank, "text": l.text})).collect::<Vec<_>>(),
            });
            emit(&format!("{value}\n"));
        }
    }
    if code == 0 {
        EXIT_COMPLETED
    } else {
        EXIT_PROGRAM_ERROR
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stream {
    Out,
    Err,
}

struct Line {
    rank: usize,
    stream: Stream,
    text: String,
}

/// Each rank's lines from Open MPI's output files (`DIR/1/rank.N/stdout`), in rank order.
fn collect(dir: &Path, ranks: usize) -> Vec<Line> {
    let mut lines = Vec::new();
    for rank in 0..ranks {
        for (stream, name) in [(Stream::Out, "stdout"), (Stream::Err, "stderr")] {
            let path: PathBuf = dir.join("1").join(format!("rank.{rank}")).join(name);
            if let Ok(text) = std::fs::read_to_string(path) {
                lines.extend(text.lines().map(|l| Line { rank, stream, text: l.to_string() }));
            }
        }
    }
    lines
}

fn printed(lines: &[&Line]) -> String {
    lines.iter().map(|l| format!("[rank {}] {}\n", l.rank, l.text)).collect()
}

fn wall(d: Duration) -> String {
    crate::time::Time::from(d).to_string()
}

/// A number no other run of this process has used, for its output directory.
fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
