//! What a loaded trace must satisfy before anything indexes it: the checks of
//! [`Trace::validate`], and of the ranks a saved outcome names. Each error names the first
//! bad event as people count (event 1 is the first) and as the file indexes it
//! (`events[0]`).

use super::{Event, EventKind, SavedRun, Trace, TraceError};
use crate::call::CallKind;
use crate::deadlock::{BlockedCall, DeadlockReport, Peer};
use crate::error::{RankActivity, SimError};
use crate::time::Time;
use crate::world::Warning;
use crate::Rank;
use std::collections::BTreeMap;

/// The most ranks a trace may have: a viewer keeps a few words per rank, so a trace that
/// claims 2^64 − 1 ranks must be refused before anything is allocated for them.
pub const MAX_TRACE_RANKS: usize = 1 << 20;

/// A message as far as the checks have seen it.
struct Message {
    src: Rank,
    dst: Rank,
    sent: Time,
    arrived: bool,
    matched: bool,
}

/// A receive as far as the checks have seen it.
struct Receive {
    rank: Rank,
    /// Taken by a message, or cancelled.
    over: bool,
}

/// See [`Trace::validate`].
pub(super) fn trace(trace: &Trace) -> Result<(), TraceError> {
    let n = trace.ranks;
    if n == 0 {
        return Err(TraceError("malformed trace: `ranks` is 0, but a run has at least one rank".into()));
    }
    if n > MAX_TRACE_RANKS {
        return Err(TraceError(format!(
            "malformed trace: `ranks` is {n}, more than the {MAX_TRACE_RANKS} ranks a trace may have"
        )));
    }
    trace.platform.validate().map_err(|e| TraceError(format!("malformed trace: its platform is invalid: {e}")))?;
    let mut open: Vec<Vec<CallKind>> = vec![Vec::new(); n];
    let mut exited = vec![false; n];
    let mut messages: BTreeMap<u64, Message> = BTreeMap::new();
    let mut receives: BTreeMap<u64, Receive> = BTreeMap::new();
    let mut last = Time::ZERO;
    for (index, event) in trace.events.iter().enumerate() {
        let bad = |what: String| Err(TraceError(format!("malformed trace: {}: {what}", describe(index, event))));
        let rank = event.rank;
        if rank >= n {
            return bad(format!("it happens on rank {rank}, but the trace has {}", ranks_text(n)));
        }
        if event.time < last {
            return bad(format!("its time is before that of the event before it ({})", last));
        }
        last = event.time;
        // A message may still reach a rank that has returned (and is then never received).
        if exited[rank] && !matches!(event.kind, EventKind::Arrive { .. }) {
            return bad(format!("rank {rank}'s program had already returned"));
        }
        let in_range = |r: Rank, what: &str| -> Result<(), TraceError> {
            match r < n {
                true => Ok(()),
                false => bad(format!("its {what} is rank {r}, but the trace has {}", ranks_text(n))),
            }
        };
        match &event.kind {
            EventKind::Enter { call, .. } => open[rank].push(*call),
            EventKind::Leave { call } => match open[rank].last() {
                Some(top) if top == call => {
                    open[rank].pop();
                }
                Some(top) => {
                    return bad(format!(
                        "it leaves {}, but the innermost call open on rank {rank} is {}",
                        call.mpi_name(),
                        top.mpi_name()
                    ))
                }
                None => return bad(format!("it leaves {}, but rank {rank} is in no call", call.mpi_name())),
            },
            EventKind::Send { msg, dst, arrival, .. } => {
                in_range(*dst, "destination")?;
                if messages.contains_key(msg) {
                    return bad(format!("message {msg} was already sent"));
                }
                if arrival.is_some_and(|a| a < event.time) {
                    return bad(format!("message {msg} arrives before it is sent"));
                }
                messages
                    .insert(*msg, Message { src: rank, dst: *dst, sent: event.time, arrived: false, matched: false });
            }
            EventKind::Arrive { msg, src } | EventKind::Match { msg, src, .. } => {
                let matching = matches!(event.kind, EventKind::Match { .. });
                let Some(m) = messages.get_mut(msg) else {
                    return bad(format!("message {msg} was never sent (no earlier `send` event has that id)"));
                };
                if m.dst != rank || m.src != *src {
                    return bad(format!(
                        "message {msg} went from rank {} to rank {}, not from rank {src} to rank {rank}",
                        m.src, m.dst
                    ));
                }
                if matching {
                    let EventKind::Match { arrival, recv, .. } = &event.kind else { unreachable!("a match") };
                    if m.matched {
                        return bad(format!("message {msg} was already matched"));
                    }
                    if *arrival < m.sent {
                        return bad(format!("message {msg} is delivered before it is sent"));
                    }
                    m.matched = true;
                    take_receive(&mut receives, *recv, rank).or_else(&bad)?;
                } else {
                    if m.arrived {
                        return bad(format!("message {msg} had already arrived"));
                    }
                    m.arrived = true;
                }
            }
            EventKind::Post { recv, source, .. } => {
                if let Some(s) = source {
                    in_range(*s, "source")?;
                }
                if receives.contains_key(recv) {
                    return bad(format!("receive {recv} was already posted"));
                }
                if open[rank].is_empty() {
                    return bad(format!("rank {rank} posts receive {recv} outside any call"));
                }
                receives.insert(*recv, Receive { rank, over: false });
            }
            EventKind::Unpost { recv } => take_receive(&mut receives, *recv, rank).or_else(&bad)?,
            EventKind::Compute { end } => {
                if *end < event.time {
                    return bad("the computation ends before it starts".into());
                }
            }
            EventKind::Exit => {
                if let Some(call) = open[rank].last() {
                    return bad(format!("rank {rank} returns while still in {}", call.mpi_name()));
                }
                exited[rank] = true;
            }
            EventKind::Print { .. } => {}
        }
    }
    Ok(())
}

/// Marks receive `recv` of `rank` as over (matched or cancelled), or says why it cannot be.
fn take_receive(receives: &mut BTreeMap<u64, Receive>, recv: u64, rank: Rank) -> Result<(), String> {
    match receives.get_mut(&recv) {
        None => Err(format!("receive {recv} was never posted (no earlier `post` event has that id)")),
        Some(r) if r.rank != rank => Err(format!("receive {recv} was posted by rank {}, not rank {rank}", r.rank)),
        Some(r) if r.over => Err(format!("receive {recv} had already taken a message or been cancelled")),
        Some(r) => {
            r.over = true;
            Ok(())
        }
    }
}

/// `event 18 (events[17], a send on rank 2 at t = 1.000 µs)`.
fn describe(index: usize, event: &Event) -> String {
    let kind = match event.kind {
        EventKind::Enter { .. } => "enter",
        EventKind::Leave { .. } => "leave",
        EventKind::Send { .. } => "send",
        EventKind::Arrive { .. } => "arrive",
        EventKind::Post { .. } => "post",
        EventKind::Unpost { .. } => "unpost",
        EventKind::Match { .. } => "match",
        EventKind::Compute { .. } => "compute",
        EventKind::Print { .. } => "print",
        EventKind::Exit => "exit",
    };
    format!("event {} (events[{index}], `{kind}` on rank {} at t = {})", index + 1, event.rank, event.time)
}

/// `4 ranks (0–3)`.
fn ranks_text(n: usize) -> String {
    match n {
        1 => "1 rank (0)".into(),
        n => format!("{n} ranks (0–{})", n - 1),
    }
}

/// Checks that the error and warnings saved with a trace name only its ranks.
pub(super) fn outcome(saved: &SavedRun) -> Result<(), TraceError> {
    let n = saved.trace.ranks;
    let check = |ranks: &mut dyn Iterator<Item = Rank>, what: &str| -> Result<(), TraceError> {
        for r in ranks {
            if r >= n {
                return Err(TraceError(format!(
                    "malformed trace: {what} names rank {r}, but the trace has {}",
                    ranks_text(n)
                )));
            }
        }
        Ok(())
    };
    match &saved.error {
        Some(SimError::Deadlock(d)) => check(&mut deadlock_ranks(d), "the deadlock report")?,
        Some(SimError::RankFailed(f)) => check(&mut std::iter::once(f.rank), "the error")?,
        Some(SimError::Aborted { rank, .. }) => check(&mut std::iter::once(*rank), "the error")?,
        Some(SimError::StepLimit { spinning, ranks, .. }) => {
            check(&mut spinning.iter().map(|s| s.rank).chain(activity_ranks(ranks)), "the error")?
        }
        Some(SimError::Livelock { spinning, .. }) => check(&mut spinning.iter().map(|s| s.rank), "the error")?,
        Some(SimError::TimeLimit { ranks, .. }) => check(&mut activity_ranks(ranks), "the error")?,
        Some(SimError::Setup { .. }) | None => {}
    }
    for w in &saved.warnings {
        match w {
            Warning::BufferingHazard { deadlock, .. } => check(&mut deadlock_ranks(deadlock), "a warning")?,
            Warning::Unreceived(u) => check(&mut [u.rank, u.source].into_iter(), "a warning")?,
            Warning::DanglingRequest { rank, .. } => check(&mut std::iter::once(*rank), "a warning")?,
            // A setup error names no rank.
            Warning::HazardUnchecked { .. } | Warning::TraceTruncated { .. } => {}
        }
    }
    Ok(())
}

/// Every rank a blocked call names: its own, its peer, its root, those it waits on.
fn blocked_ranks(b: &BlockedCall) -> impl Iterator<Item = Rank> + '_ {
    let peer = match b.peer {
        Some(Peer::Rank(p)) => Some(p),
        _ => None,
    };
    std::iter::once(b.rank).chain(peer).chain(b.root).chain(b.waits_on.iter().flat_map(|w| w.ranks.iter().copied()))
}

/// Every rank that what the ranks were doing at a limit names.
fn activity_ranks(ranks: &[RankActivity]) -> impl Iterator<Item = Rank> + '_ {
    ranks.iter().flat_map(|a| {
        let blocked = match a {
            RankActivity::Blocked(b) => Some(blocked_ranks(b)),
            _ => None,
        };
        std::iter::once(a.rank()).chain(blocked.into_iter().flatten())
    })
}

/// Every rank a deadlock report names.
fn deadlock_ranks(d: &DeadlockReport) -> impl Iterator<Item = Rank> + '_ {
    let blocked = d.blocked.iter().flat_map(blocked_ranks);
    let unreceived = d.unreceived.iter().flat_map(|u| [u.rank, u.source]);
    blocked
        .chain(d.finished.iter().copied())
        .chain(d.cycle.iter().copied())
        .chain(d.core.iter().copied())
        .chain(d.communicators.values().flatten().copied())
        .chain(unreceived)
}
