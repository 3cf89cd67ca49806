//! Keys and mouse: terminal events become [`Msg`]s. The help overlay is drawn from
//! [`KEYS`], so the help lists exactly what is bound.

use crate::app::{App, Msg, Screen};
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
