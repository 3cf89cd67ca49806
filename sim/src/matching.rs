//! MPI message matching at one rank: the queue of posted receives and the queue of
//! unexpected messages.
//!
//! Invariants: both queues are in arrival order (posts in program order, envelopes in the
//! order the engine delivered them: by visibility time, then sender rank), kept as a
//! sequence number per entry; a receive takes the first matching envelope of a sender, so
//! messages between a pair of ranks never overtake each other; an envelope goes to the
//! earliest posted matching receive.
//!
//! Cost: a queue of a few entries is a vector scanned in order, the cheapest thing for the
//! common case; a queue that grows past [`SMALL`] entries is indexed by sender and tag (and
//! for posted receives by their filter), so that matching stays near O(log n) with
//! hundreds of thousands of outstanding messages, and it becomes a vector again once empty.

use crate::call::{Channel, RecvArgs, ReqId};
use crate::{Rank, Tag};
use std::collections::{BTreeMap, BTreeSet};

/// Entries a queue holds before it is indexed.
const SMALL: usize = 32;

/// What matching sees of a message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Envelope {
    /// Index of the message in the engine's table.
    pub msg: u32,
    pub src: Rank,
    pub tag: Tag,
    pub chan: Channel,
    pub bytes: u64,
}

/// A posted receive waiting for its message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Posted {
    pub req: ReqId,
    /// With the source as a world rank.
    pub filter: RecvArgs,
    /// Messages injected (in the whole run) before this receive was posted: a message
    /// whose id is below it was on its way before the receive existed.
    pub after_msgs: u64,
    /// Whether the receiver carried an open taint when it posted this (see the engine's
    /// causality module): a message it matches then fires the buffering check's re-run.
    pub tainted: bool,
}

pub(crate) fn accepts(filter: &RecvArgs, env: &Envelope) -> bool {
    filter.chan == env.chan && filter.source.is_none_or(|s| s == env.src) && filter.tag.is_none_or(|t| t == env.tag)
}

/// An unexpected envelope a receive or probe could take: its place in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Candidate(u64);

/// The two queues of one rank.
#[derive(Debug, Default)]
pub(crate) struct Mailbox {
    posted: Queue<Posted, PostedIndex>,
    unexpected: Queue<Envelope, ArrivalIndex>,
}

/// A queue in arrival order: a vector while small, indexed once large.
#[derive(Debug)]
struct Queue<T, I> {
    next: u64,
    small: Vec<(u64, T)>,
    /// Boxed: a mailbox's two queues are on every message's path, their indexes rarely.
    large: Option<Box<I>>,
}

impl<T, I> Default for Queue<T, I> {
    fn default() -> Self {
        Queue { next: 0, small: Vec::new(), large: None }
    }
}

/// How a large queue finds its entries.
trait Index<T>: Default {
    fn insert(&mut self, seq: u64, value: T);
    fn remove(&mut self, seq: u64) -> Option<T>;
    fn len(&self) -> usize;
    /// Every entry, in arrival order.
    fn entries(&self) -> Box<dyn Iterator<Item = (u64, &T)> + '_>;
}

impl<T, I: Index<T>> Queue<T, I> {
    #[inline]
    fn push(&mut self, value: T) {
        let seq = self.next;
        self.next += 1;
        if let Some(index) = &mut self.large {
            index.insert(seq, value);
        } else if self.small.len() < SMALL {
            self.small.push((seq, value));
        } else {
            let mut index = Box::new(I::default());
            for (s, v) in self.small.drain(..) {
                index.insert(s, v);
            }
            index.insert(seq, value);
            self.large = Some(index);
        }
    }

    fn remove(&mut self, seq: u64) -> Option<T> {
        if let Some(index) = &mut self.large {
            let value = index.remove(seq);
            if index.len() == 0 {
                self.large = None;
            }
            return value;
        }
        let i = self.small.iter().position(|(s, _)| *s == seq)?;
        Some(self.small.remove(i).1)
    }

    fn entries(&self) -> Box<dyn Iterator<Item = (u64, &T)> + '_> {
        match &self.large {
            Some(index) => index.entries(),
            None => Box::new(self.small.iter().map(|(s, v)| (*s, v))),
        }
    }
}

/// Unexpected envelopes by arrival, by sender, and by sender and tag.
#[derive(Debug, Default)]
struct ArrivalIndex {
    all: BTreeMap<u64, Envelope>,
    by_sender: BTreeMap<(Channel, Rank), BTreeSet<u64>>,
    by_tag: BTreeMap<(Channel, Rank, Tag), BTreeSet<u64>>,
}

impl Index<Envelope> for ArrivalIndex {
    fn insert(&mut self, seq: u64, env: Envelope) {
        self.by_sender.entry((env.chan, env.src)).or_default().insert(seq);
        self.by_tag.entry((env.chan, env.src, env.tag)).or_default().insert(seq);
        self.all.insert(seq, env);
    }

    fn remove(&mut self, seq: u64) -> Option<Envelope> {
        let env = self.all.remove(&seq)?;
        remove_from(&mut self.by_sender, (env.chan, env.src), seq);
        remove_from(&mut self.by_tag, (env.chan, env.src, env.tag), seq);
        Some(env)
    }

    fn len(&self) -> usize {
        self.all.len()
    }

    fn entries(&self) -> Box<dyn Iterator<Item = (u64, &Envelope)> + '_> {
        Box::new(self.all.iter().map(|(s, e)| (*s, e)))
    }
}

impl ArrivalIndex {
    /// The first envelope of sender `src` on `chan` that `tag` accepts.
    fn first_of(&self, chan: Channel, src: Rank, tag: Option<Tag>) -> Option<u64> {
        match tag {
            Some(t) => self.by_tag.get(&(chan, src, t)),
            None => self.by_sender.get(&(chan, src)),
        }
        .and_then(|set| set.first().copied())
    }
}

/// Posted receives by their filter: (channel, source or any, tag or any).
#[derive(Debug, Default)]
struct PostedIndex {
    all: BTreeMap<u64, Posted>,
    by_filter: BTreeMap<(Channel, Option<Rank>, Option<Tag>), BTreeSet<u64>>,
}

fn filter_key(p: &Posted) -> (Channel, Option<Rank>, Option<Tag>) {
    (p.filter.chan, p.filter.source, p.filter.tag)
}

impl Index<Posted> for PostedIndex {
    fn insert(&mut self, seq: u64, p: Posted) {
        self.by_filter.entry(filter_key(&p)).or_default().insert(seq);
        self.all.insert(seq, p);
    }

    fn remove(&mut self, seq: u64) -> Option<Posted> {
        let p = self.all.remove(&seq)?;
        remove_from(&mut self.by_filter, filter_key(&p), seq);
        Some(p)
    }

    fn len(&self) -> usize {
        self.all.len()
    }

    fn entries(&self) -> Box<dyn Iterator<Item = (u64, &Posted)> + '_> {
        Box::new(self.all.iter().map(|(s, p)| (*s, p)))
    }
}

fn remove_from<K: Ord>(map: &mut BTreeMap<K, BTreeSet<u64>>, key: K, seq: u64) {
    if let Some(set) = map.get_mut(&key) {
        set.remove(&seq);
        if set.is_empty() {
            map.remove(&key);
        }
    }
}

impl Mailbox {
    /// The earliest posted receive that accepts `env`, removed from the queue.
    #[inline]
    pub fn take_posted(&mut self, env: &Envelope) -> Option<Posted> {
        let seq = match &self.posted.large {
            Some(index) => {
                let keys = [
                    (env.chan, Some(env.src), Some(env.tag)),
                    (env.chan, Some(env.src), None),
                    (env.chan, None, Some(env.tag)),
                    (env.chan, None, None),
                ];
                keys.iter().filter_map(|k| index.by_filter.get(k).and_then(|set| set.first().copied())).min()?
            }
            None => self.posted.small.iter().find(|(_, p)| accepts(&p.filter, env))?.0,
        };
        self.posted.remove(seq)
    }

    /// Adds a message no receive was waiting for.
    pub fn push_unexpected(&mut self, env: Envelope) {
        self.unexpected.push(env);
    }

    /// Adds a receive no message was there for.
    #[inline]
    pub fn push_posted(&mut self, posted: Posted) {
        self.posted.push(posted);
    }

    /// The envelopes a receive could legally take: the first accepted envelope of each
    /// sender, in arrival order. A wildcard receive may take any of them; the first is the
    /// earliest arrival (ties: lowest rank).
    pub fn candidates(&self, filter: &RecvArgs) -> Vec<Candidate> {
        let Some(index) = &self.unexpected.large else {
            if self.unexpected.small.is_empty() {
                // A receive posted before its message (every receive of a ping-pong).
                return Vec::new();
            }
            let mut out: Vec<Candidate> = Vec::new();
            let mut senders: Vec<Rank> = Vec::new();
            for (seq, env) in &self.unexpected.small {
                if accepts(filter, env) && !senders.contains(&env.src) {
                    out.push(Candidate(*seq));
                    if filter.source.is_some() {
                        break;
                    }
                    senders.push(env.src);
                }
            }
            return out;
        };
        let mut out: Vec<Candidate> = match filter.source {
            Some(src) => index.first_of(filter.chan, src, filter.tag).into_iter().map(Candidate).collect(),
            None => {
                let senders = (filter.chan, Rank::MIN)..=(filter.chan, Rank::MAX);
                index
                    .by_sender
                    .range(senders)
                    .filter_map(|(&(_, src), _)| index.first_of(filter.chan, src, filter.tag))
                    .map(Candidate)
                    .collect()
            }
        };
        out.sort_unstable();
        out
    }

    /// The envelope of a candidate.
    pub fn envelope(&self, candidate: Candidate) -> &Envelope {
        match &self.unexpected.large {
            Some(index) => &index.all[&candidate.0],
            None => {
                let i = self.unexpected.small.iter().position(|(s, _)| *s == candidate.0);
                &self.unexpected.small[i.expect("candidates are in the queue")].1
            }
        }
    }

    /// The first envelope a receive or probe would take, without removing it.
    pub fn peek(&self, filter: &RecvArgs) -> Option<&Envelope> {
        self.candidates(filter).first().map(|&c| self.envelope(c))
    }

    /// Takes a candidate's envelope out of the queue.
    pub fn take_unexpected(&mut self, candidate: Candidate) -> Envelope {
        self.unexpected.remove(candidate.0).expect("candidates are in the queue")
    }

    /// Removes a posted receive (it was cancelled). Returns whether it was there.
    pub fn cancel_posted(&mut self, req: ReqId) -> bool {
        let found = self.posted.entries().find(|(_, p)| p.req == req).map(|(s, _)| s);
        found.is_some_and(|seq| self.posted.remove(seq).is_some())
    }

    /// Removes an unmatched envelope (its send was cancelled). Returns whether it was there.
    pub fn cancel_unexpected(&mut self, msg: u32) -> bool {
        let found = self.unexpected.entries().find(|(_, e)| e.msg == msg).map(|(s, _)| s);
        found.is_some_and(|seq| self.unexpected.remove(seq).is_some())
    }

    /// Messages that arrived and were never received, in arrival order.
    pub fn unexpected(&self) -> impl Iterator<Item = &Envelope> {
        self.unexpected.entries().map(|(_, e)| e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn env(msg: u32, src: Rank, tag: Tag) -> Envelope {
        Envelope { msg, src, tag, chan: Channel { comm: 0, collective: false }, bytes: 1 }
    }

    fn filter(source: Option<Rank>, tag: Option<Tag>) -> RecvArgs {
        RecvArgs { chan: Channel { comm: 0, collective: false }, source, tag }
    }

    fn msgs(mb: &Mailbox, f: &RecvArgs) -> Vec<u32> {
        mb.candidates(f).into_iter().map(|c| mb.envelope(c).msg).collect()
    }

    #[test]
    fn wildcard_candidates_are_first_per_sender() {
        let mut mb = Mailbox::default();
        for (i, (src, tag)) in [(2, 0), (1, 0), (2, 1), (1, 5)].into_iter().enumerate() {
            mb.push_unexpected(env(i as u32, src, tag));
        }
        assert_eq!(msgs(&mb, &filter(None, None)), vec![0, 1]);
        assert_eq!(msgs(&mb, &filter(None, Some(1))), vec![2]);
        assert_eq!(msgs(&mb, &filter(Some(1), None)), vec![1]);
        let collective = RecvArgs { chan: Channel { comm: 0, collective: true }, ..filter(None, None) };
        assert!(mb.candidates(&collective).is_empty(), "other contexts never match");
    }

    #[test]
    fn envelopes_go_to_the_earliest_posted_receive() {
        let mut mb = Mailbox::default();
        let req = |slot| ReqId { slot, generation: 0 };
        mb.push_posted(Posted { req: req(1), filter: filter(Some(3), None), after_msgs: 0, tainted: false });
        mb.push_posted(Posted { req: req(2), filter: filter(None, None), after_msgs: 0, tainted: false });
        mb.push_posted(Posted { req: req(3), filter: filter(None, None), after_msgs: 0, tainted: false });
        assert_eq!(mb.take_posted(&env(0, 4, 0)).unwrap().req, req(2));
        assert_eq!(mb.take_posted(&env(1, 3, 0)).unwrap().req, req(1));
        assert!(mb.cancel_posted(req(3)));
        assert!(mb.take_posted(&env(2, 3, 0)).is_none());
    }

    /// The plain rules, on a list: what the indexed queues must agree with.
    #[derive(Default)]
    struct Model {
        posted: Vec<Posted>,
        unexpected: Vec<Envelope>,
    }

    impl Model {
        fn take_posted(&mut self, env: &Envelope) -> Option<Posted> {
            let i = self.posted.iter().position(|p| accepts(&p.filter, env))?;
            Some(self.posted.remove(i))
        }

        fn candidates(&self, f: &RecvArgs) -> Vec<u32> {
            let mut out: Vec<&Envelope> = Vec::new();
            for e in &self.unexpected {
                if accepts(f, e) && out.iter().all(|o| o.src != e.src) {
                    out.push(e);
                }
            }
            if f.source.is_some() {
                out.truncate(1);
            }
            out.iter().map(|e| e.msg).collect()
        }
    }

    #[derive(Debug, Clone)]
    enum Step {
        Arrive(Rank, Tag),
        Post(Option<Rank>, Option<Tag>),
        Receive(Option<Rank>, Option<Tag>, usize),
    }

    fn step() -> impl Strategy<Value = Step> {
        let source = prop::option::of(0usize..4);
        let tag = prop::option::of(0i32..3);
        prop_oneof![
            (0usize..4, 0i32..3).prop_map(|(s, t)| Step::Arrive(s, t)),
            (source.clone(), tag.clone()).prop_map(|(s, t)| Step::Post(s, t)),
            (source, tag, 0usize..4).prop_map(|(s, t, pick)| Step::Receive(s, t, pick)),
        ]
    }

    proptest! {
        /// Small and indexed queues match exactly as the plain rules do, across the switch
        /// between them (runs of up to 200 steps cross `SMALL` both ways).
        #[test]
        fn indexed_queues_match_as_the_rules_say(steps in prop::collection::vec(step(), 0..200)) {
            let (mut mb, mut model) = (Mailbox::default(), Model::default());
            let mut next_msg = 0;
            for (i, s) in steps.into_iter().enumerate() {
                match s {
                    Step::Arrive(src, tag) => {
                        let e = env(next_msg, src, tag);
                        next_msg += 1;
                        let (got, want) = (mb.take_posted(&e), model.take_posted(&e));
                        prop_assert_eq!(got.map(|p| p.req), want.map(|p| p.req));
                        if want.is_none() {
                            mb.push_unexpected(e);
                            model.unexpected.push(e);
                        }
                    }
                    Step::Post(source, tag) => {
                        let p = Posted { req: ReqId { slot: i as u32, generation: 0 }, filter: filter(source, tag), after_msgs: 0, tainted: false };
                        mb.push_posted(p);
                        model.posted.push(p);
                    }
                    Step::Receive(source, tag, pick) => {
                        let f = filter(source, tag);
                        let (got, want) = (msgs(&mb, &f), model.candidates(&f));
                        prop_assert_eq!(&got, &want);
                        if !want.is_empty() {
                            let c = mb.candidates(&f)[pick % want.len()];
                            let taken = mb.take_unexpected(c).msg;
                            prop_assert_eq!(taken, want[pick % want.len()]);
                            model.unexpected.retain(|e| e.msg != taken);
                        }
                    }
                }
                let queued: Vec<u32> = mb.unexpected().map(|e| e.msg).collect();
                let expected: Vec<u32> = model.unexpected.iter().map(|e| e.msg).collect();
                prop_assert_eq!(queued, expected);
            }
        }
    }
}
