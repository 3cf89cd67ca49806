//! Communicators: split, dup, self, and the isolation of their message spaces.

use mpisim::{World, ANY_SOURCE, ANY_TAG, UNDEFINED};

#[test]
fn split_by_parity_numbers_by_key() {
    let run = World::new(6)
        .run(|comm| {
            let r = comm.rank();
            // Reverse order inside each half: the key decides the new rank.
            let half = comm.split((r % 2) as u32, -(r as i32)).unwrap();
            let right = (half.rank() + 1) % half.size();
            let left = (half.rank() + half.size() - 1) % half.size();
            let from: usize = half.sendrecv(&comm.world_rank(), right, 0, left, 0);
            (half.rank(), half.size(), from)
        })
        .unwrap();
    // Even ranks 0,2,4 with keys 0,-2,-4: new ranks 2,1,0.
    assert_eq!(run.results[0], (2, 3, 2));
    assert_eq!(run.results[4], (0, 3, 0));
    assert_eq!(run.results[1], (2, 3, 3));
}

#[test]
fn undefined_color_gets_no_communicator() {
    let run = World::new(4)
        .run(|comm| comm.split(if comm.rank() == 0 { UNDEFINED } else { 1 }, 0).map(|c| c.size()))
        .unwrap();
    assert_eq!(run.results, vec![None, Some(3), Some(3), Some(3)]);
}

#[test]
fn dup_has_its_own_message_space() {
    let run = World::new(2)
        .run(|comm| {
            let dup = comm.dup();
            if comm.rank() == 0 {
                dup.send(&"on dup", 1, 0);
                comm.send(&"on world", 1, 0);
                None
            } else {
                // The wildcard receive on world must not take the message sent on dup.
                let first: String = comm.recv(ANY_SOURCE, ANY_TAG);
                let second: String = dup.recv(0, 0);
                Some((first, second))
            }
        })
        .unwrap();
    assert_eq!(run.results[1], Some(("on world".to_string(), "on dup".to_string())));
}

#[test]
fn self_comm_is_one_rank() {
    let run = World::new(3)
        .run(|comm| {
            let me = comm.self_comm();
            me.send(&comm.rank(), 0, 5);
            let back: usize = me.recv(0, 5);
            (me.size(), me.rank(), back)
        })
        .unwrap();
    assert_eq!(run.results, vec![(1, 0, 0), (1, 0, 1), (1, 0, 2)]);
}

#[test]
fn a_rank_that_skips_a_split_deadlocks_with_the_missing_rank_named() {
    let err = World::new(3)
        .run(|comm| {
            if comm.rank() != 2 {
                comm.dup();
            }
        })
        .unwrap_err();
    let mpisim::SimError::Deadlock(report) = err else { panic!("expected a deadlock, got {err}") };
    assert_eq!(report.blocked.len(), 2);
    assert!(report.blocked[0].waiting_for.contains("waits for rank 2"), "{}", report.blocked[0].waiting_for);
    assert_eq!(report.finished, vec![2]);
}

use mpisim::{CallKind, Comm, ErrorClass, SimError};
use std::cell::RefCell;

thread_local! {
    static STOLEN: RefCell<Option<Comm>> = const { RefCell::new(None) };
    static STOLEN_REQUEST: RefCell<Option<mpisim::Request>> = const { RefCell::new(None) };
}

/// The failure of a run whose rank 1 uses what rank 0 left in a thread-local.
#[track_caller]
fn stolen(program: impl Fn(&Comm)) -> mpisim::RankFailure {
    match World::new(2).run(program) {
        Err(SimError::RankFailed(f)) => f,
        other => panic!("expected rank 1 to fail, got {other:?}"),
    }
}

#[test]
fn a_rank_cannot_use_another_ranks_communicator() {
    let check = |f: mpisim::RankFailure, call: CallKind| {
        let error = f.error.as_ref().expect("an MPI error");
        assert_eq!((f.rank, f.call, error.class), (1, Some(call), ErrorClass::Comm), "{f:?}");
        assert!(error.message.contains("rank 1 used rank 0's communicator"), "{}", error.message);
        assert_eq!(f.location.as_ref().map(|l| l.file.as_ref()), Some(file!()), "{f:?}");
    };
    // A duplicate of rank 0's COMM_WORLD, kept in a thread-local and used by rank 1.
    let with_rank_0s = |use_it: fn(&Comm)| {
        move |comm: &Comm| {
            let dup = comm.dup();
            if comm.rank() == 0 {
                STOLEN.with(|s| *s.borrow_mut() = Some(dup));
                comm.barrier();
            } else {
                comm.barrier();
                STOLEN.with(|s| use_it(s.borrow().as_ref().expect("rank 0 kept it")));
            }
        }
    };
    check(stolen(with_rank_0s(|c| c.send(&1u8, 0, 0))), CallKind::Send);
    // Even asking it for its rank: it would tell rank 1 that it is rank 0.
    check(
        stolen(with_rank_0s(|c| {
            c.rank();
        })),
        CallKind::CommRank,
    );
    // A request of rank 0's, waited for by rank 1.
    let f = stolen(|comm| {
        if comm.rank() == 0 {
            let req = comm.irecv(1, 5);
            STOLEN_REQUEST.with(|s| *s.borrow_mut() = Some(req));
            comm.barrier();
            comm.send(&0u8, 1, 6);
        } else {
            comm.barrier();
            STOLEN_REQUEST.with(|s| s.borrow_mut().as_mut().expect("rank 0 kept it").wait());
        }
    });
    check(f, CallKind::Wait);
    STOLEN.with(|s| s.borrow_mut().take());
    STOLEN_REQUEST.with(|s| s.borrow_mut().take());
}

#[test]
fn a_communicator_of_an_earlier_run_is_refused() {
    World::new(1).run(|comm| STOLEN.with(|s| *s.borrow_mut() = Some(comm.dup()))).unwrap();
    let f = match World::new(1).run(|_| STOLEN.with(|s| s.borrow().as_ref().map(|c| c.size()))) {
        Err(SimError::RankFailed(f)) => f,
        other => panic!("expected a failure, got {other:?}"),
    };
    let error = f.error.expect("an MPI error");
    assert_eq!(error.class, ErrorClass::Comm);
    assert!(error.message.contains("another run's communicator"), "{}", error.message);
    STOLEN.with(|s| s.borrow_mut().take());
}
