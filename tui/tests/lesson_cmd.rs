//! `mpisim lesson …` and `mpisim` without a terminal, as a user runs them: the list (text
//! and JSON), `lesson check` on the course and on broken copies, `--text`.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn mpisim(args: &[&str], home: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mpisim"))
        .args(args)
        .env("MPISIM_HOME", home)
        .stdin(Stdio::null())
        .output()
        .expect("mpisim runs");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mpisim-lesson-cmd-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn lessons_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../lessons")
}

fn course_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(lessons_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    files
}

#[test]
fn the_list_covers_every_topic_in_course_order() {
    let home = temp("list");
    let (code, out, err) = mpisim(&["lesson", "list", "--format", "json"], &home);
    assert_eq!(code, 0, "{err}");
    let list: Value = serde_json::from_str(&out).unwrap();
    let lessons = list["lessons"].as_array().unwrap();
    assert!(lessons.len() >= 18, "{} lessons", lessons.len());
    let orders: Vec<u64> = lessons.iter().map(|l| l["order"].as_u64().unwrap()).collect();
    assert!(orders.windows(2).all(|w| w[0] < w[1]), "course order: {orders:?}");
    let ids: Vec<&str> = lessons.iter().map(|l| l["id"].as_str().unwrap()).collect();
    // The lecture's topics, in its order.
    let topics = [
        "hello",
        "p2p-tags",
        "ring-hang",
        "ring-fixes",
        "barrier",
        "bcast",
        "scatter",
        "gather",
        "allgather",
        "alltoall",
        "reduce",
        "allreduce",
        "nonblocking",
        "persistent",
        "scatterv",
        "parallel-map",
        "parallel-sum",
        "kmeans",
        "master-worker",
        "amdahl",
    ];
    for t in topics {
        assert!(ids.contains(&t), "no lesson on {t}: {ids:?}");
    }
    for l in lessons {
        assert!(l["questions"].as_u64().unwrap() >= 2, "{l}");
        assert!(!l["programs"].as_array().unwrap().is_empty(), "{l}");
    }
    assert_eq!(list["errors"], serde_json::json!([]));
    let (code, text, _) = mpisim(&["lesson", "list"], &home);
    assert_eq!(code, 0);
    assert!(text.contains(" 4  ring-hang        The ring that hangs"), "{text}");
}

#[test]
fn without_a_terminal_mpisim_prints_the_lessons_and_how_to_start() {
    let home = temp("noterm");
    let (code, out, _) = mpisim(&[], &home);
    assert_eq!(code, 0);
    assert!(out.contains("lessons (open one with `mpisim lesson NAME`)"), "{out}");
    assert!(out.contains("mpisim lesson hello --text"), "{out}");
    assert!(out.contains("21  amdahl"), "{out}");
    let (code, out, err) = mpisim(&["lesson", "ring-hang"], &home);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("not a terminal"), "{err}");
    assert!(out.starts_with("Lesson 4: The ring that hangs"), "{out}");
}

#[test]
fn the_course_passes_its_check() {
    let home = temp("check");
    let files = course_files();
    let mut args = vec!["lesson", "check"];
    args.extend(files.iter().map(String::as_str));
    let (code, out, err) = mpisim(&args, &home);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.ends_with(&format!("{0} files checked: {0} passed, 0 failed\n", files.len())), "{out}");
    args.extend(["--format", "json"]);
    let (code, out, _) = mpisim(&args, &home);
    assert_eq!(code, 0);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["failed"], 0);
    assert!(report["files"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["ok"] == true && f["errors"] == serde_json::json!([])));
}

/// A copy of the ring lesson with `from` replaced by `to`, checked: its exit code and output.
fn check_broken(name: &str, from: &str, to: &str) -> (i32, String) {
    let dir = temp(name);
    let text = std::fs::read_to_string(lessons_dir().join("04-ring-hang.ron")).unwrap();
    assert!(text.contains(from), "the ring lesson has {from:?}");
    let file = dir.join("broken.ron");
    std::fs::write(&file, text.replacen(from, to, 1)).unwrap();
    let (code, out, err) = mpisim(&["lesson", "check", file.to_str().unwrap()], &dir);
    (code, format!("{out}{err}"))
}

#[test]
fn broken_copies_fail_with_where_and_why() {
    let cases = [
        // Syntax: a missing comma, with the line and column.
        (
            "comma",
            "title: \"The ring that hangs\",",
            "title: \"The ring that hangs\"",
            "broken.ron:7:5: Expected comma",
        ),
        ("program", "program: \"ring\"", "program: \"rung\"", "unknown program `rung`; the catalogue has"),
        ("param", "params: {\"bytes\": 8}", "params: {\"colour\": 8}", "program `ring` has no parameter --colour"),
        ("query", "answer: Cycle,", "answer: Cycles,", "Cycles"),
        ("rank", "BlockedCall(rank: 2)", "BlockedCall(rank: 9)", "names rank 9, but the run has 4 ranks"),
        // Uncomputable on the run: the 8-byte ring completes, so it has no cycle.
        (
            "uncomputable",
            "answer: Outcome,",
            "answer: Cycle,",
            "step 1 question 1: the answer (Cycle) cannot be computed",
        ),
        // The run no longer gives exactly one right choice.
        (
            "two-right",
            "value: \"deadlock\", feedback: \"Read",
            "value: \"completed\", feedback: \"Read",
            "choices a, b are all right",
        ),
    ];
    for (name, from, to, want) in cases {
        let (code, out) = check_broken(name, from, to);
        assert_eq!(code, 1, "{name}: {out}");
        assert!(out.contains(want), "{name}: want {want:?} in:\n{out}");
        assert!(out.contains("FAIL  ") && out.contains("broken.ron"), "{name}: {out}");
        assert!(out.contains("1 file checked: 0 passed, 1 failed"), "{name}: {out}");
    }
}

#[test]
fn syntax_errors_in_json_give_line_and_column() {
    let dir = temp("json");
    let file = dir.join("bad.ron");
    std::fs::write(&file, "Lesson(\n  schema: 1,\n  id: \"x\",\n  order: oops,\n)").unwrap();
    let (code, out, _) = mpisim(&["lesson", "check", file.to_str().unwrap(), "--format", "json"], &dir);
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&out).unwrap();
    let error = &report["files"][0]["errors"][0];
    assert_eq!((error["line"].as_u64(), error["column"].is_u64()), (Some(4), true), "{report}");
}

#[test]
fn usage_errors_are_short_and_exit_2() {
    let home = temp("usage");
    let (code, _, err) = mpisim(&["lesson", "check"], &home);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("FILES"), "{err}");
    let (code, _, err) = mpisim(&["lesson", "no-such-lesson"], &home);
    assert_eq!(code, 2);
    assert!(err.contains("no lesson `no-such-lesson`; the lessons are hello"), "{err}");
    let (code, _, err) = mpisim(&["lesson", "list", "--format", "xml"], &home);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn a_handout_has_every_step_its_reports_and_the_answers() {
    let home = temp("text");
    let (code, out, err) = mpisim(&["lesson", "ring-hang", "--text"], &home);
    assert_eq!(code, 0, "{err}");
    for want in [
        "Step 1/4: Eight bytes go round",
        "$ mpisim run ring -n 4 --bytes 8",
        "warning: buffering hazard",
        "deadlock at t = 0 ns: 4 ranks blocked",
        "In mpi4py:",
        "Answers (from the runs)",
        "step 2, question 1: a) 0 → 1 → 2 → 3 → 0",
        "step 4, question 1: 4 KiB",
    ] {
        assert!(out.contains(want), "missing {want:?}:\n{out}");
    }
}

#[test]
fn a_corrupt_progress_file_is_a_note_not_a_crash() {
    let home = temp("corrupt");
    std::fs::write(home.join("progress.json"), "{ not json").unwrap();
    let (code, out, _) = mpisim(&["lesson", "list"], &home);
    assert_eq!(code, 0);
    assert!(out.contains("progress.json: line 1, column 3"), "{out}");
    assert!(out.contains("not saved until the file is fixed or removed"), "{out}");
}
