//! The buffering check's verdicts on random programs, against a strict run of each.
//!
//! Every program here completes with buffering (the others are left out). Whatever the
//! check says is then compared with what `--strict` does: "not needed" (whether because
//! nothing relied on buffering or because the run's causality proves it harmless) must
//! mean the strict run completes, and a re-run's verdict must be the strict run's. The
//! programs mix blocking, nonblocking and synchronous sends, small (eager) and large
//! (rendezvous) messages, computation that puts ranks out of step, and collectives, in
//! per-rank orders shuffled from a safe one, so some deadlock without buffering.

use mpisim::{BufferingCheck, Comm, Rank, Request, World};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq)]
enum SendKind {
    Blocking,
    Nonblocking,
    Synchronous,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Send { to: Rank, tag: i32, bytes: u64, kind: SendKind },
    Recv { from: Rank, tag: i32, nonblocking: bool },
    Compute { micros: u64 },
    Barrier,
    Bcast { root: Rank },
    Allreduce,
}

impl Op {
    fn collective(self) -> bool {
        matches!(self, Op::Barrier | Op::Bcast { .. } | Op::Allreduce)
    }
}

/// One step of the safe global order the per-rank programs are shuffled from.
#[derive(Clone, Copy, Debug)]
enum Step {
    Message { from: Rank, to: Rank, tag: i32, bytes: u64, kind: SendKind, nonblocking_recv: bool },
    Compute { rank: Rank, micros: u64 },
    Collective(Op),
}

/// Per-rank programs: the steps in order, then `swaps` of neighbouring calls on one rank
/// (never two collectives, whose order every rank must keep).
fn programs(ranks: usize, steps: &[Step], swaps: &[(usize, usize)]) -> Vec<Vec<Op>> {
    let mut ops = vec![Vec::new(); ranks];
    for step in steps {
        match *step {
            Step::Message { from, to, tag, bytes, kind, nonblocking_recv } => {
                ops[from].push(Op::Send { to, tag, bytes, kind });
                ops[to].push(Op::Recv { from, tag, nonblocking: nonblocking_recv });
            }
            Step::Compute { rank, micros } => ops[rank].push(Op::Compute { micros }),
            Step::Collective(op) => ops.iter_mut().for_each(|o| o.push(op)),
        }
    }
    for &(rank, at) in swaps {
        let list = &mut ops[rank % ranks];
        if list.len() >= 2 {
            let i = at % (list.len() - 1);
            if !(list[i].collective() && list[i + 1].collective()) {
                list.swap(i, i + 1);
            }
        }
    }
    ops
}

fn run(comm: &Comm, ops: &[Op]) {
    let mut pending: Vec<Request> = Vec::new();
    for &op in ops {
        match op {
            Op::Send { to, tag, bytes, kind } => {
                let data = vec![0u8; bytes as usize];
                match kind {
                    SendKind::Blocking => comm.send(&data, to, tag),
                    SendKind::Synchronous => comm.ssend(&data, to, tag),
                    SendKind::Nonblocking => pending.push(comm.isend(&data, to, tag)),
                }
            }
            Op::Recv { from, tag, nonblocking: true } => pending.push(comm.irecv(from, tag)),
            Op::Recv { from, tag, nonblocking: false } => {
                let _: Vec<u8> = comm.recv(from, tag);
            }
            Op::Compute { micros } => comm.compute(Duration::from_micros(micros)),
            Op::Barrier => comm.barrier(),
            Op::Bcast { root } => {
                let _: u64 = comm.bcast((comm.rank() == root).then_some(&7), root);
            }
            Op::Allreduce => {
                let _ = comm.allreduce(&(comm.rank() as u64), mpisim::op::SUM);
            }
        }
    }
    comm.waitall(&mut pending);
}

fn step(ranks: usize) -> impl Strategy<Value = Step> {
    let kind = prop_oneof![
        4 => Just(SendKind::Blocking),
        2 => Just(SendKind::Nonblocking),
        1 => Just(SendKind::Synchronous)
    ];
    let message =
        (0..ranks, 1..ranks, 0..2i32, prop_oneof![4 => Just(8u64), 1 => Just(100_000u64)], kind, any::<bool>())
            .prop_map(move |(from, hop, tag, bytes, kind, nonblocking_recv)| Step::Message {
                from,
                to: (from + hop) % ranks,
                tag,
                bytes,
                kind,
                nonblocking_recv,
            });
    let compute = (0..ranks, 1..20u64).prop_map(|(rank, micros)| Step::Compute { rank, micros });
    let collective =
        prop_oneof![Just(Op::Barrier), (0..ranks).prop_map(|root| Op::Bcast { root }), Just(Op::Allreduce)]
            .prop_map(Step::Collective);
    prop_oneof![6 => message, 2 => compute, 1 => collective]
}

/// A world size, a safe order and the swaps that shuffle it.
fn case() -> impl Strategy<Value = (usize, Vec<Step>, Vec<(usize, usize)>)> {
    (2usize..=4).prop_flat_map(|ranks| {
        (Just(ranks), prop::collection::vec(step(ranks), 1..12), prop::collection::vec((0..ranks, 0..24usize), 0..10))
    })
}

/// What the check said of one program.
#[derive(Debug, Default)]
struct Tally {
    failed_buffered: u64,
    unneeded: u64,
    proven: u64,
    rerun_fine: u64,
    hazards: u64,
}

/// Checks one program; returns what the check said.
fn verdict(ranks: usize, ops: &[Vec<Op>], tally: &mut Tally) {
    let program = |c: &Comm| run(c, &ops[c.rank()]);
    let sim = World::new(ranks).check_buffering(true).simulate(program);
    if sim.outcome.is_err() {
        tally.failed_buffered += 1;
        return;
    }
    let strict = World::new(ranks).strict(true).simulate(program);
    let strict_completes = strict.outcome.is_ok();
    match &sim.buffering_check {
        BufferingCheck::Unneeded => {
            assert!(strict_completes, "check unneeded, but strict fails: {ops:?}");
            tally.unneeded += 1;
        }
        BufferingCheck::Proven { reliance } => {
            assert!(strict_completes, "proven ({reliance}), but strict fails: {ops:?}\n{:?}", strict.outcome.err());
            tally.proven += 1;
        }
        BufferingCheck::Ran { hazard, .. } => {
            assert_eq!(*hazard, !strict_completes, "the re-run's verdict is the strict run's: {ops:?}");
            if *hazard {
                tally.hazards += 1;
            } else {
                tally.rerun_fine += 1;
            }
        }
        BufferingCheck::NotRun => panic!("a completed run is checked: {ops:?}"),
    }
}

#[test]
fn no_run_proven_safe_deadlocks_without_buffering() {
    let mut runner = TestRunner::deterministic();
    let strategy = case();
    let mut tally = Tally::default();
    for _ in 0..3000 {
        let (ranks, steps, swaps) = strategy.new_tree(&mut runner).expect("a case").current();
        verdict(ranks, &programs(ranks, &steps, &swaps), &mut tally);
    }
    eprintln!("{tally:?}");
    // The cases must cover every verdict, or the test proves nothing about the proof.
    assert!(tally.proven >= 100, "runs that relied on buffering, proven safe: {tally:?}");
    assert!(tally.hazards >= 50, "real hazards: {tally:?}");
    assert!(tally.unneeded >= 100, "{tally:?}");
}

/// The lecture's ring: rank 0 sends first and everyone else receives first, so the only
/// buffered send is rank 0's first, and nothing waits on what follows it.
#[test]
fn a_token_ring_started_by_a_send_needs_no_rerun() {
    let sim = World::new(6).check_buffering(true).simulate(|c: &Comm| {
        let (right, left) = ((c.rank() + 1) % c.size(), (c.rank() + c.size() - 1) % c.size());
        let mut token = 0u64;
        for _ in 0..3 {
            if c.rank() == 0 {
                c.send(&token, right, 0);
                token = c.recv(left, 0);
            } else {
                token = c.recv::<u64>(left, 0) + 1;
                c.send(&token, right, 0);
            }
        }
        token
    });
    assert!(sim.outcome.is_ok());
    let BufferingCheck::Proven { reliance } = &sim.buffering_check else {
        panic!("expected a proof, got {:?}", sim.buffering_check)
    };
    assert_eq!(reliance.buffered_sends, 1);
    assert!(sim.warnings.is_empty(), "{:?}", sim.warnings);
}

/// A send that returns early, then news of it reaching its receiver by another path before
/// the receive is posted: without buffering, a cycle. The run's causality must see it.
#[test]
fn news_of_an_early_send_reaching_its_receiver_forces_the_rerun() {
    // Rank 0 sends to 2 (eager, unreceived), then to 1; rank 1 passes it on to 2, which
    // only then receives from 0. Strict: 0 waits for 2, 2 for 1, 1 for 0.
    let sim = World::new(3).check_buffering(true).simulate(|c: &Comm| match c.rank() {
        0 => {
            c.send(&1u8, 2, 0);
            c.send(&2u8, 1, 0);
        }
        1 => {
            let v: u8 = c.recv(0, 0);
            c.send(&v, 2, 0);
        }
        _ => {
            let _: u8 = c.recv(1, 0);
            let _: u8 = c.recv(0, 0);
        }
    });
    assert!(sim.outcome.is_ok());
    assert!(matches!(sim.buffering_check, BufferingCheck::Ran { hazard: true, .. }), "{:?}", sim.buffering_check);
}

/// A rank with thousands of sends nobody has received yet, news of which reaches their
/// receiver: the re-run decides (the following gives up past its bound on what a rank
/// carries, rather than copy thousands of taints into every message), and rightly.
#[test]
fn thousands_of_unreceived_sends_are_left_to_the_rerun() {
    let sends = 5_000;
    let sim = World::new(2).check_buffering(true).simulate(|c: &Comm| {
        if c.rank() == 0 {
            let mut reqs: Vec<Request> = (0..sends).map(|i: u32| c.isend(&i, 1, 0)).collect();
            c.send(&0u32, 1, 1);
            c.waitall(&mut reqs);
        } else {
            let _: u32 = c.recv(0, 1);
            for _ in 0..sends {
                let _: u32 = c.recv(0, 0);
            }
        }
    });
    assert!(sim.outcome.is_ok(), "{:?}", sim.outcome.err());
    // Without buffering rank 0's isends wait in its waitall, after the tag-1 send: which
    // rank 1 receives first, so the strict run completes too.
    assert!(matches!(sim.buffering_check, BufferingCheck::Ran { hazard: false, .. }), "{:?}", sim.buffering_check);
}
