//! Colours and glyphs. Every state has its own glyph, so the diagram reads without colour
//! (`NO_COLOR`, monochrome terminals, snapshots); colour is added on top when allowed.

use mpisim::timeline::State;
use ratatui::style::{Color, Modifier, Style};

/// How the UI draws: with colour or without.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    /// Whether colours may be used.
    pub color: bool,
}

impl Theme {
    /// Colour unless `NO_COLOR` is set to a non-empty value (no-color.org).
    pub fn from_env() -> Theme {
        Theme { color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) }
    }

    /// A theme without colour.
    pub const MONO: Theme = Theme { color: false };
    /// A theme with colour.
    pub const COLOR: Theme = Theme { color: true };

    fn fg(self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    /// The glyph a state is drawn with.
    pub fn glyph(state: State) -> &'static str {
        match state {
            State::Run => "─",
            State::Compute => "█",
            State::Send => "▓",
            State::Recv => "▒",
            State::Wait => "░",
            State::Collective => "≡",
            State::Blocked => "╳",
            State::Done => "·",
        }
    }

    /// The style of a state's glyph.
    pub fn state(self, state: State) -> Style {
        match state {
            State::Run => self.fg(Color::Gray),
            State::Compute => self.fg(Color::Green),
            State::Send => self.fg(Color::Yellow),
            State::Recv => self.fg(Color::Cyan),
            State::Wait => self.fg(Color::Magenta),
            State::Collective => self.fg(Color::Blue),
            State::Blocked => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            State::Done => self.fg(Color::DarkGray),
        }
    }

    /// A message line (point to point, or a step of a collective).
    pub fn message(self, collective: bool) -> Style {
        if collective {
            self.fg(Color::LightBlue)
        } else {
            self.fg(Color::White).add_modifier(Modifier::BOLD)
        }
    }

    /// The selected message.
    pub fn selected_message(self) -> Style {
        if self.color {
            Style::new().fg(Color::LightYellow).add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
        }
    }

    /// The cursor column.
    pub fn cursor(self) -> Style {
        if self.color {
            Style::new().fg(Color::LightYellow)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }

    /// A cell under the cursor column.
    pub fn under_cursor(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    /// Titles, the selected rank, headings.
    pub fn title(self) -> Style {
        self.fg(Color::LightCyan).add_modifier(Modifier::BOLD)
    }

    /// Secondary text: axis labels, hints.
    pub fn dim(self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new()
        }
    }

    /// Bad news: deadlocks, errors, blocked calls.
    pub fn alert(self) -> Style {
        self.fg(Color::LightRed).add_modifier(Modifier::BOLD)
    }

    /// Good news: a completed run.
    pub fn good(self) -> Style {
        self.fg(Color::LightGreen).add_modifier(Modifier::BOLD)
    }

    /// Keys in the help and the footer.
    pub fn key(self) -> Style {
        self.fg(Color::LightYellow).add_modifier(Modifier::BOLD)
    }

    /// The selected row or tab.
    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
}
