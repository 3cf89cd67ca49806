//! End to end: the `mpisim` binary in a detached tmux session of 80×24, driven by keys,
//! read back with capture-pane. Skipped (with a note) only where tmux is not installed.

use std::process::Command;
use std::time::Duration;

/// A tmux server of its own (`-L`), so that tests running at once, and anyone else's tmux
/// on the machine, never race to start or share a server.
struct Tmux {
    session: String,
}

impl Tmux {
    fn tmux(&self) -> Command {
        let mut command = Command::new("tmux");
        command.args(["-L", &self.session]);
        command
    }

    /// A session running `command`; `None` if tmux is missing.
    fn start(name: &str, command: &str) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            eprintln!("tmux is not installed: skipping the end-to-end test");
            return None;
        }
        let tmux = Tmux { session: format!("mpisim-e2e-{name}-{}", std::process::id()) };
        let status = tmux
            .tmux()
            .args(["new-session", "-d", "-s", &tmux.session, "-x", "80", "-y", "24"])
            .arg(format!("NO_COLOR=1 {command}; echo EXIT=$?; sleep 600"))
            .status()
            .expect("tmux runs");
        assert!(status.success(), "tmux new-session failed");
        Some(tmux)
    }

    fn keys(&self, keys: &[&str]) {
        for key in keys {
            let status = self.tmux().args(["send-keys", "-t", &self.session, key]).status().expect("tmux runs");
            assert!(status.success());
        }
    }

    fn screen(&self) -> String {
        let out = self.tmux().args(["capture-pane", "-p", "-t", &self.session]).output().expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen shows `text` (the UI redraws asynchronously), polling up to
    /// 400 times 50 ms, or fails with what it showed.
    #[track_caller]
    fn wait_for(&self, text: &str) -> String {
        self.wait_for_all(&[text])
    }

    /// The screen once it shows every one of `texts` (a frame can be caught half drawn).
    fn wait_for_all(&self, texts: &[&str]) -> String {
        let mut screen = String::new();
        for _ in 0..400 {
            screen = self.screen();
            if texts.iter().all(|t| screen.contains(t)) {
                return screen;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the screen never showed all of {texts:?}; it shows:\n{screen}");
    }

    /// A tmux format of the pane: `#{alternate_on}`, `#{cursor_flag}`…
    fn pane(&self, format: &str) -> String {
        let out = self.tmux().args(["display-message", "-p", "-t", &self.session, format]).output();
        String::from_utf8_lossy(&out.expect("tmux runs").stdout).trim().to_string()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").status();
    }
}

#[test]
fn deadlocked_ring_in_the_terminal() {
    let bin = env!("CARGO_BIN_EXE_mpisim");
    let Some(tmux) = Tmux::start("ring", &format!("{bin} run ring -n 4 --bytes 1048576 --tui")) else { return };
    let screen = tmux.wait_for_all(&["Deadlock at 0: 4 ranks blocked", "cycle 0 → 1 → 2 → 3 → 0", "r3 MPI_Send"]);
    assert!(screen.contains("DEADLOCK"), "{screen}");
    for rank in 0..4 {
        let line = format!("r{rank} MPI_Send → {} tag 0 1 MiB", (rank + 1) % 4);
        assert!(screen.contains(&line), "missing {line:?}:\n{screen}");
    }
    assert!(screen.contains("sim/src/catalogue/ring.rs:44"), "{screen}");
    assert!(screen.contains("cycle 0 → 1 → 2 → 3 → 0"), "the wait-for cycle is shown:\n{screen}");
    let blocked_rows =
        screen.lines().filter(|l| l.starts_with("│▶r") || l.starts_with("│ r")).filter(|l| l.contains("╳╳╳"));
    assert_eq!(blocked_rows.count(), 4, "blocked ranks are drawn blocked:\n{screen}");
    assert_eq!(screen.lines().count(), 24);

    // Back to the start, then four events: rank 0 is in its send, not yet blocked.
    tmux.keys(&["Home", "Right", "Right", "Right", "Right"]);
    let screen = tmux.wait_for_all(&["event 4/12", "r0 at the cursor", "state ▓ send"]);
    assert!(screen.contains("r0 at the cursor"), "{screen}");
    assert!(screen.contains("state ▓ send"), "{screen}");
    let rank_rows: Vec<&str> = screen.lines().filter(|l| l.starts_with("│▶r") || l.starts_with("│ r")).collect();
    assert_eq!(rank_rows.len(), 4, "{screen}");
    assert!(rank_rows.iter().all(|row| !row.contains('╳')), "nothing is blocked yet:\n{screen}");

    // The full report, then the help, then quit: the terminal is back and the report printed.
    tmux.keys(&["2"]);
    tmux.wait_for("hint every blocked rank is sending");
    tmux.keys(&["?"]);
    tmux.wait_for("Esc or ? closes this help");
    tmux.keys(&["q"]);
    let screen = tmux.wait_for_all(&["EXIT=3", "deadlock: ring"]);
    assert!(screen.contains("deadlock: ring"), "the report follows the UI:\n{screen}");
}

#[test]
fn saved_trace_opens_in_view() {
    let bin = env!("CARGO_BIN_EXE_mpisim");
    let dir = std::env::temp_dir().join(format!("mpisim-e2e-view-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("nb.json");
    let run = Command::new(bin).args(["run", "nonblocking", "-n", "3", "--trace"]).arg(&trace).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let Some(tmux) = Tmux::start("view", &format!("{bin} view {}", trace.display())) else { return };
    let screen = tmux.wait_for_all(&["nb.json: nonblocking · 3 ranks · default", "completed"]);
    assert!(screen.contains("completed"), "{screen}");
    tmux.keys(&["3"]);
    tmux.wait_for("Communication matrix");
    tmux.keys(&["4"]);
    tmux.wait_for("Summary: virtual time per state");
    tmux.keys(&["q"]);
    tmux.wait_for("EXIT=0");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `mpisim` alone opens the lesson browser; an answer given in the ring lesson is still
/// there after quitting and starting again (progress under MPISIM_HOME).
#[test]
fn lesson_progress_survives_a_restart() {
    let bin = env!("CARGO_BIN_EXE_mpisim");
    let home = std::env::temp_dir().join(format!("mpisim-e2e-lessons-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    let command = format!("MPISIM_HOME={} {bin}", home.display());
    let Some(tmux) = Tmux::start("lessons", &command) else { return };
    let screen = tmux.wait_for_all(&["mpisim · lessons", "The ring that hangs"]);
    assert_eq!(screen.lines().count(), 24);
    tmux.keys(&["Down", "Down", "Down", "Enter"]);
    // The run is drawn beside the text.
    tmux.wait_for_all(&["Lesson 4: The ring that hangs", "How does the 8-byte ring end?", "Space-time"]);
    tmux.keys(&["b"]);
    tmux.wait_for("✗ Read the second line");
    tmux.keys(&["a"]);
    tmux.wait_for("✓ Right");
    tmux.keys(&["q"]);
    tmux.wait_for("EXIT=0");
    let saved = std::fs::read_to_string(home.join("progress.json")).expect("progress is saved");
    assert!(saved.contains("ring-hang"), "{saved}");
    drop(tmux);

    let Some(tmux) = Tmux::start("lessons-again", &command) else { return };
    let screen = tmux.wait_for_all(&["mpisim · lessons", "The ring that hangs"]);
    let ring = screen.lines().find(|l| l.contains("The ring that hangs")).unwrap_or_default().to_string();
    assert!(ring.contains("1/10"), "one of the ring's ten questions is answered: {ring}\n{screen}");
    tmux.keys(&["Down", "Down", "Down", "Enter"]);
    // It goes on with the unanswered question.
    tmux.wait_for_all(&["Lesson 4: The ring that hangs", "Question 2/2"]);
    tmux.keys(&["Escape"]);
    tmux.wait_for("mpisim · lessons");
    tmux.keys(&["q"]);
    tmux.wait_for("EXIT=0");
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn scale_chart_in_the_terminal() {
    let bin = env!("CARGO_BIN_EXE_mpisim");
    let command = format!("{bin} scale amdahl -n 1..16 --platform ideal --tui");
    let Some(tmux) = Tmux::start("scale", &command) else { return };
    let screen = tmux.wait_for_all(&["Amdahl fit: s = 0.1000, S ≤ 1/s = 10.00", "q quit", "simulated"]);
    assert!(screen.contains("mpisim scale amdahl --serial 0.1 --work 1000 · N = 1–16 · ideal"), "{screen}");
    assert!(screen.contains("ideal S = N") && screen.contains("simulated"), "the legend:\n{screen}");
    assert!(screen.contains("q quit"), "{screen}");
    assert_eq!(screen.lines().count(), 24);
    tmux.keys(&["q"]);
    let screen = tmux.wait_for_all(&["EXIT=0", "load imbalance"]);
    assert!(screen.contains("· N = 2–16: load imbalance loses the most time"), "the report follows the UI:\n{screen}");
}

/// `kill -TERM` (and -HUP, -INT) of each kind of screen leaves the terminal as it was: out
/// of the alternate screen, the cursor shown, mouse reporting off, and `stty -a` showing
/// `icanon echo`; the process ends as the signal's default would, so the shell sees
/// 128 + its number.
#[test]
fn signals_restore_the_terminal() {
    let bin = env!("CARGO_BIN_EXE_mpisim");
    let dir = std::env::temp_dir().join(format!("mpisim-e2e-signals-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("ring.json");
    let run = Command::new(bin).args(["run", "ring", "--bytes", "8", "--trace"]).arg(&trace).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let home = dir.join("home");
    let cases = [
        ("view", format!("{bin} view {} --mouse", trace.display()), "ring.json: ring", "TERM", 143),
        ("run", format!("{bin} run ring -n 4 --bytes 1048576 --tui"), "DEADLOCK", "HUP", 129),
        ("browser", format!("env MPISIM_HOME={} {bin}", home.display()), "mpisim · lessons", "INT", 130),
        ("scale", format!("{bin} scale amdahl -n 1..4 --platform ideal --tui"), "q quit", "TERM", 143),
    ];
    for (name, command, shown, signal, code) in cases {
        let pid_file = dir.join(format!("{name}.pid"));
        let wrapped = format!("sh -c 'echo $$ > {}; exec {command}'; echo EXIT=$?; stty -a", pid_file.display());
        let Some(tmux) = Tmux::start(&format!("signal-{name}"), &wrapped) else { return };
        tmux.wait_for(shown);
        assert_eq!(tmux.pane("#{alternate_on}"), "1", "{name} is on the alternate screen");
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let kill = Command::new("kill").args(["-s", signal, pid.trim()]).status().unwrap();
        assert!(kill.success());
        let screen = tmux.wait_for_all(&[&format!("EXIT={code}"), "echoctl"]);
        let after = screen.split(&format!("EXIT={code}")).nth(1).unwrap_or_default();
        let flags: Vec<&str> = after.split(|c: char| c.is_whitespace() || c == ';').collect();
        for mode in ["icanon", "echo", "isig"] {
            assert!(flags.contains(&mode), "{name}, SIG{signal}: stty -a shows -{mode}:\n{screen}");
        }
        assert_eq!(tmux.pane("#{alternate_on}"), "0", "{name}, SIG{signal}: the alternate screen is left:\n{screen}");
        assert_eq!(tmux.pane("#{cursor_flag}"), "1", "{name}, SIG{signal}: the cursor is shown");
        assert_eq!(tmux.pane("#{mouse_any_flag}"), "0", "{name}, SIG{signal}: the mouse is released");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn exploring_shows_its_progress_and_ctrl_c_ends_it_with_a_summary() {
    let bin = env!("CARGO_BIN_EXE_mpisim");
    // A ring that completes under every schedule, a million of them: minutes of work.
    let command = format!("{bin} run ring -n 4 --order sendrecv --explore 1000000");
    let Some(tmux) = Tmux::start("explore", &command) else { return };
    let screen = tmux.wait_for_all(&["exploring", "/1000000 schedules", "left; Ctrl-C stops"]);
    assert_eq!(screen.lines().filter(|l| l.contains("exploring")).count(), 1, "one bar, redrawn:\n{screen}");
    tmux.keys(&["C-c"]);
    let screen = tmux.wait_for_all(&["EXIT=130", "explore: stopped by Ctrl-C after"]);
    assert!(!screen.contains("exploring"), "the bar is cleared:\n{screen}");
    assert!(screen.contains("completed: ring"), "the report of the default schedule's run:\n{screen}");
    assert!(screen.contains("of up to 1000000 schedules, all of which"), "{screen}");
}
