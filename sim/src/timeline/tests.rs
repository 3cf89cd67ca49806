use super::*;
use crate::catalogue::{self, RingOrder};
use crate::world::World;

fn trace_of<R>(world: World, program: impl Fn(&crate::Comm) -> R) -> Trace {
    world.simulate(program).trace
}

#[test]
fn eager_ring_messages_have_every_time() {
    let trace = trace_of(World::new(3), |c| catalogue::ring(c, 8, RingOrder::Naive));
    let tl = Timeline::new(&trace);
    assert_eq!(tl.messages.len(), 3);
    for m in &tl.messages {
        assert_eq!(m.protocol, Protocol::Eager);
        assert_eq!(
            (m.sent, m.arrived, m.matched, m.delivered),
            (Time(0), Some(Time(1008)), Some(Time(1008)), Some(Time(1008)))
        );
        assert_eq!(m.send_done, Some(Time(0)));
        assert!(!m.unexpected, "each receive was posted before its message arrived");
        let r = &tl.receives[m.receive.expect("paired")];
        assert_eq!((r.rank, r.queued), (m.dst, true));
    }
    // Every rank: send [0, 0], recv [0, 1008], exit.
    for rank in 0..3 {
        let calls: Vec<_> =
            tl.top_calls(rank).iter().map(|&c| (tl.calls[c].call, tl.calls[c].start, tl.calls[c].end)).collect();
        assert_eq!(calls, vec![(CallKind::Send, Time(0), Some(Time(0))), (CallKind::Recv, Time(0), Some(Time(1008)))]);
        assert_eq!(tl.exits[rank].map(|e| e.0), Some(Time(1008)));
    }
}

#[test]
fn deadlocked_ring_ends_blocked_with_requests_in_queues() {
    let trace = trace_of(World::new(4), |c| catalogue::ring(c, 1 << 20, RingOrder::Naive));
    let tl = Timeline::new(&trace);
    let end = tl.event_count;
    let unfinished: Vec<_> = tl.unfinished().iter().map(|&c| (tl.calls[c].rank, tl.calls[c].call)).collect();
    assert_eq!(unfinished, (0..4).map(|r| (r, CallKind::Send)).collect::<Vec<_>>());
    for rank in 0..4 {
        assert_eq!(tl.state_at(rank, end).0, State::Blocked);
        let snap = tl.snapshot(rank, end);
        assert_eq!(snap.unexpected.len(), 1, "the left neighbour's request to send waits unmatched");
        assert_eq!(tl.messages[snap.unexpected[0]].src, (rank + 3) % 4);
        assert!(snap.posted.is_empty());
    }
    // Before the end, the same call is drawn as a send in progress.
    assert_eq!(tl.state_at(0, 2).0, State::Send);
    assert_eq!(tl.state_at(0, 0).0, State::Run);
    assert!(tl.bins(0, Axis::Time, (0, 1000), 10, end).iter().all(|b| *b == Some(State::Blocked)));
    // In event order, rank 0 runs its code, then enters its send (event 0) and blocks.
    let bins = tl.bins(0, Axis::Events, (0, 12), 12, end);
    assert!(bins.iter().all(|b| *b == Some(State::Blocked)), "{bins:?}");
    let bins = tl.bins(0, Axis::Events, (0, 12), 12, 2);
    assert_eq!(&bins[..3], &[Some(State::Send), Some(State::Send), None]);
}

#[test]
fn nonblocking_requests_pair_receives_and_complete() {
    let trace = trace_of(World::new(2), catalogue::nonblocking);
    let tl = Timeline::new(&trace);
    assert_eq!(tl.requests.len(), 8);
    for req in &tl.requests {
        let m = &tl.messages[req.message.expect("every request has its message")];
        match req.kind {
            RequestKind::Send => assert_eq!((m.src, req.end), (req.rank, m.send_done)),
            RequestKind::Recv => {
                assert_eq!(m.dst, req.rank);
                // irecv(left, 1) takes tag 1; irecv(right, 2) takes tag 2.
                assert_eq!(Some(m.tag), tl.calls[req.call].tag);
                assert_eq!(req.end, m.recv_done);
            }
        }
    }
    // Once rank 0 is in its waitall, after its four posts and sends, both its receives
    // are posted.
    let waitall = tl.top_calls(0).iter().find(|&&c| tl.calls[c].call == CallKind::Waitall).unwrap();
    let after_posts = tl.calls[*waitall].enter_event + 1;
    let snap = tl.snapshot(0, after_posts);
    assert_eq!(snap.posted.len(), 2);
    assert_eq!(tl.calls[snap.open[0]].call, CallKind::Waitall);
}

#[test]
fn unexpected_messages_wait_in_the_queue_until_received() {
    let trace = trace_of(World::new(2), |c| {
        if c.rank() == 0 {
            c.send(&1u8, 1, 5);
        } else {
            c.compute(std::time::Duration::from_micros(10));
            let _: u8 = c.recv(0, 5);
        }
    });
    let tl = Timeline::new(&trace);
    let m = &tl.messages[0];
    assert!(m.unexpected);
    let (arrive, matched) = (m.arrive_event.unwrap(), m.match_event.unwrap());
    assert_eq!(tl.snapshot(1, arrive + 1).unexpected, vec![0]);
    assert!(tl.snapshot(1, matched + 1).unexpected.is_empty());
    assert!(!tl.receives[m.receive.unwrap()].queued);
    let states = tl.time_in_states();
    assert_eq!(states[1][State::Compute.index()], Time(10_000));
}

#[test]
fn rank_cursors_step_through_one_rank() {
    let trace = trace_of(World::new(3), |c| catalogue::ring(c, 8, RingOrder::Naive));
    let tl = Timeline::new(&trace);
    let mut cursor = 0;
    let mut seen = Vec::new();
    while let Some(next) = tl.next_rank_cursor(1, cursor) {
        seen.push(next - 1);
        cursor = next;
    }
    assert_eq!(seen, tl.rank_events(1));
    assert_eq!(tl.prev_rank_cursor(1, cursor), Some(seen[seen.len() - 2] + 1));
    assert_eq!(tl.prev_rank_cursor(1, seen[0] + 1), None);
}

#[test]
fn matrix_counts_bytes_per_pair() {
    let trace = trace_of(World::new(4), |c| catalogue::ring(c, 100, RingOrder::Naive));
    let m = Timeline::new(&trace).comm_matrix();
    assert_eq!(m.pairs.len(), 4);
    assert_eq!(m.pairs[&(3, 0)].received, Traffic { bytes: 100, messages: 1 });
    assert_eq!(m.unreceived(), Traffic::default());
    let grouped = m.grouped(2);
    assert_eq!(grouped[0][0] + grouped[0][1] + grouped[1][0] + grouped[1][1], 4 * m.pairs[&(0, 1)].received.bytes);
    let totals = m.totals();
    assert_eq!(
        (totals[2].sent.bytes, totals[2].sent_to, totals[2].received.bytes, totals[2].received_from),
        (100, 1, 100, 1)
    );
}

/// The deadlocked ring's requests to send never became data: nothing is received, and the
/// matrix says what was left unreceived instead.
#[test]
fn matrix_of_a_deadlock_counts_nothing_received() {
    let trace = trace_of(World::new(4), |c| catalogue::ring(c, 1 << 20, RingOrder::Naive));
    let m = Timeline::new(&trace).comm_matrix();
    assert!(m.pairs.values().all(|p| p.received == Traffic::default()), "{m:?}");
    assert_eq!(m.unreceived(), Traffic { bytes: 4 << 20, messages: 4 });
    assert!(m.grouped(1).iter().flatten().all(|&b| b == 0));
    let totals = m.totals();
    assert_eq!(
        (totals[0].sent, totals[0].received, totals[0].unreceived.bytes),
        (Traffic::default(), Traffic::default(), 1 << 20)
    );
}
