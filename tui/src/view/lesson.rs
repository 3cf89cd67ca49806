//! The lesson browser's screens: the list of lessons with progress, and a lesson: the
//! step's text and questions at the left, the run viewer's own body (diagram, panes,
//! deadlock) at the right.

use super::status;
use crate::browser::{Browser, Input, LessonScreen, View, TEXT_WIDTH};
use crate::keys::{KEYS, LESSON_KEYS, LESSON_OVERRIDES, LIST_KEYS};
use crate::theme::Theme;
use mpisim::lesson::{wrap, Lesson};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};
use ratatui::Frame;

/// Draws the browser on the whole frame.
pub fn view(b: &Browser, theme: Theme, frame: &mut Frame) {
    let area = frame.area();
    render(b, theme, area, frame.buffer_mut());
}

/// Draws the browser into `buf` over `area` (the size the model was told).
pub fn render(b: &Browser, theme: Theme, area: Rect, buf: &mut Buffer) {
    match &b.view {
        View::List => list(b, theme, area, buf),
        View::Lesson(s) => lesson(b, s, theme, area, buf),
    }
    if b.help {
        let keys: Vec<(&str, &str)> = match &b.view {
            View::List => LIST_KEYS.to_vec(),
            View::Lesson(_) => {
                let run_keys = KEYS.iter().filter(|(k, _)| !LESSON_OVERRIDES.contains(k));
                LESSON_KEYS.iter().chain(run_keys).copied().collect()
            }
        };
        super::help(&keys, theme, area, buf);
    }
}

fn line_at(area: Rect, y: u16) -> Rect {
    Rect::new(area.x, area.y + y.min(area.height.saturating_sub(1)), area.width, u16::from(area.height > y))
}

/// How far a student is in a lesson: `3/5`, or `done` once every question is right.
fn progress(b: &Browser, lesson: &Lesson) -> String {
    let (right, total) = (b.store.right(&lesson.id), lesson.questions().len());
    if total > 0 && right >= total {
        "done".into()
    } else if b.store.lesson(&lesson.id).is_some() {
        format!("{right}/{total}")
    } else {
        "–".into()
    }
}

fn list(b: &Browser, theme: Theme, area: Rect, buf: &mut Buffer) {
    let done = b.lessons.iter().filter(|l| progress(b, l) == "done").count();
    let right = format!("{done} of {} lessons done ", b.lessons.len());
    let left = " mpisim · lessons";
    let pad = (area.width as usize).saturating_sub(left.chars().count() + right.chars().count());
    Paragraph::new(Line::from(vec![Span::styled(left, theme.title()), Span::raw(" ".repeat(pad)), Span::raw(right)]))
        .render(line_at(area, 0), buf);
    let header = format!("  {:>2}  {:<50} {:>5}  {:>8}", "#", "lesson", "steps", "answered");
    Paragraph::new(Line::styled(header, theme.dim())).render(line_at(area, 1), buf);
    // The rows, then the selected lesson's objectives under them.
    let about = 5.min(area.height.saturating_sub(4));
    let rows = area.height.saturating_sub(3 + about) as usize;
    let scroll = b.selected.saturating_sub(rows.saturating_sub(1));
    for (i, l) in b.lessons.iter().enumerate().skip(scroll).take(rows) {
        let mark = if i == b.selected { "▶" } else { " " };
        let title: String = l.title.chars().take(50).collect();
        let text = format!("{mark} {:>2}  {title:<50} {:>5}  {:>8}", l.order, l.steps.len(), progress(b, l));
        let style = if i == b.selected { theme.selected() } else { Style::new() };
        Paragraph::new(Line::styled(text, style)).render(line_at(area, 2 + (i - scroll) as u16), buf);
    }
    let top = 2 + rows as u16;
    let mut lines: Vec<Line> = Vec::new();
    if let Some(l) = b.lessons.get(b.selected) {
        lines.push(Line::styled(format!(" {} (mpisim lesson {})", l.title, l.id), theme.title()));
        for o in &l.objectives {
            for w in wrap(o, area.width.saturating_sub(2) as usize, " · ", "   ").lines() {
                lines.push(Line::raw(w.to_string()));
            }
        }
    }
    for e in &b.errors {
        lines.push(Line::styled(format!(" {e}"), theme.alert()));
    }
    Paragraph::new(lines).render(Rect::new(area.x, area.y + top, area.width, about), buf);
    footer(
        b,
        &[("↑↓", "select"), ("Enter", "open"), ("?", "help"), ("q", "quit")],
        theme,
        line_at(area, area.height.saturating_sub(1)),
        buf,
    );
}

fn footer(b: &Browser, hints: &[(&str, &str)], theme: Theme, area: Rect, buf: &mut Buffer) {
    let line = match &b.notice {
        Some(n) => Line::styled(format!(" {n}"), theme.alert()),
        None => {
            let mut spans = vec![Span::raw(" ")];
            for (key, what) in hints {
                spans.push(Span::styled(*key, theme.key()));
                spans.push(Span::raw(format!(" {what}  ")));
            }
            Line::from(spans)
        }
    };
    Paragraph::new(line).render(area, buf);
}

/// A line of lesson text, with `code` spans styled (the backticks stay, so the spans read
/// without colour too); `code` says whether the line starts inside a span.
fn styled(text: &str, code: &mut bool, theme: Theme) -> Line<'static> {
    let mut spans = Vec::new();
    let mut piece = String::new();
    for c in text.chars() {
        if c == '`' {
            if *code {
                piece.push(c);
                spans.push(Span::styled(std::mem::take(&mut piece), theme.key()));
            } else {
                spans.push(Span::raw(std::mem::take(&mut piece)));
                piece.push(c);
            }
            *code = !*code;
        } else {
            piece.push(c);
        }
    }
    spans.push(if *code { Span::styled(piece, theme.key()) } else { Span::raw(piece) });
    Line::from(spans)
}

fn paragraph_lines(text: &str, width: usize, first: &str, rest: &str, theme: Theme, out: &mut Vec<Line<'static>>) {
    let mut code = false;
    for l in wrap(text, width, first, rest).lines() {
        out.push(styled(l, &mut code, theme));
    }
}

fn lesson(b: &Browser, s: &LessonScreen, theme: Theme, area: Rect, buf: &mut Buffer) {
    let lesson = &b.lessons[s.lesson];
    let step = &lesson.steps[s.step];
    let title = format!(
        " Lesson {}: {} · step {}/{}: {}",
        lesson.order,
        lesson.title,
        s.step + 1,
        lesson.steps.len(),
        step.title
    );
    Paragraph::new(Line::styled(title, theme.title())).render(line_at(area, 0), buf);
    // What runs and how it ended, and the viewer's cursor.
    let app = &s.app;
    let (word, style) = super::outcome_word(app, theme);
    let shown = s.variant.as_ref().map_or(&step.run, |v| &v.spec);
    let rerun = if s.variant.is_some() { "re-run: " } else { "" };
    let state = status(app);
    let left = vec![Span::raw(format!(" {rerun}{} · ", shown.command())), Span::styled(word, style)];
    let used: usize = left.iter().map(|sp| sp.width()).sum();
    let mut spans = left;
    // The cursor's place goes at the right if it fits beside the run.
    if used + state.chars().count() + 2 <= area.width as usize {
        spans.push(Span::raw(" ".repeat(area.width as usize - used - state.chars().count() - 1)));
        spans.push(Span::styled(format!("{state} "), theme.dim()));
    }
    Paragraph::new(Line::from(spans)).render(line_at(area, 1), buf);

    let body = Rect::new(area.x, area.y + 2.min(area.height), area.width, area.height.saturating_sub(3));
    let left = Rect::new(body.x, body.y, TEXT_WIDTH.min(body.width), body.height);
    text_pane(b, s, theme, left, buf);
    crate::view::render(app, theme, area, buf);

    let hints: &[(&str, &str)] = &[
        ("N/P", "step"),
        ("a-e", "answer"),
        ("Enter", "type"),
        ("r", "re-run"),
        (".", "look"),
        ("?", "keys"),
        ("Esc", "lessons"),
    ];
    let footer_area = line_at(area, area.height.saturating_sub(1));
    match &s.input {
        Some(input) => {
            let (label, text, tail) = match input {
                Input::Answer(t) => (" answer: ", t, "  Enter · Esc".to_string()),
                Input::Rerun(t) => (
                    " re-run with: ",
                    t,
                    if step.suggestions.is_empty() { "  Enter · Esc" } else { "  Enter · Tab: try · Esc" }.to_string(),
                ),
            };
            let line = Line::from(vec![
                Span::styled(label, theme.title()),
                Span::raw(format!("{text}█")),
                Span::styled(tail, theme.dim()),
            ]);
            Paragraph::new(line).render(footer_area, buf);
        }
        None => footer(b, hints, theme, footer_area, buf),
    }
}

fn text_pane(b: &Browser, s: &LessonScreen, theme: Theme, area: Rect, buf: &mut Buffer) {
    let block = Block::default().borders(Borders::RIGHT).border_style(theme.dim());
    let inner = block.inner(area);
    block.render(area, buf);
    let width = inner.width.saturating_sub(1).max(8) as usize;
    let lesson = &b.lessons[s.lesson];
    let step = &lesson.steps[s.step];

    // The question at the bottom, as tall as it needs (up to half the pane).
    let mut q_lines: Vec<Line> = Vec::new();
    if let Some(q) = step.questions.get(s.question) {
        let n = step.questions.len();
        let answered = b.store.answer(&lesson.id, s.step, s.question);
        let mark = match answered {
            Some(a) if a.correct => " ✓",
            Some(_) => " ✗",
            None => "",
        };
        let others = if n > 1 { " (o: next)" } else { "" };
        q_lines.push(Line::styled(format!("Question {}/{n}{mark}{others}", s.question + 1), theme.title()));
        paragraph_lines(&q.ask, width, "", "", theme, &mut q_lines);
        for (i, c) in q.choices().iter().enumerate() {
            paragraph_lines(c, width, &format!(" {}) ", (b'a' + i as u8) as char), "    ", theme, &mut q_lines);
        }
        if let Some(p) = q.typed_prompt() {
            q_lines.push(Line::styled(format!("Enter, then type {p}"), theme.dim()));
        }
        if let Some(v) = &s.verdict {
            let (sign, style) = if v.correct { ("✓ ", theme.good()) } else { ("✗ ", theme.alert()) };
            let text = wrap(&v.feedback, width, sign, "  ");
            for l in text.lines() {
                q_lines.push(Line::styled(l.to_string(), style));
            }
        }
    } else {
        q_lines.push(Line::styled("No question here: N for the next step", theme.dim()));
    }
    let q_height = (q_lines.len() as u16).min(inner.height / 2 + 2).min(inner.height);
    let q_area = Rect::new(inner.x, inner.y + inner.height - q_height, inner.width, q_height);

    let mut lines: Vec<Line> = Vec::new();
    for p in &step.text {
        paragraph_lines(p, width, "", "", theme, &mut lines);
        lines.push(Line::raw(""));
    }
    if let Some(code) = &step.mpi4py {
        lines.push(Line::styled("In mpi4py:", theme.dim()));
        for l in code.lines() {
            lines.push(Line::styled(format!("  {l}"), theme.key()));
        }
        lines.push(Line::raw(""));
    }
    match &s.pointer {
        Ok(p) => paragraph_lines(&format!("Look at {}.", p.what), width, "", "", theme, &mut lines),
        Err(e) => paragraph_lines(e, width, "", "", theme, &mut lines),
    }
    for (label, query) in &step.table {
        let value = query.eval(&s.runs[s.step], &s.runs[..s.step]).map(|v| query.show(&v));
        let text = format!("{label}: {}", value.unwrap_or_else(|e| e.to_string()));
        paragraph_lines(&text, width, " ", "   ", theme, &mut lines);
    }
    let text_height = inner.height.saturating_sub(q_height + 1);
    let scroll = s.scroll.min((lines.len() as u16).saturating_sub(text_height));
    let more = lines.len() as u16 > scroll + text_height;
    let shown = if more { text_height.saturating_sub(1) } else { text_height };
    Paragraph::new(lines).scroll((scroll, 0)).render(Rect::new(inner.x, inner.y, inner.width, shown), buf);
    if more && text_height > 0 {
        let marker = Line::styled("… more: J scrolls down, K up", theme.dim());
        Paragraph::new(marker).render(Rect::new(inner.x, inner.y + shown, inner.width, 1), buf);
    }
    Paragraph::new(q_lines).render(q_area, buf);
}
