//! The summary: virtual time per state per rank, as stacked bars and percentages.

use super::text::short_time;
use crate::app::App;
use crate::theme::Theme;
use mpisim::timeline::State;
use mpisim::Time;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

/// The states with a percentage column, and their headings.
const COLUMNS: [(State, &str); 6] = [
    (State::Compute, "comp"),
    (State::Send, "send"),
    (State::Recv, "recv"),
    (State::Wait, "wait"),
    (State::Collective, "coll"),
    (State::Blocked, "block"),
];

/// Draws the summary screen.
pub fn screen(app: &App, area: Rect, theme: Theme, buf: &mut Buffer) {
    let tl = &app.tl;
    let times = tl.time_in_states();
    let end = tl.end.as_nanos();
    let width = area.width.saturating_sub(2) as usize;
    let label_width = tl.ranks.saturating_sub(1).max(1).to_string().len() + 2;
    let bar_width = width.saturating_sub(label_width + COLUMNS.len() * 6 + 1).max(4);
    let mut header = format!("{:<label_width$}{:<bar_width$} ", "", "time in each state");
    for (_, name) in COLUMNS {
        header += &format!("{name:>6}");
    }
    let mut lines = vec![Line::styled(header, theme.dim())];
    let room = (area.height.saturating_sub(2) as usize).saturating_sub(3).max(1);
    let row = app.rows.iter().position(|&r| r == app.selected).unwrap_or(0);
    let start = row.saturating_sub(room.saturating_sub(1)).min(app.rows.len().saturating_sub(room));
    for &rank in app.rows.iter().skip(start).take(room) {
        let t = &times[rank];
        let label_style = if rank == app.selected { theme.selected() } else { theme.dim() };
        let mut spans = vec![Span::styled(format!("r{rank:<w$} ", w = label_width - 2), label_style)];
        spans.extend(bar(t, end, bar_width, theme));
        spans.push(Span::raw(" "));
        for (state, _) in COLUMNS {
            spans.push(Span::styled(format!("{:>6}", percent(t[state.index()], end)), theme.state(state)));
        }
        lines.push(Line::from(spans));
    }
    let blocked: Time = times.iter().map(|t| t[State::Blocked.index()]).fold(Time::ZERO, |a, b| a + b);
    let mut last = format!("makespan {} · {} messages", short_time(tl.end), tl.messages.len());
    if end == 0 {
        last += " · the run took no virtual time";
    } else if blocked > Time::ZERO {
        last += &format!(" · {} blocked in all", short_time(blocked));
    }
    lines.push(Line::styled(last, theme.dim()));
    let title = Span::styled(" Summary: virtual time per state and rank ", theme.title());
    Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(title)).render(area, buf);
}

fn percent(t: Time, end: u64) -> String {
    match (t.as_nanos(), end) {
        (_, 0) => "—".into(),
        (0, _) => "·".into(),
        (t, end) => format!("{}%", (t * 100).div_ceil(end).min(100)),
    }
}

/// A stacked bar of the states: `width` columns for the whole run.
fn bar(t: &[Time; 8], end: u64, width: usize, theme: Theme) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    if end == 0 {
        spans.push(Span::raw(" ".repeat(width)));
        return spans;
    }
    let mut used = 0usize;
    let mut acc = 0u128;
    for state in State::ALL {
        acc += u128::from(t[state.index()].as_nanos());
        let upto = ((acc * width as u128) / u128::from(end)).min(width as u128) as usize;
        if upto > used {
            spans.push(Span::styled(Theme::glyph(state).repeat(upto - used), theme.state(state)));
            used = upto;
        }
    }
    if used < width {
        spans.push(Span::raw(" ".repeat(width - used)));
    }
    spans
}
