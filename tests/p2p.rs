//! Point-to-point semantics: matching rules, send modes, probes, requests, and misuse.
//!
//! Unless a case says otherwise, runs use the default platform: α = 1 µs, 1 GB/s (an
//! n-byte message takes 1000 + n ns), eager limit 64 KiB, polls cost 100 ns.

mod common;

use mpisim::*;
use std::fmt::Debug;
use std::time::Duration;

/// Transfer time of `bytes` on the default platform: α + n·β = 1000 + n ns.
fn transfer(bytes: u64) -> u64 {
    1_000 + bytes
}

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

fn ns(n: u64) -> Duration {
    Duration::from_nanos(n)
}

/// The line of this file that ends with the marker comment `// @name`.
fn line_of(name: &str) -> u32 {
    common::marked_line(include_str!("p2p.rs"), name)
}

/// Runs `program` on `ranks` ranks of the default platform, and checks that it completes
/// cleanly (no warnings) with `expected` as the ranks' results.
#[track_caller]
fn check<R: PartialEq + Debug>(ranks: usize, program: impl Fn(&Comm) -> R, expected: &[R]) -> Completed<R> {
    let run = World::new(ranks).run(program).unwrap_or_else(|e| panic!("the run did not complete:\n{e}"));
    assert_eq!(run.results, expected, "results by rank");
    assert_eq!(run.warnings, vec![], "the run should be clean");
    run
}

/// Runs `program` and returns the rank failure it must end with.
#[track_caller]
fn failure<R: Debug>(ranks: usize, program: impl Fn(&Comm) -> R) -> RankFailure {
    match World::new(ranks).run(program) {
        Err(SimError::RankFailed(f)) => f,
        other => panic!("expected a rank failure, got {other:?}"),
    }
}

/// Checks a failure's MPI error class and that its location is in this file.
#[track_caller]
fn assert_misuse(f: &RankFailure, rank: Rank, call: CallKind, class: ErrorClass) {
    assert_eq!(f.rank, rank, "failing rank in {f:?}");
    assert_eq!(f.call, Some(call), "failing call in {f:?}");
    let error = f.error.as_ref().unwrap_or_else(|| panic!("expected an MPI error, got {f:?}"));
    assert_eq!(error.class, class, "error class of {error}");
    assert_eq!(f.panic, None);
    let location = f.location.as_ref().expect("a misuse has a location");
    assert_eq!(location.file, file!(), "location {location}");
}

// ---------------------------------------------------------------------------------------
// Non-overtaking

/// How rank 0 sends its sequence of messages to rank 1.
#[derive(Clone, Copy, Debug)]
enum SendStyle {
    Blocking,
    Isend,
}

/// Rank 0 sends messages of `sizes` bytes (tag 7) to rank 1, in order; rank 1 either
/// posts all its receives first (`preposted`) or waits `delay` and receives one by one.
/// Rank 1 must get them in send order.
#[track_caller]
fn check_in_order(sizes: &[u64], style: SendStyle, preposted: bool, delay: Duration) {
    let n = sizes.len() as u32;
    let program = |comm: &Comm| -> Vec<u32> {
        if comm.rank() == 0 {
            let msgs: Vec<(u32, Vec<u8>)> =
                sizes.iter().enumerate().map(|(i, &s)| (i as u32, payload_of_size(s - 1))).collect();
            match style {
                SendStyle::Blocking => msgs.iter().for_each(|m| comm.send(m, 1, 7)),
                SendStyle::Isend => {
                    let mut reqs: Vec<Request> = msgs.iter().map(|m| comm.isend(m, 1, 7)).collect();
                    comm.waitall(&mut reqs);
                }
            }
            Vec::new()
        } else if preposted {
            let mut reqs: Vec<Request> = (0..n).map(|_| comm.irecv(0, 7)).collect();
            comm.compute(delay);
            comm.waitall(&mut reqs);
            reqs.iter_mut().map(|r| r.value::<(u32, Vec<u8>)>().0).collect()
        } else {
            comm.compute(delay);
            (0..n).map(|_| comm.recv::<(u32, Vec<u8>)>(0, 7).0).collect()
        }
    };
    let run = check(2, program, &[vec![], (0..n).collect()]);
    // The sizes really straddle the protocols the case says they do.
    let protocols: Vec<Protocol> = run
        .trace
        .events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Send { protocol, .. } => Some(protocol),
            _ => None,
        })
        .collect();
    let expected: Vec<Protocol> =
        sizes.iter().map(|&s| if s <= 64 * 1024 { Protocol::Eager } else { Protocol::Rendezvous }).collect();
    assert_eq!(protocols, expected, "protocols of the messages");
}

#[test]
fn messages_from_one_sender_with_one_tag_are_received_in_send_order() {
    use SendStyle::*;
    check_in_order(&[8; 5], Blocking, false, us(0));
    check_in_order(&[8; 5], Blocking, false, us(50));
    check_in_order(&[8; 5], Isend, true, us(0));
    check_in_order(&[8, 1000, 8, 3000, 8], Isend, false, us(0));
    // A big eager message, then small ones: the small ones would be quicker on their own.
    check_in_order(&[60_000, 8, 60_000, 8], Isend, false, us(0));
    check_in_order(&[60_000, 8, 60_000, 8], Blocking, true, us(0));
    // Eager, then rendezvous to the same peer: the second must not overtake the first.
    check_in_order(&[8, 100_000], Isend, false, us(0));
    check_in_order(&[8, 100_000], Isend, false, us(50));
    check_in_order(&[8, 100_000], Isend, true, us(0));
    check_in_order(&[8, 100_000], Isend, true, us(50));
    check_in_order(&[8, 100_000], Blocking, false, us(0));
    // Rendezvous, then eager.
    check_in_order(&[100_000, 8], Isend, false, us(0));
    check_in_order(&[100_000, 8], Isend, true, us(0));
    check_in_order(&[100_000, 8], Blocking, false, us(0));
    check_in_order(&[8, 100_000, 8, 200_000, 16, 70_000], Isend, false, us(0));
    check_in_order(&[8, 100_000, 8, 200_000, 16, 70_000], Isend, true, us(300));
}

#[test]
fn messages_with_different_tags_may_be_received_out_of_send_order() {
    check(
        2,
        |comm| {
            if comm.rank() == 0 {
                comm.send(&1u8, 1, 1);
                comm.send(&2u8, 1, 2);
                vec![]
            } else {
                let b: u8 = comm.recv(0, 2);
                let a: u8 = comm.recv(0, 1);
                vec![b, a]
            }
        },
        &[vec![], vec![2, 1]],
    );
}

#[test]
fn any_tag_from_one_source_keeps_send_order() {
    check(
        2,
        |comm| {
            if comm.rank() == 0 {
                for tag in [9, 3, 5] {
                    comm.send(&tag, 1, tag);
                }
                vec![]
            } else {
                (0..3)
                    .map(|_| {
                        let (v, s): (i32, Status) = comm.recv_status(0, ANY_TAG);
                        assert_eq!(v, s.tag);
                        s.tag
                    })
                    .collect()
            }
        },
        &[vec![], vec![9, 3, 5]],
    );
}

// ---------------------------------------------------------------------------------------
// Wildcards

/// Rank `k` (1-based index into `senders`) waits `delay` ns then sends `bytes` with
/// `tag`; rank 0 waits `receiver_delay`, then receives with `(source, tag)` filters in
/// turn. `expected` are the sources rank 0 gets, in order.
#[track_caller]
fn check_wildcard(
    senders: &[(u64, u64, Tag)],
    receiver_delay: Duration,
    filters: &[(Rank, Tag)],
    expected: &[(Rank, Tag)],
) {
    let program = |comm: &Comm| -> Vec<(Rank, Tag)> {
        if comm.rank() == 0 {
            comm.compute(receiver_delay);
            filters
                .iter()
                .map(|&(source, tag)| {
                    let (_, s): (Vec<u8>, Status) = comm.recv_status(source, tag);
                    (s.source, s.tag)
                })
                .collect()
        } else {
            let (delay, bytes, tag) = senders[comm.rank() - 1];
            comm.compute(ns(delay));
            comm.send(&payload_of_size(bytes), 0, tag);
            vec![]
        }
    };
    let mut results = vec![expected.to_vec()];
    results.resize(senders.len() + 1, vec![]);
    check(senders.len() + 1, program, &results);
}

#[test]
fn any_source_takes_the_earliest_arrival_and_ties_go_to_the_lowest_rank() {
    let any3 = [(ANY_SOURCE, 0); 3];
    // Staggered senders, received while rank 0 waits and after all have arrived.
    check_wildcard(&[(3000, 8, 0), (1000, 8, 0), (2000, 8, 0)], us(0), &any3, &[(2, 0), (3, 0), (1, 0)]);
    check_wildcard(&[(3000, 8, 0), (1000, 8, 0), (2000, 8, 0)], us(20), &any3, &[(2, 0), (3, 0), (1, 0)]);
    // All at once: lowest rank first, whether rank 0 waits already or not.
    check_wildcard(&[(0, 8, 0), (0, 8, 0), (0, 8, 0)], us(0), &any3, &[(1, 0), (2, 0), (3, 0)]);
    check_wildcard(&[(0, 8, 0), (0, 8, 0), (0, 8, 0)], us(20), &any3, &[(1, 0), (2, 0), (3, 0)]);
    // A bigger message sent at the same time arrives later.
    check_wildcard(&[(0, 5000, 0), (0, 8, 0)], us(0), &[(ANY_SOURCE, 0); 2], &[(2, 0), (1, 0)]);
    check_wildcard(&[(0, 5000, 0), (0, 8, 0)], us(20), &[(ANY_SOURCE, 0); 2], &[(2, 0), (1, 0)]);
    // A tie at one arrival time (1000 + 16 ns) although rank 3 sent first: rank 1 wins.
    check_wildcard(&[(8, 8, 0), (0, 100, 0), (0, 16, 0)], us(0), &any3, &[(1, 0), (3, 0), (2, 0)]);
    check_wildcard(&[(8, 8, 0), (0, 100, 0), (0, 16, 0)], us(20), &any3, &[(1, 0), (3, 0), (2, 0)]);
    // A rendezvous message's envelope is visible when it is sent (the data moves once
    // matched), so it counts as arriving before a small eager message sent at once.
    check_wildcard(&[(0, 8, 0), (0, 1 << 20, 0)], us(20), &[(ANY_SOURCE, 0); 2], &[(2, 0), (1, 0)]);
}

#[test]
fn wildcards_still_filter_on_what_they_name() {
    let senders = [(0, 8, 5), (0, 8, 6)];
    // ANY_SOURCE with a tag.
    check_wildcard(&senders, us(0), &[(ANY_SOURCE, 6), (ANY_SOURCE, 5)], &[(2, 6), (1, 5)]);
    check_wildcard(&senders, us(20), &[(ANY_SOURCE, 6), (ANY_SOURCE, 5)], &[(2, 6), (1, 5)]);
    // ANY_TAG with a source.
    check_wildcard(&senders, us(0), &[(2, ANY_TAG), (1, ANY_TAG)], &[(2, 6), (1, 5)]);
    check_wildcard(&senders, us(20), &[(2, ANY_TAG), (1, ANY_TAG)], &[(2, 6), (1, 5)]);
    // Both wildcards.
    check_wildcard(&senders, us(20), &[(ANY_SOURCE, ANY_TAG); 2], &[(1, 5), (2, 6)]);
    check_wildcard(&[(2000, 8, 5), (0, 8, 6)], us(0), &[(ANY_SOURCE, ANY_TAG); 2], &[(2, 6), (1, 5)]);
}

// ---------------------------------------------------------------------------------------
// PROC_NULL

#[test]
fn proc_null_sends_and_receives_complete_at_once() {
    let null_status = Status { source: PROC_NULL, tag: ANY_TAG, count: 0, cancelled: false };
    let run = check(
        2,
        |comm| {
            comm.send(&[1.0f64; 4], PROC_NULL, 0);
            comm.ssend(&payload_of_size(1 << 20), PROC_NULL, 1);
            let ((), s1) = comm.recv_status::<()>(PROC_NULL, 3);
            let mut buf = [7u32; 2];
            let s2 = comm.recv_into(&mut buf, PROC_NULL, ANY_TAG);
            assert_eq!(buf, [7, 7], "a receive from PROC_NULL leaves the buffer alone");
            let mut reqs = vec![comm.isend(&5u8, PROC_NULL, 0), comm.irecv(PROC_NULL, 0)];
            let s3 = comm.waitall(&mut reqs);
            assert!(reqs.iter().all(Request::is_null));
            let ((), s4) = comm.sendrecv_status::<u8, ()>(&3, PROC_NULL, 0, PROC_NULL, 0);
            (comm.now(), vec![s1, s2, s3[1], s4])
        },
        &[(Time::ZERO, vec![null_status; 4]), (Time::ZERO, vec![null_status; 4])],
    );
    assert_eq!(run.stats.messages, 0, "nothing moves to or from PROC_NULL");
    assert_eq!(run.time, Time::ZERO);
}

// ---------------------------------------------------------------------------------------
// Probes

#[test]
fn probe_does_not_consume_the_message() {
    let n42 = encoded_len(&42i32);
    check(
        3,
        |comm| match comm.rank() {
            0 => {
                comm.send(&42i32, 2, 4);
                vec![]
            }
            1 => {
                comm.compute(us(5));
                comm.send(&43i32, 2, 8);
                vec![]
            }
            _ => {
                let first = comm.probe(ANY_SOURCE, ANY_TAG);
                let again = comm.probe(ANY_SOURCE, ANY_TAG);
                assert_eq!(first, again);
                let v: i32 = comm.recv(first.source, first.tag);
                let second = comm.probe(ANY_SOURCE, ANY_TAG);
                let w: i32 = comm.recv(ANY_SOURCE, ANY_TAG);
                vec![(first, v), (second, w)]
            }
        },
        &[
            vec![],
            vec![],
            vec![
                (Status { source: 0, tag: 4, count: n42, cancelled: false }, 42),
                (Status { source: 1, tag: 8, count: n42, cancelled: false }, 43),
            ],
        ],
    );
}

#[test]
fn probe_waits_for_the_arrival() {
    check(
        2,
        |comm| {
            if comm.rank() == 0 {
                comm.send(&payload_of_size(500), 1, 0);
                vec![]
            } else {
                let s = comm.probe(0, 0);
                let at_probe = comm.now();
                let _: Vec<u8> = comm.recv(0, 0);
                vec![s.count, at_probe.as_nanos(), comm.now().as_nanos()]
            }
        },
        &[vec![], vec![500, transfer(500), transfer(500)]],
    );
}

#[test]
fn iprobe_sees_nothing_before_the_arrival_and_the_message_after() {
    check(
        2,
        |comm| {
            if comm.rank() == 0 {
                comm.send(&7u16, 1, 2);
                vec![]
            } else {
                let before = comm.iprobe(0, 2);
                let after_poll = comm.now();
                comm.compute(us(10));
                let after = comm.iprobe(ANY_SOURCE, 2);
                let other_tag = comm.iprobe(0, 3);
                let still = comm.iprobe(0, 2);
                let v: u16 = comm.recv(0, 2);
                let gone = comm.iprobe(0, 2);
                vec![
                    format!("{before:?}"),
                    after_poll.to_string(),
                    format!("{:?}", after.map(|s| (s.source, s.tag))),
                    format!("{other_tag:?}"),
                    format!("{}", after == still),
                    v.to_string(),
                    format!("{gone:?}"),
                ]
            }
        },
        &[vec![], ["None", "100 ns", "Some((0, 2))", "None", "true", "7", "None"].map(String::from).to_vec()],
    );
}

#[test]
fn probe_of_a_rendezvous_message_does_not_complete_its_send() {
    let big = 1u64 << 20;
    check(
        2,
        |comm| {
            if comm.rank() == 0 {
                comm.send(&payload_of_size(big), 1, 0);
                vec![comm.now().as_nanos()]
            } else {
                let s = comm.probe(0, 0);
                let probed = comm.now().as_nanos();
                comm.compute(us(5));
                let got: Vec<u8> = comm.recv(0, 0);
                vec![s.count, probed, encoded_len(&got), comm.now().as_nanos()]
            }
        },
        &[vec![5_000 + transfer(big)], vec![big, 0, big, 5_000 + transfer(big)]],
    );
}

// ---------------------------------------------------------------------------------------
// Send modes

type BlockingSend = fn(&Comm, &Vec<u8>, Rank, Tag);

/// Rank 0 sends `bytes` to rank 1 in `mode`; rank 1 computes for `delay`, then posts its
/// receive. Rank 0's clock when its send returns must be `sender_done` ns.
#[track_caller]
fn check_send_mode(mode: BlockingSend, bytes: u64, delay: Duration, sender_done: u64) {
    check(
        2,
        |comm| {
            if comm.rank() == 0 {
                mode(comm, &payload_of_size(bytes), 1, 0);
                comm.now().as_nanos()
            } else {
                comm.compute(delay);
                let posted = comm.now();
                let _: Vec<u8> = comm.recv(0, 0);
                posted.as_nanos()
            }
        },
        &[sender_done, delay.as_nanos() as u64],
    );
}

#[test]
fn send_modes_complete_when_their_mode_says() {
    let send: BlockingSend = |c, v, d, t| c.send(v, d, t);
    let ssend: BlockingSend = |c, v, d, t| c.ssend(v, d, t);
    let bsend: BlockingSend = |c, v, d, t| c.bsend(v, d, t);
    let mib = 1 << 20;
    // Standard: local below the eager limit, waits for the receive above it.
    check_send_mode(send, 8, us(5), 0);
    check_send_mode(send, 64 * 1024, us(5), 0);
    check_send_mode(send, 64 * 1024 + 1, us(5), 5_000 + transfer(64 * 1024 + 1));
    check_send_mode(send, mib, us(5), 5_000 + transfer(mib));
    // Synchronous: never returns before the receive is posted, whatever the size.
    check_send_mode(ssend, 8, us(0), transfer(8));
    check_send_mode(ssend, 8, us(5), 5_000 + transfer(8));
    check_send_mode(ssend, 8, us(70), 70_000 + transfer(8));
    check_send_mode(ssend, mib, us(5), 5_000 + transfer(mib));
    // Buffered: local even far above the eager limit.
    check_send_mode(bsend, 8, us(5), 0);
    check_send_mode(bsend, mib, us(5), 0);
    check_send_mode(bsend, 4 * mib, us(70), 0);
}

#[test]
fn issend_is_not_complete_before_the_receive_is_posted() {
    check(
        2,
        |comm| {
            if comm.rank() == 0 {
                let mut r = comm.issend(&1u8, 1, 0);
                let early = r.test().is_some();
                comm.compute(us(1));
                let still_early = r.test().is_some();
                r.wait();
                vec![early as u64, still_early as u64, comm.now().as_nanos()]
            } else {
                comm.compute(us(5));
                let _: u8 = comm.recv(0, 0);
                vec![]
            }
        },
        &[vec![0, 0, 5_000 + transfer(1)], vec![]],
    );
}

#[test]
fn a_bsend_ring_above_the_eager_limit_completes() {
    check(
        4,
        |comm| {
            let (rank, size) = (comm.rank(), comm.size());
            comm.bsend(&vec![rank as u32; 1 << 18], (rank + 1) % size, 0);
            let got: Vec<u32> = comm.recv((rank + size - 1) % size, 0);
            (got.len(), got[0] as usize)
        },
        &[(1 << 18, 3), (1 << 18, 0), (1 << 18, 1), (1 << 18, 2)],
    );
}

#[test]
fn rsend_with_the_receive_posted_is_fine() {
    check(
        2,
        |comm| {
            if comm.rank() == 0 {
                comm.compute(us(1));
                comm.rsend(&11i64, 1, 0);
                0
            } else {
                let mut r = comm.irecv(0, 0);
                r.wait_value::<i64>()
            }
        },
        &[0, 11],
    );
}

#[test]
fn rsend_without_a_posted_receive_is_an_error() {
    let f = failure(2, |comm| {
        if comm.rank() == 0 {
            comm.rsend(&11i64, 1, 0); // @rsend
        } else {
            comm.compute(us(10));
            let _: i64 = comm.recv(0, 0);
        }
    });
    assert_misuse(&f, 0, CallKind::Rsend, ErrorClass::Other);
    assert_eq!(f.location.as_ref().unwrap().line, line_of("rsend"));
    let message = &f.error.as_ref().unwrap().message;
    assert!(message.contains("ready send") && message.contains("rank 1"), "{message}");
}

// ---------------------------------------------------------------------------------------
// Persistent requests

/// Two ranks exchange through persistent requests for six iterations; rank 0's message
/// has `bytes` bytes of padding. Odd iterations rebind the send's value with
/// `start_with`; even ones `startall` with whatever is bound.
#[track_caller]
fn check_persistent(bytes: u64) {
    let program = |comm: &Comm| -> Vec<u64> {
        let me = comm.rank() as u64;
        let peer = 1 - comm.rank();
        let pad = if me == 0 { payload_of_size(bytes) } else { Vec::new() };
        let peer_pad = if me == 0 { 0 } else { payload_of_size(bytes).len() };
        let mut reqs = vec![comm.send_init(&(me * 100, pad.clone()), peer, 0), comm.recv_init(peer, 0)];
        let mut got = Vec::new();
        for i in 0..6u64 {
            if i % 2 == 0 {
                comm.startall(&mut reqs);
            } else {
                reqs[0].start_with(&(me * 100 + i, pad.clone()));
                comm.startall(&mut reqs[1..]);
            }
            let statuses = comm.waitall(&mut reqs);
            assert_eq!(statuses[1].source, peer);
            assert!(!reqs[0].is_null() && !reqs[1].is_null(), "persistent requests stay allocated");
            let (value, padding): (u64, Vec<u8>) = reqs[1].value();
            assert_eq!(padding.len(), peer_pad);
            got.push(value);
        }
        for r in reqs {
            r.free();
        }
        got
    };
    check(2, program, &[vec![100, 101, 101, 103, 103, 105], vec![0, 1, 1, 3, 3, 5]]);
}

#[test]
fn persistent_requests_are_reusable() {
    check_persistent(8);
    check_persistent(100_000);
}

#[test]
fn starting_an_active_persistent_request_is_an_error() {
    let f = failure(2, |comm| {
        if comm.rank() == 0 {
            let mut r = comm.recv_init(1, 0);
            r.start();
            r.start();
        }
    });
    assert_misuse(&f, 0, CallKind::Start, ErrorClass::Request);
}

// ---------------------------------------------------------------------------------------
// Completing many requests

/// Rank k ≥ 1 computes `delays[k - 1]` µs, then sends `10 k` to rank 0; rank 0 posts an
/// irecv from each (request k - 1) and then runs `body`.
fn staggered<R: Default>(delays: &'static [u64], body: fn(&Comm, &mut [Request]) -> R) -> impl Fn(&Comm) -> R {
    move |comm| {
        if comm.rank() == 0 {
            let mut reqs: Vec<Request> = (1..comm.size()).map(|k| comm.irecv(k, 0)).collect();
            body(comm, &mut reqs)
        } else {
            comm.compute(us(delays[comm.rank() - 1]));
            comm.send(&(10 * comm.rank() as u32), 0, 0);
            R::default()
        }
    }
}

type Done = Vec<(usize, Rank, u32)>;

fn take(reqs: &mut [Request], (index, status): (usize, Status)) -> (usize, Rank, u32) {
    (index, status.source, reqs[index].value())
}

#[test]
fn waitany_returns_requests_in_completion_order() {
    let run = check(
        4,
        staggered(&[3, 1, 2], |comm, reqs| {
            let mut done: Done = Vec::new();
            while let Some(c) = comm.waitany(reqs) {
                done.push(take(reqs, c));
            }
            assert!(reqs.iter().all(Request::is_null));
            done
        }),
        &[vec![(1, 2, 20), (2, 3, 30), (0, 1, 10)], vec![], vec![], vec![]],
    );
    assert_eq!(run.time, Time(3_000 + transfer(1)));
}

#[test]
fn testany_finds_nothing_then_the_lowest_completed_index() {
    check(
        4,
        staggered(&[3, 1, 2], |comm, reqs| {
            let mut seen = vec![format!("{:?}", comm.testany(reqs))];
            comm.compute(us(10));
            while let Some(c) = comm.testany(reqs) {
                seen.push(format!("{:?}", take(reqs, c)));
            }
            seen
        }),
        &[["None", "(0, 1, 10)", "(1, 2, 20)", "(2, 3, 30)"].map(String::from).to_vec(), vec![], vec![], vec![]],
    );
}

#[test]
fn waitsome_returns_every_completed_request() {
    check(
        4,
        staggered(&[1, 1, 5], |comm, reqs| {
            comm.compute(us(4));
            let mut rounds: Vec<Done> = Vec::new();
            loop {
                let some = comm.waitsome(reqs);
                if some.is_empty() {
                    break;
                }
                rounds.push(some.into_iter().map(|c| take(reqs, c)).collect());
            }
            rounds
        }),
        &[vec![vec![(0, 1, 10), (1, 2, 20)], vec![(2, 3, 30)]], vec![], vec![], vec![]],
    );
}

#[test]
fn waitsome_returns_every_request_completed_at_the_instant_it_returns() {
    // Ranks 1 and 2 send at the same time: both receives complete at 1 µs + α + 1 ns, the
    // instant waitsome returns, so it must report both.
    check(
        4,
        staggered(&[1, 1, 5], |comm, reqs| {
            let some = comm.waitsome(reqs);
            let at = comm.now();
            let done: Done = some.into_iter().map(|c| take(reqs, c)).collect();
            let rest = comm.waitsome(reqs).into_iter().map(|c| take(reqs, c)).collect();
            (at.as_nanos(), done, rest)
        }),
        &[
            (1_000 + transfer(1), vec![(0, 1, 10), (1, 2, 20)], vec![(2, 3, 30)]),
            Default::default(),
            Default::default(),
            Default::default(),
        ],
    );
}

#[test]
fn testall_is_none_until_every_request_is_complete() {
    check(
        4,
        staggered(&[1, 1, 5], |comm, reqs| {
            let first = comm.testall(reqs).is_some();
            comm.compute(us(4));
            let second = comm.testall(reqs).is_some();
            let untouched = reqs.iter().filter(|r| !r.is_null()).count();
            comm.compute(us(10));
            let statuses = comm.testall(reqs).expect("all complete by now");
            let values: Vec<u32> = reqs.iter_mut().map(|r| r.value()).collect();
            let sources: Vec<Rank> = statuses.iter().map(|s| s.source).collect();
            (first, second, untouched, sources, values)
        }),
        &[
            (false, false, 3, vec![1, 2, 3], vec![10, 20, 30]),
            Default::default(),
            Default::default(),
            Default::default(),
        ],
    );
}

#[test]
fn testsome_completes_whatever_is_complete() {
    check(
        4,
        staggered(&[1, 1, 5], |comm, reqs| {
            let mut rounds: Vec<Done> = Vec::new();
            for wait in [0, 4, 10] {
                comm.compute(us(wait));
                rounds.push(comm.testsome(reqs).into_iter().map(|c| take(reqs, c)).collect());
            }
            rounds
        }),
        &[vec![vec![], vec![(0, 1, 10), (1, 2, 20)], vec![(2, 3, 30)]], vec![], vec![], vec![]],
    );
}

#[test]
fn waitany_of_only_null_requests_is_none() {
    check(
        1,
        |comm| {
            let mut reqs = vec![comm.isend(&1u8, PROC_NULL, 0), comm.irecv(PROC_NULL, 0)];
            comm.waitall(&mut reqs);
            (reqs.iter().all(Request::is_null), comm.waitany(&mut reqs).map(|(i, _)| i))
        },
        &[(true, None)],
    );
}

// ---------------------------------------------------------------------------------------
// Cancel

#[test]
fn cancel_of_an_unmatched_irecv_succeeds() {
    check(
        2,
        |comm| {
            if comm.rank() == 0 {
                let mut r = comm.irecv(1, 5);
                comm.compute(us(3));
                r.cancel();
                let s = r.wait();
                (s.cancelled, r.is_null(), comm.now().as_nanos())
            } else {
                (false, false, 0)
            }
        },
        &[(true, true, 3_000), (false, false, 0)],
    );
}

#[test]
fn cancel_of_a_matched_irecv_does_nothing() {
    check(
        2,
        |comm| {
            if comm.rank() == 0 {
                comm.compute(us(5));
                let mut r = comm.irecv(1, 5);
                r.cancel();
                let s = r.wait();
                (s.cancelled, s.source, r.value::<i32>())
            } else {
                comm.send(&7i32, 0, 5);
                (false, 0, 0)
            }
        },
        &[(false, 1, 7), (false, 0, 0)],
    );
}

#[test]
fn cancel_of_an_unmatched_rendezvous_isend_withdraws_the_message() {
    // (An eager send completes locally at once; whether it can still be cancelled is up to
    // the implementation, so only the rendezvous case is pinned here.)
    check(
        2,
        |comm| {
            if comm.rank() == 0 {
                let mut r = comm.isend(&payload_of_size(1 << 20), 1, 5);
                comm.compute(us(1));
                r.cancel();
                let s = r.wait();
                (s.cancelled, comm.now().as_nanos())
            } else {
                comm.compute(us(10));
                (comm.iprobe(ANY_SOURCE, ANY_TAG).is_some(), 0)
            }
        },
        &[(true, 1_000), (false, 0)],
    );
}

// ---------------------------------------------------------------------------------------
// Misuse: each fails the rank with an MPI error class and the caller's file:line

#[test]
fn truncation_is_an_error_at_the_receive() {
    let f = failure(2, |comm| {
        if comm.rank() == 0 {
            comm.send(&vec![1u32; 5], 1, 0);
        } else {
            let mut buf = [0u32; 3];
            comm.recv_into(&mut buf, 0, 0); // @truncate
        }
    });
    assert_misuse(&f, 1, CallKind::Recv, ErrorClass::Truncate);
    assert_eq!(f.location.as_ref().unwrap().line, line_of("truncate"));
    let message = &f.error.as_ref().unwrap().message;
    assert!(message.contains("5 elements") && message.contains("3"), "{message}");
}

#[test]
fn recv_into_a_buffer_long_enough_fills_it() {
    check(
        2,
        |comm| {
            if comm.rank() == 0 {
                comm.send(&vec![1u32, 2, 3], 1, 0);
                (vec![], 0)
            } else {
                let mut buf = [0u32; 5];
                let s = comm.recv_into(&mut buf, 0, 0);
                (buf.to_vec(), s.count)
            }
        },
        &[(vec![], 0), (vec![1, 2, 3, 0, 0], 3)],
    );
}

#[test]
fn slices_are_received_as_vectors_and_arrays_as_arrays() {
    // `[T]` encodes like `Vec<T>` (with a length); `[T; N]` encodes as a tuple (without).
    check(
        2,
        |comm| {
            if comm.rank() == 0 {
                comm.send(&[1u32, 2, 3][..], 1, 0);
                comm.send(&[2u32, 7, 9], 1, 1);
                comm.send("seven", 1, 2);
                (vec![], [0; 3], String::new())
            } else {
                let slice: Vec<u32> = comm.recv(0, 0);
                let array: [u32; 3] = comm.recv(0, 1);
                let text: String = comm.recv(0, 2);
                (slice, array, text)
            }
        },
        &[(vec![], [0; 3], String::new()), (vec![1, 2, 3], [2, 7, 9], "seven".to_string())],
    );
}

#[test]
fn an_array_received_as_a_vector_is_a_type_error_not_wrong_data() {
    // Read with a length prefix, [2, 7, 9] would decode, wrongly, as [7, 9].
    let f = failure(2, |comm| {
        if comm.rank() == 0 {
            comm.send(&[2u32, 7, 9], 1, 0);
        } else {
            let _: Vec<u32> = comm.recv(0, 0);
        }
    });
    let error = f.error.expect("an MPI error");
    assert_eq!(error.class, ErrorClass::Type);
    assert!(error.message.contains("[u32; 3]") && error.message.contains("Vec<u32>"), "{}", error.message);
}

#[test]
fn a_receive_of_the_wrong_type_names_both_types() {
    let f = failure(2, |comm| {
        if comm.rank() == 0 {
            comm.send(&5i64, 1, 0);
        } else {
            let _: f64 = comm.recv(0, 0); // @type
        }
    });
    assert_misuse(&f, 1, CallKind::Recv, ErrorClass::Type);
    assert_eq!(f.location.as_ref().unwrap().line, line_of("type"));
    let message = &f.error.as_ref().unwrap().message;
    assert!(message.contains("`i64`") && message.contains("`f64`"), "{message}");

    let f = failure(2, |comm| {
        if comm.rank() == 0 {
            comm.send(&vec![1i32, 2], 1, 0);
        } else {
            let mut r = comm.irecv(0, 0);
            let _: Vec<u32> = r.wait_value();
        }
    });
    assert_misuse(&f, 1, CallKind::Wait, ErrorClass::Type);
    let message = &f.error.as_ref().unwrap().message;
    assert!(message.contains("Vec<i32>") && message.contains("Vec<u32>"), "{message}");
}

#[test]
fn invalid_ranks_and_tags_are_errors() {
    type Case = (fn(&Comm), CallKind, ErrorClass);
    let cases: &[Case] = &[
        (|c| c.send(&1u8, 2, 0), CallKind::Send, ErrorClass::Rank),
        (|c| c.send(&1u8, ANY_SOURCE, 0), CallKind::Send, ErrorClass::Rank),
        (|c| c.ssend(&1u8, 99, 0), CallKind::Ssend, ErrorClass::Rank),
        (|c| _ = c.isend(&1u8, 5, 0), CallKind::Isend, ErrorClass::Rank),
        (|c| _ = c.send_init(&1u8, 5, 0), CallKind::SendInit, ErrorClass::Rank),
        (|c| _ = c.recv::<u8>(2, 0), CallKind::Recv, ErrorClass::Rank),
        (|c| _ = c.irecv(7, 0), CallKind::Irecv, ErrorClass::Rank),
        (|c| _ = c.probe(9, 0), CallKind::Probe, ErrorClass::Rank),
        (|c| _ = c.iprobe(9, ANY_TAG), CallKind::Iprobe, ErrorClass::Rank),
        (|c| _ = c.sendrecv::<u8, u8>(&1, 1, 0, 4, 0), CallKind::Sendrecv, ErrorClass::Rank),
        (|c| c.send(&1u8, 1, ANY_TAG), CallKind::Send, ErrorClass::Tag),
        (|c| c.send(&1u8, 1, -3), CallKind::Send, ErrorClass::Tag),
        (|c| c.bsend(&1u8, 1, i32::MIN), CallKind::Bsend, ErrorClass::Tag),
        (|c| _ = c.isend(&1u8, 1, -2), CallKind::Isend, ErrorClass::Tag),
        (|c| _ = c.recv::<u8>(1, -2), CallKind::Recv, ErrorClass::Tag),
        (|c| _ = c.recv_init(1, -5), CallKind::RecvInit, ErrorClass::Tag),
        (|c| _ = c.iprobe(ANY_SOURCE, -9), CallKind::Iprobe, ErrorClass::Tag),
        (|c| _ = c.sendrecv::<u8, u8>(&1, 1, 0, 1, -4), CallKind::Sendrecv, ErrorClass::Tag),
    ];
    for (i, &(call, kind, class)) in cases.iter().enumerate() {
        let f = failure(2, |comm| {
            if comm.rank() == 0 {
                call(comm);
            }
        });
        assert!(f.error.is_some(), "case {i}: {f:?}");
        assert_misuse(&f, 0, kind, class);
        assert_eq!(f.time, Time::ZERO, "case {i}");
    }
}

#[test]
fn a_panicking_rank_fails_the_run_with_its_message() {
    let f = failure(3, |comm| {
        if comm.rank() == 1 {
            comm.compute(us(2));
            panic!("boom {}", 3); // @panic
        }
        let _: u8 = comm.recv(1, 0);
    });
    assert_eq!(f.rank, 1);
    assert_eq!(f.panic.as_deref(), Some("boom 3"));
    assert_eq!(f.error, None);
    assert_eq!(f.call, None);
    assert_eq!(f.time, Time(2_000));
    let location = f.location.expect("a panic has a location");
    assert_eq!((location.file.as_ref(), location.line), (file!(), line_of("panic")));
}

#[test]
fn abort_ends_the_run() {
    let err = World::new(3)
        .run(|comm| {
            if comm.rank() == 2 {
                comm.compute(us(2));
                comm.abort(3); // @abort
            }
            let _: u8 = comm.recv(2, 0);
        })
        .unwrap_err();
    match err {
        SimError::Aborted { rank, code, location, time } => {
            assert_eq!((rank, code, time), (2, 3, Time(2_000)));
            assert_eq!((location.file.as_ref(), location.line), (file!(), line_of("abort")));
        }
        other => panic!("expected an abort, got {other}"),
    }
}

// ---------------------------------------------------------------------------------------
// Output and warnings

#[track_caller]
fn check_output<R: Debug>(ranks: usize, program: impl Fn(&Comm) -> R, expected: &[(Rank, u64, &str)]) {
    let run = World::new(ranks).run(program).unwrap_or_else(|e| panic!("the run did not complete:\n{e}"));
    let got: Vec<(Rank, u64, &str)> = run.output.iter().map(|l| (l.rank, l.time.as_nanos(), l.text.as_str())).collect();
    assert_eq!(got, expected);
}

#[test]
fn output_is_ordered_by_virtual_time_then_rank() {
    check_output(
        3,
        |comm| match comm.rank() {
            0 => {
                comm.print("zero at 0");
                comm.compute(us(2));
                comm.print("zero at 2 µs\nsecond line");
            }
            r => {
                comm.compute(us(1));
                comm.print(format!("rank {r} at 1 µs"));
                comm.compute(us(1));
                comm.print(format!("rank {r} at 2 µs"));
            }
        },
        &[
            (0, 0, "zero at 0"),
            (1, 1_000, "rank 1 at 1 µs"),
            (2, 1_000, "rank 2 at 1 µs"),
            (0, 2_000, "zero at 2 µs"),
            (0, 2_000, "second line"),
            (1, 2_000, "rank 1 at 2 µs"),
            (2, 2_000, "rank 2 at 2 µs"),
        ],
    );
    // Rank 0 wakes from a receive at the instant rank 1 prints.
    check_output(
        3,
        |comm| match comm.rank() {
            0 => {
                let _: u8 = comm.recv(2, 0);
                comm.print("zero");
            }
            1 => {
                comm.compute(ns(transfer(1)));
                comm.print("one");
            }
            _ => {
                comm.send(&1u8, 0, 0);
                comm.print("two");
            }
        },
        &[(2, 0, "two"), (0, 1_001, "zero"), (1, 1_001, "one")],
    );
}

#[test]
fn output_ties_go_by_rank_even_when_the_lower_rank_was_woken_at_that_instant() {
    // Rank 1 prints, then starts a rendezvous send whose envelope reaches rank 0 at once;
    // rank 0, blocked in a probe, wakes at the same virtual instant and prints.
    check_output(
        2,
        |comm| {
            if comm.rank() == 0 {
                comm.probe(1, 0);
                comm.print("zero");
                let _: Vec<u8> = comm.recv(1, 0);
            } else {
                comm.compute(us(1));
                comm.print("one");
                comm.send(&payload_of_size(1 << 20), 0, 0);
            }
        },
        &[(0, 1_000, "zero"), (1, 1_000, "one")],
    );
}

#[test]
fn unreceived_messages_and_dangling_requests_are_warnings() {
    let run = World::new(2)
        .run(|comm| {
            if comm.rank() == 0 {
                comm.send(&5u32, 1, 9); // @send
                let _forgotten = comm.isend(&vec![1u8, 2, 3], 1, 3); // @isend
            } else {
                let _never = comm.irecv(0, 4); // @irecv
                comm.compute(us(5));
            }
        })
        .expect("the run completes");
    let site = |name| Site { file: file!().into(), line: line_of(name), column: 0 };
    let mut warnings = run.warnings.clone();
    for w in &mut warnings {
        match w {
            Warning::DanglingRequest { location, .. } | Warning::Unreceived(Unreceived { location, .. }) => {
                location.column = 0
            }
            _ => {}
        }
    }
    assert_eq!(
        warnings,
        vec![
            Warning::Unreceived(Unreceived {
                rank: 1,
                source: 0,
                tag: 9,
                bytes: encoded_len(&5u32),
                call: CallKind::Send,
                location: site("send"),
                comm: 0,
                comm_name: Some("COMM_WORLD".into()),
            }),
            Warning::Unreceived(Unreceived {
                rank: 1,
                source: 0,
                tag: 3,
                bytes: encoded_len(&vec![1u8, 2, 3]),
                call: CallKind::Isend,
                location: site("isend"),
                comm: 0,
                comm_name: Some("COMM_WORLD".into()),
            }),
            Warning::DanglingRequest { rank: 0, call: CallKind::Isend, location: site("isend") },
            Warning::DanglingRequest { rank: 1, call: CallKind::Irecv, location: site("irecv") },
        ]
    );
    let text = run.warnings[0].to_string();
    assert!(text.contains("rank 0 to rank 1") && text.contains("tag 9") && text.contains("never received"), "{text}");
    let text = run.warnings[2].to_string();
    assert!(text.contains("MPI_Isend") && text.contains(file!()), "{text}");
}

#[test]
fn a_clean_run_has_no_warnings() {
    let run = World::new(2)
        .run(|comm| {
            let peer = 1 - comm.rank();
            let mut reqs = vec![comm.isend(&comm.rank(), peer, 0), comm.irecv(peer, 0)];
            comm.waitall(&mut reqs);
            let freed = comm.isend(&1u8, peer, 1);
            freed.free();
            let _: u8 = comm.recv(peer, 1);
        })
        .unwrap();
    assert_eq!(run.warnings, vec![]);
}
