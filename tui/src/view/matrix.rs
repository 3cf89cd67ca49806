//! The communication matrix: bytes from each rank (rows) to each rank (columns). Small runs
//! get numbers; large ones a heat map over blocks of ranks.

use super::text::bytes;
use crate::app::App;
use crate::theme::Theme;
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
    let mut lines: Vec<Line> = Vec::new();
    let mut sent = vec![0u64; n];
    let mut received = vec![0u64; n];
    let (mut to, mut from) = (vec![0usize; n], vec![0usize; n]);
    for (&(s, d), &(b, _)) in &m.pairs {
        sent[s] += b;
        received[d] += b;
        to[s] += 1;
        from[d] += 1;
    }
    let numeric = n * CELL + 6 + CELL <= width && n + 3 <= height;
    if numeric {
        let mut header = format!("{:<6}", "");
        for d in 0..n {
            header += &format!("{:>CELL$}", format!("r{d}"));
        }
        header += &format!("{:>CELL$}", "sent");
        lines.push(Line::styled(header, theme.dim()));
        for (s, total) in sent.iter().enumerate() {
            let style = if s == app.selected { theme.selected() } else { Style::new() };
            let mut spans = vec![Span::styled(format!("{:<6}", format!("r{s}")), style)];
            for d in 0..n {
                let text = m.pairs.get(&(s, d)).map_or("·".to_string(), |&(b, _)| bytes(b));
                spans.push(Span::raw(format!("{text:>CELL$}")));
            }
            spans.push(Span::styled(format!("{:>CELL$}", bytes(*total)), theme.dim()));
            lines.push(Line::from(spans));
        }
        let mut footer = format!("{:<6}", "recv");
        for r in &received {
            footer += &format!("{:>CELL$}", bytes(*r));
        }
        lines.push(Line::styled(footer, theme.dim()));
    } else {
        // A heat map: each cell two columns wide, summing a block of ranks.
        let cells = (width.saturating_sub(8) / 2).min(height.saturating_sub(4)).max(1);
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
    let s = app.selected;
    let plural = |k: usize| if k == 1 { "" } else { "s" };
    lines.push(Line::from(vec![
        Span::styled(format!("r{s}"), theme.title()),
        Span::raw(format!(
            " sent {} to {} rank{}, received {} from {} rank{} (↑↓ select)",
            bytes(sent[s]),
            to[s],
            plural(to[s]),
            bytes(received[s]),
            from[s],
            plural(from[s])
        )),
    ]));
    let title = Span::styled(" Communication matrix: bytes from row to column, whole run ", theme.title());
    Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(title)).render(area, buf);
}
