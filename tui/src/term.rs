//! The terminal: raw mode and the alternate screen for the life of the UI, always undone,
//! on return, on error and on panic; and the loop that feeds events to the model.

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
use std::sync::Once;
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

impl Session {
    fn start(mouse: bool) -> io::Result<Session> {
        install_panic_hook();
        terminal::enable_raw_mode()?;
        // From here on, `Drop` restores whatever was set, even if a later step fails.
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
        restore();
    }
}

/// Leaves raw mode, the alternate screen and mouse capture, and shows the cursor.
/// Harmless when they are not set.
fn restore() {
    let _ = terminal::disable_raw_mode();
    let _ = execute!(io::stdout(), DisableMouseCapture, LeaveAlternateScreen, crossterm::cursor::Show);
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
