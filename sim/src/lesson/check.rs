//! `lesson check`: runs every step of a lesson, resolves its pointer, evaluates every
//! answer and table row, and proves each question answerable: a multiple-choice question
//! has exactly one right choice on the run, a number is a number, a rank is a rank.

use super::query::{QueryError, Value};
use super::run::StepRun;
use super::{Kind, Lesson};

/// Something wrong with a lesson that only its runs show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The step (1-based).
    pub step: usize,
    /// The question (1-based), if the problem is in one.
    pub question: Option<usize>,
    /// What is wrong and what to do.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.question {
            Some(q) => write!(f, "step {} question {q}: {}", self.step, self.message),
            None => write!(f, "step {}: {}", self.step, self.message),
        }
    }
}

/// What checking a lesson found, with its runs and answers for whoever shows them.
#[derive(Debug)]
pub struct CheckReport {
    /// Each step's run, in order.
    pub runs: Vec<StepRun>,
    /// Each step's answers, one per question, in order.
    pub answers: Vec<Vec<Result<Value, QueryError>>>,
    /// Everything wrong; empty if the lesson is sound.
    pub problems: Vec<Problem>,
}

impl CheckReport {
    /// How many questions the lesson asks.
    pub fn questions(&self) -> usize {
        self.answers.iter().map(Vec::len).sum()
    }
}

/// Runs and checks every step of `lesson`.
pub fn check(lesson: &Lesson) -> CheckReport {
    let mut report = CheckReport { runs: Vec::new(), answers: Vec::new(), problems: Vec::new() };
    for (s, step) in lesson.steps.iter().enumerate() {
        let run = step.run.run();
        let mut problem =
            |question: Option<usize>, message: String| report.problems.push(Problem { step: s + 1, question, message });
        if let Err(e) = step.look_at.resolve(&run) {
            problem(None, format!("look_at points at nothing on `{}`: {e}", step.run.command()));
        }
        for (label, query) in &step.table {
            if let Err(e) = query.eval(&run, &report.runs) {
                problem(None, format!("table row `{label}` cannot be computed on `{}`: {e}", step.run.command()));
            }
        }
        let mut answers = Vec::new();
        for (q, question) in step.questions.iter().enumerate() {
            let answer = question.answer.eval(&run, &report.runs);
            match &answer {
                Err(e) => problem(
                    Some(q + 1),
                    format!(
                        "the answer ({}) cannot be computed on `{}`: {e}",
                        question.answer.name(),
                        step.run.command()
                    ),
                ),
                Ok(value) => {
                    if let Err(e) = answerable(&question.kind, value, run.timeline.ranks) {
                        problem(Some(q + 1), format!("{e} (on `{}`)", step.run.command()));
                    }
                }
            }
            answers.push(answer);
        }
        report.answers.push(answers);
        report.runs.push(run);
    }
    report
}

/// Whether a question of `kind` can be answered when the run's value is `value`.
fn answerable(kind: &Kind, value: &Value, ranks: usize) -> Result<(), String> {
    match (kind, value) {
        (Kind::Choice(choices), v) => {
            let right: Vec<usize> = (0..choices.len()).filter(|&i| choices[i].value.same(v)).collect();
            let letters = |is: &[usize]| is.iter().map(|&i| letter(i).to_string()).collect::<Vec<_>>().join(", ");
            match right.len() {
                1 => {}
                0 => return Err(format!("no choice is right: the run's answer is {v}")),
                _ => {
                    return Err(format!(
                        "choices {} are all right (the run's answer is {v}); keep one",
                        letters(&right)
                    ))
                }
            }
            if let Some(i) = (0..choices.len()).find(|&i| i != right[0] && choices[i].feedback.trim().is_empty()) {
                return Err(format!(
                    "choice {} is wrong on the run and has no feedback: say what to look at",
                    letter(i)
                ));
            }
            Ok(())
        }
        (Kind::Number { .. }, Value::Number(_)) | (Kind::YesNo, Value::Bool(_)) => Ok(()),
        (Kind::Rank, Value::Number(r)) if r.fract() == 0.0 && *r >= 0.0 && (*r as usize) < ranks => Ok(()),
        (Kind::Rank, v) => Err(format!("the answer {v} is not a rank of the run (0 to {})", ranks - 1)),
        (Kind::Number { .. }, v) => Err(format!("the answer {v} is not a number; ask with Choice, or another query")),
        (Kind::YesNo, v) => Err(format!("the answer {v} is not yes or no; ask with Equal(…) or Less(…)")),
    }
}

/// `a` for the first choice.
pub(crate) fn letter(i: usize) -> char {
    (b'a' + i as u8) as char
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lesson(questions: &str) -> Lesson {
        let text = format!(
            r#"Lesson(schema: 1, id: "t", order: 1, title: "T", steps: [Step(title: "S", text: [],
                run: Run(program: "ring", ranks: 4, params: {{"bytes": 8}}), questions: [{questions}])])"#
        );
        Lesson::from_ron(&text, "t.ron").unwrap_or_else(|e| panic!("{e}"))
    }

    #[track_caller]
    fn check_problems(questions: &str, want: &[&str]) {
        let report = check(&lesson(questions));
        let got: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(got.len(), want.len(), "{got:?}");
        for (g, w) in got.iter().zip(want) {
            assert!(g.contains(w), "want {w:?} in {g:?}");
        }
    }

    #[test]
    fn sound_questions_pass() {
        check_problems(
            r#"Question(ask: "End?", answer: Outcome, kind: Choice([
                   Choice(text: "c", value: "completed", feedback: ""),
                   Choice(text: "d", value: "deadlock", feedback: "no")])),
               Question(ask: "How long?", answer: Time, kind: Number(unit: "µs", tolerance: 0.01), hint: "title"),
               Question(ask: "Who?", answer: Result(rank: 0), kind: Rank, hint: "results"),
               Question(ask: "Hazard?", answer: Hazard, kind: YesNo, hint: "warnings")"#,
            &[],
        );
    }

    #[test]
    fn unsound_questions_are_named() {
        check_problems(
            r#"Question(ask: "End?", answer: Outcome, kind: Choice([
                   Choice(text: "c", value: "completed", feedback: ""),
                   Choice(text: "c again", value: "completed", feedback: "")])),
               Question(ask: "End?", answer: Outcome, kind: Choice([
                   Choice(text: "e", value: "error", feedback: ""),
                   Choice(text: "d", value: "deadlock", feedback: "no")])),
               Question(ask: "End?", answer: Outcome, kind: Choice([
                   Choice(text: "c", value: "completed", feedback: ""),
                   Choice(text: "d", value: "deadlock", feedback: " ")])),
               Question(ask: "Cycle?", answer: Cycle, kind: Choice([
                   Choice(text: "a", value: [0, 1], feedback: "x"),
                   Choice(text: "b", value: [0, 1, 2, 3], feedback: "x")])),
               Question(ask: "Time?", answer: Hazard, kind: Number(), hint: "h"),
               Question(ask: "Who?", answer: Time, kind: Rank, hint: "h"),
               Question(ask: "Yes?", answer: Time, kind: YesNo, hint: "h")"#,
            &[
                "step 1 question 1: choices a, b are all right",
                "question 2: no choice is right: the run's answer is completed",
                "question 3: choice b is wrong on the run and has no feedback",
                "question 4: the answer (Cycle) cannot be computed on `ring -n 4 --bytes 8`: Cycle asks about a deadlock, and the run completed",
                "question 5: the answer yes is not a number",
                "question 6: the answer 1008 is not a rank of the run (0 to 3)",
                "question 7: the answer 1008 is not yes or no",
            ],
        );
    }
}
