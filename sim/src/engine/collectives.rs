//! Collectives matched by position: what the first member to begin each collective of a
//! communicator passed, checked against every other member's, and, in strict mode, the
//! gate that holds a blocking collective until every member has begun it.

use super::rank::{OpenCollective, RankState, Wait};
use super::{Engine, Flow};
use crate::call::{CallKind, CollSignature, Reply};
use crate::hazard::Reliance;
use crate::site::CallSite;
use crate::Rank;
use std::collections::BTreeMap;

impl Engine<'_> {
    /// `CollBegin`: a collective begins on `comm`. One inside another's algorithm was
    /// matched with the outer one; a user's is matched by position.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn coll_begin(
        &mut self,
        rank: Rank,
        kind: CallKind,
        site: CallSite,
        comm: u32,
        root: Option<Rank>,
        op: Option<&'static str>,
        count: Option<u64>,
        algorithm: &'static str,
    ) -> Flow {
        let world_root = root.map(|r| self.comms[comm as usize].world_rank(r));
        self.ranks[rank].collective.push(OpenCollective { kind, site, comm, root: world_root, algorithm });
        if self.ranks[rank].collective.len() > 1 {
            return Flow::Reply(Reply::Done, self.now);
        }
        self.reliance.collectives += 1;
        if kind.is_nonblocking_collective() {
            // Its rounds progress beside the rank's other calls: beyond the argument.
            self.give_up_causality();
        }
        self.coll_arrive(rank, kind, site, comm, CollSignature { kind, root, op: op.map(Into::into), count })
    }

    /// A rank begins a (user-called) collective on `comm`: checks it against what the
    /// first member to reach the same position there began, and in strict mode holds the
    /// rank until every member has begun it.
    fn coll_arrive(&mut self, rank: Rank, kind: CallKind, site: CallSite, comm: u32, sig: CollSignature) -> Flow {
        let entry = &self.comms[comm as usize];
        let (size, local) = (entry.size, entry.local(rank));
        let log = self.coll_logs.entry(comm).or_insert_with(|| CollLog { begun: vec![0; size], open: BTreeMap::new() });
        let position = log.begun[local];
        log.begun[local] += 1;
        if !kind.is_nonblocking_collective() {
            self.began_collective(rank, comm, position);
        }
        let log = self.coll_logs.get_mut(&comm).expect("just made");
        let at = log.open.entry(position).or_insert_with(|| CollPosition {
            first: sig.clone(),
            first_rank: rank,
            first_site: site,
            arrived: 0,
            gated: Vec::new(),
        });
        if at.first.mismatch(&sig).is_some() {
            let (first_rank, first, first_site) = (at.first_rank, at.first.clone(), at.first_site.site());
            let name = self.comm_name(comm);
            let error = sig.check(&name, position, rank, first_rank, &first, &first_site).expect("they differ");
            return self.fail(rank, kind, site, error);
        }
        at.arrived += 1;
        if at.arrived == size {
            let gated = log.open.remove(&position).expect("just updated").gated;
            for r in gated {
                self.wake(r, Reply::Done);
            }
        } else if self.cfg.strict && !kind.is_nonblocking_collective() {
            at.gated.push(rank);
            self.ranks[rank].state = RankState::Blocked { kind, site, wait: Wait::Gate { comm, position } };
            return Flow::Block;
        }
        Flow::Reply(Reply::Done, self.now)
    }

    /// A rank leaves its (outermost) collective `open`: if some member of its
    /// communicator has not begun it yet, the run relied on a collective not
    /// synchronising. A nonblocking collective's start is never gated, so it does not count.
    pub(super) fn collective_left(&mut self, rank: Rank, open: &OpenCollective) {
        if open.kind.is_nonblocking_collective() {
            return;
        }
        let local = self.comms[open.comm as usize].local(rank);
        let Some(log) = self.coll_logs.get(&open.comm) else { return };
        let position = log.begun[local].saturating_sub(1);
        let early = log.open.contains_key(&position);
        if early {
            self.reliance.early_collectives += 1;
        }
        let size = self.comms[open.comm as usize].size;
        self.left_collective(rank, open.comm, position, size, early);
    }

    /// What a run with zero buffering and synchronising collectives could do otherwise,
    /// or `None` if it is strict already or relied on nothing (see [`crate::hazard`]).
    pub fn reliance(&self) -> Option<Reliance> {
        let proven = self.causality.proven() && !self.reliance.timing;
        let reliance = Reliance { proven, ..self.reliance };
        (!self.cfg.strict && reliance.relied()).then_some(reliance)
    }
}

/// One communicator's collectives, for matching them up across its members.
#[derive(Debug)]
pub(super) struct CollLog {
    /// Per member (rank in the communicator): collectives begun here.
    pub begun: Vec<u64>,
    /// Positions some members have reached and others not yet.
    open: BTreeMap<u64, CollPosition>,
}

impl CollLog {
    /// Whether some member has not yet begun the collective at `position`.
    pub fn is_open(&self, position: u64) -> bool {
        self.open.contains_key(&position)
    }
}

#[derive(Debug)]
struct CollPosition {
    first: CollSignature,
    first_rank: Rank,
    first_site: CallSite,
    arrived: usize,
    /// Ranks held at this position in strict mode.
    gated: Vec<Rank>,
}
