//! Chrome trace event JSON: opens in Perfetto (ui.perfetto.dev) and chrome://tracing.
//!
//! One process, one thread track per rank named `rank k`, in rank order (thread id `k + 1`:
//! trace viewers reserve thread id 0). Every call is an `X` slice (a collective encloses the
//! slices of its algorithm's steps); every received message is a flow: `s` at its `Send`,
//! inside the sending call's slice, and `f` with `"bp": "e"` at its `Match`, inside the
//! slice the receiver was in; nonblocking requests are async `b`/`e` spans; printed lines
//! are instants. Events are written in trace order, which is time order, so a viewer binds
//! each flow end to the slice the rank was in at that event.
//!
//! Times are microseconds (the format's unit) with nanosecond decimals.

use crate::time::Time;
use crate::timeline::{RequestKind, State, Timeline};
use crate::trace::{EventKind, Trace};
use crate::Rank;
use serde_json::{json, Value};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The process id of the run in the export.
pub const PID: u64 = 1;

/// The thread id of `rank`'s track.
pub fn tid(rank: Rank) -> u64 {
    rank as u64 + 1
}

fn ts(t: Time) -> Value {
    json!(t.as_nanos() as f64 / 1000.0)
}

/// The trace as a Chrome trace event JSON object (`{"traceEvents": [...], ...}`).
pub fn export(trace: &Trace) -> Value {
    let tl = Timeline::new(trace);
    let mut events: Vec<Value> = Vec::with_capacity(trace.events.len() + 3 * trace.ranks + 2);
    events.push(json!({
        "ph": "M", "name": "process_name", "pid": PID,
        "args": { "name": format!("mpisim: {} ranks on {}", trace.ranks, trace.platform.name) },
    }));
    events.push(json!({ "ph": "M", "name": "process_sort_index", "pid": PID, "args": { "sort_index": 0 } }));
    for rank in 0..trace.ranks {
        events.push(json!({ "ph": "M", "name": "thread_name", "pid": PID, "tid": tid(rank), "args": { "name": format!("rank {rank}") } }));
        events.push(json!({ "ph": "M", "name": "thread_sort_index", "pid": PID, "tid": tid(rank), "args": { "sort_index": rank } }));
    }

    // Index the timeline by event: which call starts, which message moves, which request
    // starts or ends at each event.
    let mut call_at = vec![None; trace.events.len()];
    for (c, call) in tl.calls.iter().enumerate() {
        call_at[call.enter_event] = Some(c);
    }
    let mut send_at = vec![None; trace.events.len()];
    let mut match_at = vec![None; trace.events.len()];
    for (m, msg) in tl.messages.iter().enumerate() {
        send_at[msg.send_event] = Some(m);
        if let Some(e) = msg.match_event {
            match_at[e] = Some(m);
        }
    }
    // A request starts at its call's entry; it ends at its completion time, which is
    // written when the trace reaches that time.
    let mut requests_at: Vec<Vec<usize>> = vec![Vec::new(); trace.events.len()];
    for (q, req) in tl.requests.iter().enumerate() {
        requests_at[tl.calls[req.call].enter_event].push(q);
    }
    let mut pending_ends: BinaryHeap<Reverse<(Time, usize)>> = BinaryHeap::new();
    let request_name = |q: usize| {
        let req = &tl.requests[q];
        let call = &tl.calls[req.call];
        let peer = req.message.map(|m| match req.kind {
            RequestKind::Send => tl.messages[m].dst,
            RequestKind::Recv => tl.messages[m].src,
        });
        let arrow = if req.kind == RequestKind::Send { "→" } else { "←" };
        match peer.or(call.peer) {
            Some(p) => format!("{} {arrow} {p}", call.call.mpi_name()),
            None => call.call.mpi_name().to_string(),
        }
    };
    let end_request = |q: usize, t: Time, completed: bool| {
        let req = &tl.requests[q];
        json!({
            "ph": "e", "cat": "request", "id": q, "name": request_name(q),
            "pid": PID, "tid": tid(req.rank), "ts": ts(t), "args": { "completed": completed },
        })
    };

    for (index, event) in trace.events.iter().enumerate() {
        while pending_ends.peek().is_some_and(|Reverse((t, _))| *t <= event.time) {
            let Reverse((t, q)) = pending_ends.pop().expect("checked");
            events.push(end_request(q, t, true));
        }
        let thread = tid(event.rank);
        if let Some(c) = call_at[index] {
            let call = &tl.calls[c];
            let end = call.end.unwrap_or(tl.end);
            let state = tl.call_state(c, tl.event_count);
            let mut args = json!({ "site": call.site.to_string() });
            if let Some(comm) = call.comm {
                args["comm"] = json!(comm);
            }
            if let Some(p) = call.peer {
                args["peer"] = json!(p);
            }
            if let Some(t) = call.tag {
                args["tag"] = json!(t);
            }
            if let Some(b) = call.bytes {
                args["bytes"] = json!(b);
            }
            if state == State::Blocked {
                args["blocked"] = json!("the run ended with the rank in this call");
            }
            events.push(json!({
                "ph": "X", "name": call.call.mpi_name(), "cat": category(state),
                "pid": PID, "tid": thread, "ts": ts(call.start), "dur": ts(end - call.start), "args": args,
            }));
        }
        for &q in &requests_at[index] {
            let req = &tl.requests[q];
            let mut b = json!({
                "ph": "b", "cat": "request", "id": q, "name": request_name(q),
                "pid": PID, "tid": tid(req.rank), "ts": ts(req.start),
            });
            if let Some(comm) = tl.calls[req.call].comm {
                b["args"] = json!({ "comm": comm });
            }
            events.push(b);
            pending_ends.push(Reverse((req.end.unwrap_or(Time(u64::MAX)), q)));
        }
        if let Some(m) = send_at[index] {
            let msg = &tl.messages[m];
            if msg.match_event.is_some_and(|e| tl.call_after(e).is_some()) {
                events.push(json!({
                    "ph": "s", "cat": "message", "name": "message", "id": msg.id,
                    "pid": PID, "tid": thread, "ts": ts(msg.sent),
                    "args": { "src": msg.src, "dst": msg.dst, "tag": msg.tag, "bytes": msg.bytes, "protocol": msg.protocol.to_string() },
                }));
            } else {
                events.push(json!({
                    "ph": "i", "s": "t", "cat": "message", "name": format!("message {} → {} never received", msg.src, msg.dst),
                    "pid": PID, "tid": thread, "ts": ts(msg.sent),
                    "args": { "tag": msg.tag, "bytes": msg.bytes, "protocol": msg.protocol.to_string() },
                }));
            }
        }
        if let Some(m) = match_at[index] {
            let msg = &tl.messages[m];
            if tl.call_after(index).is_some() {
                events.push(json!({
                    "ph": "f", "bp": "e", "cat": "message", "name": "message", "id": msg.id,
                    "pid": PID, "tid": thread, "ts": ts(event.time),
                }));
            }
        }
        if let EventKind::Print { text } = &event.kind {
            events.push(json!({ "ph": "i", "s": "t", "cat": "print", "name": text, "pid": PID, "tid": thread, "ts": ts(event.time) }));
        }
    }
    while let Some(Reverse((t, q))) = pending_ends.pop() {
        let completed = t != Time(u64::MAX);
        events.push(end_request(q, if completed { t } else { tl.end }, completed));
    }

    json!({
        "traceEvents": events,
        "displayTimeUnit": "ns",
        "otherData": {
            "generator": "mpisim",
            "ranks": trace.ranks,
            "seed": trace.seed,
            "strict": trace.strict,
            "platform": trace.platform.name,
            "eager_limit": trace.platform.eager_limit,
            "virtual_time_ns": tl.end.as_nanos(),
        },
    })
}

/// [`export`] as JSON text.
pub fn to_string(trace: &Trace) -> String {
    serde_json::to_string(&export(trace)).expect("JSON values always serialise")
}

fn category(state: State) -> &'static str {
    match state {
        State::Compute => "compute",
        State::Collective => "collective",
        State::Blocked => "blocked",
        State::Wait => "wait",
        State::Send | State::Recv => "p2p",
        State::Run | State::Done => "mpi",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{self, RingOrder};
    use crate::world::World;

    #[test]
    fn ring_flows_pair_up_inside_slices() {
        let trace = World::new(3).simulate(|c| catalogue::ring(c, 8, RingOrder::Naive)).trace;
        let v = export(&trace);
        let events = v["traceEvents"].as_array().unwrap();
        let phase = |p: &str| events.iter().filter(|e| e["ph"] == p).count();
        assert_eq!((phase("s"), phase("f"), phase("X")), (3, 3, 6));
        let names: Vec<_> =
            events.iter().filter(|e| e["name"] == "thread_name").map(|e| e["args"]["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["rank 0", "rank 1", "rank 2"]);
    }

    #[test]
    fn deadlock_marks_blocked_slices_and_unreceived_messages() {
        let trace = World::new(2).simulate(|c| catalogue::ring(c, 1 << 20, RingOrder::Naive)).trace;
        let v = export(&trace);
        let events = v["traceEvents"].as_array().unwrap();
        assert_eq!(events.iter().filter(|e| e["cat"] == "blocked").count(), 2);
        assert_eq!(events.iter().filter(|e| e["ph"] == "s").count(), 0, "no flow without a receiving end");
        assert_eq!(events.iter().filter(|e| e["ph"] == "i" && e["cat"] == "message").count(), 2);
    }

    #[test]
    fn requests_are_async_spans() {
        let trace = World::new(2).simulate(catalogue::nonblocking).trace;
        let v = export(&trace);
        let events = v["traceEvents"].as_array().unwrap();
        let begins: Vec<_> = events.iter().filter(|e| e["ph"] == "b").collect();
        let ends: Vec<_> = events.iter().filter(|e| e["ph"] == "e").collect();
        assert_eq!((begins.len(), ends.len()), (8, 8));
        for b in begins {
            let e = ends.iter().find(|e| e["id"] == b["id"]).expect("every request ends");
            assert!(e["ts"].as_f64() >= b["ts"].as_f64());
            assert_eq!(e["args"]["completed"], true);
        }
    }
}
