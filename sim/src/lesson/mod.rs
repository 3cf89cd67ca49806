//! Lessons: teaching material as data. A lesson is a RON file (see `lessons/` at the
//! repository root) of steps; each step has short paragraphs of text, the catalogue program
//! it runs ([`RunSpec`]), where in that run to look ([`LookAt`]), an optional mpi4py snippet
//! in the lecture's language, and questions.
//!
//! A question's answer is never written in the file: it is a [`Query`] evaluated on the
//! step's run (its outcome, virtual time, deadlock cycle, a rank's result, a collective's
//! closed-form time, …), so a lesson stays right when the cost model changes, and
//! [`check`] proves every answer computable and every multiple-choice question to have
//! exactly one right choice on the run.
//!
//! ```
//! let text = r#"Lesson(schema: 1, id: "tiny", order: 1, title: "Tiny", objectives: ["see a ring"],
//!     steps: [Step(title: "Eight bytes", text: ["The ring completes."],
//!         run: Run(program: "ring", ranks: 4, params: {"bytes": 8}),
//!         questions: [Question(ask: "How does it end?", answer: Outcome, kind: Choice([
//!             Choice(text: "It completes", value: "completed", feedback: ""),
//!             Choice(text: "It deadlocks", value: "deadlock", feedback: "Read the title line."),
//!         ]))])])"#;
//! let lesson = mpisim::lesson::Lesson::from_ron(text, "tiny.ron").unwrap();
//! let report = mpisim::lesson::check(&lesson);
//! assert!(report.problems.is_empty(), "{:?}", report.problems);
//! ```

mod check;
pub mod closed_form;
mod handout;
mod look;
mod query;
mod run;

pub use check::{check, CheckReport, Problem};
pub use handout::{handout, wrap};
pub use look::{LookAt, LookError, Pointer};
pub use query::{Query, QueryError, Value};
pub use run::{RunSpec, StepRun};

use serde::{Deserialize, Deserializer};
use std::fmt;

/// Version of the lesson file format; a file names the one it is written for.
pub const LESSON_SCHEMA: u32 = 1;

/// One lesson: a topic of the course, in steps.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, try_from = "RawLesson")]
pub struct Lesson {
    /// Short name, as `mpisim lesson NAME` takes it (`ring-hang`).
    pub id: String,
    /// Place in the course: lessons are listed by it.
    pub order: u32,
    /// Title, as the list shows it.
    pub title: String,
    /// What a student can do after it, one sentence each.
    pub objectives: Vec<String>,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename = "Lesson")]
struct RawLesson {
    schema: Schema,
    id: String,
    order: u32,
    title: String,
    #[serde(default)]
    objectives: Vec<String>,
    steps: Vec<Step>,
}

impl TryFrom<RawLesson> for Lesson {
    type Error = String;

    fn try_from(raw: RawLesson) -> Result<Lesson, String> {
        let _ = raw.schema;
        if raw.id.is_empty() || !raw.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            return Err(format!(
                "lesson id `{}` must be lower-case letters, digits and dashes (it is typed as `mpisim lesson ID`)",
                raw.id
            ));
        }
        if raw.steps.is_empty() {
            return Err(format!("lesson `{}` has no steps; give at least one Step(...)", raw.id));
        }
        // A step may ask about an earlier step's run, never a later one (runs happen in order).
        for (i, step) in raw.steps.iter().enumerate() {
            for (q, question) in step.questions.iter().enumerate() {
                question.answer.check_steps(i + 1).map_err(|e| format!("step {} question {}: {e}", i + 1, q + 1))?;
            }
            for row in &step.table {
                row.1.check_steps(i + 1).map_err(|e| format!("step {} table row `{}`: {e}", i + 1, row.0))?;
            }
        }
        Ok(Lesson { id: raw.id, order: raw.order, title: raw.title, objectives: raw.objectives, steps: raw.steps })
    }
}

/// The `schema` field: only [`LESSON_SCHEMA`] is read.
struct Schema;

impl<'de> Deserialize<'de> for Schema {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Schema, D::Error> {
        let n = u32::deserialize(d)?;
        if n == LESSON_SCHEMA {
            Ok(Schema)
        } else {
            Err(serde::de::Error::custom(format!(
                "this mpisim reads lesson schema {LESSON_SCHEMA}, the file is schema {n}; \
                 update mpisim or write the file for schema {LESSON_SCHEMA}"
            )))
        }
    }
}

/// One step of a lesson: text, a run, where to look, and questions on the run.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, try_from = "RawStep")]
pub struct Step {
    /// Title of the step.
    pub title: String,
    /// Short paragraphs; `code` spans are between backticks.
    pub text: Vec<String>,
    /// The same thing in the lecture's language (mpi4py), if the step has it.
    pub mpi4py: Option<String>,
    /// The run the step shows.
    pub run: RunSpec,
    /// Where in the run the student should look first.
    pub look_at: LookAt,
    /// Questions answered from the run.
    pub questions: Vec<Question>,
    /// Flags to try when re-running the step (`--bytes 1MiB`, `--strict`).
    pub suggestions: Vec<String>,
    /// A small table of facts of this and earlier runs: `(label, query)` rows.
    pub table: Vec<(String, Query)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename = "Step")]
struct RawStep {
    title: String,
    text: Vec<String>,
    #[serde(default)]
    mpi4py: Option<String>,
    run: RunSpec,
    #[serde(default)]
    look_at: LookAt,
    #[serde(default)]
    questions: Vec<Question>,
    #[serde(default, rename = "try")]
    suggestions: Vec<String>,
    #[serde(default)]
    table: Vec<(String, Query)>,
}

impl TryFrom<RawStep> for Step {
    type Error = String;

    fn try_from(raw: RawStep) -> Result<Step, String> {
        let ranks = raw.run.ranks();
        let at = |what: String| format!("step `{}`: {what}", raw.title);
        for s in &raw.suggestions {
            raw.run.with_flags(s).map_err(|e| at(format!("try `{s}`: {e}")))?;
        }
        raw.look_at.check(ranks).map_err(|e| at(format!("look_at: {e}")))?;
        for (i, q) in raw.questions.iter().enumerate() {
            q.check(ranks).map_err(|e| at(format!("question {} (`{}`): {e}", i + 1, q.ask)))?;
        }
        for (label, query) in &raw.table {
            query.check(ranks).map_err(|e| at(format!("table row `{label}`: {e}")))?;
        }
        Ok(Step {
            title: raw.title,
            text: raw.text,
            mpi4py: raw.mpi4py.map(|s| s.trim_matches('\n').to_string()),
            run: raw.run,
            look_at: raw.look_at,
            questions: raw.questions,
            suggestions: raw.suggestions,
            table: raw.table,
        })
    }
}

/// A question on a step's run.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// The question, as the student reads it.
    pub ask: String,
    /// The query whose value on the run is the answer.
    pub answer: Query,
    /// How the student answers.
    pub kind: Kind,
    /// Said after a wrong answer to a number, rank or yes/no question: where to look.
    #[serde(default)]
    pub hint: Option<String>,
    /// Said once the answer is right: why.
    #[serde(default)]
    pub explain: Option<String>,
}

/// How a question is answered.
#[derive(Clone, Debug, Deserialize)]
pub enum Kind {
    /// Pick one; exactly one choice's value equals the answer on the run.
    Choice(Vec<Choice>),
    /// Type a number, within `tolerance` (relative: 0.05 is 5 %) of the answer, in `unit`
    /// (`ns`, `µs`, `ms`, `s`, `B`, `KiB`, `MiB`) if the answer is a time or a size.
    Number {
        /// The unit the student answers in.
        #[serde(default)]
        unit: Option<String>,
        /// Relative tolerance; 0 asks for the exact value.
        #[serde(default)]
        tolerance: f64,
    },
    /// Type a rank.
    Rank,
    /// Yes or no; the answer is a yes/no query.
    YesNo,
}

/// One choice of a multiple-choice question.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    /// What the student reads.
    pub text: String,
    /// The value this choice stands for, compared with the answer on the run.
    pub value: Value,
    /// Said when the student picks it and it is wrong: what to look at instead.
    pub feedback: String,
}

/// What a student gave: a choice (0-based) or typed text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Given {
    /// The index of a choice (yes/no: 0 is yes, 1 is no).
    Choice(usize),
    /// Typed text: a number, a rank.
    Typed(String),
}

/// Whether a given answer is right, and what to tell the student.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Right or wrong.
    pub correct: bool,
    /// Feedback for people.
    pub feedback: String,
}

impl Question {
    /// The choices a student picks from (yes/no questions have two), empty for typed answers.
    pub fn choices(&self) -> Vec<String> {
        match &self.kind {
            Kind::Choice(choices) => choices.iter().map(|c| c.text.clone()).collect(),
            Kind::YesNo => vec!["yes".into(), "no".into()],
            Kind::Number { .. } | Kind::Rank => Vec::new(),
        }
    }

    /// What the student should type, for a typed answer: `a number in µs`, `a rank`.
    pub fn typed_prompt(&self) -> Option<String> {
        match &self.kind {
            Kind::Number { unit: Some(u), .. } => Some(format!("a number in {u}")),
            Kind::Number { unit: None, .. } => Some("a number".into()),
            Kind::Rank => Some("a rank".into()),
            Kind::Choice(_) | Kind::YesNo => None,
        }
    }

    /// Judges `given` against the answer's value on the run.
    pub fn grade(&self, answer: &Value, given: &Given) -> Verdict {
        let right = |extra: &str| Verdict {
            correct: true,
            feedback: match &self.explain {
                Some(e) => format!("Right{extra}. {e}"),
                None => format!("Right{extra}."),
            },
        };
        let wrong = |feedback: String| Verdict { correct: false, feedback };
        let hint = || self.hint.clone().unwrap_or_else(|| "Look at the run again.".into());
        match (&self.kind, given) {
            (Kind::Choice(choices), Given::Choice(i)) => match choices.get(*i) {
                Some(c) if c.value.same(answer) => right(""),
                Some(c) => wrong(c.feedback.clone()),
                None => wrong(format!("there are only {} choices", choices.len())),
            },
            (Kind::YesNo, Given::Choice(i)) if *i < 2 => {
                if Value::Bool(*i == 0).same(answer) {
                    right("")
                } else {
                    wrong(hint())
                }
            }
            (Kind::Number { unit, tolerance }, Given::Typed(text)) => {
                let Some(n) = query::parse_number(text, unit.as_deref()) else {
                    return wrong(format!("`{}` is not a number{}", text.trim(), unit_words(unit.as_deref())));
                };
                let Value::Number(want) = answer else { return wrong(hint()) };
                let want = query::in_unit(*want, unit.as_deref());
                if query::close(n, want, *tolerance) {
                    right(&format!(": {}", Value::Number(want)))
                } else {
                    wrong(hint())
                }
            }
            (Kind::Rank, Given::Typed(text)) => match text.trim().parse::<usize>() {
                Ok(r) if Value::Number(r as f64).same(answer) => right(""),
                Ok(_) => wrong(hint()),
                Err(_) => wrong(format!("`{}` is not a rank: type a number like 0 or 3", text.trim())),
            },
            _ => wrong(match self.typed_prompt() {
                Some(p) => format!("type {p}, then Enter"),
                None => "pick one of the choices".into(),
            }),
        }
    }

    /// Checks what can be checked before the run: ranks the question names exist, choice
    /// values can be values of the query, typed answers have a hint.
    fn check(&self, ranks: usize) -> Result<(), String> {
        self.answer.check(ranks)?;
        match &self.kind {
            Kind::Choice(choices) => {
                if choices.len() < 2 {
                    return Err("a multiple-choice question needs at least two choices".into());
                }
                if choices.len() > 5 {
                    return Err("a multiple-choice question has at most five choices (a to e)".into());
                }
                if let Some(domain) = self.answer.domain() {
                    for c in choices {
                        match &c.value {
                            Value::Text(t) if domain.contains(&t.as_str()) => {}
                            v => {
                                return Err(format!(
                                    "choice `{}` has value {v}, which {} never gives; it gives one of {}",
                                    c.text,
                                    self.answer.name(),
                                    domain.join(", ")
                                ))
                            }
                        }
                    }
                }
            }
            Kind::Number { unit, tolerance } => {
                if let Some(u) = unit {
                    if query::unit_scale(u).is_none() {
                        return Err(format!("unit `{u}` is not one of {}", query::UNITS.join(", ")));
                    }
                }
                if !(tolerance.is_finite() && *tolerance >= 0.0) {
                    return Err(format!("tolerance {tolerance} must be 0 or more (0.05 is 5 %)"));
                }
            }
            Kind::Rank | Kind::YesNo => {}
        }
        if !matches!(self.kind, Kind::Choice(_)) && self.hint.is_none() {
            return Err("a question answered by typing or yes/no needs a `hint` for wrong answers".into());
        }
        Ok(())
    }
}

fn unit_words(unit: Option<&str>) -> String {
    unit.map_or(String::new(), |u| format!(" (answer in {u})"))
}

/// Why a lesson file could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LessonError {
    /// The file (or another name of the text).
    pub origin: String,
    /// 1-based line and column, where the parser stopped.
    pub position: Option<(usize, usize)>,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for LessonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, col)) => write!(f, "{}:{line}:{col}: {}", self.origin, self.message),
            None => write!(f, "{}: {}", self.origin, self.message),
        }
    }
}

impl std::error::Error for LessonError {}

impl Lesson {
    /// Parses a lesson from RON text; `origin` names it in errors, which give the line and
    /// column where reading stopped and what was expected there. `Some(..)` may be left out
    /// around optional values.
    pub fn from_ron(text: &str, origin: &str) -> Result<Lesson, LessonError> {
        ron_options().from_str(text).map_err(|e| LessonError {
            origin: origin.to_string(),
            position: Some((e.position.line, e.position.col)),
            message: e.code.to_string(),
        })
    }

    /// Reads a lesson file.
    pub fn load(path: &std::path::Path) -> Result<Lesson, LessonError> {
        let origin = path.display().to_string();
        let text = crate::input::read_capped(path, crate::input::LESSON_CAP).map_err(|e| LessonError {
            origin: origin.clone(),
            position: None,
            message: format!("cannot read: {e}"),
        })?;
        Lesson::from_ron(&text, &origin)
    }

    /// Every question of the lesson as `(step, question)` indices, in order.
    pub fn questions(&self) -> Vec<(usize, usize)> {
        (0..self.steps.len()).flat_map(|s| (0..self.steps[s].questions.len()).map(move |q| (s, q))).collect()
    }
}

/// How lesson files are read: `Some(..)` may be left out around optional values.
pub(crate) fn ron_options() -> ron::Options {
    ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
}

/// The name of a call as a lesson gives it (`MPI_Bcast`, `bcast`, `Send_init`).
pub(crate) fn call_kind(name: &str) -> Result<crate::CallKind, UnknownCall> {
    let lower = name.trim().to_ascii_lowercase();
    let short = lower.strip_prefix("mpi_").unwrap_or(&lower);
    serde_json::from_value(serde_json::Value::String(short.to_string()))
        .map_err(|_| UnknownCall { name: name.to_string() })
}

/// A lesson names a call that mpisim does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnknownCall {
    /// The name as the lesson gives it.
    pub name: String,
}

impl fmt::Display for UnknownCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not an MPI call mpisim knows (e.g. MPI_Send, MPI_Bcast, MPI_Waitall)", self.name)
    }
}

impl std::error::Error for UnknownCall {}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
// A lesson of one step.
Lesson(
    schema: 1,
    id: "ring-test",
    order: 3,
    title: "The ring",
    objectives: ["See the ring hang"],
    steps: [
        Step(
            title: "One mebibyte",
            text: ["Every rank sends `1 MiB` first."],
            mpi4py: "comm.send(data, dest=right)",
            run: Run(program: "ring", ranks: 4, params: {"bytes": "1MiB"}),
            look_at: FirstBlocked,
            questions: [
                Question(ask: "How does it end?", answer: Outcome, kind: Choice([
                    Choice(text: "It completes", value: "completed", feedback: "Read the title."),
                    Choice(text: "It deadlocks", value: "deadlock", feedback: ""),
                ])),
                Question(ask: "Which rank blocks first?", answer: FirstBlocked, kind: Rank, hint: "Step back."),
            ],
            try: ["--order parity", "--bytes 8"],
        ),
    ],
)"#;

    #[test]
    fn a_lesson_parses() {
        let lesson = Lesson::from_ron(GOOD, "t.ron").unwrap();
        assert_eq!((lesson.id.as_str(), lesson.order, lesson.steps.len()), ("ring-test", 3, 1));
        let step = &lesson.steps[0];
        assert_eq!(step.run.command(), "ring -n 4 --bytes 1MiB");
        assert_eq!(step.mpi4py.as_deref(), Some("comm.send(data, dest=right)"));
        assert_eq!(lesson.questions(), vec![(0, 0), (0, 1)]);
    }

    #[track_caller]
    fn error_of(text: &str) -> String {
        Lesson::from_ron(text, "bad.ron").map(|_| ()).unwrap_err().to_string()
    }

    #[test]
    fn malformed_files_give_line_and_column_and_what_was_expected() {
        let cases = [
            (GOOD.replace("title: \"The ring\",", "title: \"The ring\""), "bad.ron:8:5: Expected comma"),
            (GOOD.replace("schema: 1", "schema: 7"), "lesson schema 1, the file is schema 7"),
            (GOOD.replace("ring\", ranks", "rings\", ranks"), "unknown program `rings`"),
            (GOOD.replace("{\"bytes\"", "{\"colour\""), "has no parameter --colour"),
            (GOOD.replace("ranks: 4", "ranks: 1"), "needs at least 2 ranks"),
            (GOOD.replace("answer: Outcome", "answer: Outcomes"), "Outcomes"),
            (GOOD.replace("value: \"deadlock\"", "value: \"deadlocked\""), "which Outcome never gives"),
            (GOOD.replace(", hint: \"Step back.\"", ""), "needs a `hint`"),
            (GOOD.replace("--order parity", "--order sideways"), "`sideways` is not one of"),
            (GOOD.replace("order: 3,", "order: 3, colour: 1,"), "colour"),
            (GOOD.replace("FirstBlocked,\n", "Rank(9),\n"), "rank 9, but the run has 4 ranks"),
        ];
        for (text, want) in cases {
            let err = error_of(&text);
            assert!(err.contains(want), "expected {want:?} in: {err}");
            assert!(err.starts_with("bad.ron:"), "{err}");
        }
        let err = error_of(&GOOD.replace("title: \"The ring\",", "title: \"The ring\""));
        assert!(err.contains("Expected"), "says what was expected: {err}");
    }

    #[test]
    fn answers_are_graded_against_the_runs_value() {
        let lesson = Lesson::from_ron(GOOD, "t.ron").unwrap();
        let q = &lesson.steps[0].questions;
        let deadlock = Value::Text("deadlock".into());
        assert!(q[0].grade(&deadlock, &Given::Choice(1)).correct);
        let wrong = q[0].grade(&deadlock, &Given::Choice(0));
        assert_eq!((wrong.correct, wrong.feedback.as_str()), (false, "Read the title."));
        assert!(q[1].grade(&Value::Number(0.0), &Given::Typed(" 0 ".into())).correct);
        assert_eq!(q[1].grade(&Value::Number(0.0), &Given::Typed("2".into())).feedback, "Step back.");
        assert!(q[1].grade(&Value::Number(0.0), &Given::Typed("zero".into())).feedback.contains("is not a rank"));
    }

    #[test]
    fn call_names_are_read_as_mpi_writes_them() {
        assert_eq!(call_kind("MPI_Bcast"), Ok(crate::CallKind::Bcast));
        assert_eq!(call_kind("send_init"), Ok(crate::CallKind::SendInit));
        let unknown = call_kind("MPI_Frobnicate").unwrap_err();
        assert_eq!(unknown.name, "MPI_Frobnicate");
        assert!(unknown.to_string().contains("not an MPI call"), "{unknown}");
    }
}
