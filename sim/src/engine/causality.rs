//! The buffering check without a re-run: whether the run's own causality shows that a
//! strict run (every standard send synchronous, every blocking collective a barrier)
//! completes, although some eager sends returned before their receive was posted or some
//! collectives returned early.
//!
//! The argument. Take the run's events in the order the engine made them. With no
//! wildcard, test, cancel or clock read (else [`crate::hazard::Reliance::timing`] sends
//! the check to a re-run), a strict run makes the same calls and the same matches; it
//! differs only in its waits. A user's send completes once its receive is posted: an edge
//! from the post `c` to the sender's going on `w`. A rank leaves a blocking collective once
//! every member has begun it: an edge from each begin `c` to each leave `w` (inside, once
//! every member is in, the algorithms complete with or without buffering). The strict run
//! deadlocks exactly when those edges close a cycle with the run's own happened-before
//! order (program order, a message's send before its receive's completion, the calls of a
//! split before its return).
//!
//! Every rank carries [`Taint`]s: points it went on past while a strict run would still
//! hold it, open until that run would have let it go. An eager send opens one at the
//! sender (until its message is matched), a rank leaving a collective early opens one
//! there (until every member has begun it). A rank carries its open taints to everything
//! after it: to the messages it sends, whose receivers take them on.
//!
//! Edges with `c` before `w` point forward in the run's order, and at `w` the rank takes on
//! the taints `c` carried (a sender those of the receives its message may match, a leaver
//! those of every member's begin): nothing it did before `w` depended on them. An *early*
//! edge, `w` before `c` (an eager send that returned before its receive was posted, a
//! collective left before every member began it), cannot pass them on: there the check
//! fires, and the re-run runs, if the rank at `c` carries any open taint. If it never
//! fires, there is no cycle: follow one from an early edge's `w`; its taint is open and
//! carried along until its own `c`, so the next early edge's `c` on the cycle comes after
//! this one's (or the check would have fired there), and so on all the way round, which
//! no cycle can do.
//!
//! Beyond the argument, and left to the re-run: a nonblocking collective (its rounds
//! progress beside the rank's other calls) and a communicator split by a tainted rank.

use super::Engine;
use crate::call::{RecvArgs, ReqId};
use crate::matching::Envelope;
use crate::Rank;
use std::collections::BTreeMap;

/// Open taints a rank may carry before the argument gives up (and the re-run decides): each
/// message copies its sender's, so without a bound a rank that sends many messages nobody
/// has received yet would make the following quadratic in time and memory.
const MOST_TAINTS: usize = 64;

/// A point a rank went on past while a strict run would still hold it there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Taint {
    /// An eager standard send returned; open until its message is matched.
    Send(ReqId),
    /// A rank left the blocking collective at `position` on `comm` before every member had
    /// begun it; open until the last one has.
    Collective { comm: u32, position: u64 },
}

/// How a strict run would have held the sender of a matched message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Held {
    /// Not at all: a buffered send, or a collective's own message (the collective is the
    /// unit the argument reasons about).
    Not,
    /// Until its receive was posted, which came after this run's sender went on: an eager
    /// send that returned before its receive was posted.
    Early,
    /// Until its receive was posted, which came before the sender went on: an eager send
    /// to a receive posted before it (see `went_on`).
    InTime,
    /// The same, and this run's sender too goes on only after the match: a rendezvous.
    Rendezvous,
}

/// What the receiving rank carried when it posted the receive a message matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AtPost {
    /// No open taints.
    Nothing,
    /// Some, kept with the posted receive.
    Kept,
    /// The receive is being posted now: whatever it carries now.
    Now,
}

/// What a posted receive's rank carried when it posted it.
#[derive(Debug)]
struct PostedTaints {
    filter: RecvArgs,
    taints: Vec<Taint>,
}

/// One collective position's begins and leaves.
#[derive(Debug, Default)]
struct CollTaints {
    /// What its members carried when they began it.
    begun: Vec<Taint>,
    /// Whether a member has left before every member began it.
    left_early: bool,
    /// Members that have left it.
    left: usize,
}

/// The argument's state: what each rank carries, and whether a check has fired.
#[derive(Debug, Default)]
pub(super) struct Causality {
    /// Followed (a run whose buffering is to be checked), and no check has fired.
    active: bool,
    /// Asked for: the argument holds if it is still `active` at the end.
    asked: bool,
    /// Per rank, the taints it carries (some possibly closed since: dropped when read).
    taints: Vec<Vec<Taint>>,
    /// Receives posted by a tainted rank and not yet matched, by (rank, request).
    posted: BTreeMap<(Rank, ReqId), PostedTaints>,
    /// Blocking collectives by (communicator, position), until every member has left.
    collectives: BTreeMap<(u32, u64), CollTaints>,
}

impl Causality {
    /// Following the causality of `ranks` ranks, or not at all.
    pub fn new(follow: bool, ranks: usize) -> Causality {
        let taints = if follow { (0..ranks).map(|_| Vec::new()).collect() } else { Vec::new() };
        Causality { active: follow, asked: follow, taints, ..Causality::default() }
    }

    /// Whether the run showed, by itself, that a strict run completes.
    pub fn proven(&self) -> bool {
        self.asked && self.active
    }
}

impl Engine<'_> {
    fn is_open(&self, taint: Taint) -> bool {
        match taint {
            Taint::Send(message) => self.messages.get(message).is_some(),
            Taint::Collective { comm, position } => self.coll_logs.get(&comm).is_some_and(|log| log.is_open(position)),
        }
    }

    /// `rank`'s open taints (its closed ones dropped).
    fn open_taints(&mut self, rank: Rank) -> &[Taint] {
        let mut taints = std::mem::take(&mut self.causality.taints[rank]);
        taints.retain(|&t| self.is_open(t));
        self.causality.taints[rank] = taints;
        &self.causality.taints[rank]
    }

    /// `rank` takes on the open ones of `taints`.
    fn absorb(&mut self, rank: Rank, taints: &[Taint]) {
        for &t in taints {
            if !self.causality.active {
                return;
            }
            if self.is_open(t) && !self.causality.taints[rank].contains(&t) {
                self.carry(rank, t);
            }
        }
    }

    /// `rank` carries `taint` from now on, within [`MOST_TAINTS`].
    fn carry(&mut self, rank: Rank, taint: Taint) {
        let taints = &mut self.causality.taints[rank];
        taints.push(taint);
        if taints.len() > MOST_TAINTS && self.open_taints(rank).len() > MOST_TAINTS {
            self.give_up_causality();
        }
    }

    /// Whether the run's causality is being followed.
    pub(super) fn following_causality(&self) -> bool {
        self.causality.active
    }

    /// A check fired, or the run did something the argument does not cover: the re-run
    /// decides, and following stops.
    pub(super) fn give_up_causality(&mut self) {
        self.causality = Causality { asked: self.causality.asked, ..Causality::default() };
    }

    /// A message `rank` sends now: what it carries (`rank`'s open taints).
    pub(super) fn carried(&mut self, rank: Rank) -> Vec<Taint> {
        if !self.causality.active {
            return Vec::new();
        }
        self.open_taints(rank).to_vec()
    }

    /// `src` goes on past the eager user send of `message` (`env`, to `dst`): it takes on
    /// what the receives already posted there that it may match carried (a strict run would
    /// have held it for one of them), and carries the send's own taint.
    pub(super) fn went_on(&mut self, src: Rank, dst: Rank, message: ReqId, env: &Envelope) {
        if !self.causality.active {
            return;
        }
        let first = ReqId { slot: 0, generation: 0 };
        let mut learnt = Vec::new();
        for (_, posted) in self.causality.posted.range((dst, first)..(dst + 1, first)) {
            if crate::matching::accepts(&posted.filter, env) {
                learnt.extend_from_slice(&posted.taints);
            }
        }
        self.absorb(src, &learnt);
        if self.causality.active {
            self.carry(src, Taint::Send(message));
        }
    }

    /// `rank` posts receive `req`: whether it carries an open taint now, kept with the
    /// receive until a message matches it.
    pub(super) fn posted(&mut self, rank: Rank, req: ReqId, filter: &RecvArgs) -> bool {
        if !self.causality.active || filter.chan.collective || self.open_taints(rank).is_empty() {
            return false;
        }
        let taints = self.causality.taints[rank].clone();
        self.causality.posted.insert((rank, req), PostedTaints { filter: *filter, taints });
        true
    }

    /// A message from `src` is matched by receive `req` of `dst`, which takes on what it
    /// `brought`. `held`: how a strict run would have held the sender; `at_post`: what
    /// `dst` carried when it posted the receive.
    pub(super) fn matched_causally(
        &mut self,
        (src, dst, req): (Rank, Rank, ReqId),
        held: Held,
        at_post: AtPost,
        brought: &[Taint],
    ) {
        if !self.causality.active {
            return;
        }
        let at_post = match at_post {
            AtPost::Nothing => Vec::new(),
            AtPost::Now => self.open_taints(dst).to_vec(),
            AtPost::Kept => self.causality.posted.remove(&(dst, req)).map(|p| p.taints).unwrap_or_default(),
        };
        match held {
            // The `c` of an early edge, with taints open.
            Held::Early if !at_post.is_empty() => return self.give_up_causality(),
            // The sender goes on only now.
            Held::Rendezvous => self.absorb(src, &at_post),
            // An eager sender in time took on these when it sent (`went_on`).
            Held::Early | Held::InTime | Held::Not => {}
        }
        self.absorb(dst, brought);
    }

    /// What a probe saw happened before it returned, as with a receive's message.
    pub(super) fn probed(&mut self, rank: Rank, brought: &[Taint]) {
        if self.causality.active {
            self.absorb(rank, brought);
        }
    }

    /// `rank` begins the blocking collective at `position` of `comm`.
    pub(super) fn began_collective(&mut self, rank: Rank, comm: u32, position: u64) {
        if !self.causality.active {
            return;
        }
        let taints = self.open_taints(rank).to_vec();
        let coll = self.causality.collectives.entry((comm, position)).or_default();
        if coll.left_early && !taints.is_empty() {
            // The `c` of an early leave, with taints open.
            return self.give_up_causality();
        }
        for t in taints {
            if !coll.begun.contains(&t) {
                coll.begun.push(t);
            }
        }
    }

    /// `rank` leaves the blocking collective at `position` of `comm`, of `size` members:
    /// it takes on what they carried when they began it; `early`, some have not begun it
    /// yet, and it carries the leave's own taint.
    pub(super) fn left_collective(&mut self, rank: Rank, comm: u32, position: u64, size: usize, early: bool) {
        if !self.causality.active {
            return;
        }
        let Some(coll) = self.causality.collectives.get_mut(&(comm, position)) else { return };
        coll.left += 1;
        coll.left_early |= early;
        let begun = if coll.left == size {
            self.causality.collectives.remove(&(comm, position)).map(|c| c.begun).unwrap_or_default()
        } else {
            coll.begun.clone()
        };
        self.absorb(rank, &begun);
        if early && self.causality.active {
            self.carry(rank, Taint::Collective { comm, position });
        }
    }

    /// `rank` splits a communicator, so that it waits for every member: beyond the argument
    /// if it carries an open taint.
    pub(super) fn split_causally(&mut self, rank: Rank) {
        if self.causality.active && !self.open_taints(rank).is_empty() {
            self.give_up_causality();
        }
    }
}
