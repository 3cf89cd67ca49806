//! The built-in exercises, graded in-process: every reference solution (kept here, in
//! tests/exercises/, not shipped to students) passes every check of its exercise; every
//! starter fails at least one, and the grader says why (snapshots); and wrong solutions
//! of other kinds fail exactly the checks meant to catch them. The programs are the very
//! files a student's project holds, run by `launch::simulate_program` as their binaries
//! would run: no cargo build (tui/tests/exercises.rs builds real projects).

use mpisim::exercise::{self, Grade, ObserveError, Observed, RunSpec};
use mpisim::launch::{Param, Params};
use mpisim::{op, Comm};

type Run = fn(&RunSpec) -> Result<Observed, ObserveError>;

/// A program file as a module, with `graded`: its run under a check's spec.
macro_rules! program {
    ($module:ident, $file:literal, $function:ident) => {
        #[allow(dead_code)]
        mod $module {
            include!($file);

            pub fn graded(
                spec: &mpisim::exercise::RunSpec,
            ) -> Result<mpisim::exercise::Observed, mpisim::exercise::ObserveError> {
                mpisim::exercise::Observed::in_process(stringify!($function), PARAMS, $function, spec)
            }
        }
    };
}

program!(ring_starter, "../lessons/exercises/ring.rs", ring);
program!(ring_solution, "exercises/ring.rs", ring);
program!(tree_sum_starter, "../lessons/exercises/tree-sum.rs", tree_sum);
program!(tree_sum_solution, "exercises/tree-sum.rs", tree_sum);
program!(bcast_starter, "../lessons/exercises/bcast.rs", bcast);
program!(bcast_solution, "exercises/bcast.rs", bcast);
program!(task_farm_starter, "../lessons/exercises/task-farm.rs", task_farm);
program!(task_farm_solution, "exercises/task-farm.rs", task_farm);
program!(scatterv_starter, "../lessons/exercises/scatterv.rs", scatterv);
program!(scatterv_solution, "exercises/scatterv.rs", scatterv);

fn grade(name: &str, run: Run) -> Grade {
    let exercise = exercise::find(name).unwrap_or_else(|| panic!("no exercise {name}"));
    exercise.grade(&mut |spec| run(spec)).unwrap_or_else(|e| panic!("{e}"))
}

/// Grades `run` against exercise `name` and checks that exactly `failing` fail.
#[track_caller]
fn check(name: &str, run: Run, failing: &[&str]) -> Grade {
    let grade = grade(name, run);
    let failed: Vec<&str> = grade.verdicts.iter().filter(|v| !v.passed).map(|v| v.check.as_str()).collect();
    assert_eq!(failed, failing, "{name}:\n{grade}");
    assert_eq!(grade.passed + failing.len(), grade.total);
    grade
}

#[test]
fn every_reference_solution_passes_every_check() {
    check("ring", ring_solution::graded, &[]);
    check("tree-sum", tree_sum_solution::graded, &[]);
    check("bcast", bcast_solution::graded, &[]);
    check("task-farm", task_farm_solution::graded, &[]);
    check("scatterv", scatterv_solution::graded, &[]);
    let names: Vec<String> = exercise::builtin().into_iter().map(|e| e.name).collect();
    assert_eq!(names, ["ring", "tree-sum", "bcast", "task-farm", "scatterv"], "a new exercise needs its solution here");
}

#[test]
fn every_starter_fails_and_the_grader_says_why() {
    let all = ["no-deadlock", "no-deadlock-odd", "strict", "no-hazard", "results", "two-ranks", "time"];
    insta::assert_snapshot!("ring_starter", check("ring", ring_starter::graded, &all).to_string());
    let grade = check("tree-sum", tree_sum_starter::graded, &["rounds", "rounds-6"]);
    insta::assert_snapshot!("tree_sum_starter", grade.to_string());
    let grade = check("bcast", bcast_starter::graded, &["rounds", "rounds-6", "time"]);
    insta::assert_snapshot!("bcast_starter", grade.to_string());
    let grade = check("task-farm", task_farm_starter::graded, &["balance", "balance-7"]);
    insta::assert_snapshot!("task_farm_starter", grade.to_string());
    let grade = check("scatterv", scatterv_starter::graded, &["uneven", "uneven-results", "more-ranks"]);
    insta::assert_snapshot!("scatterv_starter", grade.to_string());
}

/// A wrong solution of another kind, graded as a student's program would be.
fn graded<R: serde::Serialize>(
    declared: &'static [Param],
    program: fn(&Comm, &Params) -> R,
) -> impl Fn(&RunSpec) -> Result<Observed, ObserveError> {
    move |spec| Observed::in_process("wrong", declared, program, spec)
}

#[track_caller]
fn check_wrong(name: &str, run: impl Fn(&RunSpec) -> Result<Observed, ObserveError>, failing: &[&str]) -> Grade {
    let exercise = exercise::find(name).unwrap();
    let grade = exercise.grade(&mut |spec| run(spec)).unwrap();
    let failed: Vec<&str> = grade.verdicts.iter().filter(|v| !v.passed).map(|v| v.check.as_str()).collect();
    assert_eq!(failed, failing, "{name}:\n{grade}");
    grade
}

const RING: &[Param] = &[Param::bytes("bytes", "8", "message size")];

/// Rank 0 sends first, every other rank receives first: no deadlock, but the message goes
/// round the ring one hop at a time.
fn serial_ring(comm: &Comm, p: &Params) -> usize {
    let (rank, size) = (comm.rank(), comm.size());
    let msg = mpisim::payload_of_size(p.number("bytes"));
    if rank == 0 {
        comm.send(&msg, 1, 0);
        comm.recv_status::<Vec<u8>>(size - 1, 0).1.source
    } else {
        let source = comm.recv_status::<Vec<u8>>(rank - 1, 0).1.source;
        comm.send(&msg, (rank + 1) % size, 0);
        source
    }
}

/// The ring with sendrecv: as good as the parity order.
fn sendrecv_ring(comm: &Comm, p: &Params) -> usize {
    let (rank, size) = (comm.rank(), comm.size());
    let msg = mpisim::payload_of_size(p.number("bytes"));
    comm.sendrecv_status::<_, Vec<u8>>(&msg, (rank + 1) % size, 0, (rank + size - 1) % size, 0).1.source
}

#[test]
fn a_ring_that_serialises_fails_only_the_time_check() {
    let grade = check_wrong("ring", graded(RING, serial_ring), &["time"]);
    let time = grade.verdicts.iter().find(|v| v.check == "time").unwrap();
    assert!(time.seen.contains("2.00× the reference's"), "{}", time.seen);
    check_wrong("ring", graded(RING, sendrecv_ring), &[]);
}

#[test]
fn a_program_without_the_parameter_fails_every_check_saying_so() {
    let grade = check_wrong(
        "ring",
        graded(&[], |comm: &Comm, _: &Params| comm.rank()),
        &["no-deadlock", "no-deadlock-odd", "strict", "no-hazard", "results", "two-ranks", "time"],
    );
    assert_eq!(
        grade.verdicts[0].seen,
        "the program did not run: program `wrong` takes no parameter, but --bytes was given"
    );
}

const VALUES: &[Param] = &[Param::count("values", "1000", "numbers")];

/// The sum by `reduce`: right, in ⌈lg p⌉ rounds, but not written by hand.
fn by_reduce(comm: &Comm, p: &Params) -> u64 {
    let (rank, size, values) = (comm.rank() as u64, comm.size() as u64, p.number("values"));
    let mine: u64 = (values * rank / size..values * (rank + 1) / size).sum();
    comm.reduce(&mine, op::SUM, 0).unwrap_or(mine)
}

#[test]
fn a_tree_sum_by_reduce_fails_the_point_to_point_check() {
    let grade = check_wrong("tree-sum", graded(VALUES, by_reduce), &["point-to-point"]);
    let seen = &grade.verdicts.iter().find(|v| v.check == "point-to-point").unwrap().seen;
    assert!(seen.starts_with("calls MPI_Reduce at tests/exercises.rs:"), "{seen}");
}

const TASKS: &[Param] = &[Param::count("tasks", "24", "tasks")];

/// Tasks dealt round-robin up front: as unbalanced as blocks with these costs.
fn round_robin(comm: &Comm, p: &Params) -> u64 {
    let (tasks, workers) = (p.number("tasks"), comm.size() as u64 - 1);
    if comm.rank() == 0 {
        for w in 1..=workers {
            let mine: Vec<u64> = (w - 1..tasks).step_by(workers as usize).collect();
            comm.send(&mine, w as usize, 1);
        }
        (1..=workers).map(|w| comm.recv::<u64>(w as usize, 3)).sum()
    } else {
        let mine: Vec<u64> = comm.recv(0, 1);
        for &t in &mine {
            comm.compute(mpisim::catalogue::task_cost(t));
        }
        comm.send(&mine.iter().map(|&t| mpisim::catalogue::task_result(t)).sum::<u64>(), 0, 3);
        mine.len() as u64
    }
}

#[test]
fn a_round_robin_task_farm_is_too_slow() {
    check_wrong("task-farm", graded(TASKS, round_robin), &["balance", "balance-7"]);
}

#[test]
fn every_exercise_reads_back_from_its_file_as_embedded() {
    for embedded in exercise::builtin() {
        let path = format!("{}/lessons/exercises/{}.ron", env!("CARGO_MANIFEST_DIR"), embedded.name);
        let loaded = exercise::Exercise::load(std::path::Path::new(&path)).unwrap();
        assert_eq!((&loaded.checks, &loaded.starter_source), (&embedded.checks, &embedded.starter_source));
    }
}
