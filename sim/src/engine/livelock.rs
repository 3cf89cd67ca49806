//! Livelocks: ranks that only poll (`iprobe`, `test`…) in vain while nothing is in flight
//! can never see anything change; the run stops with the polling ranks named.

use super::queue::Action;
use super::rank::RankState;
use super::{Engine, Flow};
use crate::call::{CallKind, Reply};
use crate::error::{SimError, Spinning};
use crate::site::CallSite;
use crate::time::Time;
use crate::Rank;
use std::cmp::Reverse;

/// Fruitless polls in a row, with nothing in flight, after which a run is a livelock.
const LIVELOCK_POLLS: u64 = 1 << 20;

impl Engine<'_> {
    /// A poll (`iprobe`, `test`…) found nothing: counts it, and stops the run if every
    /// rank still running has only polled in vain for [`LIVELOCK_POLLS`] polls in a row
    /// with nothing in flight.
    pub(super) fn fruitless_poll(
        &mut self,
        rank: Rank,
        kind: CallKind,
        site: CallSite,
        streak: u64,
        reply: Reply,
    ) -> Flow {
        let slot = &mut self.ranks[rank];
        slot.polling = true;
        slot.polls += 1;
        slot.last_poll = Some((kind, site));
        self.poll_streak = streak + 1;
        if self.poll_streak % LIVELOCK_POLLS == 0 && self.livelocked(rank) {
            self.failure =
                Some(SimError::Livelock { time: self.now, polls: self.poll_streak, spinning: self.spinning(1) });
            return Flow::Stop;
        }
        Flow::Reply(reply, self.now + Time(self.cfg.platform.poll_ns))
    }

    /// Whether nothing but fruitless polls can ever happen again: no message or
    /// completion is pending, and every rank due to resume (and `rank`, running now) last
    /// polled in vain.
    fn livelocked(&self, rank: Rank) -> bool {
        self.queue.actions().all(|action| match action {
            Action::Resume(r) => self.ranks[r].polling,
            Action::Envelope(_) | Action::Complete(_) => false,
        }) && self.ranks[rank].polling
    }

    /// Ranks with at least `min_polls` fruitless polls, most first.
    pub(super) fn spinning(&self, min_polls: u64) -> Vec<Spinning> {
        let mut out: Vec<Spinning> = self
            .ranks
            .iter()
            .enumerate()
            .filter(|(_, s)| s.polls >= min_polls.max(1) && !matches!(s.state, RankState::Done))
            .filter_map(|(rank, s)| {
                s.last_poll.map(|(call, site)| Spinning { rank, call, location: site.site(), polls: s.polls })
            })
            .collect();
        out.sort_by_key(|s| (Reverse(s.polls), s.rank));
        out.truncate(8);
        out.sort_by_key(|s| s.rank);
        out
    }
}
