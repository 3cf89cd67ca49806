//! Exercises graded automatically, in the manner of Rustlings: a starter program that
//! compiles but is wrong, a task, hints, and checks that a grader runs the student's
//! program under. An exercise is data: a RON file (`lessons/exercises/NAME.ron`, schema
//! [`EXERCISE_SCHEMA`]) with its starter `main.rs` beside it, embedded in the binary
//! ([`builtin`]) or loaded from a path ([`Exercise::load`]).
//!
//! A check runs the student's program once (ranks, parameters, run flags: a [`RunSpec`])
//! and expects one thing of the run ([`Expect`]): that it completes, that it has no
//! warning, that its results equal the reference's (a catalogue program run in-process),
//! that its virtual time is within k times the reference's, that it takes at most so many
//! rounds or messages, that it uses or avoids some calls. [`Exercise::grade`] evaluates
//! every check from what the runs show; how a run is made (a built binary, or the program
//! in-process) is the caller's.

mod grade;
mod rounds;

pub use grade::{Grade, ObserveError, Observed, Verdict};
pub use rounds::rounds;

use crate::call::CallKind;
use crate::catalogue::{self, Program};
use crate::platform::Platform;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// Version of the exercise file format; a file says which it was written for.
pub const EXERCISE_SCHEMA: u32 = 1;

/// An exercise, as its file describes it, with its starter program.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exercise {
    /// [`EXERCISE_SCHEMA`] of the file.
    pub schema: u32,
    /// The name `mpisim exercise start NAME` takes: lowercase letters, digits and dashes
    /// (it is also the student's cargo package).
    pub name: String,
    /// A title for people.
    pub title: String,
    /// One line on what the student does.
    pub summary: String,
    /// The starter program's file, beside the exercise file.
    pub starter: String,
    /// The task, in paragraphs of Markdown (code spans in backticks).
    pub task: String,
    /// Hints, from gentle to explicit.
    #[serde(default)]
    pub hints: Vec<String>,
    /// The catalogue program whose runs are the expected results and times.
    pub reference: Reference,
    /// What the grader checks, in order.
    pub checks: Vec<Check>,
    /// The starter program's source (read from [`Exercise::starter`], not from the RON).
    #[serde(skip)]
    pub starter_source: String,
    /// Where the exercise came from: `builtin` or the file's path.
    #[serde(skip)]
    pub origin: String,
}

/// The reference an exercise compares the student's runs with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// A catalogue program (`mpisim list` names them).
    pub program: String,
    /// Its parameters besides those of each run (a run's own win).
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

/// One check: a run of the student's program and what is expected of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// A short name, unique in the exercise: `no-deadlock`.
    pub name: String,
    /// What it checks, in words: `completes on 4 ranks with 1 MiB messages`.
    pub what: String,
    /// The run.
    pub run: RunSpec,
    /// What the run must show.
    pub expect: Expect,
    /// What to try when the check fails.
    pub hint: String,
}

/// A run of a program: ranks, parameters and run flags. The student's program and the
/// reference get the same ones.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// `-n`.
    pub ranks: usize,
    /// The program's parameters: `{"bytes": "1MiB"}`.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// `--strict`.
    #[serde(default)]
    pub strict: bool,
    /// `--platform`: a preset.
    #[serde(default)]
    pub platform: Option<String>,
    /// `--eager-limit`.
    #[serde(default)]
    pub eager_limit: Option<String>,
    /// `--algorithm COLL=NAME` for each.
    #[serde(default)]
    pub algorithms: Vec<String>,
}

/// What a check expects of its run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Expect {
    /// The run completes (every rank returns).
    Completes,
    /// The run completes with no warning: no buffering hazard, no message left unreceived,
    /// no request left incomplete.
    NoWarnings,
    /// Every rank's result equals the reference's.
    SameResults,
    /// These ranks' results equal the reference's.
    SameResultsOn(Vec<usize>),
    /// The virtual time is at most this many times the reference's.
    TimeWithin(f64),
    /// At most this many rounds, as the telephone model counts them ([`rounds`]).
    RoundsAtMost(Bound),
    /// At most this many messages.
    MessagesAtMost(Bound),
    /// No collective call: the program uses point-to-point messages only.
    NoCollectives,
    /// Every one of these calls appears in the run.
    Uses(Vec<CallKind>),
}

impl Expect {
    /// Whether evaluating it needs the reference's run.
    fn needs_reference(&self) -> bool {
        matches!(self, Expect::SameResults | Expect::SameResultsOn(_) | Expect::TimeWithin(_))
    }
}

/// A count that depends on the number of ranks p.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Bound {
    /// This many.
    Fixed(u64),
    /// p.
    Ranks,
    /// p − 1.
    RanksMinusOne,
    /// ⌈lg p⌉: a tree's depth.
    CeilLog2Ranks,
}

impl Bound {
    /// The count on `ranks` ranks.
    pub fn at(self, ranks: usize) -> u64 {
        let p = ranks as u64;
        match self {
            Bound::Fixed(n) => n,
            Bound::Ranks => p,
            Bound::RanksMinusOne => p.saturating_sub(1),
            Bound::CeilLog2Ranks => u64::from(p.max(1).next_power_of_two().trailing_zeros()),
        }
    }

    /// `⌈lg 8⌉ = 3`, `p − 1 = 7`, `3`.
    pub fn describe(self, ranks: usize) -> String {
        let n = self.at(ranks);
        match self {
            Bound::Fixed(_) => n.to_string(),
            Bound::Ranks => format!("p = {n}"),
            Bound::RanksMinusOne => format!("p − 1 = {n}"),
            Bound::CeilLog2Ranks => format!("⌈lg {ranks}⌉ = {n}"),
        }
    }
}

impl RunSpec {
    /// The run's command line: `-n 4 --bytes 1MiB --strict`, as the student's binary and
    /// `mpisim run` take it.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec!["-n".to_string(), self.ranks.to_string()];
        for (name, value) in &self.params {
            args.push(format!("--{name}"));
            args.push(value.clone());
        }
        if self.strict {
            args.push("--strict".into());
        }
        if let Some(platform) = &self.platform {
            args.extend(["--platform".to_string(), platform.clone()]);
        }
        if let Some(limit) = &self.eager_limit {
            args.extend(["--eager-limit".to_string(), limit.clone()]);
        }
        for algorithm in &self.algorithms {
            args.extend(["--algorithm".to_string(), algorithm.clone()]);
        }
        args
    }
}

impl fmt::Display for RunSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.args().join(" "))
    }
}

/// Why an exercise file cannot be used: where, and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExerciseError {
    /// The file (or `builtin NAME`).
    pub origin: String,
    /// 1-based line and column of the problem, when it has a place in the file.
    pub position: Option<(usize, usize)>,
    /// What is wrong and what to write instead.
    pub message: String,
}

impl fmt::Display for ExerciseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, column)) => write!(f, "{}:{line}:{column}: {}", self.origin, self.message),
            None => write!(f, "{}: {}", self.origin, self.message),
        }
    }
}

impl std::error::Error for ExerciseError {}

/// An exercise file and its starter as the binary carries them.
struct Embedded {
    file: &'static str,
    text: &'static str,
    starter_file: &'static str,
    starter: &'static str,
}

macro_rules! embedded {
    ($name:literal) => {
        Embedded {
            file: concat!($name, ".ron"),
            text: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../lessons/exercises/", $name, ".ron")),
            starter_file: concat!($name, ".rs"),
            starter: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../lessons/exercises/", $name, ".rs")),
        }
    };
}

/// The exercises of `lessons/exercises/`, in course order.
const EMBEDDED: &[Embedded] =
    &[embedded!("ring"), embedded!("tree-sum"), embedded!("bcast"), embedded!("task-farm"), embedded!("scatterv")];

/// The exercises that ship with mpisim, in course order. They are checked by the tests,
/// so a broken one is a bug, not a user's error.
pub fn builtin() -> Vec<Exercise> {
    EMBEDDED
        .iter()
        .map(|e| {
            Exercise::parse(e.text, &format!("lessons/exercises/{}", e.file), |file| {
                (file == e.starter_file).then(|| e.starter.to_string()).ok_or_else(|| {
                    format!("the starter of a built-in exercise must be `{}`, beside it", e.starter_file)
                })
            })
            .unwrap_or_else(|err| panic!("built-in exercise: {err}"))
        })
        .collect()
}

/// A built-in exercise by name.
pub fn find(name: &str) -> Option<Exercise> {
    builtin().into_iter().find(|e| e.name == name)
}

/// A built-in exercise by name, or an exercise file (`.ron`) with its starter beside it.
pub fn resolve(name_or_path: &str) -> Result<Exercise, ExerciseError> {
    if let Some(exercise) = find(name_or_path) {
        return Ok(exercise);
    }
    let path = Path::new(name_or_path);
    if path.extension().is_some_and(|e| e == "ron") || path.exists() {
        return Exercise::load(path);
    }
    let names: Vec<String> = builtin().into_iter().map(|e| e.name).collect();
    Err(ExerciseError {
        origin: name_or_path.to_string(),
        position: None,
        message: format!(
            "no such exercise: the built-in ones are {}; an exercise of your own is a path to its .ron file",
            names.join(", ")
        ),
    })
}

impl Exercise {
    /// Reads an exercise file and the starter beside it.
    pub fn load(path: &Path) -> Result<Exercise, ExerciseError> {
        let origin = path.display().to_string();
        let text = crate::input::read_capped(path, crate::input::LESSON_CAP).map_err(|e| ExerciseError {
            origin: origin.clone(),
            position: None,
            message: format!("cannot read the exercise file: {e}"),
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        Exercise::parse(&text, &origin, |file| {
            crate::input::read_capped(&dir.join(file), crate::input::SOURCE_CAP)
                .map_err(|e| format!("cannot read the starter program {}: {e}", dir.join(file).display()))
        })
    }

    /// Parses and checks exercise text; `origin` names it in errors, `starter` reads the
    /// starter program named in it.
    pub fn parse(
        text: &str,
        origin: &str,
        starter: impl FnOnce(&str) -> Result<String, String>,
    ) -> Result<Exercise, ExerciseError> {
        let mut exercise: Exercise = ron::from_str(text).map_err(|e| ExerciseError {
            origin: origin.to_string(),
            position: Some((e.position.line, e.position.col)),
            // RON 0.8 writes "`name`in `Type`" (and "in enum"): put the space back.
            message: format!("malformed exercise file: {}", e.code)
                .replace("`in `", "` in `")
                .replace("`in enum", "` in enum"),
        })?;
        exercise.origin = origin.to_string();
        let at = |needle: &str| locate(text, needle);
        let error = |position: Option<(usize, usize)>, message: String| ExerciseError {
            origin: origin.to_string(),
            position,
            message,
        };
        if exercise.schema != EXERCISE_SCHEMA {
            return Err(error(
                at("schema"),
                format!(
                    "schema {} is not one this mpisim reads (it reads schema {EXERCISE_SCHEMA}); write `schema: \
                     {EXERCISE_SCHEMA}` and the fields it has",
                    exercise.schema
                ),
            ));
        }
        exercise.validate().map_err(|(place, message)| {
            let position = match place {
                Place::Text(needle) => at(&needle),
                Place::Check(i) => {
                    let name = &exercise.checks[i].name;
                    let earlier = exercise.checks[..i].iter().filter(|c| &c.name == name).count();
                    locate_field(text, "name", name, earlier)
                }
            };
            error(position, message)
        })?;
        exercise.starter_source = starter(&exercise.starter).map_err(|m| error(at(&exercise.starter), m))?;
        Ok(exercise)
    }

    /// The catalogue program of the reference.
    pub fn reference_program(&self) -> &'static Program {
        catalogue::find(&self.reference.program).expect("validated when the exercise was read")
    }

    /// The reference's command line for a run: its own parameters, then the run's.
    pub fn reference_args(&self, spec: &RunSpec) -> Vec<String> {
        let mut args = Vec::new();
        for (name, value) in &self.reference.params {
            if !spec.params.contains_key(name) {
                args.extend([format!("--{name}"), value.clone()]);
            }
        }
        args.extend(spec.args());
        args
    }

    /// Checks what the RON cannot say; an error gives the place to point at and the message.
    fn validate(&self) -> Result<(), (Place, String)> {
        let quoted = |s: &str| Place::Text(format!("\"{s}\""));
        let valid_name = |n: &str| {
            n.starts_with(|c: char| c.is_ascii_lowercase())
                && n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        };
        if !valid_name(&self.name) {
            return Err((
                quoted(&self.name),
                format!(
                    "the name `{}` must be lowercase letters, digits and dashes, starting with a letter",
                    self.name
                ),
            ));
        }
        let Some(program) = catalogue::find(&self.reference.program) else {
            let names: Vec<&str> = catalogue::programs().iter().map(|p| p.name).collect();
            return Err((
                quoted(&self.reference.program),
                format!(
                    "the reference `{}` is not a catalogue program; they are {}",
                    self.reference.program,
                    names.join(", ")
                ),
            ));
        };
        if self.checks.is_empty() {
            return Err((Place::Text("checks".into()), "an exercise needs at least one check".into()));
        }
        for (i, check) in self.checks.iter().enumerate() {
            let fail = |message: String| Err((Place::Check(i), format!("check `{}`: {message}", check.name)));
            if check.name.is_empty() || self.checks[..i].iter().any(|c| c.name == check.name) {
                return fail("every check needs a name of its own".into());
            }
            if check.hint.trim().is_empty() {
                return fail("give a hint: what to try when the check fails".into());
            }
            let spec = &check.run;
            if spec.ranks == 0 || spec.ranks > 4096 {
                return fail(format!("ranks: {} is not between 1 and 4096", spec.ranks));
            }
            if let Some(platform) = spec.platform.as_deref().filter(|p| Platform::preset(p).is_none()) {
                return fail(format!("platform `{platform}` is not a preset (`mpisim platforms` lists them)"));
            }
            if let Some(name) = spec.params.keys().find(|name| !program.params.iter().any(|p| &p.name == name)) {
                return fail(format!(
                    "the reference `{}` has no parameter --{name}: a run's parameters go to the student's program \
                     and to the reference alike",
                    program.name
                ));
            }
            if let Err(e) = crate::launch::prepare(program, &self.reference_args(spec)) {
                return fail(e.to_string());
            }
            match &check.expect {
                Expect::TimeWithin(k) if !(k.is_finite() && *k > 0.0) => {
                    return fail(format!("TimeWithin({k}): the factor must be a number above 0"))
                }
                Expect::SameResultsOn(ranks) if ranks.is_empty() || ranks.iter().any(|&r| r >= spec.ranks) => {
                    return fail(format!("SameResultsOn({ranks:?}): give ranks below the run's {}", spec.ranks))
                }
                Expect::Uses(calls) if calls.is_empty() => return fail("Uses([]): name at least one call".into()),
                _ => {}
            }
        }
        Ok(())
    }

    /// The distinct runs the checks make, in the order of their first check.
    pub fn runs(&self) -> Vec<&RunSpec> {
        let mut runs: Vec<&RunSpec> = Vec::new();
        for check in &self.checks {
            if !runs.contains(&&check.run) {
                runs.push(&check.run);
            }
        }
        runs
    }
}

/// What an error in an exercise points at.
enum Place {
    /// The first occurrence of this text.
    Text(String),
    /// The name of the i-th check.
    Check(usize),
}

/// 1-based line and column of the `nth` (from 0) value `"value"` of a field `field:`.
fn locate_field(text: &str, field: &str, value: &str, nth: usize) -> Option<(usize, usize)> {
    let quoted = format!("\"{value}\"");
    let at = text
        .match_indices(&quoted)
        .map(|(at, _)| at)
        .filter(|&at| text[..at].trim_end().strip_suffix(':').is_some_and(|t| t.trim_end().ends_with(field)))
        .nth(nth)?;
    locate(text, &text[at..])
}

/// 1-based line and column of the first `needle` in `text`.
fn locate(text: &str, needle: &str) -> Option<(usize, usize)> {
    let at = text.find(needle)?;
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Some((line, column))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_follow_the_rank_count() {
        let lg: Vec<u64> = (1..=9).map(|p| Bound::CeilLog2Ranks.at(p)).collect();
        assert_eq!(lg, [0, 1, 2, 2, 3, 3, 3, 3, 4]);
        assert_eq!(Bound::RanksMinusOne.describe(8), "p − 1 = 7");
        assert_eq!(Bound::CeilLog2Ranks.describe(6), "⌈lg 6⌉ = 3");
        assert_eq!(Bound::Fixed(2).at(100), 2);
    }

    #[test]
    fn every_builtin_exercise_reads() {
        let all = builtin();
        assert!(all.len() >= 5);
        for (i, e) in all.iter().enumerate() {
            assert!(all[..i].iter().all(|o| o.name != e.name), "{} twice", e.name);
            assert!(e.starter_source.contains("fn main()"), "{}", e.name);
        }
    }

    /// Reads the ring exercise with `from` replaced by `to`, and checks the error.
    #[track_caller]
    fn check_error(from: &str, to: &str, expected: &str) {
        let text = EMBEDDED[0].text;
        assert!(text.contains(from), "{from:?} is not in ring.ron");
        let broken = text.replacen(from, to, 1);
        let seen = Exercise::parse(&broken, "ring.ron", |_| Ok(String::new())).map(|e| e.name);
        assert_eq!(seen.map_err(|e| e.to_string()), Err(expected.to_string()));
    }

    #[test]
    fn a_broken_file_is_told_with_line_and_column() {
        check_error(
            "    title:",
            "    titel:",
            "ring.ron:6:10: malformed exercise file: Unexpected field named `titel` in `Exercise`, expected one of \
             `schema`, `name`, `title`, `summary`, `starter`, `task`, `hints`, `reference`, `checks` instead",
        );
        check_error(
            "expect: Completes,",
            "expect: Finishes,",
            "ring.ron:25:29: malformed exercise file: Unexpected variant named `Finishes` in enum `Expect`, expected one \
             of `Completes`, `NoWarnings`, `SameResults`, `SameResultsOn`, `TimeWithin`, `RoundsAtMost`, \
             `MessagesAtMost`, `NoCollectives`, `Uses` instead",
        );
        check_error(
            "(ranks: 4, params",
            "(ranks: \"4\", params",
            "ring.ron:24:26: malformed exercise file: Expected integer",
        );
        check_error("    schema: 1,", "    schema: 2,", "ring.ron:4:5: schema 2 is not one this mpisim reads (it reads schema 1); write `schema: 1` and the fields it has");
        check_error(
            "program: \"ring\"",
            "program: \"rings\"",
            &format!(
                "ring.ron:19:26: the reference `rings` is not a catalogue program; they are {}",
                catalogue::programs().iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
            ),
        );
        check_error(
            "{\"bytes\": \"1MiB\"}),\n            expect: Completes",
            "{\"size\": \"1MiB\"}),\n            expect: Completes",
            "ring.ron:22:19: check `no-deadlock`: the reference `ring` has no parameter --size: a run's parameters go \
             to the student's program and to the reference alike",
        );
        check_error(
            "{\"bytes\": \"1MiB\"}),\n            expect: Completes",
            "{\"bytes\": \"lots\"}),\n            expect: Completes",
            "ring.ron:22:19: check `no-deadlock`: ring --bytes: `lots` is not a byte count (try 4096, 64KiB, 1MiB)",
        );
        check_error(
            "TimeWithin(1.5)",
            "TimeWithin(0.0)",
            "ring.ron:64:19: check `time`: TimeWithin(0): the factor must be a number above 0",
        );
        check_error(
            "name: \"two-ranks\"",
            "name: \"results\"",
            "ring.ron:57:19: check `results`: every check needs a name of its own",
        );
    }

    #[test]
    fn positions_are_lines_and_columns() {
        assert_eq!(locate("a\nbc \"x\"", "\"x\""), Some((2, 4)));
        assert_eq!(locate("abc", "z"), None);
    }
}
