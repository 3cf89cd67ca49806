//! `mpisim lesson …` and `mpisim` alone: the lesson list, a lesson in the browser or as
//! text, and `lesson check` for instructors' files. Parses its own slice of the arguments
//! with clap; what it prints comes from `mpisim::lesson`.

use crate::browser::Browser;
use crate::course;
use crate::progress::Store;
use clap::{Parser, Subcommand, ValueEnum};
use mpisim::launch::emit;
use mpisim::lesson::{self, Lesson};
use mpisim::report::EXIT_USAGE;
use serde_json::json;
use std::io::IsTerminal;

/// Exit code of `lesson check` when a file fails.
pub const EXIT_CHECK_FAILED: i32 = 1;

#[derive(Parser, Debug)]
#[command(
    name = "mpisim lesson",
    about = "Lessons: MPI from hello world to Amdahl's law, each step a run to look at and questions on it",
    args_conflicts_with_subcommands = true,
    disable_version_flag = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// A lesson's id (`ring-hang`), number (`5`) or file: opens it in the lesson browser.
    name: Option<String>,
    /// Print the lesson with its runs' reports instead (for a pipe or a printed handout).
    #[arg(long)]
    text: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The lessons, in course order, with your progress.
    List {
        /// Output for people, or one JSON object.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Check lesson files: their syntax (line:column), every step's run, every answer.
    Check {
        /// Lesson files (`lessons/*.ron`).
        #[arg(required = true)]
        files: Vec<String>,
        /// Output for people, or one JSON object.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// `mpisim lesson ARGS…`; returns the exit code.
pub fn main(args: &[String]) -> i32 {
    let cli = match Cli::try_parse_from(std::iter::once("mpisim lesson".to_string()).chain(args.iter().cloned())) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    match (cli.command, cli.name) {
        (Some(Command::List { format }), _) => {
            emit(&list(format));
            0
        }
        (Some(Command::Check { files, format }), _) => check(&files, format),
        (None, Some(name)) => open(&name, cli.text),
        (None, None) => {
            eprintln!("error: lesson needs a lesson's name, `list` or `check FILE…`\n\n{}", list(Format::Text));
            EXIT_USAGE
        }
    }
}

/// `mpisim` with no arguments: the browser on a terminal, else the list and how to start.
pub fn no_arguments() -> i32 {
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        return browse(None);
    }
    emit(&format!(
        "mpisim: a deterministic MPI simulator and teaching tool\n\n{}\nRun `mpisim` in a terminal for the lesson \
         browser, or `mpisim lesson hello --text` to read one here.\n`mpisim help` lists every command.\n",
        list(Format::Text)
    ));
    0
}

fn list(format: Format) -> String {
    let (lessons, errors) = course::lessons();
    let store = Store::open();
    match format {
        Format::Json => {
            let items: Vec<_> = lessons
                .iter()
                .map(|l| {
                    let programs: Vec<&str> = {
                        let mut p: Vec<&str> = l.steps.iter().map(|s| s.run.program().name).collect();
                        p.dedup();
                        p
                    };
                    json!({
                        "id": l.id,
                        "order": l.order,
                        "title": l.title,
                        "objectives": l.objectives,
                        "steps": l.steps.len(),
                        "questions": l.questions().len(),
                        "answered": store.right(&l.id),
                        "programs": programs,
                    })
                })
                .collect();
            let errors: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            format!("{}\n", json!({ "lessons": items, "errors": errors }))
        }
        Format::Text => {
            let mut out = String::from("lessons (open one with `mpisim lesson NAME`):\n");
            for l in &lessons {
                let total = l.questions().len();
                out += &format!(
                    "  {:>2}  {:<16} {:<46} {}/{total} answered\n",
                    l.order,
                    l.id,
                    l.title,
                    store.right(&l.id)
                );
            }
            for e in &errors {
                out += &format!("  error: {e}\n");
            }
            if let Some(p) = &store.problem {
                out += &format!("note: {p}\n");
            }
            out
        }
    }
}

fn open(name: &str, text: bool) -> i32 {
    let lesson = match course::find(name) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let terminal = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    if text || !terminal {
        if !text {
            eprintln!("(not a terminal: printing the lesson; `--text` does this on a terminal too)");
        }
        let report = lesson::check(&lesson);
        emit(&lesson::handout(&lesson, &report));
        for p in &report.problems {
            eprintln!("warning: lesson `{}`: {p}", lesson.id);
        }
        return 0;
    }
    browse(Some(lesson))
}

/// The browser, at `lesson` if one is given (a lesson from a file joins the course list).
fn browse(lesson: Option<Lesson>) -> i32 {
    let (mut lessons, errors) = course::lessons();
    let errors: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    let index = lesson.map(|l| match lessons.iter().position(|o| o.id == l.id) {
        Some(i) => i,
        None => {
            lessons.push(l);
            lessons.len() - 1
        }
    });
    let mut browser = Browser::new(lessons, errors, Store::open());
    if let Some(i) = index {
        browser.open(i);
    }
    match crate::run_model(browser, false) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: terminal UI: {e}");
            EXIT_USAGE
        }
    }
}

/// `lesson check FILE…`: every file parsed, run and answered; ids unique among them.
fn check(files: &[String], format: Format) -> i32 {
    let mut results = Vec::new();
    let mut seen: Vec<(String, String)> = Vec::new();
    for file in files {
        let (ok, summary, errors) = match Lesson::load(std::path::Path::new(file)) {
            Err(e) => {
                let pos = e.position;
                (false, None, vec![(pos, None, None, e.message.clone(), e.to_string())])
            }
            Ok(l) => {
                let report = lesson::check(&l);
                let mut errors: Vec<_> = report
                    .problems
                    .iter()
                    .map(|p| (None, Some(p.step), p.question, p.message.clone(), format!("{file}: {p}")))
                    .collect();
                if let Some((_, other)) = seen.iter().find(|(id, _)| *id == l.id) {
                    let m = format!("lesson id `{}` is also the id of {other}; ids must be unique", l.id);
                    errors.push((None, None, None, m.clone(), format!("{file}: {m}")));
                }
                seen.push((l.id.clone(), file.clone()));
                (errors.is_empty(), Some((l.id.clone(), l.steps.len(), report.questions())), errors)
            }
        };
        results.push((file, ok, summary, errors));
    }
    let failed = results.iter().filter(|r| !r.1).count();
    let passed = results.len() - failed;
    match format {
        Format::Json => {
            let files: Vec<_> = results
                .iter()
                .map(|(file, ok, summary, errors)| {
                    json!({
                        "file": file,
                        "ok": ok,
                        "id": summary.as_ref().map(|s| &s.0),
                        "steps": summary.as_ref().map(|s| s.1),
                        "questions": summary.as_ref().map(|s| s.2),
                        "errors": errors.iter().map(|(pos, step, question, message, _)| json!({
                            "line": pos.map(|p| p.0),
                            "column": pos.map(|p| p.1),
                            "step": step,
                            "question": question,
                            "message": message,
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            emit(&format!("{}\n", json!({ "files": files, "passed": passed, "failed": failed })));
        }
        Format::Text => {
            let mut out = String::new();
            for (file, ok, summary, errors) in &results {
                match (ok, summary) {
                    (true, Some((id, steps, questions))) => {
                        out += &format!(
                        "ok    {file}: lesson `{id}`, {steps} steps, {questions} questions answered from the runs\n"
                    )
                    }
                    _ => {
                        for e in errors {
                            out += &format!("FAIL  {}\n", e.4);
                        }
                    }
                }
            }
            out += &format!(
                "{} file{} checked: {passed} passed, {failed} failed\n",
                results.len(),
                if results.len() == 1 { "" } else { "s" }
            );
            emit(&out);
        }
    }
    if failed > 0 {
        EXIT_CHECK_FAILED
    } else {
        0
    }
}
