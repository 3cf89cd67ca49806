//! MPI message matching at one rank: the queue of posted receives and the queue of
//! unexpected messages.
//!
//! Invariants: both queues are in arrival order (posts in program order, envelopes in the
//! order the engine delivered them: by visibility time, then sender rank); a receive takes
//! the first matching envelope of a sender, so messages between a pair of ranks never
//! overtake each other; an envelope goes to the earliest posted matching receive.

use crate::call::{Channel, RecvArgs, ReqId};
use crate::{Rank, Tag};
use std::collections::VecDeque;

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
}

fn accepts(filter: &RecvArgs, env: &Envelope) -> bool {
    filter.chan == env.chan && filter.source.is_none_or(|s| s == env.src) && filter.tag.is_none_or(|t| t == env.tag)
}

/// The two queues of one rank.
#[derive(Debug, Default)]
pub(crate) struct Mailbox {
    posted: VecDeque<Posted>,
    unexpected: VecDeque<Envelope>,
}

impl Mailbox {
    /// The earliest posted receive that accepts `env`, removed from the queue.
    pub fn take_posted(&mut self, env: &Envelope) -> Option<Posted> {
        let i = self.posted.iter().position(|p| accepts(&p.filter, env))?;
        self.posted.remove(i)
    }

    /// Adds a message no receive was waiting for.
    pub fn push_unexpected(&mut self, env: Envelope) {
        self.unexpected.push_back(env);
    }

    /// Adds a receive no message was there for.
    pub fn push_posted(&mut self, posted: Posted) {
        self.posted.push_back(posted);
    }

    /// The envelopes a receive could legally take: the first accepted envelope of each
    /// sender, in queue order. A wildcard receive may take any of them; the first is the
    /// earliest arrival (ties: lowest rank).
    pub fn candidates(&self, filter: &RecvArgs) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        for (i, env) in self.unexpected.iter().enumerate() {
            if accepts(filter, env) && out.iter().all(|&j| self.unexpected[j].src != env.src) {
                out.push(i);
                if filter.source.is_some() {
                    break;
                }
            }
        }
        out
    }

    /// The first envelope a receive or probe would take, without removing it.
    pub fn peek(&self, filter: &RecvArgs) -> Option<&Envelope> {
        self.unexpected.iter().find(|env| accepts(filter, env))
    }

    /// Whether an unexpected envelope is at `index`, and takes it.
    pub fn take_unexpected(&mut self, index: usize) -> Envelope {
        self.unexpected.remove(index).expect("candidate index is in range")
    }

    /// Removes a posted receive (it was cancelled). Returns whether it was there.
    pub fn cancel_posted(&mut self, req: ReqId) -> bool {
        let before = self.posted.len();
        self.posted.retain(|p| p.req != req);
        self.posted.len() != before
    }

    /// Removes an unmatched envelope (its send was cancelled). Returns whether it was there.
    pub fn cancel_unexpected(&mut self, msg: u32) -> bool {
        let before = self.unexpected.len();
        self.unexpected.retain(|e| e.msg != msg);
        self.unexpected.len() != before
    }

    /// Messages that arrived and were never received.
    pub fn unexpected(&self) -> impl Iterator<Item = &Envelope> {
        self.unexpected.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(msg: u32, src: Rank, tag: Tag) -> Envelope {
        Envelope { msg, src, tag, chan: Channel { comm: 0, collective: false }, bytes: 1 }
    }

    fn filter(source: Option<Rank>, tag: Option<Tag>) -> RecvArgs {
        RecvArgs { chan: Channel { comm: 0, collective: false }, source, tag }
    }

    #[test]
    fn wildcard_candidates_are_first_per_sender() {
        let mut mb = Mailbox::default();
        for (i, (src, tag)) in [(2, 0), (1, 0), (2, 1), (1, 5)].into_iter().enumerate() {
            mb.push_unexpected(env(i as u32, src, tag));
        }
        assert_eq!(mb.candidates(&filter(None, None)), vec![0, 1]);
        assert_eq!(mb.candidates(&filter(None, Some(1))), vec![2]);
        assert_eq!(mb.candidates(&filter(Some(1), None)), vec![1]);
        let collective = RecvArgs { chan: Channel { comm: 0, collective: true }, ..filter(None, None) };
        assert!(mb.candidates(&collective).is_empty(), "other contexts never match");
    }

    #[test]
    fn envelopes_go_to_the_earliest_posted_receive() {
        let mut mb = Mailbox::default();
        let req = |slot| ReqId { slot, generation: 0 };
        mb.push_posted(Posted { req: req(1), filter: filter(Some(3), None) });
        mb.push_posted(Posted { req: req(2), filter: filter(None, None) });
        mb.push_posted(Posted { req: req(3), filter: filter(None, None) });
        assert_eq!(mb.take_posted(&env(0, 4, 0)).unwrap().req, req(2));
        assert_eq!(mb.take_posted(&env(1, 3, 0)).unwrap().req, req(1));
        assert!(mb.cancel_posted(req(3)));
        assert!(mb.take_posted(&env(2, 3, 0)).is_none());
    }
}
