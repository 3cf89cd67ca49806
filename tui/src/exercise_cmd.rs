//! `mpisim exercise list|show|start|check` and `mpisim grade`: the exercises as a student
//! and an instructor use them. The checks and their verdicts are the engine's
//! (`mpisim::exercise`); this module makes the student's cargo project, builds it, runs
//! its binary under each check, and prints what the grader found.

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use mpisim::exercise::{self, Exercise, ExerciseError, Grade, ObserveError, Observed, RunSpec};
use mpisim::launch::emit;
use mpisim::report::EXIT_USAGE;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Exit code of `grade` or `exercise check` when a check, a build or a file failed.
pub const EXIT_FAILED: i32 = 1;

/// The file `exercise start` writes into a project: which exercise the folder is.
pub const MARKER: &str = ".mpisim-exercise";

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// Exercises graded automatically: a starter program that compiles but is wrong, a task,
/// hints, and `mpisim grade`.
#[derive(Debug, Parser)]
#[command(name = "mpisim exercise", disable_version_flag = true)]
struct ExerciseArgs {
    #[command(subcommand)]
    command: ExerciseCommand,
}

#[derive(Debug, Subcommand)]
enum ExerciseCommand {
    /// The exercises that ship with mpisim.
    List {
        /// Output for people, or one JSON object.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// An exercise's task, checks and hints (the README of its project).
    Show {
        /// A built-in exercise, or the path of an exercise file (.ron).
        name: String,
    },
    /// Write a cargo project with the exercise's starter program, for you to fix.
    Start {
        /// A built-in exercise, or the path of an exercise file (.ron).
        name: String,
        /// The folder to create (default: ./NAME); it must be new or empty.
        dir: Option<PathBuf>,
    },
    /// Check exercise files: they read, and their reference completes on every run.
    Check {
        /// Exercise files (.ron), or names of built-in exercises.
        #[arg(required = true)]
        files: Vec<String>,
        /// Output for people, or one JSON object.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
}

/// Build each exercise project and run it under its exercise's checks: a line per check,
/// a score, and exit code 0 only when every check of every project passed.
#[derive(Debug, Parser)]
#[command(name = "mpisim grade", disable_version_flag = true)]
struct GradeArgs {
    /// Project folders made by `mpisim exercise start` (default: this folder).
    dirs: Vec<PathBuf>,
    /// Text for people, or a JSON gradebook of every folder.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Cargo's target folder for every build. Default: the project's own `target/` for one
    /// folder; for several, one shared folder in the user's cache, so the engine crate is
    /// built once.
    #[arg(long, value_name = "DIR")]
    target_dir: Option<PathBuf>,
    /// Stop a run of a student's program after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 20.0)]
    timeout: f64,
}

/// Parses `args` with clap; a help text exits 0, an error 2 (clap prints both).
fn parse<T: Parser>(name: &str, args: &[String]) -> Result<T, i32> {
    T::try_parse_from(std::iter::once(name.to_string()).chain(args.iter().cloned())).map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            EXIT_USAGE
        } else {
            0
        }
    })
}

fn usage_error(message: &str) -> i32 {
    eprintln!("error: {message}");
    EXIT_USAGE
}

/// `mpisim exercise …`.
pub fn exercise_main(args: &[String]) -> i32 {
    let cli: ExerciseArgs = match parse("mpisim exercise", args) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match cli.command {
        ExerciseCommand::List { format } => {
            emit(&list(format));
            0
        }
        ExerciseCommand::Show { name } => match exercise::resolve(&name) {
            Ok(e) => {
                emit(&readme(&e));
                0
            }
            Err(e) => usage_error(&e.to_string()),
        },
        ExerciseCommand::Start { name, dir } => start(&name, dir),
        ExerciseCommand::Check { files, format } => check(&files, format),
    }
}

fn list(format: Format) -> String {
    let all = exercise::builtin();
    match format {
        Format::Json => {
            let list: Vec<Value> = all
                .iter()
                .map(|e| json!({"name": e.name, "title": e.title, "summary": e.summary, "checks": e.checks.len()}))
                .collect();
            format!("{}\n", json!({ "schema": exercise::EXERCISE_SCHEMA, "exercises": list }))
        }
        Format::Text => {
            let width = all.iter().map(|e| e.name.len()).max().unwrap_or(0);
            let mut out = String::from("exercises (start one with `mpisim exercise start NAME [DIR]`):\n");
            for e in &all {
                out += &format!("  {:<width$}  {}: {} ({} checks)\n", e.name, e.title, e.summary, e.checks.len());
            }
            out
        }
    }
}

/// The README of an exercise's project: the task, how to run and grade it, the checks and
/// the hints.
fn readme(e: &Exercise) -> String {
    let mut summary = e.summary.clone();
    if let Some(first) = summary.get(..1) {
        summary.replace_range(..1, &first.to_uppercase());
    }
    let mut out = format!("# Exercise `{}`: {}\n\n{summary}.\n\n## The task\n\n{}\n\n", e.name, e.title, e.task);
    out += "## Run it\n\n```sh\n";
    out += &format!("cargo run --release -- {}   # as the first check runs it\n", e.checks[0].run);
    out += "cargo run --release -- --help     # its parameters and the flags of every run\n```\n\n";
    out += "## Grade it\n\n```sh\nmpisim grade        # in this folder\n```\n\n";
    out += "(`mpisim` is `cargo run --release --bin mpisim --` in your clone of mpisim; \
            `cargo install --path tui` there puts it on your PATH.) The grader builds this project and runs it \
            under each check, and prints what it saw and a hint for each check that fails:\n\n";
    out += "| check | what it checks | run |\n| --- | --- | --- |\n";
    for c in &e.checks {
        out += &format!("| `{}` | {} | `{}` |\n", c.name, c.what, c.run);
    }
    if !e.hints.is_empty() {
        out += "\n## Hints\n\nTry on your own first; each hint gives away more.\n\n";
        for (i, hint) in e.hints.iter().enumerate() {
            out += &format!("{}. {hint}\n", i + 1);
        }
    }
    out
}

/// What a project's marker file says.
#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    /// The exercise's name.
    exercise: String,
    /// The exercise file, for an exercise that is not built in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    file: Option<PathBuf>,
}

/// The clone of mpisim whose `sim/` a project depends on: `MPISIM_REPO`, or the folder
/// this binary was built from.
fn repository() -> Result<PathBuf, String> {
    let (dir, whence) = match std::env::var_os("MPISIM_REPO") {
        Some(dir) => (PathBuf::from(dir), "MPISIM_REPO"),
        None => (Path::new(env!("CARGO_MANIFEST_DIR")).join(".."), "the clone this mpisim was built from"),
    };
    let manifest = dir.join("sim").join("Cargo.toml");
    match std::fs::read_to_string(&manifest) {
        Ok(text) if text.contains("name = \"mpisim\"") => {
            dir.canonicalize().map_err(|e| format!("cannot resolve {}: {e}", dir.display()))
        }
        _ => Err(format!(
            "cannot find mpisim's engine crate for the project to depend on: {} ({whence}) has no \
             sim/Cargo.toml of the mpisim crate; set MPISIM_REPO to the folder of a clone of mpisim \
             (the one with sim/ and tui/)",
            dir.display()
        )),
    }
}

/// `mpisim exercise start NAME [DIR]`.
fn start(name: &str, dir: Option<PathBuf>) -> i32 {
    let exercise = match exercise::resolve(name) {
        Ok(e) => e,
        Err(e) => return usage_error(&e.to_string()),
    };
    let dir = dir.unwrap_or_else(|| PathBuf::from(&exercise.name));
    match std::fs::read_dir(&dir).map(|mut entries| entries.next().is_some()) {
        Ok(true) => {
            return usage_error(&format!(
                "{} is not empty: `exercise start` writes a new project and overwrites nothing; give a new \
                 folder, e.g. `mpisim exercise start {name} {}-2`",
                dir.display(),
                exercise.name
            ))
        }
        Err(_) if dir.exists() => return usage_error(&format!("{} exists and is not a folder", dir.display())),
        _ => {}
    }
    let repo = match repository() {
        Ok(repo) => repo,
        Err(e) => return usage_error(&e),
    };
    let file = match exercise.origin.as_str() {
        o if o.starts_with("lessons/exercises/") && exercise::find(&exercise.name).is_some() => None,
        o => Some(Path::new(o).canonicalize().unwrap_or_else(|_| PathBuf::from(o))),
    };
    let marker = Marker { exercise: exercise.name.clone(), file };
    let sim = repo.join("sim").display().to_string().replace('\\', "\\\\").replace('"', "\\\"");
    let cargo = format!(
        "# The exercise `{name}` of mpisim: `mpisim grade` in this folder grades it.\n[package]\nname = \"{name}\"\n\
         version = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\n\
         # The engine crate of your clone of mpisim.\nmpisim = {{ path = \"{sim}\" }}\n\n\
         # A project of its own, even inside another cargo workspace.\n[workspace]\n",
        name = exercise.name
    );
    let marker_text = format!(
        "// Written by `mpisim exercise start`: `mpisim grade` reads which exercise this folder is.\n{}\n",
        ron::ser::to_string(&marker).expect("a marker serialises")
    );
    let files = [
        ("Cargo.toml", cargo),
        ("src/main.rs", exercise.starter_source.clone()),
        ("README.md", readme(&exercise)),
        (".gitignore", "/target\n".to_string()),
        (MARKER, marker_text),
    ];
    // The clone's lock file pins the engine's dependencies to the versions its tests and
    // rust-version were checked with; cargo drops the entries the project does not use.
    let lock = std::fs::read_to_string(repo.join("Cargo.lock")).ok().map(|lock| ("Cargo.lock", lock));
    for (file, text) in files.iter().chain(lock.iter()) {
        let path = dir.join(file);
        let written = path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|_| std::fs::write(&path, text));
        if let Err(e) = written {
            return usage_error(&format!("cannot write {}: {e}", path.display()));
        }
    }
    emit(&format!(
        "wrote the exercise `{}` ({}) to {}:\n  src/main.rs  the starter program: it compiles, and it is wrong\n  \
         README.md    the task, the checks and hints\nnext:\n  cd {}\n  cargo run --release -- {}\n  mpisim grade\n",
        exercise.name,
        exercise.title,
        dir.display(),
        dir.display(),
        exercise.checks[0].run
    ));
    0
}

/// `mpisim exercise check FILE...`.
fn check(files: &[String], format: Format) -> i32 {
    let mut results = Vec::new();
    for file in files {
        let checked = exercise::resolve(file).and_then(|e| {
            for spec in e.runs() {
                e.reference_run(spec)?;
            }
            Ok(e)
        });
        results.push((file, checked));
    }
    let code = if results.iter().all(|(_, r)| r.is_ok()) { 0 } else { EXIT_FAILED };
    match format {
        Format::Text => {
            for (file, result) in &results {
                match result {
                    Ok(e) => println!(
                        "ok: {file}: exercise `{}`, {} checks on {} runs; the reference completes on each",
                        e.name,
                        e.checks.len(),
                        e.runs().len()
                    ),
                    Err(e) => eprintln!("error: {e}"),
                }
            }
        }
        Format::Json => {
            let files: Vec<Value> = results
                .iter()
                .map(|(file, result)| match result {
                    Ok(e) => json!({"file": file, "ok": true, "exercise": e.name, "checks": e.checks.len()}),
                    Err(e) => json!({
                        "file": file, "ok": false, "error": e.to_string(), "message": e.message,
                        "line": e.position.map(|p| p.0), "column": e.position.map(|p| p.1),
                    }),
                })
                .collect();
            emit(&format!("{}\n", json!({ "ok": code == 0, "files": files })));
        }
    }
    code
}

/// A project graded: its exercise and grade, or why it could not be.
struct Graded {
    dir: PathBuf,
    exercise: Option<Exercise>,
    outcome: Result<Grade, Failure>,
}

enum Failure {
    /// The folder is not a project of an exercise, or its exercise file is broken.
    Project(String),
    /// It does not compile: the compiler's first error.
    Build(String),
    /// The exercise's reference does not complete: the exercise's own fault.
    Exercise(ExerciseError),
}

impl Graded {
    fn code(&self) -> i32 {
        match &self.outcome {
            Ok(g) if g.passed == g.total => 0,
            Ok(_) | Err(Failure::Build(_)) => EXIT_FAILED,
            Err(Failure::Project(_) | Failure::Exercise(_)) => EXIT_USAGE,
        }
    }

    fn total(&self) -> usize {
        self.exercise.as_ref().map_or(0, |e| e.checks.len())
    }

    fn passed(&self) -> usize {
        self.outcome.as_ref().map_or(0, |g| g.passed)
    }

    fn text(&self) -> String {
        let mut out = match &self.exercise {
            Some(e) => format!("grading {} (exercise {}: {})\n", self.dir.display(), e.name, e.title),
            None => format!("grading {}\n", self.dir.display()),
        };
        match &self.outcome {
            Ok(grade) => out += &format!("{grade}\n"),
            Err(Failure::Build(first_error)) => {
                let e = self.exercise.as_ref().expect("a project that builds has its exercise");
                out += "FAIL build: the project does not compile\n";
                for line in first_error.lines() {
                    out += &format!("     {line}\n");
                }
                out += &format!(
                    "     hint: fix this first (`cargo build --release` in {} shows every error), then grade again.{}\n",
                    self.dir.display(),
                    e.hints.first().map_or(String::new(), |h| format!(" The exercise's first hint: {h}"))
                );
                out += &format!("score: 0/{} checks passed\n", e.checks.len());
            }
            Err(Failure::Project(why)) => out += &format!("error: {why}\n"),
            Err(Failure::Exercise(e)) => out += &format!("error: the exercise itself is wrong: {e}\n"),
        }
        out
    }

    fn json(&self) -> Value {
        let mut project = json!({
            "dir": self.dir.display().to_string(),
            "exercise": self.exercise.as_ref().map(|e| &e.name),
            "passed": self.passed(),
            "total": self.total(),
        });
        match &self.outcome {
            Ok(grade) => {
                project["build"] = json!({ "ok": true });
                project["checks"] = json!(grade.verdicts);
            }
            Err(Failure::Build(first_error)) => project["build"] = json!({ "ok": false, "error": first_error }),
            Err(Failure::Project(why)) => project["error"] = json!(why),
            Err(Failure::Exercise(e)) => project["error"] = json!(format!("the exercise itself is wrong: {e}")),
        }
        project
    }
}

/// `mpisim grade [DIR...]`.
pub fn grade_main(args: &[String]) -> i32 {
    let mut cli: GradeArgs = match parse("mpisim grade", args) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    if !(cli.timeout.is_finite() && cli.timeout > 0.0) {
        return usage_error(&format!("--timeout: {} is not a number of seconds above 0", cli.timeout));
    }
    if cli.dirs.is_empty() {
        cli.dirs.push(PathBuf::from("."));
    }
    let target = cli.target_dir.clone().or_else(|| {
        (cli.dirs.len() > 1 && std::env::var_os("CARGO_TARGET_DIR").is_none())
            .then(|| dirs::cache_dir().unwrap_or_else(std::env::temp_dir).join("mpisim").join("grade-target"))
    });
    let scratch = match tempfile::Builder::new().prefix("mpisim-grade").tempdir() {
        Ok(dir) => dir,
        Err(e) => return usage_error(&format!("cannot make a scratch folder for the runs: {e}")),
    };
    let bar = (cli.format == Format::Json && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(cli.dirs.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("grading {pos}/{len} [{bar:30}] {msg}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar
    });
    let timeout = Duration::from_secs_f64(cli.timeout);
    let mut graded = Vec::new();
    for dir in &cli.dirs {
        if let Some(bar) = &bar {
            bar.set_message(dir.display().to_string());
        }
        let project = grade_project(dir, target.as_deref(), timeout, scratch.path());
        match (cli.format, &project.outcome) {
            (Format::Json, _) => {}
            (Format::Text, Err(Failure::Project(_) | Failure::Exercise(_))) => eprint!("{}", project.text()),
            (Format::Text, _) => emit(&project.text()),
        }
        if let Some(bar) = &bar {
            bar.inc(1);
        }
        graded.push(project);
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if cli.format == Format::Json {
        let projects: Vec<Value> = graded.iter().map(Graded::json).collect();
        let book = json!({
            "schema": 1,
            "projects": projects,
            "passed": graded.iter().map(Graded::passed).sum::<usize>(),
            "total": graded.iter().map(Graded::total).sum::<usize>(),
        });
        emit(&format!("{book}\n"));
    } else if graded.len() > 1 {
        let perfect = graded.iter().filter(|g| g.code() == 0).count();
        emit(&format!("{perfect} of {} projects passed every check\n", graded.len()));
    }
    graded.iter().map(Graded::code).max().unwrap_or(0)
}

/// Reads a project's exercise, builds it, and grades it.
fn grade_project(dir: &Path, target: Option<&Path>, timeout: Duration, scratch: &Path) -> Graded {
    let exercise = match project_exercise(dir) {
        Ok(e) => e,
        Err(why) => return Graded { dir: dir.to_path_buf(), exercise: None, outcome: Err(Failure::Project(why)) },
    };
    let outcome = match build(dir, &exercise, target) {
        Err(first_error) => Err(Failure::Build(first_error)),
        Ok(binary) => {
            let mut n = 0;
            exercise
                .grade(&mut |spec| {
                    n += 1;
                    run(&binary, spec, timeout, &scratch.join(format!("run-{n}")))
                })
                .map_err(Failure::Exercise)
        }
    };
    Graded { dir: dir.to_path_buf(), exercise: Some(exercise), outcome }
}

/// The exercise a project folder is, from its marker file.
fn project_exercise(dir: &Path) -> Result<Exercise, String> {
    let path = dir.join(MARKER);
    let text = std::fs::read_to_string(&path).map_err(|_| {
        format!(
            "{} is not an exercise project: it has no {MARKER} (`mpisim exercise start NAME DIR` makes one)",
            dir.display()
        )
    })?;
    let marker: Marker = ron::from_str(&text).map_err(|e| {
        format!("{}:{}:{}: malformed marker file: {}", path.display(), e.position.line, e.position.col, e.code)
    })?;
    let found = match &marker.file {
        Some(file) => Exercise::load(file),
        None => exercise::resolve(&marker.exercise),
    };
    found.map_err(|e| format!("{}: exercise `{}`: {e}", path.display(), marker.exercise))
}

/// `cargo`, with the target folder of the grade.
fn cargo(args: &[&str], manifest: &Path, target: Option<&Path>) -> Command {
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo.args(args).arg("--manifest-path").arg(manifest);
    if let Some(target) = target {
        cargo.arg("--target-dir").arg(target);
    }
    cargo
}

/// Builds a project with `cargo build --release`; the binary, or the compiler's first error.
///
/// Every student's package has the same name and layout, and cargo names a package's
/// artifacts after its path *relative to its workspace*, so in a shared target folder one
/// student's build looks fresh for the next: the package is cleaned first there (only it;
/// the engine crate and its dependencies stay built), unless the folder's last build was
/// this project's, which a stamp in the folder records.
fn build(dir: &Path, exercise: &Exercise, target: Option<&Path>) -> Result<PathBuf, String> {
    let manifest = dir.join("Cargo.toml");
    let shared = target.map(Path::to_path_buf).or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from));
    if let Some(shared) = shared {
        let stamp = shared.join(".mpisim-grade-last");
        let project = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()).display().to_string();
        if std::fs::read_to_string(&stamp).ok().as_deref() != Some(project.as_str()) {
            // A student who renamed the package shares nothing with others: a failed clean is fine.
            let _ = cargo(&["clean", "--release", "--quiet", "-p", &exercise.name], &manifest, target)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let _ = std::fs::create_dir_all(&shared).and_then(|_| std::fs::write(&stamp, &project));
        }
    }
    let output = cargo(&["build", "--release", "--quiet", "--message-format", "json"], &manifest, target)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}; is a Rust toolchain installed and on PATH?"))?;
    let manifest = manifest.canonicalize().unwrap_or(manifest);
    let mut binary = None;
    let mut first_error = None;
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<Value>(line) else { continue };
        match message["reason"].as_str() {
            Some("compiler-message") if first_error.is_none() && message["message"]["level"] == "error" => {
                first_error = message["message"]["rendered"].as_str().map(|r| r.trim_end().to_string());
            }
            Some("compiler-artifact")
                if message["manifest_path"].as_str().map(Path::new) == Some(manifest.as_path())
                    && message["executable"].is_string() =>
            {
                binary = message["executable"].as_str().map(PathBuf::from);
            }
            _ => {}
        }
    }
    match (output.status.success(), binary, first_error) {
        (true, Some(binary), _) => Ok(binary),
        (_, _, Some(error)) => Err(error),
        (true, None, None) => Err("cargo built no binary: the project needs a src/main.rs".into()),
        (false, _, None) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).take(8).collect();
            Err(lines.join("\n"))
        }
    }
}

/// At most this much output from one run is read.
const MAX_OUTPUT: u64 = 256 << 20;

/// Runs the student's binary under `spec`, with `--format json` and a trace in `scratch`.
fn run(binary: &Path, spec: &RunSpec, timeout: Duration, scratch: &Path) -> Result<Observed, ObserveError> {
    std::fs::create_dir_all(scratch).map_err(|source| ObserveError::Scratch { path: scratch.to_path_buf(), source })?;
    let (out, err, trace) = (scratch.join("stdout"), scratch.join("stderr"), scratch.join("trace.json"));
    let file =
        |p: &Path| std::fs::File::create(p).map_err(|source| ObserveError::Capture { path: p.to_path_buf(), source });
    let mut child = Command::new(binary)
        .args(spec.args())
        .args(["--format", "json", "--trace"])
        .arg(&trace)
        .env_remove("MPISIM_SEED")
        .stdin(Stdio::null())
        .stdout(file(&out)?)
        .stderr(file(&err)?)
        .spawn()
        .map_err(|source| ObserveError::Start { program: binary.to_path_buf(), source })?;
    let status = wait(&mut child, timeout, &out)?;
    let stdout = std::fs::read_to_string(&out).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err).unwrap_or_default();
    let first_lines = |text: &str| text.lines().filter(|l| !l.trim().is_empty()).take(3).collect::<Vec<_>>().join("; ");
    match status.code() {
        Some(0 | 3 | 4) => {}
        Some(code) if code == EXIT_USAGE => return Err(ObserveError::Refused { stderr: first_lines(&stderr) }),
        Some(code) => return Err(ObserveError::Exited { code, stderr: first_lines(&stderr) }),
        None => return Err(ObserveError::Killed { status, stderr: first_lines(&stderr) }),
    }
    let trace = match std::fs::read_to_string(&trace) {
        Ok(text) => {
            Some(mpisim::Trace::from_json_with_outcome(&text).map(|saved| saved.trace).map_err(ObserveError::Trace)?)
        }
        Err(_) => None,
    };
    Observed::from_output(&stdout, trace)
}

/// Waits for a run to end, stopping it after `timeout` or once its output passes
/// [`MAX_OUTPUT`]. The grader's only wall-clock reading: runs of a student's program are
/// real processes.
#[allow(clippy::disallowed_methods)]
fn wait(
    child: &mut std::process::Child,
    timeout: Duration,
    out: &Path,
) -> Result<std::process::ExitStatus, ObserveError> {
    let started = std::time::Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) => {}
            Err(e) => return Err(ObserveError::Wait(e)),
        }
        let too_long = started.elapsed() > timeout;
        let too_much = std::fs::metadata(out).is_ok_and(|m| m.len() > MAX_OUTPUT);
        if too_long || too_much {
            let _ = child.kill();
            let _ = child.wait();
            return Err(if too_long {
                ObserveError::TimedOut { after: timeout }
            } else {
                ObserveError::TooMuchOutput { limit: MAX_OUTPUT }
            });
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}
