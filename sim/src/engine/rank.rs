//! What the engine knows of each rank: its clock, what it is blocked in, the collectives it
//! is inside, and its network interface.

use crate::call::{CallKind, RecvArgs, Reply, ReqId, WaitHow};
use crate::site::CallSite;
use crate::time::Time;
use crate::Rank;
use std::collections::BTreeMap;

/// What a blocked rank waits for.
#[derive(Debug)]
pub(super) enum Wait {
    Requests {
        reqs: ReqList,
        how: WaitHow,
    },
    Probe {
        filter: RecvArgs,
    },
    /// A communicator split, until every member has called it.
    Split {
        comm: u32,
        seq: u32,
    },
    /// In strict mode, a blocking collective until every member has begun it.
    Gate {
        comm: u32,
        position: u64,
    },
}

/// The requests a wait is on. A blocking call's one request or a sendrecv's two are kept in
/// place: blocking is the hot path of every message, and a vector there was an allocation
/// and a free per call.
#[derive(Debug)]
pub(super) enum ReqList {
    /// Up to two requests: the first `len` entries.
    Inline { reqs: [Option<ReqId>; 2], len: u8 },
    /// A sendrecv's send and receive. Its reply is the receive's completion alone, as
    /// `MPI_Sendrecv` returns one status: a reply of two completions would need a vector,
    /// or a `Reply` twice the size, copied on every call.
    Sendrecv([Option<ReqId>; 2]),
    /// A program's list (`MPI_Waitall` and its kin), as it gave it.
    Heap(Vec<Option<ReqId>>),
}

impl ReqList {
    /// The list of `reqs`, in place when there are at most two.
    pub fn of(reqs: &[Option<ReqId>]) -> ReqList {
        match *reqs {
            [] => ReqList::Inline { reqs: [None; 2], len: 0 },
            [a] => ReqList::Inline { reqs: [a, None], len: 1 },
            [a, b] => ReqList::Inline { reqs: [a, b], len: 2 },
            _ => ReqList::Heap(reqs.to_vec()),
        }
    }
}

impl From<Vec<Option<ReqId>>> for ReqList {
    fn from(reqs: Vec<Option<ReqId>>) -> ReqList {
        ReqList::Heap(reqs)
    }
}

impl ReqList {
    /// The one request a wait is on, with its index in the call's completions: a blocking
    /// call's own, or the receive of a sendrecv whose eager send needed no request (index
    /// 1, as `MPI_Sendrecv` numbers its halves). `None` for any other list.
    pub fn single(&self) -> Option<(usize, ReqId)> {
        match self {
            ReqList::Sendrecv([None, Some(recv)]) => Some((1, *recv)),
            ReqList::Sendrecv(_) => None,
            _ => match **self {
                [Some(id)] => Some((0, id)),
                _ => None,
            },
        }
    }
}

impl std::ops::Deref for ReqList {
    type Target = [Option<ReqId>];

    fn deref(&self) -> &[Option<ReqId>] {
        match self {
            ReqList::Inline { reqs, len } => &reqs[..usize::from(*len)],
            ReqList::Sendrecv(reqs) => reqs,
            ReqList::Heap(reqs) => reqs,
        }
    }
}

#[derive(Debug)]
pub(super) enum RankState {
    Ready,
    Blocked { kind: CallKind, site: CallSite, wait: Wait },
    Done,
}

/// A collective the rank is inside: what the user called, and how.
#[derive(Debug, Clone, Copy)]
pub(super) struct OpenCollective {
    pub kind: CallKind,
    /// The user's call site.
    pub site: CallSite,
    pub comm: u32,
    /// The root, as a world rank.
    pub root: Option<Rank>,
    pub algorithm: &'static str,
}

/// A blocking call set aside while its rank advances its nonblocking collectives (MPI's
/// progress rule); [`Op::Resume`](crate::call::Op::Resume) takes it up again.
#[derive(Debug)]
pub(super) struct Parked {
    pub kind: CallKind,
    pub site: CallSite,
    pub wait: Wait,
    /// Whether the call blocks (a test that finds nothing returns instead).
    pub block: bool,
    /// The call whose `Leave` is still to come.
    pub in_call: Option<CallKind>,
    /// A reply another rank made for it meanwhile (the last member of a split, say).
    pub reply: Option<Reply>,
}

#[derive(Debug)]
pub(super) struct RankSlot {
    pub clock: Time,
    pub state: RankState,
    pub reply: Option<Reply>,
    /// The call the rank is in, for its `Leave` event.
    pub in_call: Option<CallKind>,
    /// Blocked, with a resume scheduled that will make the reply to its wait.
    pub woken: bool,
    /// The blocking call set aside while the rank advances its nonblocking collectives
    /// (boxed: rare, and some 160 bytes that every message would otherwise skip over).
    pub parked: Option<Box<Parked>>,
    /// Live background requests (rounds of nonblocking collectives), oldest first.
    pub background: Vec<ReqId>,
    /// The collectives the rank is inside, innermost last.
    pub collective: Vec<OpenCollective>,
    /// When this rank's NIC can inject its next message (LogGP injection serialisation).
    pub nic_free: Time,
    /// Visibility time of the last envelope sent to each destination: keeps messages
    /// between a pair of ranks in order (non-overtaking).
    pub channel: BTreeMap<Rank, Time>,
    /// The last wildcard receive that matched: (sender, where it was posted).
    pub last_wildcard: Option<(Rank, CallSite)>,
    /// Whether the rank's last call was a poll that found nothing.
    pub polling: bool,
    /// Polls that found nothing, and the last of them.
    pub polls: u64,
    pub last_poll: Option<(CallKind, CallSite)>,
    /// Virtual time this rank has spent in `compute` calls.
    pub computed: Time,
    /// The rank's last call, for what it was doing when a limit stopped the run.
    pub last_call: Option<(CallKind, CallSite)>,
}

impl Default for RankSlot {
    fn default() -> RankSlot {
        RankSlot {
            clock: Time::ZERO,
            state: RankState::Ready,
            reply: None,
            in_call: None,
            woken: false,
            parked: None,
            background: Vec::new(),
            collective: Vec::new(),
            nic_free: Time::ZERO,
            channel: BTreeMap::new(),
            last_wildcard: None,
            polling: false,
            polls: 0,
            last_poll: None,
            computed: Time::ZERO,
            last_call: None,
        }
    }
}
