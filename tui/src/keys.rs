//! Keys and mouse: terminal events become [`Msg`]s. The help overlay is drawn from
//! [`KEYS`], so the help lists exactly what is bound.

use crate::app::{App, Msg, Screen};
use crate::browser::{Browser, BrowserMsg, View};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEventKind};

/// The key bindings, as the help shows them: `(keys, what they do)`.
pub const KEYS: &[(&str, &str)] = &[
    ("→ ←  l h", "one event forward / back"),
    ("n p", "next / previous event of the selected rank"),
    ("Home End  g G", "first / last event"),
    ("space", "play / pause"),
    ("] [", "play faster / slower"),
    ("+ -", "zoom in / out around the cursor"),
    ("> <  L H", "pan the window"),
    ("f", "fit the whole run"),
    ("t", "axis: virtual time / event order"),
    ("↓ ↑  j k", "select a rank"),
    ("PgDn PgUp", "a page of ranks"),
    ("/", "filter ranks: 0-7,12  blocked  peers  all"),
    ("m M", "next / previous message of the selected rank"),
    ("1 2 3 4  Tab", "timeline, deadlock, matrix, summary"),
    ("Esc", "close help, filter or message"),
    ("?", "this help"),
    ("q  Ctrl-C", "quit"),
];

/// The keys of the lesson list.
pub const LIST_KEYS: &[(&str, &str)] =
    &[("↓ ↑  j k", "select a lesson"), ("Enter →", "open it"), ("?", "this help"), ("q  Ctrl-C", "quit")];

/// The keys of a lesson; the run viewer's own ([`KEYS`]) follow them in the help, less
/// those a lesson gives another meaning ([`LESSON_OVERRIDES`]).
pub const LESSON_KEYS: &[(&str, &str)] = &[
    ("N P  J K", "next / previous step · scroll its text"),
    ("a-e  Enter", "answer: pick a choice · type a number or rank"),
    ("o", "the step's other questions"),
    ("r  R", "re-run with other flags (Tab: try one) · back"),
    (".", "back to where the step says to look"),
    ("Esc", "close, or back to the lessons"),
    ("q  Ctrl-C", "quit (progress is saved)"),
];

/// Keys of [`KEYS`] that mean something else on a lesson screen.
pub const LESSON_OVERRIDES: &[&str] = &["Esc", "?", "q  Ctrl-C"];

/// The message a terminal event means to the lesson browser, if any.
pub fn browser_msg_for(b: &Browser, event: &Event) -> Option<BrowserMsg> {
    let key = match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => key,
        Event::Resize(w, h) => return Some(BrowserMsg::Resize(*w, *h)),
        _ => return None,
    };
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return Some(BrowserMsg::Quit);
    }
    let screen = match &b.view {
        View::List => {
            return Some(match key.code {
                KeyCode::Up | KeyCode::Char('k') => BrowserMsg::Up,
                KeyCode::Down | KeyCode::Char('j') => BrowserMsg::Down,
                KeyCode::Enter | KeyCode::Right | KeyCode::Char('l') => BrowserMsg::Open,
                KeyCode::Char('?') => BrowserMsg::ToggleHelp,
                KeyCode::Esc => BrowserMsg::Back,
                KeyCode::Char('q') => BrowserMsg::Quit,
                _ => return None,
            })
        }
        View::Lesson(s) => s,
    };
    // While an answer or flags are typed, keys are their text.
    if screen.input.is_some() {
        return match key.code {
            KeyCode::Enter => Some(BrowserMsg::Submit),
            KeyCode::Esc => Some(BrowserMsg::Back),
            KeyCode::Backspace => Some(BrowserMsg::Backspace),
            KeyCode::Tab => Some(BrowserMsg::Suggest),
            KeyCode::Char(c) => Some(BrowserMsg::Char(c)),
            _ => None,
        };
    }
    // While the viewer's rank filter is typed, keys are its own.
    if screen.app.input.is_some() {
        return msg_for(&screen.app, event).map(BrowserMsg::Run);
    }
    Some(match key.code {
        KeyCode::Char('N') => BrowserMsg::NextStep,
        KeyCode::Char('P') => BrowserMsg::PrevStep,
        KeyCode::Char(c @ 'a'..='e') => BrowserMsg::Choose((c as u8 - b'a') as usize),
        KeyCode::Enter => BrowserMsg::Submit,
        KeyCode::Char('o') => BrowserMsg::NextQuestion,
        KeyCode::Char('r') => BrowserMsg::RerunStart,
        KeyCode::Char('R') => BrowserMsg::Restore,
        KeyCode::Char('.') => BrowserMsg::Look,
        KeyCode::Char('J') => BrowserMsg::TextDown,
        KeyCode::Char('K') => BrowserMsg::TextUp,
        KeyCode::Char('?') => BrowserMsg::ToggleHelp,
        KeyCode::Esc => BrowserMsg::Back,
        KeyCode::Char('q') => BrowserMsg::Quit,
        _ => return msg_for(&screen.app, event).map(BrowserMsg::Run),
    })
}

/// The message a terminal event means in the current state of `app`, if any.
pub fn msg_for(app: &App, event: &Event) -> Option<Msg> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => key_msg(app, key),
        Event::Resize(w, h) => Some(Msg::Resize(*w, *h)),
        Event::Mouse(m) => match m.kind {
            MouseEventKind::Down(MouseButton::Left) => Some(Msg::Click(m.column, m.row)),
            MouseEventKind::ScrollUp => Some(Msg::WheelUp),
            MouseEventKind::ScrollDown => Some(Msg::WheelDown),
            _ => None,
        },
        _ => None,
    }
}

fn key_msg(app: &App, key: &KeyEvent) -> Option<Msg> {
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return Some(Msg::Quit);
    }
    // While a filter is typed, keys are its text.
    if app.input.is_some() {
        return match key.code {
            KeyCode::Enter => Some(Msg::FilterApply),
            KeyCode::Esc => Some(Msg::Escape),
            KeyCode::Backspace => Some(Msg::FilterBackspace),
            KeyCode::Char(c) => Some(Msg::FilterChar(c)),
            _ => None,
        };
    }
    let shift = key.modifiers.contains(KeyModifiers::SHIFT);
    Some(match key.code {
        KeyCode::Right if shift => Msg::PanRight,
        KeyCode::Left if shift => Msg::PanLeft,
        KeyCode::Right | KeyCode::Char('l') => Msg::StepForward,
        KeyCode::Left | KeyCode::Char('h') => Msg::StepBack,
        KeyCode::Char('n') => Msg::RankEventNext,
        KeyCode::Char('p') => Msg::RankEventPrev,
        KeyCode::Home | KeyCode::Char('g') => Msg::First,
        KeyCode::End | KeyCode::Char('G') => Msg::Last,
        KeyCode::Char(' ') => Msg::TogglePlay,
        KeyCode::Char(']') => Msg::Faster,
        KeyCode::Char('[') => Msg::Slower,
        KeyCode::Char('+') | KeyCode::Char('=') => Msg::ZoomIn,
        KeyCode::Char('-') | KeyCode::Char('_') => Msg::ZoomOut,
        KeyCode::Char('>') | KeyCode::Char('L') => Msg::PanRight,
        KeyCode::Char('<') | KeyCode::Char('H') => Msg::PanLeft,
        KeyCode::Char('f') => Msg::Fit,
        KeyCode::Char('t') => Msg::ToggleAxis,
        KeyCode::Down | KeyCode::Char('j') => Msg::RankDown,
        KeyCode::Up | KeyCode::Char('k') => Msg::RankUp,
        KeyCode::PageDown => Msg::PageDown,
        KeyCode::PageUp => Msg::PageUp,
        KeyCode::Char('/') => Msg::FilterStart,
        KeyCode::Char('m') => Msg::MessageNext,
        KeyCode::Char('M') => Msg::MessagePrev,
        KeyCode::Char('1') => Msg::Show(Screen::Timeline),
        KeyCode::Char('2') => Msg::Show(Screen::Deadlock),
        KeyCode::Char('3') => Msg::Show(Screen::Matrix),
        KeyCode::Char('4') => Msg::Show(Screen::Summary),
        KeyCode::Tab => Msg::NextScreen,
        KeyCode::BackTab => Msg::PrevScreen,
        KeyCode::Esc => Msg::Escape,
        KeyCode::Char('?') => Msg::ToggleHelp,
        KeyCode::Char('q') => Msg::Quit,
        _ => return None,
    })
}
