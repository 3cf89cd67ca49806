//! The space-time diagram: ranks as rows, virtual time (or event order) across, states as
//! glyphs, messages as lines from the sender's row to an arrowhead at the receiver's.

use super::text::{rank_label, short_time};
use crate::app::App;
use crate::layout::Areas;
use crate::theme::Theme;
use mpisim::timeline::{Axis, State};
use mpisim::Time;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};

/// Draws the diagram into its block.
pub fn render(app: &App, areas: &Areas, theme: Theme, buf: &mut Buffer) {
    let (t0, t1) = app.window;
    let shown = if app.rows.len() == app.tl.ranks {
        format!("{} ranks", app.tl.ranks)
    } else {
        format!("{} of {} ranks: {}", app.rows.len(), app.tl.ranks, app.filter.as_deref().unwrap_or(""))
    };
    let name = match app.axis {
        Axis::Time => " Space-time ",
        Axis::Events => " Event order ",
    };
    // The window as people count: event `i` of the trace is event number i + 1, and the
    // room after the last one holds no event.
    let range = match app.axis {
        Axis::Time => format!("{} – {}", short_time(Time(t0)), short_time(Time(t1))),
        Axis::Events => {
            let last = t1.min(app.tl.event_count as u64).max(t0 + 1);
            format!("#{} – #{last} of {}", t0 + 1, app.tl.event_count)
        }
    };
    let title = Line::from(vec![Span::styled(name, theme.title()), Span::raw(format!("{range} · {shown} "))]);
    let mut legend = vec![Span::raw(" ")];
    for state in State::ALL {
        if state == State::Run {
            continue;
        }
        legend.push(Span::styled(Theme::glyph(state), theme.state(state)));
        legend.push(Span::raw(format!("{} ", state.name())));
    }
    Block::default()
        .borders(Borders::ALL)
        .title(title)
        .title_bottom(Line::from(legend))
        .render(areas.diagram_block, buf);
    let d = areas.diagram;
    if d.width <= areas.gutter || d.height <= areas.axis_rows {
        return;
    }
    let columns = areas.diagram_columns as usize;
    let x0 = d.x + areas.gutter;
    let cursor_col = match app.axis {
        Axis::Time => column_of(app.position(), (t0, t1), columns),
        // On the event axis the cursor sits on the last event that happened.
        Axis::Events => app.cursor.checked_sub(1).and_then(|e| column_of(e as u64, (t0, t1), columns)),
    };
    let area = Rect::new(x0, d.y, areas.diagram_columns, areas.axis_rows);
    axis(buf, area, app.axis, (t0, t1), app.tl.event_count as u64, cursor_col, theme);

    let first_line = d.y + areas.axis_rows;
    let lines = d.height - areas.axis_rows;
    let pitch = areas.row_pitch;
    // Which line each rank is drawn on, relative to the first shown row (it may be off
    // screen: messages are clipped, not dropped).
    let mut line_of: Vec<Option<i64>> = vec![None; app.tl.ranks];
    for (i, &rank) in app.rows.iter().enumerate() {
        line_of[rank] = Some((i as i64 - app.scroll as i64) * pitch as i64);
    }
    let width = app.tl.ranks.saturating_sub(1).max(1).to_string().len();
    let mut drawn = Vec::new();
    for (i, &rank) in app.rows.iter().enumerate().skip(app.scroll) {
        let line = (i - app.scroll) * pitch;
        if line >= lines as usize {
            break;
        }
        let y = first_line + line as u16;
        let selected = rank == app.selected;
        let label = format!("{}{} ", if selected { "▶" } else { " " }, rank_label(rank, width));
        let label_style = if selected { theme.title() } else { theme.dim() };
        buf.set_stringn(d.x, y, &label, areas.gutter as usize, label_style);
        for (c, state) in app.tl.bins(rank, app.axis, (t0, t1), columns, app.cursor).into_iter().enumerate() {
            if let (Some(state), Some(cell)) = (state, buf.cell_mut((x0 + c as u16, y))) {
                cell.set_symbol(Theme::glyph(state)).set_style(theme.state(state));
            }
        }
        drawn.push((rank, y));
    }
    // The cursor: a line through the gaps, and reversed cells on the ranks' rows.
    if let Some(c) = cursor_col {
        for line in 0..lines {
            let on_rank = line as usize % pitch == 0;
            if let Some(cell) = buf.cell_mut((x0 + c as u16, first_line + line)) {
                if on_rank {
                    cell.set_style(theme.under_cursor());
                } else {
                    cell.set_symbol("│").set_style(theme.cursor());
                }
            }
        }
    }
    let canvas = Canvas { x0, y0: first_line, columns: columns as i64, lines: lines as i64, pitch: pitch as i64 };
    let mut selected = None;
    for (m, msg) in app.tl.messages.iter().enumerate() {
        if msg.send_event >= app.cursor {
            break;
        }
        let (Some(ys), Some(ye)) = (line_of[msg.src], line_of[msg.dst]) else { continue };
        let (sent, target, matched) = app.tl.message_extent(m, app.axis, app.cursor);
        if target < t0 || sent >= t1 {
            continue;
        }
        if app.message == Some(m) {
            selected = Some((ys, ye, sent, target, matched));
            continue;
        }
        let style = theme.message(msg.collective.is_some());
        canvas.line(buf, (x_of(sent, (t0, t1), columns), ys), (x_of(target, (t0, t1), columns), ye), style, !matched);
    }
    // The selected message goes on top.
    if let Some((ys, ye, sent, target, matched)) = selected {
        let (xs, xe) = (x_of(sent, (t0, t1), columns), x_of(target, (t0, t1), columns));
        canvas.line(buf, (xs, ys), (xe, ye), theme.selected_message(), !matched);
    }
    // Names last, in what the messages left of each collective's glyphs.
    for (rank, y) in drawn {
        name_collectives(app, rank, (x0, y), columns, buf);
    }
}

/// Writes each collective's name over its span on `rank`'s row (`≡Bcast≡≡`), in the first
/// stretch of its glyphs that no message crosses and that holds the name with a glyph on
/// either side: a bcast and a scatter are both `≡` otherwise. Cells keep their style (the
/// cursor's too).
fn name_collectives(app: &App, rank: usize, (x0, y): (u16, u16), columns: usize, buf: &mut Buffer) {
    let glyph = Theme::glyph(State::Collective);
    let (t0, t1) = app.window;
    let ended = app.cursor >= app.tl.event_count;
    let now = match app.axis {
        Axis::Time => app.position(),
        Axis::Events => app.cursor.saturating_sub(1) as u64,
    };
    for &c in app.tl.top_calls(rank) {
        let call = &app.tl.calls[c];
        if call.enter_event >= app.cursor {
            break;
        }
        if State::of(call.call) != State::Collective {
            continue;
        }
        let (start, end) = match app.axis {
            Axis::Time => (call.start.as_nanos(), call.end.map(Time::as_nanos)),
            Axis::Events => (call.enter_event as u64, call.leave_event.map(|l| l as u64)),
        };
        // As the bins draw it: to its end once left, else to the cursor (to the end of
        // the window if the trace ended inside it).
        let end = match call.leave_event {
            Some(l) if l < app.cursor => end.unwrap_or(now),
            _ if ended => t1,
            _ => now,
        };
        if end < t0 || start >= t1 {
            continue;
        }
        let first = x_of(start.max(t0), (t0, t1), columns).max(0);
        let last = x_of(end.min(t1.saturating_sub(1)), (t0, t1), columns).min(columns as i64 - 1);
        let name = call.call.mpi_name().trim_start_matches("MPI_");
        let need = name.chars().count() as i64 + 2;
        let plain = |x: i64| x <= last && buf.cell((x0 + x as u16, y)).is_some_and(|cell| cell.symbol() == glyph);
        let mut from = first;
        for x in first..=last + 1 {
            if plain(x) {
                continue;
            }
            if x - from >= need {
                for (i, ch) in name.chars().enumerate() {
                    if let Some(cell) = buf.cell_mut((x0 + (from + 1) as u16 + i as u16, y)) {
                        cell.set_char(ch);
                    }
                }
                break;
            }
            from = x + 1;
        }
    }
}

/// The column of `x` if it is in the window.
fn column_of(x: u64, (t0, t1): (u64, u64), columns: usize) -> Option<usize> {
    (x >= t0 && x < t1 && columns > 0).then(|| x_of(x, (t0, t1), columns) as usize)
}

/// The (possibly off-window) column of `x`.
fn x_of(x: u64, (t0, t1): (u64, u64), columns: usize) -> i64 {
    let width = i128::from(t1.saturating_sub(t0).max(1));
    let dx = i128::from(x) - i128::from(t0);
    // Far off screen, a column is only a direction: held to ±2^40, so that interpolating
    // between two columns cannot overflow and what is on screen is drawn as it was.
    (dx * columns as i128).div_euclid(width).clamp(-FAR, FAR) as i64
}

/// How far off screen a column may be (see `x_of`).
const FAR: i128 = 1 << 40;

/// Tick labels on the first line, tick marks on the second: at round times, or at round
/// event numbers up to the last of the `events`.
fn axis(
    buf: &mut Buffer,
    area: Rect,
    kind: Axis,
    window: (u64, u64),
    events: u64,
    cursor: Option<usize>,
    theme: Theme,
) {
    let columns = area.width as usize;
    if columns == 0 || area.height < 2 {
        return;
    }
    let (t0, t1) = window;
    let span = (t1 - t0).max(1);
    // A round step that leaves room for the labels (about 12 columns each).
    let wanted = (u128::from(span) * 12 / columns as u128).max(1) as u64;
    let step = nice_step(wanted);
    let mut marks: Vec<&str> = vec!["─"; columns];
    let mut labels: Vec<(usize, String)> = Vec::new();
    // Ticks at round times, or at round event numbers (event number k is at k - 1).
    let (mut k, offset) = match kind {
        Axis::Time => (t0.div_ceil(step) * step, 0),
        Axis::Events => ((t0 + 1).div_ceil(step) * step, 1),
    };
    // Event 1 is labelled where the window starts with it, unless a round number is close.
    let first_label = kind == Axis::Events && t0 == 0 && x_of(k - offset, window, columns) >= 8;
    if first_label {
        labels.push((0, "#1".to_string()));
        marks[0] = "┬";
    }
    while k - offset < t1 && (kind == Axis::Time || k <= events) {
        let c = x_of(k - offset, window, columns) as usize;
        if c < columns {
            marks[c] = "┬";
            labels.push((
                c,
                match kind {
                    Axis::Time => short_time(Time(k)),
                    Axis::Events => format!("#{k}"),
                },
            ));
        }
        let Some(next) = k.checked_add(step) else { break };
        k = next;
    }
    buf.set_stringn(area.x, area.y + 1, marks.concat(), columns, theme.dim());
    let mut free_from = 0;
    for (c, text) in labels {
        let len = text.chars().count();
        if c >= free_from && c + len <= columns {
            buf.set_string(area.x + c as u16, area.y, &text, theme.dim());
            free_from = c + len + 1;
        }
    }
    if let Some(c) = cursor {
        if let Some(cell) = buf.cell_mut((area.x + c as u16, area.y + 1)) {
            cell.set_symbol("▼").set_style(theme.cursor());
        }
    }
}

/// The smallest 1, 2 or 5 times a power of ten that is at least `n`.
fn nice_step(n: u64) -> u64 {
    let mut p = 1u64;
    loop {
        for m in [1, 2, 5] {
            if p.saturating_mul(m) >= n {
                return p.saturating_mul(m);
            }
        }
        p = p.saturating_mul(10);
    }
}

/// The drawing surface of messages: lines are in rank-row coordinates, clipped.
struct Canvas {
    x0: u16,
    y0: u16,
    columns: i64,
    lines: i64,
    pitch: i64,
}

impl Canvas {
    fn put(&self, buf: &mut Buffer, x: i64, line: i64, symbol: &str, style: Style) {
        if (0..self.columns).contains(&x) && (0..self.lines).contains(&line) {
            if let Some(cell) = buf.cell_mut((self.x0 + x as u16, self.y0 + line as u16)) {
                cell.set_symbol(symbol).set_style(style);
            }
        }
    }

    /// A message from `(xs, ys)` to `(xe, ye)` (lines of the diagram): across the gap lines
    /// it runs horizontally, over other ranks' rows it is one mark, and it ends in an
    /// arrowhead on the receiver's row. `pending`: not received yet, drawn dashed.
    fn line(&self, buf: &mut Buffer, (xs, ys): (i64, i64), (xe, ye): (i64, i64), style: Style, pending: bool) {
        if ys == ye {
            return;
        }
        let dir = if ye > ys { 1 } else { -1 };
        let steps = (ye - ys).abs();
        let x_at = |k: i64| xs + (xe - xs) * k / steps;
        for k in 1..steps {
            let line = ys + dir * k;
            let gap = line.rem_euclid(self.pitch) != 0;
            let (a, b) = if gap { (x_at(k - 1), x_at(k + 1)) } else { (x_at(k), x_at(k)) };
            if b - a >= 2 {
                // Only the columns on screen: a message from far off screen spans 2^40.
                for x in a.max(0)..=b.min(self.columns) {
                    self.put(buf, x, line, if pending { "╌" } else { "─" }, style);
                }
            } else {
                let symbol = match (b - a, dir, pending) {
                    (0, _, true) => "┆",
                    (0, _, false) => "│",
                    (_, 1, _) => "╲",
                    _ => "╱",
                };
                self.put(buf, x_at(k), line, symbol, style);
            }
        }
        self.put(buf, xe, ye, if dir > 0 { "▼" } else { "▲" }, style);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round() {
        assert_eq!(nice_step(1), 1);
        assert_eq!(nice_step(3), 5);
        assert_eq!(nice_step(120), 200);
        assert_eq!(nice_step(600), 1000);
    }

    #[test]
    fn columns_map_the_window() {
        let w = (100, 200);
        assert_eq!(x_of(100, w, 10), 0);
        assert_eq!(x_of(199, w, 10), 9);
        assert_eq!(x_of(50, w, 10), -5);
        assert_eq!(column_of(200, w, 10), None);
    }

    /// A message whose times lie at the ends of u64 (a damaged trace) is drawn where it
    /// crosses the screen, at once: found by `tests/fuzz.rs`, it once ran for 2^60 columns.
    #[test]
    fn a_message_from_far_off_screen_is_clipped() {
        let w = (100, 200);
        assert_eq!(x_of(u64::MAX, w, 10), FAR as i64);
        assert_eq!(x_of(0, (u64::MAX - 1, u64::MAX), 10), -FAR as i64);
        let mut buf = Buffer::empty(Rect::new(0, 0, 10, 5));
        let canvas = Canvas { x0: 0, y0: 0, columns: 10, lines: 5, pitch: 4 };
        canvas.line(&mut buf, (x_of(0, (u64::MAX - 1, u64::MAX), 10), 0), (3, 4), Style::default(), false);
        let row = |y: u16| (0..10).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>();
        assert_eq!(row(4), "   ▼      ");
        assert_eq!(row(3), "────      ", "the gap line above the receiver runs in from the left edge");
    }
}
