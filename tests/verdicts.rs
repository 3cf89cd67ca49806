//! The verdict suite: small MPI programs, deadlocking and correct, each with the exact
//! verdict mpisim must give: call ordering, buffering hazards, wildcard races, collective
//! mismatches, parameter mismatches, request lifecycle and leaks, panics and livelocks.
//!
//! Every run checks buffering too (`World::check_buffering`), as `mpisim run` does, so a
//! program that only works thanks to buffering must say so, and a correct one must not.

use mpisim::catalogue::{self, RingOrder};
use mpisim::*;
use std::time::Duration;

/// What a run must come to.
#[derive(Debug, PartialEq)]
enum Verdict {
    /// Completes with exactly these warnings (see [`warning_key`]); `[]` is clean.
    Completes(Vec<String>),
    /// Deadlocks: the cycle (from its lowest rank), the core, the other blocked ranks,
    /// the finished ranks, and words the hint must contain.
    Deadlock { cycle: Vec<Rank>, core: Vec<Rank>, waiting: Vec<Rank>, finished: Vec<Rank>, hint: &'static str },
    /// A rank misuses MPI: which rank, in which call, with which error class.
    Misuse { rank: Rank, call: CallKind, class: ErrorClass },
    /// A rank panics.
    Panic { rank: Rank },
    /// Every running rank polls in vain forever.
    Livelock { spinning: Vec<Rank> },
}

use Verdict::*;

/// A warning as a short, exact key: `hazard 0 1 2 3`, `unreceived 0>1 tag 3`,
/// `dangling isend rank 0`.
fn warning_key(w: &Warning) -> String {
    match w {
        Warning::BufferingHazard { deadlock, .. } => {
            format!("hazard {}", deadlock.cycle.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(" "))
        }
        Warning::Unreceived(u) => format!("unreceived {}>{} tag {}", u.source, u.rank, u.tag),
        Warning::DanglingRequest { rank, call, .. } => format!("dangling {call} rank {rank}"),
        other => format!("{other}"),
    }
}

fn completes(warnings: &[&str]) -> Verdict {
    Completes(warnings.iter().map(|w| w.to_string()).collect())
}

/// The verdict of a run, with the deadlock hint checked against `expected`'s words.
fn verdict<R>(sim: Simulation<R>, expected: &Verdict) -> Verdict {
    match sim.outcome {
        Ok(_) => Completes(sim.warnings.iter().map(warning_key).collect()),
        Err(SimError::Deadlock(d)) => {
            let hint = match expected {
                Deadlock { hint, .. } if d.hint.contains(hint) => hint,
                _ => "(the hint does not have the expected words)",
            };
            if hint.starts_with('(') {
                eprintln!("hint: {}", d.hint);
            }
            let waiting = d.blocked.iter().map(|b| b.rank).filter(|r| !d.core.contains(r)).collect();
            Deadlock { cycle: d.cycle, core: d.core, waiting, finished: d.finished, hint }
        }
        Err(SimError::RankFailed(f)) => match (f.error, f.call) {
            (Some(e), Some(call)) => Misuse { rank: f.rank, call, class: e.class },
            _ => Panic { rank: f.rank },
        },
        Err(SimError::Livelock { spinning, .. }) => Livelock { spinning: spinning.iter().map(|s| s.rank).collect() },
        Err(other) => panic!("unexpected outcome: {other}"),
    }
}

#[track_caller]
fn check<R>(world: World, program: impl Fn(&Comm) -> R, expected: Verdict) {
    let sim = world.check_buffering(true).simulate(program);
    let text = match &sim.outcome {
        Err(e) => e.to_string(),
        Ok(_) => sim.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>().join("\n"),
    };
    let got = verdict(sim, &expected);
    assert_eq!(got, expected, "the run said:\n{text}");
}

fn deadlock(cycle: &[Rank], core: &[Rank], waiting: &[Rank], finished: &[Rank], hint: &'static str) -> Verdict {
    Deadlock {
        cycle: cycle.to_vec(),
        core: core.to_vec(),
        waiting: waiting.to_vec(),
        finished: finished.to_vec(),
        hint,
    }
}

const BIG: u64 = 1 << 20;

fn ring(order: RingOrder, bytes: u64) -> impl Fn(&Comm) -> usize {
    move |comm| catalogue::ring(comm, bytes, order)
}

// ---------------------------------------------------------------------------------------
// Call ordering

#[test]
fn a_ring_above_the_eager_limit_is_a_send_cycle() {
    check(World::new(4), ring(RingOrder::Naive, BIG), deadlock(&[0, 1, 2, 3], &[0, 1, 2, 3], &[], &[], "rank parity"));
}

#[test]
fn the_ring_fixes_complete_cleanly() {
    for order in [RingOrder::Parity, RingOrder::Sendrecv, RingOrder::Nonblocking] {
        check(World::new(5), ring(order, BIG), completes(&[]));
    }
}

#[test]
fn receiving_before_sending_is_a_receive_cycle() {
    check(
        World::new(3),
        |comm| catalogue::recv_recv(comm, 8),
        deadlock(&[0, 2, 1], &[0, 1, 2], &[], &[], "none is sending"),
    );
}

#[test]
fn two_synchronous_sends_head_to_head_deadlock() {
    check(
        World::new(2),
        |comm| {
            comm.ssend(&1u8, 1 - comm.rank(), 0);
            let _: u8 = comm.recv(1 - comm.rank(), 0);
        },
        deadlock(&[0, 1], &[0, 1], &[], &[], "a synchronous send (ssend) completes only once its receive has started"),
    );
}

#[test]
fn a_receive_from_itself_is_a_cycle_of_one() {
    check(
        World::new(2),
        |comm| {
            if comm.rank() == 0 {
                let _: u8 = comm.recv(0, 0);
            }
        },
        deadlock(&[0], &[0], &[], &[1], "none is sending"),
    );
}

#[test]
fn ranks_that_wait_on_a_cycle_are_told_apart_from_it() {
    // 0 and 1 receive from each other; 2 waits for 0, 3 for 2.
    check(
        World::new(4),
        |comm| {
            let from = [1, 0, 0, 2][comm.rank()];
            let _: u8 = comm.recv(from, 0);
        },
        deadlock(&[0, 1], &[0, 1], &[2, 3], &[], "none is sending"),
    );
}

#[test]
fn a_large_blocking_send_to_itself_deadlocks() {
    check(
        World::new(1),
        |comm| {
            comm.send(&vec![0u8; BIG as usize], 0, 0);
            let _: Vec<u8> = comm.recv(0, 0);
        },
        deadlock(&[0], &[0], &[], &[], "eager limit"),
    );
}

#[test]
fn a_waitall_with_one_hopeless_request_deadlocks() {
    check(
        World::new(2),
        |comm| {
            let peer = 1 - comm.rank();
            let mut reqs = vec![comm.irecv(peer, 0), comm.irecv(peer, 1)];
            comm.send(&0u8, peer, 0);
            comm.waitall(&mut reqs);
        },
        deadlock(&[0, 1], &[0, 1], &[], &[], "none is sending"),
    );
}

// ---------------------------------------------------------------------------------------
// Buffering hazards

#[test]
fn a_ring_of_small_messages_completes_but_is_a_buffering_hazard() {
    check(World::new(4), ring(RingOrder::Naive, 8), completes(&["hazard 0 1 2 3"]));
}

#[test]
fn the_hazard_says_what_the_program_relies_on() {
    let run = World::new(3).check_buffering(true).run(ring(RingOrder::Naive, 8)).unwrap();
    let text = run.warnings[0].to_string();
    assert!(text.contains("only because messages below the eager limit (64 KiB) are buffered"), "{text}");
    assert!(text.contains("cycle 0 → 1 → 2 → 0"), "{text}");
    assert!(text.contains("catalogue/ring.rs"), "{text}");
}

#[test]
fn small_sends_head_to_head_are_a_hazard() {
    check(
        World::new(2),
        |comm| {
            comm.send(&[1u32; 4], 1 - comm.rank(), 0);
            let _: [u32; 4] = comm.recv(1 - comm.rank(), 0);
        },
        completes(&["hazard 0 1"]),
    );
}

#[test]
fn bsend_is_buffered_by_the_program_and_no_hazard() {
    check(
        World::new(2),
        |comm| {
            comm.bsend(&7u64, 1 - comm.rank(), 0);
            let _: u64 = comm.recv(1 - comm.rank(), 0);
        },
        completes(&[]),
    );
}

#[test]
fn a_nonblocking_exchange_of_small_messages_is_safe() {
    check(World::new(6), ring(RingOrder::Nonblocking, 8), completes(&[]));
}

#[test]
fn strict_mode_turns_the_hazard_into_the_deadlock() {
    check(World::new(3).strict(true), ring(RingOrder::Naive, 8), deadlock(&[0, 1, 2], &[0, 1, 2], &[], &[], "strict"));
}

// ---------------------------------------------------------------------------------------
// Wildcard message races

fn race(comm: &Comm) -> Vec<usize> {
    catalogue::wildcard_race(comm, false)
}

#[test]
fn the_wildcard_race_completes_under_the_default_schedule() {
    check(World::new(3), race, completes(&[]));
}

#[test]
fn the_wildcard_race_deadlocks_when_the_wildcard_matches_the_last_rank() {
    let found = World::new(3).explore(50, race).result().expect_err("some schedule matches rank 2 first");
    let expected = deadlock(&[], &[], &[0], &[1, 2], "ANY_SOURCE receive");
    assert_eq!(verdict(found.simulation, &expected), expected);
}

#[test]
fn a_wildcard_master_and_workers_that_wait_for_it_form_a_knot() {
    check(
        World::new(4),
        |comm| {
            let _: u8 = comm.recv(if comm.rank() == 0 { ANY_SOURCE } else { 0 }, 0);
        },
        deadlock(&[0, 1], &[0, 1, 2, 3], &[], &[], "none is sending"),
    );
}

#[test]
fn two_wildcard_receives_for_one_message_miss_a_send_whatever_the_order() {
    let program = |comm: &Comm| {
        if comm.rank() == 0 {
            let _: u8 = comm.recv(ANY_SOURCE, 0);
            let _: u8 = comm.recv(ANY_SOURCE, 0);
        } else {
            comm.send(&1u8, 0, 0);
        }
    };
    check(World::new(2), program, deadlock(&[], &[], &[0], &[1], "no order of matching could complete"));
    let hint = match World::new(2).run(program) {
        Err(SimError::Deadlock(d)) => d.hint,
        other => panic!("{other:?}"),
    };
    assert!(!hint.contains("--explore"), "exploring other orders cannot help: {hint}");
}

#[test]
fn a_message_on_another_communicator_is_named_as_such() {
    let run = World::new(2).run(|comm| {
        let dup = comm.dup();
        if comm.rank() == 0 {
            comm.send(&1u8, 1, 0);
        } else {
            let _: u8 = dup.recv(0, 0);
        }
    });
    let Err(SimError::Deadlock(d)) = run else { panic!("{run:?}") };
    let [u] = &d.unreceived[..] else { panic!("{d:?}") };
    assert_eq!(u.comm, 0);
    let text = d.to_string();
    assert!(text.contains("a message from rank 0 to rank 1 (tag 0, 1 byte,"), "{text}");
    assert!(d.blocked[0].waiting_for.contains("on COMM_WORLD"), "{:?}", d.blocked[0]);
    assert!(d.blocked[0].waiting_for.contains("a receive matches only messages of its own communicator"), "{text}");
    assert!(d.hint.contains("communicators"), "{}", d.hint);
}

#[test]
fn a_collector_that_takes_messages_in_any_order_survives_exploration() {
    let program = |comm: &Comm| -> u64 {
        if comm.rank() == 0 {
            (1..comm.size()).map(|_| comm.recv::<u64>(ANY_SOURCE, 0)).sum()
        } else {
            comm.send(&(comm.rank() as u64), 0, 0);
            0
        }
    };
    check(World::new(4), program, completes(&[]));
    assert_eq!(World::new(4).explore(30, program).result().expect("no schedule fails"), 30);
}

#[test]
fn waitany_on_two_senders_that_never_send_waits_on_finished_ranks() {
    check(
        World::new(3),
        |comm| {
            if comm.rank() == 0 {
                let mut reqs = vec![comm.irecv(1, 0), comm.irecv(2, 0)];
                comm.waitany(&mut reqs);
            }
        },
        deadlock(&[], &[], &[0], &[1, 2], "finished while rank 0 still waits"),
    );
}

// ---------------------------------------------------------------------------------------
// Collectives

#[test]
fn collectives_in_different_orders_deadlock() {
    check(
        World::new(4),
        |comm| catalogue::coll_order(comm, true),
        deadlock(&[0, 1], &[0, 1, 2, 3], &[], &[], "collectives called in different orders"),
    );
    check(World::new(4), |comm| catalogue::coll_order(comm, false), completes(&[]));
}

#[test]
fn a_rank_that_skips_a_collective_leaves_the_others_waiting() {
    check(
        World::new(3),
        |comm| catalogue::skip_collective(comm, true),
        deadlock(&[], &[], &[0, 1], &[2], "rank 2 finished without calling MPI_Allreduce"),
    );
    check(World::new(3), |comm| catalogue::skip_collective(comm, false), completes(&[]));
}

#[test]
fn a_split_waiting_for_a_rank_blocked_in_a_receive_is_a_cycle() {
    check(
        World::new(2),
        |comm| {
            if comm.rank() == 0 {
                comm.dup();
                comm.send(&1u8, 1, 0);
            } else {
                let _: u8 = comm.recv(0, 0);
                comm.dup();
            }
        },
        deadlock(&[0, 1], &[0, 1], &[], &[], "collectives called in different orders"),
    );
}

#[test]
fn different_collectives_at_the_same_position_are_a_mismatch() {
    check(
        World::new(3),
        |comm| {
            if comm.rank() == 0 {
                comm.bcast(Some(&1u8), 0);
            } else {
                comm.reduce(&1u8, op::SUM, 0);
            }
        },
        Misuse { rank: 1, call: CallKind::Reduce, class: ErrorClass::Other },
    );
}

#[test]
fn different_roots_are_a_mismatch() {
    check(
        World::new(3),
        |comm| comm.reduce(&1u32, op::SUM, usize::from(comm.rank() == 2)),
        Misuse { rank: 2, call: CallKind::Reduce, class: ErrorClass::Root },
    );
}

#[test]
fn different_reduction_ops_are_a_mismatch() {
    check(
        World::new(2),
        |comm| comm.allreduce(&1i64, if comm.rank() == 0 { op::SUM } else { op::MAX }),
        Misuse { rank: 1, call: CallKind::Allreduce, class: ErrorClass::Op },
    );
}

#[test]
fn different_counts_are_a_mismatch() {
    check(
        World::new(2),
        |comm| comm.allreduce(&vec![1i64; 3 + comm.rank()], op::SUM),
        Misuse { rank: 1, call: CallKind::Allreduce, class: ErrorClass::Count },
    );
}

#[test]
fn the_mismatch_names_both_calls_and_where_the_first_was_made() {
    let err = World::new(2)
        .run(|comm| {
            comm.barrier();
            if comm.rank() == 0 {
                comm.bcast(Some(&1u8), 0);
            } else {
                comm.barrier();
            }
        })
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("the 2nd collective of rank 1 there is MPI_Barrier"), "{text}");
    assert!(text.contains("rank 0's was MPI_Bcast (root 0)"), "{text}");
    assert!(text.contains(file!()), "{text}");
}

#[test]
fn allreduces_on_two_communicators_in_different_orders_deadlock() {
    check(
        World::new(2),
        |comm| {
            let (a, b) = (comm.dup(), comm.dup());
            let (first, second) = if comm.rank() == 0 { (&a, &b) } else { (&b, &a) };
            (first.allreduce(&1u64, op::SUM), second.allreduce(&1u64, op::SUM))
        },
        deadlock(&[0, 1], &[0, 1], &[], &[], "collectives called in different orders"),
    );
}

#[test]
fn a_rank_that_skips_a_barrier_leaves_the_others_in_it() {
    check(
        World::new(3),
        |comm| {
            if comm.rank() != 2 {
                comm.barrier();
            }
        },
        deadlock(&[], &[], &[0, 1], &[2], "rank 2 finished without calling MPI_Barrier"),
    );
}

/// Rank 0 broadcasts, then sends to rank 1; rank 1 receives first, then joins the
/// broadcast: correct only if the broadcast returns at the root before rank 1 calls it.
fn bcast_then_send(comm: &Comm) -> u8 {
    if comm.rank() == 0 {
        comm.bcast(Some(&5u8), 0);
        comm.send(&1u8, 1, 0);
        0
    } else {
        let got: u8 = comm.recv(0, 0);
        got + comm.bcast::<u8>(None, 0)
    }
}

#[test]
fn relying_on_a_broadcast_not_synchronising_is_a_hazard() {
    check(World::new(2), bcast_then_send, completes(&["hazard 0 1"]));
    let run = World::new(2).check_buffering(true).run(bcast_then_send).unwrap();
    let text = run.warnings[0].to_string();
    assert!(text.contains("MPI_Bcast returns before every rank has called it"), "{text}");
}

#[test]
fn strict_mode_makes_collectives_synchronise() {
    check(
        World::new(2).strict(true),
        bcast_then_send,
        deadlock(&[0, 1], &[0, 1], &[], &[], "In strict mode every collective synchronises"),
    );
}

// ---------------------------------------------------------------------------------------
// Parameter mismatches

#[test]
fn a_tag_mismatch_leaves_the_receiver_waiting_and_the_message_unreceived() {
    let world = World::new(2);
    let program = |comm: &Comm| {
        if comm.rank() == 0 {
            comm.send(&1u8, 1, 1);
        } else {
            let _: u8 = comm.recv(0, 2);
        }
    };
    check(world.clone(), program, deadlock(&[], &[], &[1], &[0], "check their sources and tags"));
    let Err(SimError::Deadlock(d)) = world.run(program) else { panic!("deadlock expected") };
    assert!(d.blocked[0].waiting_for.contains("a message from rank 0 with tag 1 did arrive"), "{}", d.blocked[0]);
    assert_eq!((d.unreceived[0].source, d.unreceived[0].tag, d.unreceived[0].call), (0, 1, CallKind::Send));
}

#[test]
fn a_receive_from_the_wrong_source_waits_on_a_finished_rank() {
    check(
        World::new(3),
        |comm| match comm.rank() {
            1 => comm.send(&1u8, 0, 0),
            0 => {
                let _: u8 = comm.recv(2, 0);
            }
            _ => {}
        },
        deadlock(&[], &[], &[0], &[1, 2], "rank 2 finished while rank 0 still waits for it"),
    );
}

#[test]
fn a_receive_of_the_wrong_type_is_a_type_error() {
    check(
        World::new(2),
        |comm| {
            if comm.rank() == 0 {
                comm.send(&vec![1.5f64], 1, 0);
            } else {
                let _: String = comm.recv(0, 0);
            }
        },
        Misuse { rank: 1, call: CallKind::Recv, class: ErrorClass::Type },
    );
}

#[test]
fn a_buffer_too_small_is_truncation() {
    check(
        World::new(2),
        |comm| {
            if comm.rank() == 0 {
                comm.send(&vec![1u32, 2, 3, 4], 1, 0);
            } else {
                let mut buf = [0u32; 2];
                comm.recv_into(&mut buf, 0, 0);
            }
        },
        Misuse { rank: 1, call: CallKind::Recv, class: ErrorClass::Truncate },
    );
}

#[test]
fn a_destination_outside_the_communicator_is_a_rank_error() {
    check(
        World::new(2),
        |comm| comm.send(&1u8, comm.size(), 0),
        Misuse { rank: 0, call: CallKind::Send, class: ErrorClass::Rank },
    );
}

#[test]
fn a_negative_tag_is_a_tag_error() {
    check(
        World::new(2),
        |comm| {
            if comm.rank() == 1 {
                comm.send(&1u8, 0, -5);
            }
        },
        Misuse { rank: 1, call: CallKind::Send, class: ErrorClass::Tag },
    );
}

#[test]
fn a_ready_send_without_a_posted_receive_is_an_error() {
    check(
        World::new(2),
        |comm| {
            if comm.rank() == 0 {
                comm.rsend(&1u8, 1, 0);
            } else {
                comm.compute(Duration::from_micros(50));
                let _: u8 = comm.recv(0, 0);
            }
        },
        Misuse { rank: 0, call: CallKind::Rsend, class: ErrorClass::Other },
    );
}

// ---------------------------------------------------------------------------------------
// Request lifecycle and leaks

#[test]
fn a_request_never_waited_for_is_a_leak() {
    check(
        World::new(2),
        |comm| {
            if comm.rank() == 0 {
                let _forgotten = comm.isend(&1u8, 1, 0);
            } else {
                let _: u8 = comm.recv(0, 0);
            }
        },
        completes(&["dangling isend rank 0"]),
    );
}

#[test]
fn a_message_never_received_is_reported() {
    check(
        World::new(2),
        |comm| {
            if comm.rank() == 0 {
                comm.bsend(&1u8, 1, 3);
            }
        },
        completes(&["unreceived 0>1 tag 3"]),
    );
}

#[test]
fn an_irecv_never_matched_is_a_leak_and_its_message_unreceived() {
    check(
        World::new(2),
        |comm| {
            if comm.rank() == 0 {
                comm.bsend(&1u8, 1, 5);
            } else {
                let _never = comm.irecv(0, 6);
                comm.compute(Duration::from_micros(10));
            }
        },
        completes(&["unreceived 0>1 tag 5", "dangling irecv rank 1"]),
    );
}

#[test]
fn a_request_freed_while_active_is_fine() {
    check(
        World::new(2),
        |comm| {
            if comm.rank() == 0 {
                comm.isend(&1u8, 1, 0).free();
            } else {
                let _: u8 = comm.recv(0, 0);
            }
        },
        completes(&[]),
    );
}

#[test]
fn starting_an_active_persistent_request_is_an_error() {
    check(
        World::new(2),
        |comm| {
            if comm.rank() == 1 {
                let mut req = comm.recv_init(0, 0);
                req.start();
                req.start();
            }
        },
        Misuse { rank: 1, call: CallKind::Start, class: ErrorClass::Request },
    );
}

#[test]
fn a_cancelled_receive_is_complete_and_clean() {
    check(
        World::new(2),
        |comm| {
            if comm.rank() == 1 {
                let mut req = comm.irecv(0, 0);
                req.cancel();
                assert!(req.wait().cancelled);
            }
        },
        completes(&[]),
    );
}

// ---------------------------------------------------------------------------------------
// Panics, finished ranks and livelocks

#[test]
fn a_panicking_rank_stops_the_run() {
    check(
        World::new(3),
        |comm| {
            if comm.rank() == 2 {
                panic!("bad input");
            }
            let _: u8 = comm.recv(2, 0);
        },
        Panic { rank: 2 },
    );
}

#[test]
fn a_rank_that_returned_early_is_named() {
    check(
        World::new(2),
        |comm| {
            if comm.rank() == 0 {
                let _: u8 = comm.recv(1, 0);
            }
        },
        deadlock(&[], &[], &[0], &[1], "rank 1 finished while rank 0 still waits for it"),
    );
}

#[test]
fn polling_for_a_message_nobody_sends_is_a_livelock() {
    check(
        World::new(3),
        |comm| {
            if comm.rank() < 2 {
                while comm.iprobe(ANY_SOURCE, 9).is_none() {}
            }
        },
        Livelock { spinning: vec![0, 1] },
    );
}

#[test]
fn polling_while_a_slow_rank_computes_is_no_livelock() {
    check(
        World::new(2),
        |comm| {
            if comm.rank() == 0 {
                let mut req = comm.irecv(1, 0);
                while req.test().is_none() {}
            } else {
                comm.compute(Duration::from_millis(150));
                comm.send(&1u8, 0, 0);
            }
        },
        completes(&[]),
    );
}

// ---------------------------------------------------------------------------------------
// The report of the classic deadlock, as people and tools read it

#[test]
fn the_ring_deadlock_report_names_the_cycle_the_calls_and_the_fix() {
    let program = catalogue::find("ring").unwrap();
    let params = program.params([("bytes", "1MiB")]).unwrap();
    let sim = World::new(4).simulate(|comm| (program.run)(comm, &params));
    let header = report::RunHeader { program: "ring".into(), params: params.describe(), ..Default::default() };
    insta::assert_snapshot!("ring_deadlock_text", report::text(&sim, &header));
    let Err(SimError::Deadlock(d)) = &sim.outcome else { panic!("the ring deadlocks") };
    insta::assert_snapshot!("ring_deadlock_dot", d.dot());
}

#[test]
fn a_stack_overflow_in_a_rank_is_a_report_not_a_crash() {
    fn deep(n: u32) -> u64 {
        let frame = std::hint::black_box([n as u8; 512]);
        if n == 0 {
            0
        } else {
            deep(n - 1) + u64::from(std::hint::black_box(frame)[(n % 512) as usize])
        }
    }
    let program = |comm: &Comm| {
        let depth = if comm.rank() == 2 { deep(1000) } else { 0 };
        comm.barrier();
        depth
    };
    let Err(SimError::RankFailed(f)) = World::new(4).run(program) else { panic!("rank 2 overflows its stack") };
    let message = f.panic.expect("a message");
    assert_eq!(f.rank, 2);
    assert!(message.contains("ran out of stack") && message.contains("--stack-size 1MiB"), "{message}");
    // With more stack, the same program runs; and the engine is whole after the overflow.
    let run = World::new(4).stack_size(8 << 20).run(program).unwrap();
    assert_eq!(run.results[2], deep(1000));
}

#[test]
fn a_program_that_runs_forever_stops_at_the_time_limit_saying_what_each_rank_does() {
    let program = |comm: &Comm| {
        if comm.rank() == 0 {
            loop {
                comm.compute(Duration::from_nanos(1)); // @forever
            }
        } else if comm.rank() == 1 {
            let _: u8 = comm.recv(0, 0);
        }
    };
    let limit = Time(1_000_000);
    let Err(SimError::TimeLimit { limit: l, ranks, .. }) = World::new(3).time_limit(limit).run(program) else {
        panic!("the run stops at its limit")
    };
    assert_eq!(l, limit);
    let doing: Vec<String> = ranks.iter().map(|a| a.to_string()).collect();
    assert!(doing[0].contains("running its own code; its last call was compute at tests/verdicts.rs"), "{doing:?}");
    assert!(doing[1].contains("MPI_Recv from rank 0"), "{doing:?}");
    assert!(matches!(ranks[2], RankActivity::Finished { rank: 2 }), "{doing:?}");
    let text = World::new(3).time_limit(limit).run(program).unwrap_err().to_string();
    assert!(text.contains("virtual-time limit") && text.contains("--time-limit"), "{text}");
}

#[test]
fn a_trace_stops_growing_at_its_limit_and_says_so() {
    let sim = World::new(2).trace_limit(100).simulate(|comm| {
        for i in 0..1000u32 {
            comm.sendrecv::<u32, u32>(&i, 1 - comm.rank(), 0, 1 - comm.rank(), 0);
        }
    });
    assert!(sim.outcome.is_ok());
    assert_eq!(sim.trace.events.len(), 100);
    assert!(sim.warnings.contains(&Warning::TraceTruncated { events: 100 }), "{:?}", sim.warnings);
    assert!(sim.warnings.iter().any(|w| w.to_string().contains("--trace-limit")));
}

/// A deadlock of 30,000 ranks is analysed without recursing once per rank: the wait-for
/// graph's components came from a recursive search that overflowed a test thread's 2 MiB
/// stack here (and the main thread's 8 MiB at 100,000 ranks).
#[test]
fn a_ring_of_thirty_thousand_ranks_deadlocks_with_its_whole_cycle() {
    let ranks = 30_000;
    let world = World::new(ranks).stack_size(16 * 1024).strict(true);
    let err = world.run(ring(RingOrder::Naive, 8)).expect_err("a naive ring deadlocks in strict mode");
    let SimError::Deadlock(report) = err else { panic!("expected a deadlock, got {err}") };
    assert_eq!(report.cycle.len(), ranks, "the cycle is the whole ring");
    assert_eq!(report.cycle[0], 0);
}
