//! Communicators: their members, splits and dups, and `COMM_SELF`; and how each was made,
//! which is what reports call it (`dup of COMM_WORLD at ring.rs:12`).

use super::rank::{RankState, Wait};
use super::{Engine, Flow};
use crate::call::{CallKind, CommHandle, Reply, PROC_NULL};
use crate::site::CallSite;
use crate::Rank;
use std::collections::BTreeMap;

/// A communicator: its members as world ranks, indexed by their rank in it.
#[derive(Debug)]
pub(super) struct CommEntry {
    /// `None` for `COMM_WORLD`, whose ranks are the world ranks.
    members: Option<Vec<Rank>>,
    /// World rank to rank in this communicator (empty for `COMM_WORLD`).
    local: BTreeMap<Rank, Rank>,
    pub size: usize,
    /// Per member (by rank here): how many splits it has called on this communicator.
    pub splits_called: Vec<u32>,
    /// Splits in progress: (sequence number, the callers so far as (rank, color, key)).
    splits: BTreeMap<u32, Vec<(Rank, Option<u32>, i32)>>,
    /// How it was made.
    origin: Origin,
    /// Where each caller of a split in progress called it, by sequence number and rank.
    split_sites: BTreeMap<(u32, Rank), CallSite>,
}

/// How a communicator was made: `MPI_Comm_dup` or `MPI_Comm_split` of a parent, at the
/// call site of the new communicator's rank 0, or `COMM_SELF`.
#[derive(Debug, Clone, Copy)]
enum Origin {
    World,
    Dup { parent: u32, site: CallSite },
    Split { parent: u32, color: u32, site: CallSite },
    SelfOf { rank: Rank },
}

/// Parents named inside a name, at most: deeper ones are `communicator N`.
const NAME_DEPTH: usize = 2;

/// A site in a communicator's name, short since the name recurs in every line about it:
/// `ring.rs:12` (the calls' own lines give the whole path and column).
fn short_site(site: CallSite) -> String {
    let site = site.site();
    let file = site.file.rsplit(['/', '\\']).next().unwrap_or(&site.file);
    format!("{file}:{}", site.line)
}

impl CommEntry {
    /// `COMM_WORLD` of `n` ranks.
    pub fn world(n: usize) -> CommEntry {
        CommEntry::new(None, n, Origin::World)
    }

    fn new(members: Option<Vec<Rank>>, size: usize, origin: Origin) -> CommEntry {
        let local = members.iter().flatten().enumerate().map(|(i, &w)| (w, i)).collect();
        CommEntry {
            members,
            local,
            size,
            splits_called: vec![0; size],
            splits: BTreeMap::new(),
            origin,
            split_sites: BTreeMap::new(),
        }
    }

    /// The world rank of `rank` here (`PROC_NULL` stays).
    pub fn world_rank(&self, rank: Rank) -> Rank {
        match &self.members {
            Some(m) if rank != PROC_NULL => m[rank],
            _ => rank,
        }
    }

    /// The rank here of world rank `world`.
    pub fn local(&self, world: Rank) -> Rank {
        match &self.members {
            Some(_) => self.local.get(&world).copied().unwrap_or(world),
            None => world,
        }
    }
}

impl Engine<'_> {
    /// A rank calls `MPI_Comm_split`: it waits until every member has; the last one makes
    /// the new communicators (one per color, ranked by key, then old rank) and wakes all.
    pub(super) fn split(
        &mut self,
        world_rank: Rank,
        kind: CallKind,
        site: CallSite,
        comm: u32,
        color: Option<u32>,
        key: i32,
    ) -> Flow {
        self.split_causally(world_rank);
        let entry = &mut self.comms[comm as usize];
        let rank = entry.local(world_rank);
        let seq = entry.splits_called[rank];
        entry.splits_called[rank] += 1;
        entry.split_sites.insert((seq, rank), site);
        let callers = entry.splits.entry(seq).or_default();
        callers.push((rank, color, key));
        if callers.len() < entry.size {
            self.ranks[world_rank].state = RankState::Blocked { kind, site, wait: Wait::Split { comm, seq } };
            return Flow::Block;
        }
        let callers = entry.splits.remove(&seq).expect("just filled");
        let sites: BTreeMap<Rank, CallSite> =
            callers.iter().filter_map(|&(r, ..)| entry.split_sites.remove(&(seq, r)).map(|site| (r, site))).collect();
        let mut groups: BTreeMap<u32, Vec<(i32, Rank)>> = BTreeMap::new();
        for &(r, color, key) in &callers {
            if let Some(c) = color {
                groups.entry(c).or_default().push((key, r));
            }
        }
        let mut handles: BTreeMap<Rank, CommHandle> = BTreeMap::new();
        for (color, mut members) in groups {
            members.sort();
            let parent = &self.comms[comm as usize];
            let world: Vec<Rank> = members.iter().map(|&(_, r)| parent.world_rank(r)).collect();
            let id = self.comms.len() as u32;
            for (new_rank, &w) in world.iter().enumerate() {
                handles.insert(w, CommHandle { id, rank: new_rank, size: world.len() });
            }
            let size = world.len();
            let site = sites.get(&members[0].1).copied().unwrap_or(site);
            let origin = match kind {
                CallKind::CommDup => Origin::Dup { parent: comm, site },
                _ => Origin::Split { parent: comm, color, site },
            };
            self.comms.push(CommEntry::new(Some(world), size, origin));
        }
        let parent = &self.comms[comm as usize];
        let others: Vec<Rank> =
            callers.iter().map(|&(r, ..)| parent.world_rank(r)).filter(|&w| w != world_rank).collect();
        for w in others {
            self.wake(w, Reply::Comm(handles.get(&w).copied()));
        }
        Flow::Reply(Reply::Comm(handles.get(&world_rank).copied()), self.now)
    }

    /// `COMM_SELF` of `rank`: a communicator of that rank alone.
    pub(super) fn comm_self(&mut self, rank: Rank) -> Flow {
        self.comms.push(CommEntry::new(Some(vec![rank]), 1, Origin::SelfOf { rank }));
        let id = (self.comms.len() - 1) as u32;
        Flow::Reply(Reply::Comm(Some(CommHandle { id, rank: 0, size: 1 })), self.now)
    }

    /// What reports call communicator `comm`: `COMM_WORLD`, `dup of COMM_WORLD at
    /// ring.rs:12`, `split of COMM_WORLD by color 1 at ring.rs:14`, `COMM_SELF of rank 2`;
    /// a parent that is itself made is named in parentheses.
    pub(super) fn comm_name(&self, comm: u32) -> String {
        self.comm_name_at(comm, 0)
    }

    fn comm_name_at(&self, comm: u32, depth: usize) -> String {
        let Some(entry) = self.comms.get(comm as usize).filter(|_| depth <= NAME_DEPTH) else {
            return crate::words::comm_name(comm);
        };
        let parent = |p: u32| match self.comms.get(p as usize).map(|e| e.origin) {
            Some(Origin::World | Origin::SelfOf { .. }) => self.comm_name_at(p, depth + 1),
            _ if depth + 1 > NAME_DEPTH => crate::words::comm_name(p),
            _ => format!("({})", self.comm_name_at(p, depth + 1)),
        };
        match entry.origin {
            Origin::World => crate::words::comm_name(0),
            Origin::Dup { parent: p, site } => format!("dup of {} at {}", parent(p), short_site(site)),
            Origin::Split { parent: p, color, site } => {
                format!("split of {} by color {color} at {}", parent(p), short_site(site))
            }
            Origin::SelfOf { rank } => format!("COMM_SELF of rank {rank}"),
        }
    }

    /// The members of communicator `comm`, as world ranks.
    pub(super) fn members(&self, comm: u32) -> Vec<Rank> {
        let entry = &self.comms[comm as usize];
        match &entry.members {
            Some(members) => members.clone(),
            None => (0..entry.size).collect(),
        }
    }

    /// The members of `comm` (world ranks) that have not yet reached position `seq` of
    /// its splits or collectives, as counted by `called`.
    pub(super) fn missing(&self, comm: u32, called: impl Fn(Rank) -> u64, seq: u64) -> Vec<Rank> {
        let entry = &self.comms[comm as usize];
        (0..entry.size).filter(|&r| called(r) <= seq).map(|r| entry.world_rank(r)).collect()
    }
}
