//! The course: the lessons embedded in the binary (the repository's `lessons/*.ron`, listed
//! at build time), in course order, and lessons found by id or read from a path.

use mpisim::lesson::{Lesson, LessonError};
use std::path::Path;

include!(concat!(env!("OUT_DIR"), "/lessons.rs"));

/// The embedded lessons in course order (by `order`, then id), and the errors of any that
/// do not parse (none in a released binary: CI checks them).
pub fn lessons() -> (Vec<Lesson>, Vec<LessonError>) {
    let mut lessons = Vec::new();
    let mut errors = Vec::new();
    for (file, text) in LESSONS {
        match Lesson::from_ron(text, &format!("lessons/{file}")) {
            Ok(l) => lessons.push(l),
            Err(e) => errors.push(e),
        }
    }
    lessons.sort_by(|a, b| (a.order, &a.id).cmp(&(b.order, &b.id)));
    (lessons, errors)
}

/// A lesson by id (`ring-hang`), by its course number (`5`), or from a file.
pub fn find(name: &str) -> Result<Lesson, String> {
    let (lessons, _) = lessons();
    if let Some(l) = lessons.iter().find(|l| l.id == name || l.order.to_string() == name) {
        return Ok(l.clone());
    }
    let path = Path::new(name);
    if path.exists() || name.ends_with(".ron") {
        return Lesson::load(path).map_err(|e| e.to_string());
    }
    let ids: Vec<&str> = lessons.iter().map(|l| l.id.as_str()).collect();
    Err(format!("no lesson `{name}`; the lessons are {} (or give a lesson file's path)", ids.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_lessons_parse_and_are_unique() {
        let (lessons, errors) = lessons();
        assert!(errors.is_empty(), "{}", errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"));
        assert!(lessons.len() >= 18, "the course has {} lessons", lessons.len());
        for (i, l) in lessons.iter().enumerate() {
            assert!(lessons[..i].iter().all(|o| o.id != l.id && o.order != l.order), "{} repeats an id or order", l.id);
            assert!(l.questions().len() >= 2, "{} asks fewer than two questions", l.id);
            for step in &l.steps {
                assert!(step.mpi4py.is_some(), "{}: step `{}` has no mpi4py snippet", l.id, step.title);
            }
        }
        assert_eq!(find("ring-hang").map(|l| l.id), Ok("ring-hang".to_string()));
        assert!(find("nope").unwrap_err().contains("the lessons are hello"));
    }
}
