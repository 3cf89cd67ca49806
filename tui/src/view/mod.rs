//! The view: a pure function from the model to a frame.

mod deadlock;
mod diagram;
pub mod lesson;
mod matrix;
mod panes;
pub mod speedup;
mod summary;
pub mod text;

pub use deadlock::Deadlock;

use crate::app::{App, Outcome, Screen};
use crate::keys::KEYS;
use crate::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};
use ratatui::Frame;
use text::short_time;

/// Draws `app` on the whole frame.
pub fn view(app: &App, theme: Theme, frame: &mut Frame) {
    let area = frame.area();
    render(app, theme, area, frame.buffer_mut());
}

/// Draws `app` into `buf` over `area` (the size the model was told).
pub fn render(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let areas = app.areas();
    if !app.embedded {
        title(app, theme, areas.title, buf);
        tabs(app, theme, areas.tabs, buf);
        banner(app, theme, areas.banner, buf);
    }
    match app.screen {
        Screen::Timeline => {
            diagram::render(app, &areas, theme, buf);
            let panes = areas.panes;
            if panes.height > 2 {
                match Deadlock::of(app).filter(|_| app.cursor >= app.tl.event_count) {
                    Some(dl) => deadlock::pane(app, &dl, panes, theme, buf),
                    None => {
                        let left = Rect::new(panes.x, panes.y, panes.width / 2 + panes.width % 2, panes.height);
                        let right = Rect::new(left.x + left.width, panes.y, panes.width / 2, panes.height);
                        panes::inspector(app, left, theme, buf);
                        panes::rank_state(app, right, theme, buf);
                    }
                }
            }
        }
        Screen::Deadlock => deadlock::screen(app, areas.body, theme, buf),
        Screen::Matrix => matrix::screen(app, areas.body, theme, buf),
        Screen::Summary => summary::screen(app, areas.body, theme, buf),
    }
    if !app.embedded {
        footer(app, theme, areas.footer, buf);
        if app.help {
            help(KEYS, theme, area, buf);
        }
    }
}

fn title(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let (word, style) = match &app.outcome {
        Outcome::Deadlock(d) => (format!("DEADLOCK at {}", short_time(d.time)), theme.alert()),
        Outcome::Unfinished => ("unfinished: ranks still in calls".to_string(), theme.alert()),
        _ => outcome_word(app, theme),
    };
    // What ran gives way to how it ended when the line is short.
    let room = (area.width as usize).saturating_sub(" mpisim ".len() + 3 + word.chars().count());
    let what: String = match app.title.chars().count() > room {
        true => app.title.chars().take(room.saturating_sub(1)).chain(['…']).collect(),
        false => app.title.clone(),
    };
    let line = Line::from(vec![
        Span::styled(" mpisim ", theme.title()),
        Span::raw(format!("{what} · ")),
        Span::styled(word, style),
    ]);
    Paragraph::new(line).render(area, buf);
}

/// How a run ended in a word or three, for titles: `completed`, `completed, buffering
/// hazard`, `completed, 2 warnings`, `DEADLOCK`, `ERROR`, `unfinished`.
pub fn outcome_word(app: &App, theme: Theme) -> (String, ratatui::style::Style) {
    let n = app.warnings.len();
    match &app.outcome {
        Outcome::Completed if n == 0 => ("completed".to_string(), theme.good()),
        Outcome::Completed if deadlock::hazard(app).is_some() => {
            ("completed, buffering hazard".to_string(), theme.alert())
        }
        Outcome::Completed => (format!("completed, {n} warning{}", if n == 1 { "" } else { "s" }), theme.alert()),
        Outcome::Deadlock(_) => ("DEADLOCK".to_string(), theme.alert()),
        Outcome::Failed(_) => ("ERROR".to_string(), theme.alert()),
        Outcome::Unfinished => ("unfinished".to_string(), theme.alert()),
    }
}

/// The warnings of a completed run in one line, and where to read them in full.
fn banner(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let Some(text) = deadlock::warnings_line(app) else { return };
    let tail = " · 2: why ";
    let room = (area.width as usize).saturating_sub(2 + tail.len());
    let text: String = match text.chars().count() > room {
        true => text.chars().take(room.saturating_sub(1)).chain(['…']).collect(),
        false => text,
    };
    let line = Line::from(vec![Span::styled(format!(" ⚠ {text}"), theme.alert()), Span::styled(tail, theme.dim())]);
    Paragraph::new(line).render(area, buf);
}

/// A screen's tab title: the deadlock screen tells a completed run's warnings.
fn tab_title(app: &App, screen: Screen) -> &'static str {
    match screen {
        Screen::Deadlock if matches!(app.outcome, Outcome::Completed) && !app.warnings.is_empty() => "Warnings",
        _ => screen.title(),
    }
}

fn tabs(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let mut spans = vec![Span::raw(" ")];
    for (i, screen) in Screen::ALL.iter().enumerate() {
        let text = format!("{} {}", i + 1, tab_title(app, *screen));
        let style = if *screen == app.screen { theme.selected() } else { theme.dim() };
        spans.push(Span::styled(text, style));
        spans.push(Span::raw(" "));
    }
    let left: usize = spans.iter().map(|s| s.width()).sum();
    let status = format!("{} ", status(app));
    let pad = (area.width as usize).saturating_sub(left + status.chars().count());
    spans.push(Span::raw(" ".repeat(pad)));
    spans.push(Span::styled(status, theme.title()));
    Paragraph::new(Line::from(spans)).render(area, buf);
}

/// The cursor and playback: `event 4/12 · t = 1.0µs · ‖ 8/s`.
pub fn status(app: &App) -> String {
    let play = if app.playing { "▶" } else { "‖" };
    format!("event {}/{} · t = {} · {play} {}/s", app.cursor, app.tl.event_count, short_time(app.now()), app.speed())
}

fn footer(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let line = if let Some(input) = &app.input {
        Line::from(vec![
            Span::styled(" filter ranks: ", theme.title()),
            Span::raw(format!("{input}█")),
            Span::styled("  0-7,12 blocked peers all · Enter · Esc", theme.dim()),
        ])
    } else if let Some(notice) = &app.notice {
        Line::styled(format!(" {notice}"), theme.alert())
    } else {
        let hints = [
            ("→←", "step"),
            ("n/p", "rank"),
            ("spc", "play"),
            ("+-", "zoom"),
            ("t", "axis"),
            ("/", "filter"),
            ("?", "help"),
            ("q", "quit"),
        ];
        let mut spans = vec![Span::raw(" ")];
        for (key, what) in hints {
            spans.push(Span::styled(key, theme.key()));
            spans.push(Span::raw(format!(" {what}  ")));
        }
        Line::from(spans)
    };
    Paragraph::new(line).render(area, buf);
}

/// The keys of `keys` in a box over the middle of `area` (as many as fit).
fn help(keys: &[(&str, &str)], theme: Theme, area: Rect, buf: &mut Buffer) {
    let width = 64.min(area.width);
    let height = (keys.len() as u16 + 3).min(area.height);
    let popup = Rect::new(area.x + (area.width - width) / 2, area.y + (area.height - height) / 2, width, height);
    Clear.render(popup, buf);
    let mut lines: Vec<Line> = keys
        .iter()
        .take(height.saturating_sub(3) as usize)
        .map(|(keys, what)| Line::from(vec![Span::styled(format!(" {keys:<15}"), theme.key()), Span::raw(*what)]))
        .collect();
    lines.push(Line::styled(" Esc or ? closes this help", theme.dim()));
    Paragraph::new(lines)
        .block(Block::default().borders(Borders::ALL).title(Span::styled(" Keys ", theme.title())))
        .render(popup, buf);
}
