//! The event queue: what happens next, in `(time, class, rank, seq)` order.

use crate::call::ReqId;
use crate::time::Time;
use crate::Rank;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// What kind of thing an event is, in the order things at one instant happen: messages
/// and completions first, so that a rank resuming at that instant sees all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Class {
    Delivery,
    Resume,
}

/// What a due event does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    /// Run a rank.
    Resume(Rank),
    /// A message's envelope reaches its receiver (the message's slot).
    Envelope(u32),
    /// A request completes.
    Complete(ReqId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    time: Time,
    class: Class,
    rank: u32,
    seq: u64,
}

#[derive(Debug, PartialEq, Eq)]
struct Pending {
    key: Key,
    action: Action,
}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

/// A min-queue of events; the sequence number makes the order total and stable.
#[derive(Default)]
pub(super) struct EventQueue {
    heap: BinaryHeap<Reverse<Pending>>,
    seq: u64,
}

impl EventQueue {
    pub fn push(&mut self, time: Time, class: Class, rank: Rank, action: Action) {
        self.seq += 1;
        self.heap.push(Reverse(Pending { key: Key { time, class, rank: rank as u32, seq: self.seq }, action }));
    }

    /// The earliest event, with its time.
    pub fn pop(&mut self) -> Option<(Time, Action)> {
        self.heap.pop().map(|Reverse(p)| (p.key.time, p.action))
    }

    /// Whether `rank` resuming at `time` comes before everything queued: then it may run
    /// on without a round trip through the queue.
    pub fn runs_before(&self, time: Time, rank: Rank) -> bool {
        self.heap.peek().is_none_or(|Reverse(next)| {
            (time, Class::Resume, rank as u32) < (next.key.time, next.key.class, next.key.rank)
        })
    }

    /// Every queued action, in no particular order.
    pub fn actions(&self) -> impl Iterator<Item = Action> + '_ {
        self.heap.iter().map(|Reverse(p)| p.action)
    }
}
