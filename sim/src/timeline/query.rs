//! What viewers ask of a timeline: where the cursor is, what a rank is in, the state bins
//! of a diagram, the communication matrix, time per state.

use super::{Axis, CommMatrix, MessageSpan, RankSnapshot, State, Timeline};
use crate::time::Time;
use crate::Rank;
use std::collections::BTreeMap;

impl Timeline {
    /// Time of event `index`.
    pub fn event_time(&self, index: usize) -> Time {
        self.times.get(index).copied().unwrap_or(self.end)
    }

    /// The virtual time after the first `cursor` events: that of the last of them.
    pub fn time_at(&self, cursor: usize) -> Time {
        match cursor {
            0 => Time::ZERO,
            c => self.event_time(c.min(self.event_count) - 1),
        }
    }

    /// The innermost call the rank of event `index` is in right after that event (whose
    /// slice therefore encloses it).
    pub fn call_after(&self, index: usize) -> Option<usize> {
        self.open_after.get(index).copied().flatten()
    }

    /// Indices of `rank`'s events, in order.
    pub fn rank_events(&self, rank: Rank) -> &[usize] {
        &self.rank_events[rank]
    }

    /// `rank`'s outermost calls, in order.
    pub fn top_calls(&self, rank: Rank) -> &[usize] {
        &self.top_calls[rank]
    }

    /// The first event of `rank` at index `>= cursor`, as a cursor just after it.
    pub fn next_rank_cursor(&self, rank: Rank, cursor: usize) -> Option<usize> {
        let events = &self.rank_events[rank];
        let i = events.partition_point(|&e| e < cursor);
        events.get(i).map(|&e| e + 1)
    }

    /// The last event of `rank` before the current one, as a cursor just after it.
    pub fn prev_rank_cursor(&self, rank: Rank, cursor: usize) -> Option<usize> {
        let events = &self.rank_events[rank];
        let i = events.partition_point(|&e| e + 1 < cursor);
        i.checked_sub(1).map(|i| events[i] + 1)
    }

    /// What `rank` is in after the first `cursor` events.
    pub fn snapshot(&self, rank: Rank, cursor: usize) -> RankSnapshot {
        let mut snap = RankSnapshot::default();
        let calls = &self.rank_calls[rank];
        let entered = calls.partition_point(|&c| self.calls[c].enter_event < cursor);
        // Calls nest, so the open ones in entry order run from the outermost inwards.
        snap.open = calls[..entered].iter().copied().filter(|&c| self.calls[c].open_at(cursor)).collect();
        for &r in &self.rank_receives[rank] {
            let recv = &self.receives[r];
            if recv.post_event >= cursor {
                break;
            }
            if recv.queued && recv.unposted_event.is_none_or(|u| u >= cursor) {
                snap.posted.push(r);
            }
        }
        for &m in &self.rank_incoming[rank] {
            let msg = &self.messages[m];
            if msg.send_event >= cursor {
                break;
            }
            let arrived = msg.arrive_event.is_some_and(|a| a < cursor);
            let waiting = msg.unexpected && msg.match_event.is_none_or(|e| e >= cursor);
            if arrived && (waiting || msg.match_event.is_none()) {
                snap.unexpected.push(m);
            }
        }
        snap.unexpected.sort_by_key(|&m| self.messages[m].arrive_event);
        snap.exited = self.exits[rank].is_some_and(|(_, e)| e < cursor);
        snap
    }

    /// The state of `rank` after the first `cursor` events, and the call it is in.
    pub fn state_at(&self, rank: Rank, cursor: usize) -> (State, Option<usize>) {
        let snap = self.snapshot(rank, cursor);
        if snap.exited {
            return (State::Done, None);
        }
        match snap.open.first() {
            Some(&outer) => {
                let inner = snap.open.last().copied();
                (self.call_state(outer, cursor), inner)
            }
            None => (State::Run, None),
        }
    }

    /// How call `c` is drawn after the first `cursor` events: its kind's state, or
    /// [`State::Blocked`] once the trace has ended with the call still open.
    pub fn call_state(&self, c: usize, cursor: usize) -> State {
        let call = &self.calls[c];
        if call.leave_event.is_none() && cursor >= self.event_count && self.exits[call.rank].is_none() {
            State::Blocked
        } else {
            State::of(call.call)
        }
    }

    /// Where the cursor is on `axis`: its time, or the number of events before it.
    pub fn position(&self, axis: Axis, cursor: usize) -> u64 {
        match axis {
            Axis::Time => self.time_at(cursor).as_nanos(),
            Axis::Events => cursor.min(self.event_count) as u64,
        }
    }

    /// The extent of the whole trace on `axis`.
    pub fn extent(&self, axis: Axis) -> u64 {
        match axis {
            Axis::Time => self.end.as_nanos(),
            Axis::Events => self.event_count as u64,
        }
    }

    /// Where message `m` starts and ends on `axis` after the first `cursor` events: from its
    /// send to its delivery once matched, else to its envelope's arrival. The flag says
    /// whether it was matched by then.
    pub fn message_extent(&self, m: usize, axis: Axis, cursor: usize) -> (u64, u64, bool) {
        let msg = &self.messages[m];
        let matched = msg.match_event.is_some_and(|e| e < cursor);
        match axis {
            Axis::Time => {
                let target = if matched { msg.delivered } else { msg.arrived.or(msg.delivered) };
                (msg.sent.as_nanos(), target.unwrap_or(msg.sent).as_nanos(), matched)
            }
            Axis::Events => {
                let target = if matched { msg.match_event } else { msg.arrive_event };
                (msg.send_event as u64, target.unwrap_or(msg.send_event) as u64, matched)
            }
        }
    }

    /// The dominant state of `rank` in each of `columns` equal slices of `[from, to)` on
    /// `axis`, after the first `cursor` events. `None`: nothing has happened there yet. A
    /// call still open at the end of the trace reaches to infinity. On the event axis, event
    /// `i` is at `i`.
    pub fn bins(
        &self,
        rank: Rank,
        axis: Axis,
        (from, to): (u64, u64),
        columns: usize,
        cursor: usize,
    ) -> Vec<Option<State>> {
        let mut cover = vec![[0u64; 8]; columns];
        if columns == 0 || to <= from {
            return vec![None; columns];
        }
        // The last point that has happened: the cursor's time, or its last event (spans on
        // the event axis include their last event).
        let now = match axis {
            Axis::Time => self.position(axis, cursor),
            Axis::Events if cursor == 0 => return vec![None; columns],
            Axis::Events => cursor as u64 - 1,
        };
        let width = u128::from(to - from);
        let column_of = |x: u64| -> usize {
            let x = x.clamp(from, to) - from;
            ((u128::from(x) * columns as u128) / width).min(columns as u128 - 1) as usize
        };
        let column_start = |c: usize| from + ((c as u128 * width) / columns as u128) as u64;
        // Per column: weight of each state, and units covered by calls or exit.
        let mut covered = vec![0u64; columns];
        let paint = |a: u64, b: Option<u64>, state: State, cover: &mut Vec<[u64; 8]>, covered: &mut Vec<u64>| {
            let b = b.unwrap_or(u64::MAX).min(to);
            let a = a.max(from);
            if a > b || a >= to {
                return;
            }
            for c in column_of(a)..=column_of(b) {
                let overlap = b.min(column_start(c + 1)).saturating_sub(a.max(column_start(c)));
                // One unit for touching a column at all keeps instants visible on their own.
                let w = &mut cover[c][state.index()];
                *w = w.saturating_add(overlap.saturating_mul(4).saturating_add(1));
                if state != State::Run {
                    covered[c] = covered[c].saturating_add(overlap);
                }
            }
        };
        let ended = cursor >= self.event_count;
        for &c in &self.top_calls[rank] {
            let call = &self.calls[c];
            if call.enter_event >= cursor {
                break;
            }
            let (start, end) = match axis {
                Axis::Time => (call.start.as_nanos(), call.end.map(Time::as_nanos)),
                Axis::Events => (call.enter_event as u64, call.leave_event.map(|l| l as u64)),
            };
            let end = match call.leave_event {
                Some(l) if l < cursor => end,
                _ if ended => None,
                _ => Some(now),
            };
            paint(start, end.map(|e| e.max(start)), self.call_state(c, cursor), &mut cover, &mut covered);
        }
        let exited = self.exits[rank].filter(|&(_, e)| e < cursor).map(|(t, e)| match axis {
            Axis::Time => t.as_nanos(),
            Axis::Events => e as u64,
        });
        if let Some(x) = exited {
            paint(x, None, State::Done, &mut cover, &mut covered);
        }
        // Program code fills what calls leave uncovered, from 0 to now (or the exit).
        let alive_until = exited.unwrap_or(now).min(to);
        if alive_until >= from {
            for c in column_of(from)..=column_of(alive_until) {
                let span = alive_until.min(column_start(c + 1)).saturating_sub(column_start(c).max(from));
                let free = span.saturating_sub(covered[c]);
                if free > 0 || cover[c].iter().all(|&w| w == 0) {
                    let w = &mut cover[c][State::Run.index()];
                    *w = w.saturating_add(free.saturating_mul(4).saturating_add(1));
                }
            }
        }
        cover
            .iter()
            .map(|cell| {
                let best = (0..8).max_by_key(|&i| (cell[i], priority(State::ALL[i])))?;
                (cell[best] > 0).then_some(State::ALL[best])
            })
            .collect()
    }

    /// Bytes and messages between every pair of ranks over the whole run, those a receive
    /// took apart from those it never did.
    pub fn comm_matrix(&self) -> CommMatrix {
        let mut m = CommMatrix { ranks: self.ranks, pairs: BTreeMap::new() };
        for msg in &self.messages {
            let pair = m.pairs.entry((msg.src, msg.dst)).or_default();
            match msg.match_event {
                Some(_) => pair.received.add(msg.bytes),
                None => pair.unreceived.add(msg.bytes),
            }
        }
        m
    }

    /// Virtual time each rank spent in each state (indexed by [`State::index`]), from 0 to
    /// the end of the trace. Time in program code counts as [`State::Run`].
    pub fn time_in_states(&self) -> Vec<[Time; 8]> {
        (0..self.ranks)
            .map(|rank| {
                let mut out = [Time::ZERO; 8];
                let mut busy = Time::ZERO;
                for &c in &self.top_calls[rank] {
                    let call = &self.calls[c];
                    let end = call.end.unwrap_or(self.end);
                    let d = end.saturating_sub(call.start);
                    out[self.call_state(c, self.event_count).index()] += d;
                    busy += d;
                }
                let life = match self.exits[rank] {
                    Some((t, _)) => {
                        out[State::Done.index()] += self.end.saturating_sub(t);
                        t
                    }
                    None => self.end,
                };
                out[State::Run.index()] += life.saturating_sub(busy);
                out
            })
            .collect()
    }

    /// Calls still open at the end of the trace, outermost per rank, in rank order: what a
    /// saved trace says of a deadlock when its report is not at hand.
    pub fn unfinished(&self) -> Vec<usize> {
        (0..self.ranks).filter_map(|r| self.snapshot(r, self.event_count).open.first().copied()).collect()
    }

    /// The innermost open call of `rank` at the end of the trace (the step a collective is
    /// blocked in, or the call itself).
    pub fn innermost_unfinished(&self, rank: Rank) -> Option<usize> {
        self.snapshot(rank, self.event_count).open.last().copied()
    }

    /// The message whose `Send`, `Arrive` or `Match` is event `index`.
    pub fn message_of_event(&self, index: usize) -> Option<usize> {
        let rank_of =
            |m: &MessageSpan| m.send_event == index || m.arrive_event == Some(index) || m.match_event == Some(index);
        // Messages are in send order; the event is at or after the send.
        let upto = self.messages.partition_point(|m| m.send_event <= index);
        (0..upto).rev().find(|&m| rank_of(&self.messages[m]))
    }

    /// The call whose `Enter` or `Leave` is event `index`.
    pub fn call_of_event(&self, index: usize) -> Option<usize> {
        let upto = self.calls.partition_point(|c| c.enter_event <= index);
        (0..upto).rev().find(|&c| self.calls[c].enter_event == index || self.calls[c].leave_event == Some(index))
    }

    /// Messages that `rank` sent or received, in send order.
    pub fn messages_of(&self, rank: Rank) -> Vec<usize> {
        (0..self.messages.len()).filter(|&m| self.messages[m].src == rank || self.messages[m].dst == rank).collect()
    }

    /// Ranks `rank` exchanged messages with, in rank order.
    pub fn peers_of(&self, rank: Rank) -> Vec<Rank> {
        let mut peers: Vec<Rank> = self
            .messages
            .iter()
            .filter_map(|m| match (m.src == rank, m.dst == rank) {
                (true, false) => Some(m.dst),
                (false, true) => Some(m.src),
                _ => None,
            })
            .collect();
        peers.sort_unstable();
        peers.dedup();
        peers
    }

    /// Messages that are steps of collective call `c` on any rank (the calls of the same
    /// kind and instance): the algorithm's traffic, grouped.
    pub fn collective_messages(&self, c: usize) -> Vec<usize> {
        let (kind, instance) = (self.calls[c].call, self.calls[c].instance);
        if instance.is_none() {
            return Vec::new();
        }
        (0..self.messages.len())
            .filter(|&m| {
                self.messages[m]
                    .collective
                    .is_some_and(|k| self.calls[k].call == kind && self.calls[k].instance == instance)
            })
            .collect()
    }
}

/// Which state wins a column when two cover it equally: the more telling one.
fn priority(state: State) -> u8 {
    match state {
        State::Blocked => 7,
        State::Collective => 6,
        State::Send => 5,
        State::Recv => 4,
        State::Wait => 3,
        State::Compute => 2,
        State::Done => 1,
        State::Run => 0,
    }
}
