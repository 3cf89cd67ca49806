//! Reports at scale and in plain words: a 1,000-rank deadlock in a few lines, failing runs
//! in tests printing the report, communicators named by how they were made, types as
//! written, sizes as people write them, what a strict run saw, and presets that differ.

use mpisim::catalogue::{self, Program};
use mpisim::{launch, report, Comm, Platform, SimError, Simulation, Warning, World, ANY_SOURCE};
use serde_json::Value;
use std::collections::BTreeMap;

/// Runs catalogue program `name` in-process as its binary runs with `args`.
fn run(name: &str, args: &[&str]) -> (Simulation<Value>, report::RunHeader) {
    let program: &Program = catalogue::find(name).expect("a catalogue program");
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    launch::simulate_program(program.name, program.params, |comm, params| (program.run)(comm, params), &args)
        .expect("the flags parse")
}

fn text(name: &str, args: &[&str]) -> String {
    let (sim, header) = run(name, args);
    report::text(&sim, &header)
}

fn deadlock<R>(sim: &Simulation<R>) -> &mpisim::DeadlockReport {
    match &sim.outcome {
        Err(SimError::Deadlock(d)) => d,
        Ok(_) => panic!("the run completed"),
        Err(e) => panic!("not a deadlock: {e}"),
    }
}

#[track_caller]
fn check_words(text: &str, has: &[&str], lacks: &[&str]) {
    for words in has {
        assert!(text.contains(words), "no `{words}` in:\n{text}");
    }
    for words in lacks {
        assert!(!text.contains(words), "`{words}` in:\n{text}");
    }
}

#[test]
fn a_thousand_rank_ring_reads_in_a_few_lines_and_the_json_keeps_it_all() {
    let args = ["-n", "1000", "--bytes", "2KiB", "--eager-limit", "1KiB"];
    let text = text("ring", &args);
    insta::assert_snapshot!("ring_1000_ranks", text);
    assert!(text.lines().count() < 12, "{} lines", text.lines().count());
    let (sim, header) = run("ring", &args);
    let json = report::json(&sim, &header);
    assert_eq!(json["deadlock"]["cycle"].as_array().unwrap().len(), 1000);
    assert_eq!(json["deadlock"]["blocked"].as_array().unwrap().len(), 1000);
    assert_eq!(json["deadlock"]["blocked"][999]["peer"], 0);
    assert_eq!(json["deadlock"]["blocked"][999]["comm_name"], "COMM_WORLD");
}

#[test]
fn many_ranks_waiting_alike_are_one_line_and_rank_lists_are_ranges() {
    // 999 ranks receive from rank 0, which returned without sending.
    let sim = World::new(1000).simulate(|comm: &Comm| {
        if comm.rank() > 0 {
            let _: u8 = comm.recv(0, 7);
        }
    });
    let d = deadlock(&sim);
    let text = d.to_string();
    check_words(
        &text,
        &[
            "ranks 1–999  MPI_Recv from rank 0, tag 7 on COMM_WORLD",
            "no matching message was sent: rank 0 finished",
            "finished: rank 0",
            "ranks 1–999 still wait for it",
        ],
        &["rank   5"],
    );
    assert!(text.lines().count() < 8, "{text}");
}

#[test]
fn a_failing_run_in_a_test_prints_the_report() {
    fn ring(comm: &Comm) {
        let (rank, size) = (comm.rank(), comm.size());
        comm.send(&mpisim::payload_of_size(1 << 20), (rank + 1) % size, 0);
        let _: Vec<u8> = comm.recv((rank + size - 1) % size, 0);
    }
    for ranks in [4, 64] {
        let panic = std::panic::catch_unwind(|| World::new(ranks).run(ring).unwrap()).unwrap_err();
        let message = panic.downcast_ref::<String>().expect("unwrap panics with a message");
        assert!(message.starts_with("called `Result::unwrap()` on an `Err` value: deadlock at t = 0 ns:"), "{message}");
        check_words(message, &["cycle: 0 → 1 → 2 → 3", "MPI_Send to rank", "1 MiB", "hint: "], &["BlockedCall {"]);
        assert!(message.len() < 1600, "{ranks} ranks: {} bytes:\n{message}", message.len());
    }
    // `{:#?}` has the fields, as JSON.
    let Err(e) = World::new(2).run(ring) else { panic!("the ring completed") };
    let fields: Value = serde_json::from_str(&format!("{e:#?}")).expect("JSON");
    assert_eq!(fields["kind"], "deadlock");
    assert_eq!(fields["cycle"], serde_json::json!([0, 1]));
}

#[test]
fn a_failed_exploration_prints_its_report_and_token() {
    fn racy(comm: &Comm) -> u8 {
        if comm.rank() == 0 {
            let first: u8 = comm.recv(ANY_SOURCE, 0);
            first + comm.recv::<u8>(2, 0)
        } else {
            comm.send(&1u8, 0, 0);
            0
        }
    }
    let failure = World::new(3).explore(100, racy).result().unwrap_err();
    let shown = format!("{failure:?}");
    check_words(&shown, &["deadlock at t =", "replay it with MPISIM_SEED="], &["Simulation {", "events"]);
    let text = text("wildcard-race", &["-n", "3", "--explore", "100"]);
    check_words(&text, &["explore: run 2 failed (of up to 100), under schedule c1", "replay: add --replay c1"], &[]);
}

#[test]
fn the_strict_run_of_p2p_tags_says_what_it_saw() {
    let text = text("p2p-tags", &[]);
    check_words(
        &text,
        &[
            "MPI_Recv from rank 0, tag 22 on COMM_WORLD",
            "no matching message has been sent: rank 0 is blocked in MPI_Send at sim/src/catalogue/p2p_tags.rs:",
            "rank 1 waits for tag 22 from rank 0, which is blocked sending tag 11 first",
            "tag 11, 21 bytes",
        ],
        &["no matching message was sent"],
    );
}

#[test]
fn collective_verdict_programs_block_in_the_collective_they_are_about() {
    let (sim, _) = run("coll-order", &[]);
    let d = deadlock(&sim);
    let names: Vec<String> = d.blocked.iter().map(|b| b.comm_text().unwrap()).collect();
    assert!(d.blocked.iter().all(|b| b.call == mpisim::CallKind::Allreduce), "{d}");
    assert!(names.iter().all(|n| n.starts_with("dup of COMM_WORLD at coll_order.rs:")), "{names:?}");
    assert_ne!(names[0], names[1], "even and odd ranks wait in the allreduces of two communicators");
    check_words(&d.hint, &["collectives called in different orders", "on dup of COMM_WORLD at coll_order.rs:"], &[]);
    check_words(&d.to_string(), &[], &["communicator 1", "communicator 2", "MPI_Comm_dup"]);

    let (sim, _) = run("skip-collective", &[]);
    let d = deadlock(&sim);
    assert!(d.blocked.iter().all(|b| b.call == mpisim::CallKind::Allreduce), "{d}");
    check_words(&d.hint, &["rank 3 finished without calling MPI_Allreduce on COMM_WORLD, which ranks 0–2 are in"], &[]);
    for (name, fix) in [("coll-order", ["--order", "same"]), ("skip-collective", ["--skip", "none"])] {
        let (sim, _) = run(name, &fix);
        assert!(sim.outcome.is_ok(), "{name} {fix:?} completes");
    }
}

#[test]
fn communicators_are_named_by_how_they_were_made() {
    let sim = World::new(4).simulate(|comm: &Comm| {
        let halves = comm.split((comm.rank() % 2) as u32, 0).expect("every rank has a color");
        let copy = halves.dup();
        if halves.rank() == 0 {
            let _: u8 = copy.recv(1, 3); // nobody sends
        }
    });
    let d = deadlock(&sim);
    let name = d.blocked[0].comm_text().unwrap();
    assert!(name.starts_with("dup of (split of COMM_WORLD by color 0 at reports.rs:"), "{name}");
    check_words(&d.to_string(), &["MPI_Recv from rank 2, tag 3 on dup of (split of COMM_WORLD by color 0"], &[]);
}

#[test]
fn types_are_named_as_written_and_sizes_as_people_write_them() {
    let sim = World::new(2).simulate(|comm: &Comm| {
        if comm.rank() == 0 {
            comm.send(&vec![1.5f64], 1, 0);
        } else {
            let _: BTreeMap<String, f64> = comm.recv(0, 0);
        }
    });
    let Err(SimError::RankFailed(failure)) = &sim.outcome else { panic!("the receive fails") };
    let message = failure.error.as_ref().unwrap().to_string();
    check_words(&message, &["holds a `Vec<f64>`", "asked for a `BTreeMap<String, f64>`"], &["alloc::"]);

    let one_byte = World::new(2).eager_limit(0).simulate(|comm: &Comm| {
        if comm.rank() == 0 {
            comm.send(&mpisim::payload_of_size(1), 1, 0);
        }
    });
    let text = deadlock(&one_byte).to_string();
    check_words(&text, &["MPI_Send to rank 1, tag 0, 1 byte on COMM_WORLD"], &["1 bytes"]);
    let two_mib = text_of_limit(2 << 20);
    check_words(&two_mib, &["(eager limit 2 MiB)"], &["2048 KiB"]);
}

fn text_of_limit(limit: u64) -> String {
    let limit = limit.to_string();
    text("ring", &["--eager-limit", &limit])
}

#[test]
fn an_unlimited_eager_limit_is_not_a_size_in_a_sentence() {
    let text = text("ring", &["--platform", "infinite"]);
    check_words(&text, &["buffering hazard", "every standard send is buffered, whatever its size"], &["(unlimited)"]);
}

#[test]
fn unreceived_messages_of_many_ranks_are_one_warning() {
    let sim = World::new(100).simulate(|comm: &Comm| {
        let size = comm.size();
        comm.send(&1u8, (comm.rank() + 1) % size, 5);
    });
    assert_eq!(sim.warnings.iter().filter(|w| matches!(w, Warning::Unreceived(_))).count(), 100);
    let header = report::RunHeader { program: "leak".into(), ..Default::default() };
    let text = report::text(&sim, &header);
    let warnings: Vec<&str> = text.lines().filter(|l| l.starts_with("warning:")).collect();
    let [warning] = warnings[..] else { panic!("one warning for the 100 messages:\n{text}") };
    assert!(
        warning.starts_with(
            "warning: a message from rank (r-1) mod 100 to rank r (tag 5, 1 byte, MPI_Send at tests/reports.rs:"
        ),
        "{warning}"
    );
    assert!(warning.ends_with(") was never received (for r = 0–99)"), "{warning}");
}

#[test]
fn presets_differ_as_the_libraries_do() {
    // The case: the 8 KiB ring took 9.192 µs on every preset that completed. Now
    // each library's network gives its time, and Open MPI's 4 KiB eager limit a deadlock.
    let time = |name: &str| {
        let (sim, _) = run("ring", &["--bytes", "8KiB", "--platform", name]);
        sim.outcome.map(|_| sim.time.to_string()).map_err(|e| e.outcome())
    };
    let times: Vec<_> = ["default", "openmpi-tcp", "mpich", "smpi", "openmpi"].iter().map(|n| time(n)).collect();
    assert_eq!(
        times,
        [
            Ok("9.192 µs".into()),
            Ok("84.424 µs".into()),
            Ok("95.221 µs".into()),
            Ok("271.271 µs".into()),
            Err("deadlock")
        ]
    );
    let listing = mpisim::platform::presets_text();
    check_words(&listing, &["smpi", "201.603 µs", "117.587 MB/s", "openmpi", "350 ns", "8 GB/s"], &[]);
    let template = Platform::preset("mpich").unwrap().to_template();
    check_words(&template, &["MPIR_CVAR_CH3_EAGER_MAX_MSG_SIZE", "latency_ns: 24600,", "// ns"], &[]);
}
