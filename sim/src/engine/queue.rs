//! The event queue: what happens next, in `(time, rank, class, by, seq)` order: at one
//! instant, rank by rank, each rank's message deliveries (by sender) and request
//! completions before it resumes. Everything that happens to a rank at one instant is then
//! one visit to its state, while it is in the cache.

use crate::call::ReqId;
use crate::time::Time;
use crate::Rank;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// What kind of thing an event of a rank's is, in the order things happen to it at one
/// instant: messages and completions first, so that it sees all of them when it resumes.
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

/// An event's place in the order: its time, then its rank, class and tie-breaking rank as
/// one number ([`who`]: one comparison where the order names three), then its sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    time: Time,
    who: u64,
    seq: u64,
}

impl Key {
    /// Before every event's key (sequences start at 1): the back of an empty run, which
    /// any event extends.
    const MIN: Key = Key { time: Time(0), who: 0, seq: 0 };
    /// After every event's key: the front of an empty run, which no pop takes.
    const MAX: Key = Key { time: Time(u64::MAX), who: u64::MAX, seq: u64::MAX };
}

/// The rank, class and tie-breaking rank of an event as [`Key::who`]: they order as
/// `(rank, class, by)` does (`rank << 32 | class << 31 | by`; ranks are below 2^31).
fn who(rank: Rank, class: Class, by: Rank) -> u64 {
    debug_assert!(rank < 1 << 31 && by < 1 << 31, "ranks are below 2^31");
    (rank as u64) << 32 | (class as u64) << 31 | by as u64
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// Sorted runs the queue keeps beside its heap (see [`EventQueue`]).
const RUNS: usize = 4;

/// A sorted first-in-first-out run.
#[derive(Default)]
struct Run(VecDeque<Pending>);

impl Run {
    /// Takes the front event (the run holds one) and returns the new front's key,
    /// [`Key::MAX`] if the run is now empty.
    #[inline]
    fn pop_front(&mut self) -> (Pending, Key) {
        let p = self.0.pop_front().expect("a run with a front key holds an event");
        (p, self.0.front().map_or(Key::MAX, |next| next.key))
    }
}

/// A min-queue of events; the sequence number makes the order total and stable, so the
/// order events come out in does not depend on how the queue holds them.
///
/// Most events arrive nearly in order: ranks resuming at one instant in rank order post
/// envelopes for a few increasing sequences of receivers (an allreduce round's partners
/// `r ^ mask` are two), and the deliveries at one instant, in receiver order, wake their
/// receivers in order. So besides a binary heap the queue keeps [`RUNS`] sorted
/// first-in-first-out runs: an event joins the run whose last event is the greatest one before it (or an empty
/// run), and only an event no run can take goes into the heap. A pop takes the smallest of
/// the runs' fronts and the heap's top: a handful of comparisons instead of a heap's sift
/// through log2(n) levels, which cost 444 instructions a pop at 1,024 ranks and 518 at
/// 4,096 (bench/PROFILE.md). The runs' front and back keys are kept in arrays of their
/// own ([`Key::MAX`] and [`Key::MIN`] for an empty run), so that choosing a run reads no
/// run's events. Events out of any order cost what the heap costs, and a few comparisons
/// more.
///
/// A queue of one event (a ping-pong's next message or resumption, a ring's single token)
/// keeps it in [`EventQueue::only`], outside the runs and the heap: pushing it and popping
/// it are a move each, where the runs cost a scan of their backs and fronts.
pub(super) struct EventQueue {
    /// The one event queued, when the runs and the heap are empty; `None` otherwise.
    only: Option<Pending>,
    /// Each run is sorted by key, earliest at the front.
    runs: [Run; RUNS],
    /// The key of each run's front event, [`Key::MAX`] for an empty run.
    fronts: [Key; RUNS],
    /// The key of each run's back event, [`Key::MIN`] for an empty run.
    backs: [Key; RUNS],
    /// The run with the earliest front (any run when all are empty).
    first: usize,
    heap: BinaryHeap<Reverse<Pending>>,
    seq: u64,
}

impl Default for EventQueue {
    fn default() -> Self {
        EventQueue {
            only: None,
            runs: Default::default(),
            fronts: [Key::MAX; RUNS],
            backs: [Key::MIN; RUNS],
            first: 0,
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }
}

impl EventQueue {
    /// Queues an event of `rank`'s at `time`.
    #[inline]
    pub fn push(&mut self, time: Time, class: Class, rank: Rank, action: Action) {
        self.push_by(time, class, rank, rank, action);
    }

    /// Queues an event of `rank`'s at `time` that ties with others of the same rank,
    /// class and instant by `by` (a message's envelope by its sender), then by when it was
    /// queued.
    pub fn push_by(&mut self, time: Time, class: Class, rank: Rank, by: Rank, action: Action) {
        self.seq += 1;
        let pending = Pending { key: Key { time, who: who(rank, class, by), seq: self.seq }, action };
        if let Some(only) = self.only.take() {
            self.place(only);
        } else if self.fronts[self.first] == Key::MAX && self.heap.is_empty() {
            self.only = Some(pending);
            return;
        }
        self.place(pending);
    }

    /// Puts an event into the run it extends (the one whose back is the greatest key
    /// before it; an empty run's back is before every key, so it serves when no other
    /// does), or else into the heap.
    #[inline]
    fn place(&mut self, pending: Pending) {
        let mut fit: Option<usize> = None;
        for (i, back) in self.backs.iter().enumerate() {
            if *back < pending.key && fit.is_none_or(|f| self.backs[f] < *back) {
                fit = Some(i);
            }
        }
        let Some(i) = fit else {
            self.heap.push(Reverse(pending));
            return;
        };
        if self.backs[i] == Key::MIN {
            // A new front: it may be the earliest of all.
            self.fronts[i] = pending.key;
            if pending.key < self.fronts[self.first] {
                self.first = i;
            }
        }
        self.backs[i] = pending.key;
        self.runs[i].0.push_back(pending);
    }

    /// The earliest event.
    fn peek(&self) -> Option<&Pending> {
        if self.only.is_some() {
            return self.only.as_ref();
        }
        let run = self.runs[self.first].0.front();
        let heap = self.heap.peek().map(|Reverse(p)| p);
        match (run, heap) {
            (Some(r), Some(h)) => Some(if h.key < r.key { h } else { r }),
            (r, h) => r.or(h),
        }
    }

    /// What the earliest event does.
    #[inline]
    pub fn next_action(&self) -> Option<Action> {
        self.peek().map(|p| p.action)
    }

    /// The earliest event, with its time.
    pub fn pop(&mut self) -> Option<(Time, Action)> {
        if let Some(p) = self.only.take() {
            return Some((p.key.time, p.action));
        }
        let front = self.fronts[self.first];
        let from_heap = self.heap.peek().is_some_and(|Reverse(h)| h.key < front);
        let p = if from_heap {
            self.heap.pop().map(|Reverse(p)| p)
        } else if front == Key::MAX {
            None
        } else {
            let i = self.first;
            let (p, next) = self.runs[i].pop_front();
            self.fronts[i] = next;
            if next == Key::MAX {
                self.backs[i] = Key::MIN;
            }
            let mut first = 0;
            for j in 1..RUNS {
                if self.fronts[j] < self.fronts[first] {
                    first = j;
                }
            }
            self.first = first;
            Some(p)
        };
        p.map(|p| (p.key.time, p.action))
    }

    /// Whether `rank` resuming at `time` comes before everything queued: then it may run
    /// on without a round trip through the queue.
    pub fn runs_before(&self, time: Time, rank: Rank) -> bool {
        self.peek().is_none_or(|next| (time, who(rank, Class::Resume, rank)) < (next.key.time, next.key.who))
    }

    /// Every queued action, in no particular order.
    pub fn actions(&self) -> impl Iterator<Item = Action> + '_ {
        let runs = self.only.iter().chain(self.runs.iter().flat_map(|run| &run.0));
        runs.chain(self.heap.iter().map(|Reverse(p)| p)).map(|p| p.action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An event's key as the order states it: `(time, rank, class, by, seq)`.
    type RefKey = (Time, Rank, Class, Rank, u64);

    /// The order as the engine states it, [`RefKey`], kept in a plain list
    /// searched for its least element: every order of pushes and pops must give the same
    /// events in the same order from the queue.
    #[derive(Default)]
    struct Reference {
        events: Vec<(RefKey, Action)>,
        seq: u64,
    }

    impl Reference {
        fn push(&mut self, time: Time, class: Class, rank: Rank, by: Rank, action: Action) {
            self.seq += 1;
            self.events.push(((time, rank, class, by, self.seq), action));
        }

        fn first(&self) -> Option<usize> {
            (0..self.events.len()).min_by_key(|&i| self.events[i].0)
        }

        fn pop(&mut self) -> Option<(Time, Action)> {
            self.first().map(|i| self.events.remove(i)).map(|((time, ..), action)| (time, action))
        }
    }

    /// A step of a run: pop, or push an event `ahead` after the last popped time.
    #[derive(Debug, Clone)]
    enum Step {
        Pop,
        /// An envelope for `rank` from `by`, or `rank` resuming.
        Push {
            ahead: u64,
            resume: bool,
            rank: usize,
            by: usize,
        },
    }

    fn steps() -> impl Strategy<Value = Vec<Step>> {
        let step = prop_oneof![
            1 => Just(Step::Pop),
            3 => (prop_oneof![Just(0u64), Just(1), 0..5u64, 0..1000u64], any::<bool>(), 0..40usize, 0..40usize)
                .prop_map(|(ahead, resume, rank, by)| Step::Push { ahead, resume, rank, by }),
        ];
        prop::collection::vec(step, 0..400)
    }

    fn check(steps: &[Step]) {
        let (mut queue, mut reference) = (EventQueue::default(), Reference::default());
        let mut now = Time::ZERO;
        for (i, step) in steps.iter().enumerate() {
            match *step {
                Step::Pop => {
                    let (got, want) = (queue.pop(), reference.pop());
                    assert_eq!(got, want, "pop {i}");
                    if let Some((time, _)) = got {
                        now = time;
                    }
                }
                Step::Push { ahead, resume, rank, by } => {
                    let (class, action) = if resume {
                        (Class::Resume, Action::Resume(rank))
                    } else {
                        (Class::Delivery, Action::Envelope(i as u32))
                    };
                    let time = Time(now.0 + ahead);
                    let by = if resume { rank } else { by };
                    queue.push_by(time, class, rank, by, action);
                    reference.push(time, class, rank, by, action);
                }
            }
            let next = reference.first().map(|i| reference.events[i].0);
            for (time, rank) in [(now, 0), (now, 20), (Time(now.0 + 1), 39)] {
                let want =
                    next.is_none_or(|(t, r, class, by, _)| (time, rank, Class::Resume, rank) < (t, r, class, by));
                assert_eq!(queue.runs_before(time, rank), want, "runs_before after step {i}");
            }
            assert_eq!(queue.actions().count(), reference.events.len());
        }
        while let Some(want) = reference.pop() {
            assert_eq!(queue.pop(), Some(want));
        }
        assert_eq!(queue.pop(), None);
    }

    proptest! {
        #[test]
        fn events_come_out_as_from_one_heap(steps in steps()) {
            check(&steps);
        }
    }

    /// The allreduce pattern: every rank of a round resumes at one instant in rank order
    /// and sends to `rank ^ mask`; the deliveries wake the receivers.
    #[test]
    fn rounds_of_partners_come_out_in_order() {
        let mut steps = Vec::new();
        for mask in [1, 2, 4, 8, 16, 32] {
            for rank in 0..64 {
                steps.push(Step::Push { ahead: 0, resume: true, rank, by: rank });
            }
            for rank in 0..64 {
                steps.push(Step::Pop);
                steps.push(Step::Push { ahead: 100, resume: false, rank: rank ^ mask, by: rank });
            }
            for rank in 0..64usize {
                steps.push(Step::Pop);
                steps.push(Step::Push { ahead: 0, resume: true, rank, by: rank });
            }
        }
        check(&steps);
    }
}
