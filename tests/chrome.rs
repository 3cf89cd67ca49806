//! The Chrome trace event export obeys the format's rules for every catalogue program:
//! valid JSON, one named track per rank in rank order, slices that nest, every flow with
//! both ends inside slices of the right ranks, and async request spans that close.

use mpisim::catalogue;
use mpisim::chrome;
use mpisim::World;
use serde_json::Value;
use std::collections::BTreeMap;

/// A time of the export (microseconds) in whole nanoseconds, as viewers read it.
fn ns(v: &Value) -> i64 {
    (v.as_f64().expect("times are numbers") * 1000.0).round() as i64
}

/// Checks `text` against the rules; returns (slices, flows, async spans).
#[track_caller]
fn check(text: &str, ranks: usize) -> (usize, usize, usize) {
    let v: Value = serde_json::from_str(text).expect("the export is valid JSON");
    let events = v["traceEvents"].as_array().expect("a traceEvents array");
    let pid = chrome::PID;
    // Tracks: one thread per rank, named `rank k`, sorted by rank.
    let mut names = BTreeMap::new();
    let mut order = BTreeMap::new();
    for e in events.iter().filter(|e| e["ph"] == "M") {
        match e["name"].as_str() {
            Some("thread_name") => {
                names.insert(e["tid"].as_u64().unwrap(), e["args"]["name"].as_str().unwrap().to_string());
            }
            Some("thread_sort_index") => {
                order.insert(e["tid"].as_u64().unwrap(), e["args"]["sort_index"].as_u64().unwrap());
            }
            _ => {}
        }
    }
    assert_eq!(names.len(), ranks, "one named track per rank");
    for rank in 0..ranks {
        let tid = chrome::tid(rank);
        assert_eq!(names[&tid], format!("rank {rank}"));
        assert_eq!(order[&tid], rank as u64, "tracks sort in rank order");
    }
    // Slices, per track, nest: sorted by start (longer first), each one ends before its
    // enclosing one does.
    let mut slices: BTreeMap<u64, Vec<(i64, i64)>> = BTreeMap::new();
    for e in events.iter().filter(|e| e["ph"] == "X") {
        assert_eq!(e["pid"].as_u64(), Some(pid));
        let tid = e["tid"].as_u64().expect("slices are on a thread");
        assert!(names.contains_key(&tid), "slice on an unnamed track: {e}");
        let (ts, dur) = (ns(&e["ts"]), ns(&e["dur"]));
        assert!(dur >= 0, "negative duration: {e}");
        assert!(e["name"].as_str().is_some_and(|n| !n.is_empty()));
        slices.entry(tid).or_default().push((ts, ts + dur));
    }
    for spans in slices.values_mut() {
        spans.sort_by_key(|&(start, end)| (start, std::cmp::Reverse(end)));
        let mut open: Vec<i64> = Vec::new();
        for &(start, end) in spans.iter() {
            while open.last().is_some_and(|&e| e <= start && !(e == start && end == start)) {
                open.pop();
            }
            if let Some(&outer) = open.last() {
                assert!(end <= outer, "slice [{start}, {end}] overlaps its enclosing slice ending at {outer}");
            }
            open.push(end);
        }
    }
    let inside = |tid: u64, ts: i64| slices.get(&tid).is_some_and(|s| s.iter().any(|&(a, b)| a <= ts && ts <= b));
    // Flows: each id has one `s` and one `f` (with "bp": "e"), each inside a slice.
    // A flow end: the track (tid) and time stamp; per id, its `s` and its `f`.
    type FlowEnd = Option<(u64, i64)>;
    let mut flows: BTreeMap<u64, (FlowEnd, FlowEnd)> = BTreeMap::new();
    for e in events.iter().filter(|e| e["ph"] == "s" || e["ph"] == "f") {
        let id = e["id"].as_u64().expect("flows have ids");
        let end = (e["tid"].as_u64().unwrap(), ns(&e["ts"]));
        let entry = flows.entry(id).or_default();
        if e["ph"] == "s" {
            assert!(entry.0.replace(end).is_none(), "flow {id} starts twice");
        } else {
            assert_eq!(e["bp"], "e", "flow ends bind to the enclosing slice");
            assert!(entry.1.replace(end).is_none(), "flow {id} ends twice");
        }
        assert_eq!((e["cat"].as_str(), e["name"].as_str()), (Some("message"), Some("message")));
    }
    for (id, ends) in &flows {
        let (Some((s_tid, s_ts)), Some((f_tid, f_ts))) = *ends else { panic!("flow {id} lacks an end: {ends:?}") };
        assert!(inside(s_tid, s_ts), "flow {id} starts outside a slice of its sender");
        assert!(inside(f_tid, f_ts), "flow {id} ends outside a slice of its receiver");
        assert!(s_ts <= f_ts, "flow {id} ends before it starts");
    }
    // Async request spans open and close once each.
    let mut spans: BTreeMap<u64, (Option<f64>, Option<f64>)> = BTreeMap::new();
    for e in events.iter().filter(|e| e["ph"] == "b" || e["ph"] == "e") {
        let entry = spans.entry(e["id"].as_u64().unwrap()).or_default();
        let slot = if e["ph"] == "b" { &mut entry.0 } else { &mut entry.1 };
        assert!(slot.replace(e["ts"].as_f64().unwrap()).is_none(), "request span {e} repeats");
    }
    for (id, span) in &spans {
        let (Some(b), Some(e)) = *span else { panic!("request {id} does not close: {span:?}") };
        assert!(b <= e, "request {id} ends before it begins");
    }
    (slices.values().map(Vec::len).sum(), flows.len(), spans.len())
}

#[test]
fn ring_export_follows_the_rules() {
    let sim = World::new(4).simulate(|c| catalogue::ring(c, 8, catalogue::RingOrder::Naive));
    let (slices, flows, _) = check(&chrome::to_string(&sim.trace), 4);
    assert_eq!((slices, flows), (8, 4), "a send and a receive per rank, a flow per message");
}

#[test]
fn deadlocked_ring_export_follows_the_rules() {
    let sim = World::new(4).simulate(|c| catalogue::ring(c, 1 << 20, catalogue::RingOrder::Naive));
    let (slices, flows, _) = check(&chrome::to_string(&sim.trace), 4);
    assert_eq!((slices, flows), (4, 0), "four blocked sends; no message was received");
}

#[test]
fn every_catalogue_program_exports_by_the_rules() {
    for program in catalogue::programs() {
        let params = program.defaults();
        let ranks = program.default_ranks;
        let sim = World::new(ranks).simulate(|c| (program.run)(c, &params));
        let (slices, _, _) = check(&chrome::to_string(&sim.trace), ranks);
        assert!(slices > 0, "{} exported no slice", program.name);
    }
}

#[test]
fn nonblocking_requests_are_async_spans() {
    let sim = World::new(3).simulate(catalogue::nonblocking);
    let (_, flows, requests) = check(&chrome::to_string(&sim.trace), 3);
    assert_eq!((flows, requests), (6, 12), "two sends and two receives per rank");
}

/// Rank 1 posts a receive on a duplicate of COMM_WORLD, then one on COMM_WORLD, both from
/// rank 0 with tag 0; rank 0 sends on COMM_WORLD first and on the duplicate 10 µs later.
/// The engine gives each message to the receive of its own communicator; the first to
/// arrive is not the first posted receive's.
fn two_communicators(comm: &mpisim::Comm) -> (u32, u32) {
    let dup = comm.dup();
    if comm.rank() == 0 {
        comm.send(&1u32, 1, 0);
        comm.compute(std::time::Duration::from_micros(10));
        dup.send(&2u32, 1, 0);
        (0, 0)
    } else {
        let mut reqs = [dup.irecv(0, 0), comm.irecv(0, 0)];
        comm.waitall(&mut reqs);
        (reqs[0].value(), reqs[1].value())
    }
}

#[test]
fn viewers_pair_what_the_engine_matched_across_communicators() {
    let sim = World::new(2).simulate(two_communicators);
    assert_eq!(sim.outcome.as_ref().unwrap()[1], (2, 1), "the engine matched by communicator");
    let tl = mpisim::timeline::Timeline::new(&sim.trace);
    assert_eq!(tl.receives.len(), 2);
    for r in &tl.receives {
        let m = &tl.messages[r.message.expect("both receives took a message")];
        let sent_on = tl.calls[m.send_call.expect("sent by a call")].comm;
        assert_eq!(Some(r.comm), sent_on, "receive {r:?} took message {m:?}");
        assert_eq!(tl.calls[r.call].call, mpisim::CallKind::Irecv);
    }
    // The request of the duplicate's receive ends with the later message.
    let ends: Vec<_> = tl.requests.iter().filter(|q| q.rank == 1).map(|q| (tl.calls[q.call].comm, q.end)).collect();
    assert_eq!(ends.len(), 2);
    let (dup, world) = (ends.iter().find(|e| e.0 == Some(1)).unwrap(), ends.iter().find(|e| e.0 == Some(0)).unwrap());
    assert!(dup.1 > world.1, "{ends:?}");
    // So does the Chrome export: the async span of each receive closes at its message.
    let text = chrome::to_string(&sim.trace);
    check(&text, 2);
    let v: Value = serde_json::from_str(&text).unwrap();
    let events = v["traceEvents"].as_array().unwrap();
    let span = |comm: u64| {
        let b = events.iter().find(|e| e["ph"] == "b" && e["tid"] == chrome::tid(1) && e["args"]["comm"] == comm);
        let id = &b.expect("a receive span on that communicator")["id"];
        let e = events.iter().find(|e| e["ph"] == "e" && e["id"] == *id).expect("it closes");
        ns(&e["ts"])
    };
    assert!(span(1) > span(0) + 9_000, "the duplicate's receive ends with the message sent 10 µs later");
}

#[test]
fn a_trace_of_the_first_schema_is_refused_with_what_to_do() {
    let sim = World::new(2).simulate(two_communicators);
    let schema = format!("\"schema\":{}", mpisim::trace::TRACE_SCHEMA);
    let text = sim.trace.to_json().replacen(&schema, "\"schema\":1", 1);
    let err = mpisim::Trace::from_json(&text).unwrap_err().to_string();
    assert!(err.contains("schema 1") && err.contains("re-run"), "{err}");
    let round = mpisim::Trace::from_json(&sim.trace.to_json()).unwrap();
    assert_eq!(round, sim.trace);
}
