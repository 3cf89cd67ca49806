//! The terminal: raw mode and the alternate screen for the life of the UI, always undone,
//! on return, on error, on panic and on SIGTERM, SIGHUP or SIGINT; and the loop that feeds
//! events to the model. Every screen (the run viewer, `mpisim view`, the lesson browser,
//! `mpisim scale --tui`) opens the terminal here, so one mechanism serves them all.

use crate::app::{App, Control, Msg};
use crate::keys;
use crate::theme::Theme;
use crate::view;
use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use crossterm::execute;
use crossterm::terminal::{self, EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use std::io::{self, IsTerminal};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};
use std::time::Duration;

/// Milliseconds between playback ticks.
const TICK_MS: u32 = 50;

/// What the terminal loop drives: the run viewer ([`App`]) or the lesson browser.
pub trait Model {
    /// Applies what a terminal event means; [`Control::Quit`] ends the loop.
    fn event(&mut self, event: &Event) -> Control;
    /// The terminal has a new size.
    fn resize(&mut self, width: u16, height: u16);
    /// Whether playback runs (then the loop ticks).
    fn playing(&self) -> bool;
    /// Wall-clock milliseconds passed while playing.
    fn tick(&mut self, ms: u32);
    /// Draws the model on the frame.
    fn draw(&self, theme: Theme, frame: &mut ratatui::Frame);
}

impl Model for App {
    fn event(&mut self, event: &Event) -> Control {
        match keys::msg_for(self, event) {
            Some(msg) => self.update(msg),
            None => Control::Continue,
        }
    }

    fn resize(&mut self, width: u16, height: u16) {
        self.update(Msg::Resize(width, height));
    }

    fn playing(&self) -> bool {
        self.playing
    }

    fn tick(&mut self, ms: u32) {
        self.update(Msg::Tick(ms));
    }

    fn draw(&self, theme: Theme, frame: &mut ratatui::Frame) {
        view::view(self, theme, frame);
    }
}

type Screen = Terminal<CrosstermBackend<io::Stdout>>;

/// The terminal in the UI's modes, or why there is none: `instead` says what to do
/// without one.
fn open(mouse: bool, instead: &str) -> io::Result<(Session, Screen)> {
    if !io::stdout().is_terminal() || !io::stdin().is_terminal() {
        return Err(io::Error::other(format!(
            "the terminal UI needs a terminal on standard input and output; {instead}"
        )));
    }
    let session = Session::start(mouse)?;
    Ok((session, Terminal::new(CrosstermBackend::new(io::stdout()))?))
}

/// Runs the UI on the terminal until the user quits.
pub fn run(app: App, mouse: bool) -> io::Result<()> {
    run_model(app, mouse)
}

/// Runs any [`Model`] on the terminal until the user quits.
pub fn run_model<M: Model>(mut model: M, mouse: bool) -> io::Result<()> {
    let instead = "save the trace with --trace FILE and open it later with `mpisim view FILE`";
    let (_session, mut terminal) = open(mouse, instead)?;
    let size = terminal.size()?;
    model.resize(size.width, size.height);
    let theme = Theme::from_env();
    loop {
        terminal.draw(|frame| model.draw(theme, frame))?;
        // Block until input, or tick while playing.
        let timeout = if model.playing() { Duration::from_millis(u64::from(TICK_MS)) } else { Duration::from_secs(60) };
        if event::poll(timeout)? {
            if model.event(&event::read()?) == Control::Quit {
                return Ok(());
            }
        } else if model.playing() {
            model.tick(TICK_MS);
        }
    }
}

/// Shows a screen that only draws itself, redrawn on every event (a resize), until the
/// user presses q, Esc or Ctrl-C: `mpisim scale --tui`.
pub(crate) fn show(instead: &str, mut draw: impl FnMut(&mut ratatui::Frame)) -> io::Result<()> {
    use crossterm::event::{Event, KeyCode, KeyEventKind, KeyModifiers};
    let (_session, mut terminal) = open(false, instead)?;
    loop {
        terminal.draw(&mut draw)?;
        if let Event::Key(key) = event::read()? {
            let ctrl_c = key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
            if key.kind == KeyEventKind::Press && (matches!(key.code, KeyCode::Char('q') | KeyCode::Esc) || ctrl_c) {
                return Ok(());
            }
        }
    }
}

/// The terminal in the UI's modes; dropping it restores the terminal.
struct Session;

/// Whether a [`Session`] has the terminal in the UI's modes (what a signal must undo).
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// The signals that end the UI from outside (`kill`, a closed terminal, `kill -INT`: in raw
/// mode Ctrl-C is a key, which quits as `q` does).
const ENDING: [i32; 3] = [signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP, signal_hook::consts::SIGINT];

impl Session {
    fn start(mouse: bool) -> io::Result<Session> {
        install_panic_hook();
        install_signal_handler()?;
        terminal::enable_raw_mode()?;
        // From here on, `Drop` restores whatever was set, even if a later step fails.
        ACTIVE.store(true, Ordering::SeqCst);
        let session = Session;
        execute!(io::stdout(), EnterAlternateScreen)?;
        if mouse {
            execute!(io::stdout(), EnableMouseCapture)?;
        }
        Ok(session)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        ACTIVE.store(false, Ordering::SeqCst);
        restore();
    }
}

/// On the first of [`ENDING`] to arrive, a thread of its own restores the terminal if a
/// session has it, then ends the process as that signal's default action does (the shell
/// sees it killed by the signal: `$?` is 128 + its number, 143 for SIGTERM). Installed with
/// the first session and kept for the life of the process, which it ends as it would have
/// ended without it: the signal-hook handler does nothing else.
fn install_signal_handler() -> io::Result<()> {
    static INSTALLED: Mutex<bool> = Mutex::new(false);
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if *installed {
        return Ok(());
    }
    let mut signals = signal_hook::iterator::Signals::new(ENDING)?;
    std::thread::Builder::new().name("mpisim-signals".into()).spawn(move || {
        let Some(signal) = signals.forever().next() else { return };
        if ACTIVE.swap(false, Ordering::SeqCst) {
            let _ = terminal::disable_raw_mode();
            // Not through standard output: its lock may be held for as long as the UI runs
            // (`mpisim scale` holds it). The terminal is the controlling one; if it is gone
            // (SIGHUP of a closed window) there is nothing left to restore.
            if let Ok(mut tty) = std::fs::OpenOptions::new().write(true).open("/dev/tty") {
                leave_modes(&mut tty);
            }
        }
        // Dying of the signal also drops what standard output still buffers of a frame.
        let _ = signal_hook::low_level::emulate_default_handler(signal);
        std::process::exit(128 + signal);
    })?;
    *installed = true;
    Ok(())
}

/// Leaves raw mode, the alternate screen and mouse capture, and shows the cursor.
/// Harmless when they are not set.
fn restore() {
    let _ = terminal::disable_raw_mode();
    leave_modes(&mut io::stdout());
}

/// Leaves the alternate screen and mouse capture and shows the cursor, on `out`.
fn leave_modes(out: &mut impl io::Write) {
    let _ = execute!(out, DisableMouseCapture, LeaveAlternateScreen, crossterm::cursor::Show);
}

/// A panic restores the terminal before its message is printed, so the message is
/// readable and the shell is usable.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}
