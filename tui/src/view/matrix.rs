//! The communication matrix: bytes received by each rank (columns) from each rank (rows).
//! Small runs get numbers; large ones a heat map over blocks of ranks. What was sent but
//! never received (a deadlocked rendezvous moves no data) is shown apart, in parentheses.

use super::text::bytes;
use crate::app::App;
use crate::theme::Theme;
use mpisim::timeline::{PairTraffic, Traffic};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

const CELL: usize = 9;
const SHADES: [&str; 5] = [" ", "░", "▒", "▓", "█"];

/// Draws the matrix screen.
pub fn screen(app: &App, area: Rect, theme: Theme, buf: &mut Buffer) {
    let m = app.tl.comm_matrix();
    let n = app.tl.ranks;
    let width = area.width.saturating_sub(2) as usize;
    let height = area.height.saturating_sub(2) as usize;
    let totals = m.totals();
    let unreceived = m.unreceived();
    let note = unreceived.messages > 0;
    let mut lines: Vec<Line> = Vec::new();
    let numeric = n * CELL + 6 + CELL <= width && n + 3 + usize::from(note) <= height;
    if numeric {
        let mut header = format!("{:<6}", "");
        for d in 0..n {
            header += &format!("{:>CELL$}", format!("r{d}"));
        }
        header += &format!("{:>CELL$}", "sent");
        lines.push(Line::styled(header, theme.dim()));
        for (s, total) in totals.iter().enumerate() {
            let style = if s == app.selected { theme.selected() } else { Style::new() };
            let mut spans = vec![Span::styled(format!("{:<6}", format!("r{s}")), style)];
            for d in 0..n {
                let cell = m.pairs.get(&(s, d)).map_or("·".to_string(), cell_text);
                spans.push(Span::raw(format!("{cell:>CELL$}")));
            }
            spans.push(Span::styled(format!("{:>CELL$}", bytes(total.sent.bytes)), theme.dim()));
            lines.push(Line::from(spans));
        }
        let mut footer = format!("{:<6}", "recv");
        for t in &totals {
            footer += &format!("{:>CELL$}", bytes(t.received.bytes));
        }
        lines.push(Line::styled(footer, theme.dim()));
    } else {
        // A heat map: each cell two columns wide, summing a block of ranks.
        let cells = (width.saturating_sub(8) / 2).min(height.saturating_sub(4 + usize::from(note))).max(1);
        let group = n.div_ceil(cells).max(1);
        let grid = m.grouped(group);
        let max = grid.iter().flatten().copied().max().unwrap_or(0);
        let shade = |b: u64| {
            if b == 0 || max <= 1 {
                return SHADES[usize::from(b > 0) * 4];
            }
            // Logarithmic, so a hundredth of the maximum still shows.
            let level = ((b as f64).ln() / (max as f64).ln() * 4.0).ceil().clamp(1.0, 4.0) as usize;
            SHADES[level]
        };
        let mut header = format!("{:<8}", "");
        for c in (0..grid.len()).step_by(8) {
            header += &format!("{:<16}", format!("r{}", c * group));
        }
        header.truncate(width);
        lines.push(Line::styled(header, theme.dim()));
        for (i, row) in grid.iter().enumerate() {
            let mine = app.selected / group == i;
            let label = format!("{:<8}", format!("r{}", i * group));
            let text: String = row.iter().map(|&b| shade(b).repeat(2)).collect();
            lines.push(Line::from(vec![
                Span::styled(label, if mine { theme.selected() } else { theme.dim() }),
                Span::styled(text, theme.message(false)),
            ]));
        }
        lines.push(Line::styled(
            format!("each cell: {group} × {group} ranks · ░▒▓█ up to {} (log scale)", bytes(max)),
            theme.dim(),
        ));
    }
    if note {
        lines.push(Line::styled(
            format!("( ) sent, never received: {} (no receive took them)", messages(unreceived)),
            theme.alert(),
        ));
    }
    let t = totals.get(app.selected).copied().unwrap_or_default();
    let plural = |k: usize| if k == 1 { "" } else { "s" };
    let sent = match t.sent.messages {
        0 => "sent nothing received".to_string(),
        _ => format!("sent {} to {} rank{}", bytes(t.sent.bytes), t.sent_to, plural(t.sent_to)),
    };
    let lost = match t.unreceived.messages {
        0 => String::new(),
        _ => format!(" ({} never received)", bytes(t.unreceived.bytes)),
    };
    let received = match t.received.messages {
        0 => "received nothing".to_string(),
        _ => format!("received {} from {} rank{}", bytes(t.received.bytes), t.received_from, plural(t.received_from)),
    };
    lines.push(Line::from(vec![
        Span::styled(format!("r{}", app.selected), theme.title()),
        Span::raw(format!(" {sent}{lost}, {received} (↑↓ select)")),
    ]));
    let title = Span::styled(" Communication matrix: bytes received, from row to column, whole run ", theme.title());
    Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(title)).render(area, buf);
}

/// A cell: the bytes received, `(…)` around bytes sent that no receive took, `+` for both.
fn cell_text(pair: &PairTraffic) -> String {
    match (pair.received.messages, pair.unreceived.messages) {
        (0, 0) => "·".into(),
        (_, 0) => bytes(pair.received.bytes),
        (0, _) => format!("({})", bytes(pair.unreceived.bytes)),
        _ => format!("{}+", bytes(pair.received.bytes)),
    }
}

/// `4 messages, 4 MiB`.
fn messages(t: Traffic) -> String {
    format!("{} message{}, {}", t.messages, if t.messages == 1 { "" } else { "s" }, bytes(t.bytes))
}
