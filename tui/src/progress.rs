//! A student's progress: which questions of which lessons were answered, and how, kept per
//! user in `progress.json` under the data directory (`$MPISIM_HOME`, else the XDG data
//! directory's `mpisim/`), so it survives a restart. A file that cannot be read is never
//! overwritten: the browser says what is wrong with it and saves nothing until it is fixed.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Version of the progress file.
const PROGRESS_SCHEMA: u32 = 1;

/// Everything saved.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progress {
    /// [`PROGRESS_SCHEMA`].
    pub schema: u32,
    /// By lesson id.
    pub lessons: BTreeMap<String, LessonProgress>,
}

/// One lesson's progress.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LessonProgress {
    /// The step last shown (0-based).
    pub step: usize,
    /// Answers by question, keyed `step.question` (1-based: `2.1`).
    pub answers: BTreeMap<String, Answer>,
}

/// The last answer to a question.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// What the student gave: a choice's letter, or the typed text.
    pub given: String,
    /// Whether it was right.
    pub correct: bool,
    /// How many answers were given.
    pub attempts: u32,
}

/// The progress file and what is in it.
#[derive(Clone, Debug)]
pub struct Store {
    /// Where it is saved; `None` when it must not be written (it could not be read).
    path: Option<PathBuf>,
    /// Where it was looked for.
    pub location: PathBuf,
    /// What it holds.
    pub progress: Progress,
    /// Why it could not be read or written, for the student.
    pub problem: Option<String>,
}

/// The directory of mpisim's per-user data: `$MPISIM_HOME`, else `$XDG_DATA_HOME/mpisim`
/// (`~/.local/share/mpisim`).
pub fn data_dir() -> Option<PathBuf> {
    match std::env::var_os("MPISIM_HOME").filter(|v| !v.is_empty()) {
        Some(home) => Some(PathBuf::from(home)),
        None => dirs::data_dir().map(|d| d.join("mpisim")),
    }
}

fn key(step: usize, question: usize) -> String {
    format!("{}.{}", step + 1, question + 1)
}

impl Store {
    /// The user's progress, from [`data_dir`].
    pub fn open() -> Store {
        match data_dir() {
            Some(dir) => Store::at(&dir),
            None => Store {
                path: None,
                location: PathBuf::from("progress.json"),
                progress: Progress { schema: PROGRESS_SCHEMA, ..Progress::default() },
                problem: Some("there is no home or data directory to keep progress in; set MPISIM_HOME".into()),
            },
        }
    }

    /// The progress kept in `dir`.
    pub fn at(dir: &Path) -> Store {
        let location = dir.join("progress.json");
        let fresh = Progress { schema: PROGRESS_SCHEMA, ..Progress::default() };
        let text = match std::fs::read_to_string(&location) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Store { path: Some(location.clone()), location, progress: fresh, problem: None }
            }
            Err(e) => {
                let problem = format!("cannot read {}: {e}; progress is not saved", location.display());
                return Store { path: None, location, progress: fresh, problem: Some(problem) };
            }
        };
        let unreadable = |why: String| {
            format!("{}: {why}; progress is not saved until the file is fixed or removed", location.display())
        };
        match serde_json::from_str::<Progress>(&text) {
            Ok(p) if p.schema == PROGRESS_SCHEMA => {
                Store { path: Some(location.clone()), location, progress: p, problem: None }
            }
            Ok(p) => {
                let problem = unreadable(format!("progress schema {} is not {PROGRESS_SCHEMA}", p.schema));
                Store { path: None, location, progress: fresh, problem: Some(problem) }
            }
            Err(e) => {
                let problem = unreadable(format!("line {}, column {}: {e}", e.line(), e.column()));
                Store { path: None, location, progress: fresh, problem: Some(problem) }
            }
        }
    }

    /// A lesson's progress, if any.
    pub fn lesson(&self, id: &str) -> Option<&LessonProgress> {
        self.progress.lessons.get(id)
    }

    /// The answer last given to a question.
    pub fn answer(&self, id: &str, step: usize, question: usize) -> Option<&Answer> {
        self.lesson(id)?.answers.get(&key(step, question))
    }

    /// How many questions of a lesson were answered right.
    pub fn right(&self, id: &str) -> usize {
        self.lesson(id).map_or(0, |l| l.answers.values().filter(|a| a.correct).count())
    }

    /// Records an answer, and saves.
    pub fn record(&mut self, id: &str, step: usize, question: usize, given: &str, correct: bool) {
        let lesson = self.progress.lessons.entry(id.to_string()).or_default();
        let entry = lesson.answers.entry(key(step, question)).or_insert(Answer {
            given: String::new(),
            correct: false,
            attempts: 0,
        });
        // Once right, a question stays answered: later tries are practice.
        entry.correct |= correct;
        if correct || !entry.correct {
            entry.given = given.to_string();
        }
        entry.attempts += 1;
        self.save();
    }

    /// Remembers the step a lesson is at, and saves.
    pub fn visit(&mut self, id: &str, step: usize) {
        let lesson = self.progress.lessons.entry(id.to_string()).or_default();
        if lesson.step != step {
            lesson.step = step;
            self.save();
        }
    }

    /// Writes the file (through a temporary file, so a crash never leaves half of one).
    fn save(&mut self) {
        let Some(path) = &self.path else { return };
        let text = serde_json::to_string_pretty(&self.progress).expect("progress serialises");
        let tmp = path.with_extension("json.tmp");
        let result = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|_| std::fs::write(&tmp, text + "\n"))
            .and_then(|_| std::fs::rename(&tmp, path));
        if let Err(e) = result {
            self.problem = Some(format!("cannot save progress to {}: {e}", path.display()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mpisim-progress-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn answers_survive_a_reopen() {
        let dir = temp("reopen");
        let mut store = Store::at(&dir);
        assert_eq!(store.problem, None);
        store.record("ring-hang", 0, 1, "b", false);
        store.record("ring-hang", 0, 1, "a", true);
        store.record("ring-hang", 0, 1, "b", false);
        store.visit("ring-hang", 2);
        let again = Store::at(&dir);
        let a = again.answer("ring-hang", 0, 1).unwrap();
        assert_eq!((a.given.as_str(), a.correct, a.attempts), ("a", true, 3));
        assert_eq!((again.right("ring-hang"), again.lesson("ring-hang").unwrap().step), (1, 2));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_corrupt_file_is_explained_and_kept() {
        let dir = temp("corrupt");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("progress.json");
        std::fs::write(&file, "{\"schema\": 1,\n \"lessons\": [oops").unwrap();
        let mut store = Store::at(&dir);
        let problem = store.problem.clone().unwrap();
        assert!(problem.contains("progress.json: line 2, column"), "{problem}");
        assert!(problem.contains("not saved until the file is fixed or removed"), "{problem}");
        store.record("hello", 0, 0, "a", true);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "{\"schema\": 1,\n \"lessons\": [oops", "kept as it was");
        std::fs::write(&file, "{\"schema\": 9, \"lessons\": {}}").unwrap();
        assert!(Store::at(&dir).problem.unwrap().contains("schema 9 is not 1"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
