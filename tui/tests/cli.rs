//! `mpisim run` and `mpisim scale` given bad input as a user types it: sizes that cannot
//! fit, parameters outside their ranges, output paths that cannot be written, flags that
//! do nothing or contradict each other. Each is a usage error (exit 2) in a moment, with a
//! sentence naming the flag or parameter and what it accepts; under `--format json` the
//! error is JSON on standard output.

use serde_json::Value;
use std::process::{Command, Stdio};

/// What a run of `mpisim` gave.
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

fn mpisim(args: &str, env: &[(&str, &str)]) -> Ran {
    let out = Command::new(env!("CARGO_BIN_EXE_mpisim"))
        .args(args.split_whitespace())
        .env_remove("MPISIM_SEED")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("mpisim runs");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Ran { code: out.status.code().unwrap_or(-1), stdout: text(&out.stdout), stderr: text(&out.stderr) }
}

/// `mpisim ARGS` is a usage error whose message contains each of `says`, and runs nothing
/// (no report on standard output).
#[track_caller]
fn refused(args: &str, says: &[&str]) {
    refused_with(args, &[], says)
}

#[track_caller]
fn refused_with(args: &str, env: &[(&str, &str)], says: &[&str]) {
    let ran = mpisim(args, env);
    assert_eq!(ran.code, 2, "`mpisim {args}`: exit {}\n{}{}", ran.code, ran.stdout, ran.stderr);
    assert_eq!(ran.stdout, "", "`mpisim {args}` printed a report");
    let first = ran.stderr.lines().next().unwrap_or_default();
    assert!(first.starts_with("error: "), "`mpisim {args}`: {}", ran.stderr);
    for s in says {
        assert!(ran.stderr.contains(s), "`mpisim {args}` does not say `{s}`:\n{}", ran.stderr);
    }
    assert!(!ran.stderr.contains("panicked"), "`mpisim {args}`: {}", ran.stderr);
}

#[test]
fn sizes_that_cannot_fit_are_refused_before_anything_is_allocated() {
    refused("run ring --bytes 1024GiB", &["ring --bytes: 1024GiB is outside the range 0 bytes to 64 GiB"]);
    // 4 ranks of two 40 GiB buffers each: no test machine has 320 GiB to spare.
    refused(
        "run ring --bytes 40GiB",
        &[
            "the run does not fit on this machine, so it was not started",
            "4 ranks need about 320.0 GiB of memory",
            "To run it: lower --bytes.",
        ],
    );
    // The pre-check of the memory maps and the estimate of the memory agree: 32,491 ranks
    // of 1 MiB messages are refused whole, not aborted at 2.2 GB.
    refused(
        "run ring -n 32491 --bytes 1MiB",
        &["the run does not fit on this machine", "32491 ranks need", "run at most"],
    );
    refused("run ring --platform /dev/zero", &["/dev/zero", "it is not text (byte 0 is NUL"]);
    refused("run ring --stack-size 1TiB", &["--stack-size: `1TiB` is not a stack size from 16KiB to 1GiB"]);
}

#[test]
fn scatterv_grows_linearly_per_rank() {
    // Rank i got i + 1 values and every rank gathered them all: 24 GB at 1,000 ranks.
    let ran = mpisim("run scatterv -n 1000 --format json", &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let report: Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(report["outcome"], "completed");
}

#[test]
fn parameters_outside_their_declared_range_are_usage_errors() {
    refused("run kmeans --points 0", &["kmeans --points: 0 is outside the range 1 to 100000"]);
    refused(
        "run parallel-sum --values 18446744073709551615",
        &["parallel-sum --values: 18446744073709551615 is outside the range 0 to 4294967296"],
    );
    refused("run master-worker --items 10000001", &["master-worker --items: 10000001 is outside the range"]);
    refused("run pingpong --round-trips 18446744073709551615", &["pingpong --round-trips"]);
    refused(
        "run bcast-sum -n 4 --root 4",
        &["bcast-sum --root: 4 is outside the range 0 to 3, the ranks of a run of 4"],
    );
    refused("run ring --order sideways", &["ring --order: `sideways` is not one of naive, parity"]);
    refused("run ring -n 1", &["program `ring` needs at least 2 ranks; -n 1 was given"]);
}

#[test]
fn parameters_at_their_maximum_run() {
    for args in [
        "run master-worker --items 10000000",
        "run parallel-map --items 100000000",
        "run kmeans --points 100000 --k 1 --iterations 1 --restarts 1",
        "run parallel-sum --values 4294967296",
    ] {
        let ran = mpisim(args, &[]);
        assert_eq!(ran.code, 0, "`mpisim {args}`: {}{}", ran.stdout, ran.stderr);
    }
}

#[test]
fn output_paths_are_checked_before_the_run() {
    refused("run ring --trace /proc/x", &["--trace: cannot write /proc/x", "nothing was run"]);
    refused("run ring --dot /no/such/dir/graph.dot", &["--dot: cannot write /no/such/dir/graph.dot"]);
    refused("run ring --trace /tmp", &["--trace: cannot write /tmp: it is a directory"]);
    let ran = mpisim("scale ring -n 2,4 --svg /proc/x", &[]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.starts_with("error: --svg: cannot write /proc/x"), "{}", ran.stderr);
    assert_eq!(ran.stdout, "");
}

#[test]
fn a_file_that_is_not_written_is_not_left_behind() {
    // `--dot` of a run without a deadlock writes nothing: the file opened before the run
    // is removed again rather than left empty.
    let path = std::env::temp_dir().join(format!("mpisim-cli-dot-{}.dot", std::process::id()));
    let ran = mpisim(&format!("run hello --dot {}", path.display()), &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stderr.contains("no deadlock, so no wait-for graph was written"), "{}", ran.stderr);
    assert!(!path.exists());
}

#[test]
fn flags_that_do_nothing_or_conflict_say_so() {
    refused(
        "run ring --replay j1 --explore 3",
        &["--explore cannot go with --replay: --replay runs the one schedule it names"],
    );
    refused_with("run ring --explore 3", &[("MPISIM_SEED", "j1")], &["--explore cannot go with MPISIM_SEED=TOKEN"]);
    refused("run ring --mouse", &["--mouse does nothing without --tui; add --tui, or drop --mouse"]);
    refused("run ring --timeout 3", &["--timeout does nothing without --real"]);
    refused("run ring --launcher mpiexec", &["--launcher does nothing without --real"]);
    refused("run ring -- --hostfile hosts", &["-- ARGS does nothing without --real"]);
    refused("run ring --trace-format chrome", &["--trace-format does nothing without --trace"]);
    refused("run ring --real --trace t.json", &["--trace cannot go with --real"]);
    refused("run ring --seed 1 --seed 2", &["--seed was given twice"]);
    refused("run ring --strict=yes", &["--strict takes no value, but `yes` was given"]);
    refused("run ring --seed", &["--seed needs a value"]);
}

#[test]
fn an_unknown_flag_is_reported_as_unknown() {
    // It was "--colour needs a value" when last, and ate the next flag's name otherwise.
    refused("run ring --colour", &["program `ring` has no parameter --colour; it takes --bytes, --order"]);
    refused("run ring --colour --strict", &["program `ring` has no parameter --colour"]);
    refused("run hello --bytes 8", &["program `hello` takes no parameter, but --bytes was given"]);
    refused("run ring -x", &["unknown flag `-x`"]);
    refused("run ring stray", &["unexpected argument `stray`"]);
}

#[test]
fn under_format_json_usage_errors_are_json() {
    for (args, kind) in [
        ("run ring --format json --colour red", "unknown"),
        ("run ring --bytes 1024GiB --format json", "out_of_range"),
        ("run ring --format=json --mouse", "orphan"),
        ("run nosuch --format json", "unknown_program"),
        ("run ring --format json --trace /proc/x", "output"),
        ("run ring --format json --bytes 40GiB", "does_not_fit"),
        ("run ring --format json --platform mars", "platform"),
        ("run ring --format json --algorithm bcast=nope", "algorithm"),
        ("run ring --format json --replay nope", "replay"),
    ] {
        let ran = mpisim(args, &[]);
        assert_eq!(ran.code, 2, "`mpisim {args}`: {}", ran.stderr);
        assert_eq!(ran.stderr, "", "`mpisim {args}`");
        let json: Value = serde_json::from_str(&ran.stdout).unwrap_or_else(|e| panic!("`{args}`: {e}: {}", ran.stdout));
        assert_eq!(json["outcome"], "usage_error", "`mpisim {args}`");
        assert_eq!(json["error"]["detail"]["kind"], kind, "`mpisim {args}`: {json}");
        assert!(json["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "`mpisim {args}`");
    }
    let ran = mpisim("scale ring -n 2,4 --format json --colour red", &[]);
    assert_eq!(ran.code, 2);
    let json: Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(json["outcome"], "usage_error");
}
