//! The deadlock: what each blocked rank waits for, the wait-for edges, and the engine's
//! hint. A live run has the engine's report; a saved trace without one still shows the
//! calls that never returned, with their file:line and peers. A run that completed only
//! thanks to buffering shows the same for the deadlock of its strict re-run, and any other
//! warning of the run.

use super::text::{blocked_text, call_text, short_time, wrap_path};
use crate::app::{escape_lines, App, Outcome};
use crate::theme::Theme;
use mpisim::escape::escape_control;
use mpisim::{DeadlockReport, Peer, Rank, Warning};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

/// One blocked rank, as the views list it.
#[derive(Clone, Debug, PartialEq)]
pub struct Blocked {
    /// The rank.
    pub rank: Rank,
    /// The call it is blocked in, in a few words (`MPI_Send → 1 tag 0 1 MiB`; for a
    /// collective's step, the collective).
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
            Outcome::Deadlock(report) => Some(Deadlock::from_report(report)),
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
                            call: call_text(tl, outer),
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

    /// A deadlock as the engine reported it (its strings escaped: a saved report may hold
    /// anything).
    pub fn from_report(report: &DeadlockReport) -> Deadlock {
        Deadlock {
            time: report.time,
            blocked: report
                .blocked
                .iter()
                .map(|b| Blocked {
                    rank: b.rank,
                    call: blocked_text(b),
                    waiting_for: escape_control(&b.waiting_for).into_owned(),
                    location: escape_control(&b.location.to_string()).into_owned(),
                    peer: match b.peer {
                        Some(Peer::Rank(p)) => Some(p),
                        _ => None,
                    },
                })
                .collect(),
            finished: report.finished.clone(),
            hint: Some(escape_control(&report.hint).into_owned()),
            cycle: report.cycle.clone(),
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

/// The buffering hazard of a completed run: what it relied on, and the deadlock of its
/// strict re-run.
pub fn hazard(app: &App) -> Option<(String, Deadlock)> {
    app.warnings.iter().find_map(|w| match w {
        Warning::BufferingHazard { reliance, deadlock } => {
            Some((escape_control(reliance).into_owned(), Deadlock::from_report(deadlock)))
        }
        _ => None,
    })
}

/// The run's warnings in one line, for the banner: `buffering hazard: with --strict it
/// deadlocks, 0 → 1 → 2 → 3 → 0`, `2 messages never received`.
pub fn warnings_line(app: &App) -> Option<String> {
    let mut parts = Vec::new();
    if let Some((_, dl)) = hazard(app) {
        let cycle = match dl.cycle.first() {
            Some(first) => {
                let ring: Vec<String> = dl.cycle.iter().chain([first]).map(|r| r.to_string()).collect();
                format!(", {}", ring.join(" → "))
            }
            None => String::new(),
        };
        parts.push(format!("buffering hazard: with --strict it deadlocks{cycle}"));
    }
    let count = |f: fn(&Warning) -> bool| app.warnings.iter().filter(|w| f(w)).count();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    match count(|w| matches!(w, Warning::Unreceived(_))) {
        0 => {}
        n => parts.push(format!("{n} message{} never received", plural(n))),
    }
    match count(|w| matches!(w, Warning::DanglingRequest { .. })) {
        0 => {}
        n => parts.push(format!("{n} request{} never completed", plural(n))),
    }
    for w in &app.warnings {
        if let Warning::TraceTruncated { events } = w {
            parts.push(format!("the trace keeps only its first {events} events"));
        }
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The compact pane under the diagram at the end of a deadlocked run.
pub fn pane(app: &App, dl: &Deadlock, area: Rect, theme: Theme, buf: &mut Buffer) {
    let room = area.height.saturating_sub(2) as usize;
    let width = area.width.saturating_sub(2) as usize;
    let mut lines = vec![dl.wait_line(theme)];
    let entries: Vec<Vec<Line>> = dl.blocked.iter().map(|b| blocked_lines(app, b, theme, width)).collect();
    let mut shown = 0;
    for entry in &entries {
        // Keep a line for "… and N more" unless this is the last entry.
        let more = usize::from(shown + 1 < entries.len());
        if lines.len() + entry.len() + more > room {
            break;
        }
        lines.extend(entry.iter().cloned());
        shown += 1;
    }
    if shown < entries.len() {
        lines.push(Line::styled(format!("… and {} more: press 2 for all", entries.len() - shown), theme.dim()));
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

/// One blocked rank: its call on the left, its file:line on the right of the same line if
/// it fits, else on lines of its own, wrapped after a `/`.
fn blocked_lines(app: &App, b: &Blocked, theme: Theme, width: usize) -> Vec<Line<'static>> {
    let label = format!("r{:<w$} ", b.rank, w = app.tl.ranks.saturating_sub(1).max(1).to_string().len());
    let used = label.chars().count() + b.call.chars().count();
    let style = if b.rank == app.selected { theme.selected() } else { theme.alert() };
    let first = vec![Span::styled(label.clone(), style), Span::raw(b.call.clone())];
    let location = b.location.chars().count();
    if used + 2 + location <= width {
        let gap = width - used - location;
        let mut spans = first;
        spans.push(Span::raw(" ".repeat(gap)));
        spans.push(Span::styled(b.location.clone(), theme.dim()));
        return vec![Line::from(spans)];
    }
    let indent = " ".repeat(label.chars().count());
    let at = format!("{indent}at ");
    let mut lines = vec![Line::from(first)];
    lines.extend(
        wrap_path(&b.location, width, &at, &format!("{indent}   ")).into_iter().map(|l| Line::styled(l, theme.dim())),
    );
    lines
}

/// The deadlock screen: the edges, the hint, and every blocked call with what it waits for;
/// for a completed run, its buffering hazard's strict deadlock and its other warnings.
pub fn screen(app: &App, area: Rect, theme: Theme, buf: &mut Buffer) {
    if let Some(dl) = Deadlock::of(app) {
        return report(app, &dl, Vec::new(), dl.headline(), area, theme, buf);
    }
    // Warnings other than the hazard, which has the rest of the screen.
    let warnings: Vec<Line> = app
        .warnings
        .iter()
        .filter(|w| !matches!(w, Warning::BufferingHazard { .. }))
        .map(|w| Line::from(vec![Span::styled("warning ", theme.alert()), Span::raw(escape_lines(&w.to_string()))]))
        .collect();
    if let Some((reliance, dl)) = hazard(app) {
        let mut intro = vec![Line::styled(
            format!(
                "The run completed, but only because {reliance}. MPI promises neither: with zero buffering \
                 (--strict), as another MPI library or message size may run it, it deadlocks:"
            ),
            theme.alert(),
        )];
        intro.extend(warnings);
        let n = dl.blocked.len();
        let title = format!(" Buffering hazard: with --strict, {n} rank{} deadlock ", if n == 1 { "" } else { "s" });
        return report(app, &dl, intro, title, area, theme, buf);
    }
    let lines = match &app.outcome {
        Outcome::Completed if warnings.is_empty() => {
            vec![Line::raw("The run completed: every rank returned, nothing is blocked.")]
        }
        Outcome::Completed => {
            let mut lines = vec![Line::raw("The run completed: every rank returned, nothing is blocked. But:")];
            lines.extend(warnings);
            lines
        }
        Outcome::Failed(e) => {
            let mut lines = vec![Line::raw("The run stopped with an error, not a deadlock:"), Line::raw("")];
            lines.extend(e.lines().map(|l| Line::raw(l.to_string())));
            lines
        }
        Outcome::Deadlock(_) | Outcome::Unfinished => Vec::new(),
    };
    let title = if app.warnings.is_empty() { " Deadlock " } else { " Warnings " };
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(Block::default().borders(Borders::ALL).title(title))
        .render(area, buf);
}

/// A deadlock report under `intro`: the cycle or edges, the hint, the finished ranks, and
/// one entry per blocked rank, scrolled to keep the selected rank in view.
fn report(
    app: &App,
    dl: &Deadlock,
    intro: Vec<Line<'static>>,
    title: String,
    area: Rect,
    theme: Theme,
    buf: &mut Buffer,
) {
    let width = area.width.saturating_sub(2) as usize;
    let mut lines = intro;
    lines.push(dl.wait_line(theme));
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
    let entries: Vec<Vec<Line>> = dl
        .blocked
        .iter()
        .map(|b| {
            let mut entry = blocked_lines(app, b, theme, width);
            entry.push(Line::raw(format!("  {}", b.waiting_for)));
            entry
        })
        .collect();
    let per_entry = entries
        .iter()
        .map(|e| e.iter().map(|l| l.width().div_ceil(width.max(1)).max(1)).sum::<usize>())
        .max()
        .unwrap_or(1);
    let room = ((area.height.saturating_sub(2) as usize).saturating_sub(used + 1) / per_entry.max(1)).max(1);
    let first = dl.blocked.iter().position(|b| b.rank == app.selected).unwrap_or(0);
    let start = first.saturating_sub(room.saturating_sub(1)).min(dl.blocked.len().saturating_sub(room));
    for entry in entries.into_iter().skip(start).take(room) {
        lines.extend(entry);
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
        .block(Block::default().borders(Borders::ALL).title(Span::styled(title, theme.alert())))
        .render(area, buf);
}
