//! `mpisim exercise …` and `mpisim grade` as a student and an instructor run them: real
//! cargo projects, built and graded by the binary. Building is what costs, so one test
//! makes every project, in sequence, with one shared target folder (the engine crate is
//! built once; each project after it only builds itself), and prints how long each step
//! took; the other tests build nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mpisim(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mpisim")).args(args).current_dir(dir).output().expect("mpisim runs")
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A fresh folder for a test's projects.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("exercises").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `mpisim ARGS` in `dir`, checks its exit code, and returns its output.
#[track_caller]
fn check(dir: &Path, args: &[&str], code: i32) -> (String, String) {
    let out = mpisim(dir, args);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(code), "mpisim {}\nstdout:\n{stdout}\nstderr:\n{stderr}", args.join(" "));
    (stdout, stderr)
}

/// The even/odd fix, as a student writes it into the starter.
fn parity_fix(starter: &str) -> String {
    let naive = "    comm.send(&message, right, 0);\n    let (_, status) = comm.recv_status::<Vec<u8>>(left, 0);\n";
    assert!(starter.contains(naive), "the starter's calls changed:\n{starter}");
    starter.replace(
        naive,
        "    let status = if rank % 2 == 0 {\n        comm.send(&message, right, 0);\n        \
         comm.recv_status::<Vec<u8>>(left, 0).1\n    } else {\n        \
         let (_, status) = comm.recv_status::<Vec<u8>>(left, 0);\n        comm.send(&message, right, 0);\n        \
         status\n    };\n",
    )
}

#[allow(clippy::disallowed_methods)] // the build times are printed, never asserted
fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let started = std::time::Instant::now();
    let value = f();
    eprintln!("{what}: {:.1} s", started.elapsed().as_secs_f64());
    value
}

#[test]
fn a_student_starts_the_ring_fails_then_fixes_it_and_an_instructor_grades_them_all() {
    let root = scratch("ring");
    // Kept between runs of the tests, so only the first builds the engine crate.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("exercise-target");
    let target = target.to_str().unwrap();

    let (out, _) = check(&root, &["exercise", "start", "ring", "naive"], 0);
    assert!(out.contains("wrote the exercise `ring` (Fix the ring deadlock) to naive"), "{out}");
    for file in ["Cargo.toml", "Cargo.lock", "src/main.rs", "README.md", ".gitignore", ".mpisim-exercise"] {
        assert!(root.join("naive").join(file).exists(), "{file} missing");
    }
    let readme = std::fs::read_to_string(root.join("naive/README.md")).unwrap();
    assert!(readme.contains("| `no-deadlock` | completes on 4 ranks with 1 MiB messages"), "{readme}");

    // The starter compiles, deadlocks, and the grader names the check and its hint.
    let (out, _) = timed("grade the starter (the first run builds the engine crate)", || {
        check(&root, &["grade", "naive", "--target-dir", target], 1)
    });
    insta::assert_snapshot!("ring_starter_graded", out);

    // The same project with the even/odd fix passes every check.
    check(&root, &["exercise", "start", "ring", "fixed"], 0);
    let starter = std::fs::read_to_string(root.join("fixed/src/main.rs")).unwrap();
    std::fs::write(root.join("fixed/src/main.rs"), parity_fix(&starter)).unwrap();
    let (out, _) =
        timed("grade the fix (builds only itself)", || check(&root, &["grade", "fixed", "--target-dir", target], 0));
    assert!(out.contains("score: 7/7 checks passed"), "{out}");
    assert!(!out.contains("FAIL"), "{out}");

    // A project that does not compile: the compiler's first error and the hint.
    check(&root, &["exercise", "start", "ring", "broken"], 0);
    std::fs::write(root.join("broken/src/main.rs"), starter.replace("let right = ", "let right = rigth + ")).unwrap();
    let (out, _) = timed("grade a project that does not compile", || {
        check(&root, &["grade", "broken", "--target-dir", target], 1)
    });
    assert!(out.contains("FAIL build: the project does not compile"), "{out}");
    assert!(out.contains("error[E0425]: cannot find value `rigth` in this scope"), "{out}");
    assert!(out.contains("--> src/main.rs:16:17"), "{out}");
    assert!(out.contains("hint: fix this first (`cargo build --release` in broken shows every error)"), "{out}");
    assert!(out.contains("score: 0/7 checks passed"), "{out}");

    // A program that loops outside MPI calls is stopped; one that prints to standard
    // output besides its report is graded all the same.
    check(&root, &["exercise", "start", "ring", "loops"], 0);
    let looping = parity_fix(&starter)
        .replace("    let status = if", "    if rank == 1 && params.number(\"bytes\") > 8 {\n        loop {\n            std::hint::black_box(rank);\n        }\n    }\n    println!(\"chatty\");\n    let status = if");
    std::fs::write(root.join("loops/src/main.rs"), looping).unwrap();
    let (out, _) = timed("grade a program that loops", || {
        check(&root, &["grade", "loops", "--target-dir", target, "--timeout", "1"], 1)
    });
    assert!(out.contains("PASS strict:") && out.contains("PASS no-hazard:"), "{out}");
    assert!(
        out.contains(
            "FAIL no-deadlock: completes on 4 ranks with 1 MiB messages (above the eager limit)\n     seen: the \
                      program did not run: it ran for more than 1 s and was stopped"
        ),
        "{out}"
    );
    assert!(out.contains("score: 2/7 checks passed"), "{out}");

    // The instructor's gradebook over every folder, one of which is not a project. Each
    // project is rebuilt in the shared folder, so the starter's failures are its own.
    std::fs::create_dir_all(root.join("stray")).unwrap();
    let (out, _) = timed("gradebook of four folders", || {
        check(&root, &["grade", "--format", "json", "--target-dir", target, "fixed", "naive", "broken", "stray"], 2)
    });
    let book: serde_json::Value = serde_json::from_str(&out).expect("one JSON object");
    let summary: Vec<String> = book["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{} {} {}/{}", p["dir"], p["build"]["ok"], p["passed"], p["total"]))
        .collect();
    assert_eq!(summary, [r#""fixed" true 7/7"#, r#""naive" true 0/7"#, r#""broken" false 0/7"#, r#""stray" null 0/0"#]);
    assert_eq!((book["passed"].as_u64(), book["total"].as_u64()), (Some(7), Some(21)));
    let naive = &book["projects"][1]["checks"][0];
    assert_eq!(naive["check"], "no-deadlock");
    assert_eq!(naive["passed"], false);
    assert!(naive["seen"].as_str().unwrap().starts_with("deadlock, cycle 0 → 1 → 2 → 3 → 0"), "{naive}");
    assert!(naive["hint"].as_str().unwrap().contains("let even ranks send first"), "{naive}");
    assert!(book["projects"][2]["build"]["error"].as_str().unwrap().contains("rigth"));
    assert!(book["projects"][3]["error"].as_str().unwrap().contains("stray is not an exercise project"));
}

#[test]
fn start_writes_only_into_a_new_or_empty_folder() {
    let root = scratch("start");
    std::fs::create_dir_all(root.join("empty")).unwrap();
    check(&root, &["exercise", "start", "bcast", "empty"], 0);
    let (_, err) = check(&root, &["exercise", "start", "ring", "empty"], 2);
    assert!(err.contains("empty is not empty: `exercise start` writes a new project and overwrites nothing"), "{err}");
    assert!(std::fs::read_to_string(root.join("empty/src/main.rs")).unwrap().contains("binomial tree"));

    check(&root, &["exercise", "start", "task-farm"], 0);
    assert!(root.join("task-farm/src/main.rs").exists(), "the folder defaults to the exercise's name");

    let (_, err) = check(&root, &["exercise", "start", "rings", "x"], 2);
    assert!(
        err.contains("no such exercise: the built-in ones are ring, tree-sum, bcast, task-farm, scatterv"),
        "{err}"
    );
    assert!(!root.join("x").exists());

    let out = Command::new(env!("CARGO_BIN_EXE_mpisim"))
        .args(["exercise", "start", "ring", "elsewhere"])
        .env("MPISIM_REPO", root.join("no-clone-here"))
        .current_dir(&root)
        .output()
        .unwrap();
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("(MPISIM_REPO) has no sim/Cargo.toml of the mpisim crate; set MPISIM_REPO"), "{err}");
    assert!(!root.join("elsewhere").exists());
}

#[test]
fn the_exercises_are_listed_shown_and_checked() {
    let root = scratch("list");
    let (out, _) = check(&root, &["exercise", "list", "--format", "json"], 0);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = list["exercises"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["ring", "tree-sum", "bcast", "task-farm", "scatterv"]);
    let (out, _) = check(&root, &["exercise", "list"], 0);
    assert!(out.contains("  ring       Fix the ring deadlock: "), "{out}");
    let (out, _) = check(&root, &["exercise", "show", "tree-sum"], 0);
    assert!(out.starts_with("# Exercise `tree-sum`: A parallel sum as a reduction tree\n"), "{out}");
    assert!(out.contains("| `rounds` | takes at most ⌈lg p⌉ rounds on 8 ranks | `-n 8 --values 1000` |"), "{out}");

    let files: Vec<String> = ["ring", "tree-sum", "bcast", "task-farm", "scatterv"]
        .iter()
        .map(|n| format!("{}/../lessons/exercises/{n}.ron", env!("CARGO_MANIFEST_DIR")))
        .collect();
    let args: Vec<&str> = ["exercise", "check"].into_iter().chain(files.iter().map(String::as_str)).collect();
    let (out, _) = check(&root, &args, 0);
    assert_eq!(out.lines().filter(|l| l.starts_with("ok: ")).count(), 5, "{out}");

    // An instructor's broken copy: line and column.
    let text = std::fs::read_to_string(&files[0]).unwrap();
    std::fs::write(root.join("ring.rs"), "fn main() {}\n").unwrap();
    std::fs::write(root.join("ring.ron"), text.replacen("expect: Completes,", "expect: Completes", 1)).unwrap();
    let (_, err) = check(&root, &["exercise", "check", "ring.ron"], 1);
    assert!(err.starts_with("error: ring.ron:26:13: malformed exercise file: Expected comma"), "{err}");
    let (out, _) = check(&root, &["exercise", "check", "--format", "json", "ring.ron"], 1);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((report["files"][0]["line"].as_u64(), report["files"][0]["column"].as_u64()), (Some(26), Some(13)));

    // Its own exercise, with a reference that cannot run one of the checks.
    std::fs::write(root.join("mine.rs"), "fn main() {}\n").unwrap();
    std::fs::write(
        root.join("mine.ron"),
        text.replace("name: \"ring\"", "name: \"mine\"").replace("ring.rs", "mine.rs"),
    )
    .unwrap();
    check(&root, &["exercise", "check", "mine.ron"], 0);
    check(&root, &["exercise", "start", "mine.ron", "mine"], 0);
    let marker = std::fs::read_to_string(root.join("mine/.mpisim-exercise")).unwrap();
    assert!(marker.contains("(exercise:\"mine\",file:Some(\""), "{marker}");
    let (_, err) = check(&root, &["exercise", "check", "nothing.ron"], 1);
    assert!(err.contains("nothing.ron: cannot read the exercise file"), "{err}");
    let (_, err) = check(&root, &["exercise", "frobnicate"], 2);
    assert!(err.contains("unrecognized subcommand 'frobnicate'"), "{err}");
    let (_, err) = check(&root, &["grade", "--timeout", "0"], 2);
    assert!(err.contains("--timeout: 0 is not a number of seconds above 0"), "{err}");
    let (_, err) = check(&root, &["grade"], 2);
    assert!(err.contains(". is not an exercise project: it has no .mpisim-exercise"), "{err}");
}
