//! A lesson as plain text with its runs' reports (`mpisim lesson NAME --text`): for a
//! pipe, a printed handout, or a reader without a terminal UI. The answers, taken from the
//! runs, come last.

use super::check::{letter, CheckReport};
use super::query::Value;
use super::{Kind, Lesson};
use std::fmt::Write;

/// The text of `lesson`, with the runs and answers `report` holds (from [`super::check`]).
pub fn handout(lesson: &Lesson, report: &CheckReport) -> String {
    let mut out = String::new();
    let title = format!("Lesson {}: {}", lesson.order, lesson.title);
    let _ = writeln!(out, "{title}\n{}", "=".repeat(title.chars().count()));
    if !lesson.objectives.is_empty() {
        let _ = writeln!(out, "\nYou will:");
        for o in &lesson.objectives {
            out += &wrap(o, 78, "  - ", "    ");
        }
    }
    let steps = lesson.steps.len();
    for (s, (step, run)) in lesson.steps.iter().zip(&report.runs).enumerate() {
        let heading = format!("Step {}/{steps}: {}", s + 1, step.title);
        let _ = writeln!(out, "\n{heading}\n{}", "-".repeat(heading.chars().count()));
        for p in &step.text {
            out.push('\n');
            out += &wrap(p, 78, "", "");
        }
        if let Some(code) = &step.mpi4py {
            let _ = writeln!(out, "\nIn mpi4py:\n");
            for line in code.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
        let _ = writeln!(out, "\n$ mpisim run {}", step.run.command());
        for line in run.report().lines() {
            let _ = writeln!(out, "  {line}");
        }
        if let Ok(p) = step.look_at.resolve(run) {
            let _ = writeln!(out, "\nLook at {} (event {} of {}).", p.what, p.cursor, run.timeline.event_count);
        }
        if !step.table.is_empty() {
            out.push('\n');
            let width = step.table.iter().map(|(l, _)| l.chars().count()).max().unwrap_or(0);
            for (label, query) in &step.table {
                let value = match query.eval(run, &report.runs[..s]) {
                    Ok(v) => query.show(&v),
                    Err(e) => format!("(cannot be computed: {e})"),
                };
                let _ = writeln!(out, "  {label:<width$}  {value}");
            }
        }
        if !step.questions.is_empty() {
            let _ = writeln!(out, "\nQuestions:");
            for (q, question) in step.questions.iter().enumerate() {
                out += &wrap(&question.ask, 78, &format!("  {}. ", q + 1), "     ");
                for (i, choice) in question.choices().iter().enumerate() {
                    out += &wrap(choice, 78, &format!("     {}) ", letter(i)), "        ");
                }
                if let Some(p) = question.typed_prompt() {
                    let _ = writeln!(out, "     (answer with {p})");
                }
            }
        }
        if !step.suggestions.is_empty() {
            let _ = writeln!(out, "\nTry:");
            for flags in &step.suggestions {
                let command = step.run.with_flags(flags).map(|r| r.command()).unwrap_or_else(|e| e);
                let _ = writeln!(out, "  mpisim run {command}");
            }
        }
    }
    if report.questions() > 0 {
        let _ = writeln!(out, "\nAnswers (from the runs)\n-----------------------");
        for (s, step) in lesson.steps.iter().enumerate() {
            for (q, question) in step.questions.iter().enumerate() {
                let answer = match &report.answers[s][q] {
                    Ok(v) => answer_text(question, v),
                    Err(e) => format!("cannot be computed: {e}"),
                };
                let mut line = format!("step {}, question {}: {answer}", s + 1, q + 1);
                if let Some(e) = &question.explain {
                    line += &format!(". {e}");
                }
                out += &wrap(&line, 78, "  ", "    ");
            }
        }
    }
    out
}

/// How the answer reads: the right choice, or the value in the question's unit.
fn answer_text(question: &super::Question, value: &Value) -> String {
    match &question.kind {
        Kind::Choice(choices) => match choices.iter().position(|c| c.value.same(value)) {
            Some(i) => format!("{}) {}", letter(i), choices[i].text),
            None => format!("no choice matches the run's {value}"),
        },
        Kind::Number { unit: Some(u), .. } => match value {
            Value::Number(n) => format!("{} {u}", Value::Number(super::query::in_unit(*n, Some(u)))),
            v => v.to_string(),
        },
        _ => question.answer.show(value),
    }
}

/// `text` wrapped at `width` columns; the first line starts with `first`, the rest with
/// `rest`. Words longer than a line stay whole. Every line ends with a newline.
pub fn wrap(text: &str, width: usize, first: &str, rest: &str) -> String {
    let mut out = String::new();
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.chars().count() + 1 + word.chars().count() > width {
            out += line.trim_end();
            out.push('\n');
            line = rest.to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line += word;
        empty = false;
    }
    out += line.trim_end();
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_wrap_at_the_width() {
        assert_eq!(wrap("one two three four", 9, "- ", "  "), "- one two\n  three\n  four\n");
        assert_eq!(wrap("", 9, "- ", "  "), "-\n");
    }
}
