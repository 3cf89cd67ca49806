//! Schedule exploration and replay: `World::explore` finds failures that depend on the
//! choices MPI leaves open, and a failure's token replays it exactly.

use mpisim::catalogue;
use mpisim::sched::{RandomChoice, ScheduleMode};
use mpisim::*;
use proptest::prelude::*;

fn race(comm: &Comm) -> Vec<usize> {
    catalogue::wildcard_race(comm, false)
}

/// The deadlock a failing exploration found.
#[track_caller]
fn deadlock_of<R>(sim: &Simulation<R>) -> &DeadlockReport {
    match &sim.outcome {
        Err(SimError::Deadlock(d)) => d,
        other => panic!("expected a deadlock, got {:?}", other.as_ref().err()),
    }
}

#[test]
fn exploration_finds_the_wildcard_race_and_its_token_replays_it_exactly() {
    let world = World::new(3);
    let failure = world.explore(100, race).result().expect_err("a schedule matches rank 2 first");
    assert!(failure.run > 0, "the default schedule completes");
    let found = deadlock_of(&failure.simulation);
    assert_eq!(found.blocked.len(), 1);
    assert_eq!(found.blocked[0].peer, Some(Peer::Rank(2)));

    // The token, through its text form, gives back the same run: same deadlock, same trace.
    let token: Schedule = failure.schedule.to_string().parse().unwrap();
    let replay = world.clone().schedule(token).simulate(race);
    assert_eq!(deadlock_of(&replay), found);
    assert_eq!(replay.trace.to_json(), failure.simulation.trace.to_json());
    assert_eq!(replay.time, failure.simulation.time);
}

#[test]
fn the_failure_says_how_to_replay() {
    let failure = World::new(3).explore(100, race).result().expect_err("found");
    let text = failure.to_string();
    let token = failure.schedule.to_string();
    assert!(text.contains(&format!("MPISIM_SEED={token}")), "{text}");
    assert!(text.contains(&format!("--replay {token}")), "{text}");
    assert!(text.contains("deadlock"), "{text}");
}

#[test]
fn the_fixed_program_survives_exploration() {
    let runs = World::new(4).explore(60, |comm| catalogue::wildcard_race(comm, true)).result().unwrap();
    assert_eq!(runs, 60);
}

#[test]
fn a_program_that_always_fails_fails_on_the_default_schedule() {
    let failure = World::new(4)
        .explore(10, |comm| catalogue::ring(comm, 1 << 20, catalogue::RingOrder::Naive))
        .result()
        .expect_err("the ring deadlocks");
    assert_eq!((failure.run, failure.schedule), (0, Schedule::First));
}

#[test]
fn explorations_with_other_seeds_try_other_schedules() {
    let a: Vec<Schedule> = (0..5).map(|i| Schedule::explored(1, i)).collect();
    let b: Vec<Schedule> = (0..5).map(|i| Schedule::explored(2, i)).collect();
    assert_ne!(a, b);
    assert!(a.iter().any(|s| matches!(s, Schedule::Random { mode: ScheduleMode::Jitter, .. })));
    assert!(a.iter().any(|s| matches!(s, Schedule::Random { mode: ScheduleMode::Choices, .. })));
}

#[test]
fn jitter_reorders_arrivals_but_never_messages_of_one_pair() {
    // Rank 1 sends 20 numbered messages to rank 0, which takes them from ANY_SOURCE.
    let program = |comm: &Comm| -> Vec<u32> {
        if comm.rank() == 1 {
            (0..20u32).for_each(|i| comm.send(&i, 0, 0));
            Vec::new()
        } else if comm.rank() == 0 {
            (0..20).map(|_| comm.recv::<u32>(ANY_SOURCE, 0)).collect()
        } else {
            Vec::new()
        }
    };
    for seed in 0..20 {
        let mut oracle = RandomChoice::new(seed, true);
        let run = World::new(3).simulate_with(program, &mut oracle).into_result().unwrap();
        assert_eq!(run.results[0], (0..20).collect::<Vec<u32>>(), "seed {seed}");
    }
}

#[test]
fn waitsome_may_return_fewer_requests_under_exploration_but_never_none() {
    let program = |comm: &Comm| -> Vec<usize> {
        if comm.rank() == 0 {
            let mut reqs: Vec<Request> = (1..4).map(|r| comm.irecv(r, 0)).collect();
            comm.compute(std::time::Duration::from_micros(20));
            comm.waitsome(&mut reqs).into_iter().map(|(i, _)| i).collect()
        } else {
            comm.send(&1u8, 0, 0);
            Vec::new()
        }
    };
    let default = World::new(4).run(program).unwrap();
    assert_eq!(default.results[0], vec![0, 1, 2], "by default every completed request is returned");
    let mut sizes = std::collections::BTreeSet::new();
    for seed in 0..40 {
        let sim = World::new(4).schedule(Schedule::Random { mode: ScheduleMode::Choices, seed }).simulate(program);
        let got = &sim.outcome.as_ref().unwrap()[0];
        assert!(!got.is_empty() && got.windows(2).all(|w| w[0] < w[1]), "seed {seed}: {got:?}");
        sizes.insert(got.len());
    }
    assert!(sizes.len() > 1, "exploration varies how many requests waitsome returns: {sizes:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any schedule replays byte for byte: same seed and mode, same trace.
    #[test]
    fn every_schedule_replays_exactly(seed in any::<u64>(), jitter in any::<bool>(), ranks in 3usize..6) {
        let mode = if jitter { ScheduleMode::Jitter } else { ScheduleMode::Choices };
        let world = World::new(ranks).schedule(Schedule::Random { mode, seed });
        let a = world.simulate(race);
        let b = world.simulate(race);
        prop_assert_eq!(a.trace.to_json(), b.trace.to_json());
        prop_assert_eq!(a.outcome.is_ok(), b.outcome.is_ok());
    }

    /// Exploration is usable under proptest: a correct program survives it at any size.
    #[test]
    fn a_sendrecv_ring_survives_exploration(ranks in 2usize..7, bytes in 0u64..100_000) {
        let explored = World::new(ranks)
            .explore(8, |comm| catalogue::ring(comm, bytes, catalogue::RingOrder::Sendrecv))
            .result();
        prop_assert!(explored.is_ok(), "{}", explored.err().map(|f| f.to_string()).unwrap_or_default());
    }
}

/// `mpisim run PROGRAM ARGS…` as the command line does it, minus the printing.
fn run_cli(program: &str, args: &[&str]) -> (Simulation<serde_json::Value>, report::RunHeader) {
    let program = catalogue::find(program).unwrap();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let (opts, params) = launch::prepare(program, &args).unwrap();
    let mut header =
        report::RunHeader { program: program.name.into(), params: params.describe(), ..Default::default() };
    let sim = opts.simulate(program.default_ranks, &mut header, |comm| (program.run)(comm, &params));
    (sim, header)
}

#[test]
fn the_command_line_explores_prints_a_token_and_replays_it() {
    let (plain, _) = run_cli("wildcard-race", &[]);
    assert!(plain.outcome.is_ok(), "the default schedule completes");

    let (found, header) = run_cli("wildcard-race", &["--explore", "100"]);
    let failed = header.exploration.and_then(|e| e.failed).expect("--explore 100 finds the deadlock");
    let token = failed.1.to_string();
    let text = report::text(&found, &header);
    assert!(text.contains(&format!("replay: add --replay {token} to this command")), "{text}");
    assert!(text.contains(&format!("schedule {token}")), "{text}");
    assert_eq!(report::exit_code(&found), report::EXIT_DEADLOCK);

    let (replayed, header) = run_cli("wildcard-race", &["--replay", &token]);
    assert_eq!(deadlock_of(&replayed), deadlock_of(&found));
    let json = report::json(&replayed, &header);
    assert_eq!(json["schedule"], token.as_str());
    assert_eq!(json["deadlock"]["blocked"][0]["waits_on"][0]["ranks"], serde_json::json!([2]));
}

#[test]
fn the_command_line_reports_cycles_and_hazards_in_json() {
    let (sim, header) = run_cli("ring", &["-n", "4", "--bytes", "1MiB"]);
    let json = report::json(&sim, &header);
    assert_eq!(json["deadlock"]["cycle"], serde_json::json!([0, 1, 2, 3]));
    assert_eq!(json["deadlock"]["blocked"][3]["waits_on"][0]["kind"], "and");
    assert_eq!(json["deadlock"]["blocked"][3]["location"], "sim/src/catalogue/ring.rs:44:18");

    // Completed, with the buffering hazard on by default.
    let (sim, header) = run_cli("ring", &["-n", "4", "--bytes", "8"]);
    let json = report::json(&sim, &header);
    assert_eq!(json["outcome"], "completed");
    let detail = &json["warnings"][0]["detail"];
    assert_eq!(detail["kind"], "buffering_hazard");
    assert_eq!(detail["deadlock"]["cycle"], serde_json::json!([0, 1, 2, 3]));
}
