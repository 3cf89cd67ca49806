//! The deadlock: what each blocked rank waits for, the wait-for edges, and the engine's
//! hint. A live run has the engine's report; a saved trace without one still shows the
//! calls that never returned, with their file:line and peers.

use super::text::{call_text, short_time};
use crate::app::{App, Outcome};
use crate::theme::Theme;
use mpisim::{Peer, Rank};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

/// One blocked rank, as the views list it.
#[derive(Clone, Debug, PartialEq)]
pub struct Blocked {
    /// The rank.
    pub rank: Rank,
    /// The call it is blocked in (for a collective's step, the collective).
    pub call: String,
    /// What it waits for, in words.
    pub waiting_for: String,
    /// The user's file:line:column.
    pub location: String,
    /// The rank it waits on, if one.
    pub peer: Option<Rank>,
}

/// What the views show of a deadlock.
#[derive(Clone, Debug, PartialEq)]
pub struct Deadlock {
    /// When the last rank blocked.
    pub time: mpisim::Time,
    /// Every blocked rank, in rank order.
    pub blocked: Vec<Blocked>,
    /// Ranks whose program returned.
    pub finished: Vec<Rank>,
    /// The engine's advice, if known.
    pub hint: Option<String>,
    /// The wait-for cycle in order from its lowest rank (empty if unknown or none).
    pub cycle: Vec<Rank>,
}

impl Deadlock {
    /// The deadlock of `app`'s run, if it ended stuck.
    pub fn of(app: &App) -> Option<Deadlock> {
        let tl = &app.tl;
        match &app.outcome {
            Outcome::Deadlock(report) => Some(Deadlock {
                time: report.time,
                blocked: report
                    .blocked
                    .iter()
                    .map(|b| Blocked {
                        rank: b.rank,
                        call: b.call.mpi_name().to_string(),
                        waiting_for: b.waiting_for.clone(),
                        location: b.location.to_string(),
                        peer: match b.peer {
                            Some(Peer::Rank(p)) => Some(p),
                            _ => None,
                        },
                    })
                    .collect(),
                finished: report.finished.clone(),
                hint: Some(report.hint.clone()),
                cycle: report.cycle.clone(),
            }),
            Outcome::Unfinished => Some(Deadlock {
                time: tl.end,
                blocked: tl
                    .unfinished()
                    .into_iter()
                    .map(|outer| {
                        let call = &tl.calls[outer];
                        let inner = tl.innermost_unfinished(call.rank).unwrap_or(outer);
                        Blocked {
                            rank: call.rank,
                            call: call.call.mpi_name().to_string(),
                            waiting_for: format!("{} never returned", call_text(tl, inner)),
                            location: call.site.to_string(),
                            peer: tl.calls[inner].peer.filter(|&p| p < tl.ranks),
                        }
                    })
                    .collect(),
                finished: (0..tl.ranks).filter(|&r| tl.exits[r].is_some()).collect(),
                hint: None,
                cycle: Vec::new(),
            }),
            _ => None,
        }
    }

    /// The first line of a deadlock view: the cycle `0 → 1 → 2 → 3 → 0` if the engine
    /// found one, else the wait-for edges.
    pub fn wait_line(&self, theme: Theme) -> Line<'static> {
        match self.cycle.first() {
            Some(first) => {
                let ring: Vec<String> = self.cycle.iter().chain([first]).map(|r| r.to_string()).collect();
                Line::from(vec![Span::styled("cycle ", theme.dim()), Span::raw(ring.join(" → "))])
            }
            None => Line::from(vec![Span::styled("waits for ", theme.dim()), Span::raw(self.edges())]),
        }
    }

    /// The wait-for edges `rank→peer`, as text: `0→1  1→2  2→3  3→0`.
    pub fn edges(&self) -> String {
        self.blocked.iter().filter_map(|b| b.peer.map(|p| format!("{}→{p}", b.rank))).collect::<Vec<_>>().join("  ")
    }

    fn headline(&self) -> String {
        let n = self.blocked.len();
        format!(
            " Deadlock at {}: {n} rank{} blocked, none can proceed ",
            short_time(self.time),
            if n == 1 { "" } else { "s" }
        )
    }
}

/// The compact pane under the diagram at the end of a deadlocked run.
pub fn pane(app: &App, dl: &Deadlock, area: Rect, theme: Theme, buf: &mut Buffer) {
    let inner_lines = area.height.saturating_sub(2) as usize;
    let mut lines = vec![dl.wait_line(theme)];
    let room = inner_lines.saturating_sub(1);
    let shown = if dl.blocked.len() > room { room.saturating_sub(1) } else { room };
    for b in dl.blocked.iter().take(shown) {
        lines.push(blocked_line(app, b, theme, area.width.saturating_sub(2) as usize));
    }
    if dl.blocked.len() > shown {
        lines.push(Line::styled(format!("… and {} more: press 2 for all", dl.blocked.len() - shown), theme.dim()));
    }
    Paragraph::new(lines)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(Span::styled(dl.headline(), theme.alert()))
                .title_bottom(Line::styled(" 2: the full report ", theme.dim())),
        )
        .render(area, buf);
}

/// One blocked rank in one line: its call on the left, its file:line on the right.
fn blocked_line<'a>(app: &App, b: &Blocked, theme: Theme, width: usize) -> Line<'a> {
    let call = blocked_call_text(app, b);
    let label = format!("r{:<w$} ", b.rank, w = app.tl.ranks.saturating_sub(1).max(1).to_string().len());
    let used = label.chars().count() + call.chars().count();
    let gap = width.saturating_sub(used + b.location.chars().count()).max(2);
    let style = if b.rank == app.selected { theme.selected() } else { theme.alert() };
    Line::from(vec![
        Span::styled(label, style),
        Span::raw(call),
        Span::raw(" ".repeat(gap)),
        Span::styled(b.location.clone(), theme.dim()),
    ])
}

/// The blocked call of `b` in a few words, from the trace when it has the call.
fn blocked_call_text(app: &App, b: &Blocked) -> String {
    match app.tl.unfinished().into_iter().find(|&c| app.tl.calls[c].rank == b.rank) {
        Some(c) => call_text(&app.tl, c),
        None => b.call.clone(),
    }
}

/// The deadlock screen: the edges, the hint, and every blocked call with what it waits for.
pub fn screen(app: &App, area: Rect, theme: Theme, buf: &mut Buffer) {
    let Some(dl) = Deadlock::of(app) else {
        let text = match &app.outcome {
            Outcome::Completed => "The run completed: every rank returned, nothing is blocked.".to_string(),
            Outcome::Failed(e) => format!("The run stopped with an error, not a deadlock:\n\n{e}"),
            _ => String::new(),
        };
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(" Deadlock "))
            .render(area, buf);
        return;
    };
    let width = area.width.saturating_sub(2) as usize;
    // Advice first, then one entry per blocked rank (its call, then what it waits for),
    // scrolled to keep the selected rank in view.
    let mut lines = vec![dl.wait_line(theme)];
    // Ranks outside the cycle (waiting on it) show only in the edges.
    if !dl.cycle.is_empty() && dl.blocked.len() > dl.cycle.len() {
        lines.push(Line::from(vec![Span::styled("wait-for edges  ", theme.dim()), Span::raw(dl.edges())]));
    }
    if let Some(hint) = &dl.hint {
        lines.push(Line::from(vec![Span::styled("hint ", theme.title()), Span::raw(hint.clone())]));
    }
    if !dl.finished.is_empty() {
        let shown: Vec<String> = dl.finished.iter().take(16).map(|r| r.to_string()).collect();
        let more = if dl.finished.len() > 16 { " …" } else { "" };
        lines.push(Line::raw(format!("finished: rank {}{more}", shown.join(", "))));
    }
    let used: usize = lines.iter().map(|l| l.width().div_ceil(width.max(1)).max(1)).sum::<usize>() + 1;
    lines.push(Line::raw(""));
    let per_entry =
        1 + dl.blocked.iter().map(|b| (b.waiting_for.chars().count() + 2).div_ceil(width.max(1))).max().unwrap_or(1);
    let room = ((area.height.saturating_sub(2) as usize).saturating_sub(used + 1) / per_entry).max(1);
    let first = dl.blocked.iter().position(|b| b.rank == app.selected).unwrap_or(0);
    let start = first.saturating_sub(room.saturating_sub(1)).min(dl.blocked.len().saturating_sub(room));
    for b in dl.blocked.iter().skip(start).take(room) {
        lines.push(blocked_line(app, b, theme, width));
        lines.push(Line::raw(format!("  {}", b.waiting_for)));
    }
    if dl.blocked.len() > room {
        let last = (start + room).min(dl.blocked.len());
        lines.push(Line::styled(
            format!("blocked ranks {}–{} of {}: ↑↓ scroll", start + 1, last, dl.blocked.len()),
            theme.dim(),
        ));
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(Block::default().borders(Borders::ALL).title(Span::styled(dl.headline(), theme.alert())))
        .render(area, buf);
}
