//! The panes under the diagram: the event and message at the cursor, and the selected
//! rank's pending call and queues.

use super::text::{bytes, call_text, short_time, wrap_path};
use crate::app::App;
use crate::theme::Theme;
use mpisim::timeline::{Filter, State};
use mpisim::EventKind;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

/// The inspector: the event just stepped over, and the selected message (or the event's).
pub fn inspector(app: &App, area: Rect, theme: Theme, buf: &mut Buffer) {
    let tl = &app.tl;
    let mut lines: Vec<Line> = Vec::new();
    let title = if app.cursor == 0 {
        lines.push(Line::raw("The start of the run: nothing has happened yet."));
        lines.push(Line::styled("→ steps one event, space plays, ? shows every key.", theme.dim()));
        " Event ".to_string()
    } else {
        let index = app.cursor - 1;
        let event = &app.trace.events[index];
        let who = format!("r{}", event.rank);
        let text = match &event.kind {
            EventKind::Enter { call, .. } => match tl.call_of_event(index) {
                Some(c) => format!("{who} enters {}", call_text(tl, c)),
                None => format!("{who} enters {}", call.mpi_name()),
            },
            EventKind::Leave { call } => {
                let took = tl
                    .call_of_event(index)
                    .map(|c| tl.calls[c].end.unwrap_or(event.time).saturating_sub(tl.calls[c].start));
                format!("{who} returns from {} after {}", call.mpi_name(), short_time(took.unwrap_or_default()))
            }
            EventKind::Send { dst, protocol, .. } => format!("{who} sends a message to r{dst} ({protocol})"),
            EventKind::Arrive { src, .. } => format!("a message from r{src} reaches {who}'s queues"),
            EventKind::Match { src, .. } => format!("{who} matches the message from r{src}"),
            EventKind::Post { source, tag, .. } => format!(
                "{who} posts a receive from {}, {}",
                source.map_or("any source".to_string(), |s| format!("r{s}")),
                tag.map_or("any tag".to_string(), |t| format!("tag {t}"))
            ),
            EventKind::Unpost { .. } => format!("{who} cancels a posted receive"),
            EventKind::Compute { end } => format!("{who} computes until {}", short_time(*end)),
            EventKind::Print { text } => format!("{who} prints: {text}"),
            EventKind::Exit => format!("{who}'s program returns"),
            _ => format!("{who}: an event this viewer does not know"),
        };
        lines.push(Line::styled(text, theme.title()));
        if let EventKind::Enter { site, .. } = &event.kind {
            let width = area.width.saturating_sub(2) as usize;
            lines.extend(wrap_path(&site.to_string(), width, "  at ", "     ").into_iter().map(Line::raw));
        }
        format!(" Event {} of {} · {} ", app.cursor, tl.event_count, short_time(event.time))
    };
    let message = app.message.or_else(|| app.cursor.checked_sub(1).and_then(|i| tl.message_of_event(i)));
    if let Some(m) = message {
        let msg = &tl.messages[m];
        let selected = if app.message == Some(m) { "◆ " } else { "" };
        lines.push(Line::from(vec![
            Span::raw(selected),
            Span::styled(format!("r{} → r{}", msg.src, msg.dst), theme.message(msg.collective.is_some())),
            Span::raw(format!(" · tag {} · {} · {}", msg.tag, bytes(msg.bytes), msg.protocol)),
        ]));
        // The message's times, flowed into as few lines as the pane's width allows;
        // delivery is left out when it is the arrival (eager messages).
        let delivered = msg.delivered.filter(|&d| Some(d) != msg.arrived);
        let times: Vec<String> = [
            ("sent", Some(msg.sent)),
            ("arrived", msg.arrived),
            ("matched", msg.matched),
            ("delivered", delivered),
            ("send done", msg.send_done),
            ("recv done", msg.recv_done),
        ]
        .into_iter()
        .filter(|(name, t)| t.is_some() || matches!(*name, "arrived" | "matched"))
        .map(|(name, t)| format!("{name} {}", t.map_or("—".to_string(), short_time)))
        .collect();
        let width = area.width.saturating_sub(2) as usize;
        let mut current = String::new();
        for item in times {
            if !current.is_empty() && 2 + current.chars().count() + 3 + item.chars().count() > width {
                lines.push(Line::raw(format!("  {current}")));
                current.clear();
            }
            if !current.is_empty() {
                current.push_str(" · ");
            }
            current.push_str(&item);
        }
        if !current.is_empty() {
            lines.push(Line::raw(format!("  {current}")));
        }
        if let Some(c) = msg.collective {
            let all = tl.collective_messages(c).len();
            lines.push(Line::raw(format!("  step of {} ({all} messages)", tl.calls[c].call.mpi_name())));
        } else if msg.unexpected {
            lines.push(Line::raw("  waited in the unexpected queue"));
        }
    }
    Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(title)).render(area, buf);
}

/// The selected rank at the cursor: its state, its pending call, its queues.
pub fn rank_state(app: &App, area: Rect, theme: Theme, buf: &mut Buffer) {
    let tl = &app.tl;
    let rank = app.selected;
    let snap = tl.snapshot(rank, app.cursor);
    let (state, _) = tl.state_at(rank, app.cursor);
    let mut lines = vec![Line::from(vec![
        Span::raw("state "),
        Span::styled(format!("{} {}", Theme::glyph(state), state.name()), theme.state(state)),
    ])];
    match snap.open.first() {
        Some(&outer) => {
            lines.push(Line::raw(format!("in {}", call_text(tl, outer))));
            if let Some(&inner) = snap.open.last().filter(|&&i| i != outer) {
                lines.push(Line::raw(format!("  step {}", call_text(tl, inner))));
            }
            let width = area.width.saturating_sub(2) as usize;
            let site = tl.calls[outer].site.to_string();
            lines.extend(wrap_path(&site, width, "  at ", "     ").into_iter().map(|l| Line::styled(l, theme.dim())));
        }
        None if snap.exited => lines.push(Line::raw("its program has returned")),
        None => lines.push(Line::raw("running its own code")),
    }
    let posted: Vec<String> = snap
        .posted
        .iter()
        .map(|&r| {
            let Filter { source, tag } = tl.receives[r].filter;
            format!(
                "←{} {}",
                source.map_or("any".to_string(), |s| s.to_string()),
                tag.map_or("any".to_string(), |t| format!("t{t}"))
            )
        })
        .collect();
    let unexpected: Vec<String> = snap
        .unexpected
        .iter()
        .map(|&m| {
            let msg = &tl.messages[m];
            format!("r{} t{} {}", msg.src, msg.tag, bytes(msg.bytes))
        })
        .collect();
    let queue = |name: &str, items: Vec<String>| {
        let text = if items.is_empty() { "—".to_string() } else { items.join(", ") };
        Line::from(vec![Span::styled(format!("{name} "), theme.dim()), Span::raw(text)])
    };
    lines.push(queue("posted", posted));
    lines.push(queue("unexpected", unexpected));
    let title = format!(" r{rank} at the cursor ");
    let style = if state == State::Blocked { theme.alert() } else { theme.title() };
    Paragraph::new(lines)
        .block(Block::default().borders(Borders::ALL).title(Span::styled(title, style)))
        .render(area, buf);
}
