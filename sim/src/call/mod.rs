//! The calls a rank makes of the engine, and the engine's replies.
//!
//! A rank's program never touches engine state: each MPI call suspends the rank's green
//! task with a [`Call`], and the engine resumes it with a [`Reply`] when the call is done.

mod kind;
mod mpi_error;
mod signature;
mod status;

pub use kind::CallKind;
pub use mpi_error::{ErrorClass, MpiError};
pub(crate) use signature::CollSignature;
pub(crate) use status::WORLD_COMM;
pub use status::{Status, ANY_SOURCE, ANY_TAG, PROC_NULL, TAG_UB, UNDEFINED};

use crate::codec::Payload;
use crate::site::CallSite;
use crate::time::Time;
use crate::{Rank, Tag};

/// Point-to-point send modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SendMode {
    /// Eager below the platform's limit, rendezvous above it.
    Standard,
    /// Always rendezvous: completes only once the receive is posted.
    Synchronous,
    /// Always local: copied to a buffer.
    Buffered,
    /// Standard, but erroneous unless the receive is already posted.
    Ready,
}

/// A source filter for receives and probes: a rank, or any.
pub(crate) type Source = Option<Rank>;
/// A tag filter: a tag, or any.
pub(crate) type TagFilter = Option<Tag>;

/// The communicator a message travels in, and which of its two matching contexts:
/// point-to-point, or collective (so collective traffic never matches a user's receive).
/// A message matches a receive only on the same channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Channel {
    pub comm: u32,
    pub collective: bool,
}

/// What a send needs. Ranks are ranks of the channel's communicator.
#[derive(Debug)]
pub(crate) struct SendArgs {
    pub chan: Channel,
    pub dest: Rank,
    pub tag: Tag,
    pub mode: SendMode,
    pub payload: Payload,
}

/// What a receive (or probe) needs. The source is a rank of the channel's communicator
/// until the engine translates it to a world rank.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecvArgs {
    pub chan: Channel,
    pub source: Source,
    pub tag: TagFilter,
}

/// How a wait or test treats its requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitHow {
    All,
    Any,
    Some,
}

/// An engine-side request handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ReqId {
    pub slot: u32,
    pub generation: u32,
}

/// Where a request stands, as a wait or test sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    /// Not started (a persistent request between uses): counts as complete, returns nothing.
    Inactive,
    /// Started and not done.
    Pending,
    /// Done: a wait returns it.
    Done,
}

/// MPI's rule for when a wait or test on requests is satisfied, given how many are active
/// (started, not inactive or null) and how many of those are done: `All` when every active
/// one is done; `Any` and `Some` when one is done, or none is active. Both backends decide
/// waits with this one rule.
pub(crate) fn is_satisfied(active: usize, done: usize, how: WaitHow) -> bool {
    match how {
        WaitHow::All => done == active,
        WaitHow::Any | WaitHow::Some => active == 0 || done > 0,
    }
}

/// The indices of the done requests if requests standing as `standing` (`None`: a null
/// request) satisfy `how` (see [`is_satisfied`]), or `None`. Inactive and null requests
/// count as complete and are not listed.
pub(crate) fn satisfying(standing: impl Iterator<Item = Option<Standing>>, how: WaitHow) -> Option<Vec<usize>> {
    let mut active = 0;
    let mut done = Vec::new();
    for (index, p) in standing.enumerate() {
        match p {
            None | Some(Standing::Inactive) => {}
            Some(Standing::Done) => {
                active += 1;
                done.push(index);
            }
            Some(Standing::Pending) => active += 1,
        }
    }
    is_satisfied(active, done.len(), how).then_some(done)
}

/// One call from a rank to the engine.
#[derive(Debug)]
pub(crate) enum Op {
    /// Start a send; `block` waits for it to complete.
    Send {
        args: SendArgs,
        block: bool,
    },
    /// Post a receive; `block` waits for it to complete.
    Recv {
        args: RecvArgs,
        block: bool,
    },
    /// Send and receive at once, waiting for both.
    Sendrecv {
        send: SendArgs,
        recv: RecvArgs,
    },
    /// Look for a matching message without receiving it.
    Probe {
        args: RecvArgs,
        block: bool,
    },
    /// Create an inactive persistent request.
    SendInit {
        args: SendArgs,
    },
    RecvInit {
        args: RecvArgs,
    },
    /// Start persistent requests; a payload replaces the bound send value.
    Start {
        reqs: Vec<(ReqId, Option<Payload>)>,
    },
    /// Wait for (or, with `block: false`, test) requests; `None` entries are null requests.
    Wait {
        reqs: Vec<Option<ReqId>>,
        how: WaitHow,
        block: bool,
    },
    Cancel {
        req: ReqId,
    },
    Free {
        req: ReqId,
    },
    Compute {
        duration: Time,
    },
    ComputeFlops {
        flops: u64,
    },
    Wtime,
    Print {
        text: String,
    },
    Abort {
        code: i32,
    },
    /// Split a communicator (collective over its members); `color: None` is MPI_UNDEFINED.
    CommSplit {
        comm: u32,
        color: Option<u32>,
        key: i32,
    },
    /// A communicator of this rank alone.
    CommSelf,
    /// A collective operation (the call's kind) begins on `comm`: the point-to-point calls
    /// up to the matching `CollEnd` are its algorithm's steps.
    ///
    /// The engine matches up the collectives of a communicator by position: the k-th
    /// collective every member begins there must have the same kind, `root`, and, where
    /// given, the same `op` (the reduction's name, e.g. `MPI_SUM`) and `count` (what MPI
    /// requires to be equal on every rank, e.g. the element count of a reduction); `None`
    /// is not compared. A mismatch fails the rank with MPI_ERR_OTHER, _ROOT, _OP or _COUNT.
    CollBegin {
        comm: u32,
        root: Option<Rank>,
        bytes: Option<u64>,
        algorithm: &'static str,
        op: Option<&'static str>,
        count: Option<u64>,
    },
    /// The collective begun last on this rank ends.
    CollEnd,
    /// A nonblocking collective (the call's kind) starts: a request that completes when
    /// [`Op::CollDone`] says so, whose algorithm's messages are background requests.
    CollStart {
        algorithm: &'static str,
    },
    /// A round of nonblocking collective `coll`'s algorithm: its receives and sends, as
    /// background requests that progress while the rank is in any later MPI call.
    Post {
        coll: ReqId,
        recvs: Vec<RecvArgs>,
        sends: Vec<SendArgs>,
    },
    /// Nonblocking collective `coll` has its result.
    CollDone {
        coll: ReqId,
    },
    /// Goes back into the call a [`Reply::Progress`] interrupted.
    Resume,
    /// The program found an error of its own making (say, a receive of the wrong type).
    Fail {
        error: MpiError,
    },
}

/// A call with what reports need to say where it came from.
#[derive(Debug)]
pub(crate) struct Call {
    pub kind: CallKind,
    pub site: CallSite,
    pub op: Op,
}

impl Op {
    /// MPI's argument checks of ranks and tags, before anything happens; `comm_size`
    /// gives the size of a communicator by id. Both backends run the same checks.
    #[inline]
    pub(crate) fn validate(&self, comm_size: impl Fn(u32) -> usize) -> Result<(), MpiError> {
        let rank_ok = |r: Rank, n: usize| r < n || r == PROC_NULL;
        let check_send = |a: &SendArgs, n: usize| {
            if !rank_ok(a.dest, n) {
                Err(bad_rank("destination", a.dest, n))
            } else if a.tag < 0 {
                Err(bad_tag(a.tag, false))
            } else {
                Ok(())
            }
        };
        let check_recv = |a: &RecvArgs, n: usize| match (a.source, a.tag) {
            (Some(s), _) if !rank_ok(s, n) => Err(bad_rank("source", s, n)),
            (_, Some(t)) if t < 0 => Err(bad_tag(t, true)),
            _ => Ok(()),
        };
        match self {
            Op::Send { args, .. } | Op::SendInit { args } => check_send(args, comm_size(args.chan.comm)),
            Op::Recv { args, .. } | Op::RecvInit { args } | Op::Probe { args, .. } => {
                check_recv(args, comm_size(args.chan.comm))
            }
            // Both halves are on the send's communicator.
            Op::Sendrecv { send, recv } => {
                let n = comm_size(send.chan.comm);
                check_send(send, n).and_then(|_| check_recv(recv, n))
            }
            _ => Ok(()),
        }
    }
}

#[cold]
fn bad_rank(what: &str, r: Rank, n: usize) -> MpiError {
    MpiError::new(
        ErrorClass::Rank,
        format!(
            "invalid {what} rank {r}: the communicator has {n} rank{} (0 to {}); use one of them, PROC_NULL{}",
            crate::words::plural(n),
            n - 1,
            if what == "source" { " or ANY_SOURCE" } else { "" }
        ),
    )
}

#[cold]
fn bad_tag(t: Tag, recv: bool) -> MpiError {
    MpiError::new(
        ErrorClass::Tag,
        format!(
            "invalid tag {t}: tags run from 0 to {}{}",
            TAG_UB,
            if recv { " (or ANY_TAG to receive any)" } else { "; only receives may use ANY_TAG" }
        ),
    )
}

/// A request handle that is not one of the rank's live requests.
pub(crate) fn stale_request() -> MpiError {
    MpiError::new(
        ErrorClass::Request,
        "this request is not one of this rank's live requests (it was completed, freed, or made by another run)",
    )
}

impl Reply {
    /// The completions of a completing call (wait, test, blocking send or receive).
    pub(crate) fn into_completions(self) -> Vec<Completion> {
        match self {
            Reply::Completed(c) => c,
            Reply::One(c) => vec![c],
            other => unreachable!("a completing call got {other:?}"),
        }
    }

    /// The completion of the call's request number `index` (a sendrecv's receive is 1),
    /// taken without a vector.
    pub(crate) fn into_completion(self, index: usize) -> Option<Completion> {
        match self {
            Reply::One(c) => (c.index == index).then_some(c),
            Reply::Completed(c) => c.into_iter().find(|c| c.index == index),
            other => unreachable!("a completing call got {other:?}"),
        }
    }

    /// The one completion of a blocking single-request call.
    #[inline]
    pub(crate) fn into_single(self) -> Completion {
        match self {
            Reply::One(c) => c,
            other => other.into_completions().into_iter().next().expect("a blocking call completes its request"),
        }
    }
}

/// A communicator as a rank sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CommHandle {
    pub id: u32,
    pub rank: Rank,
    pub size: usize,
}

/// One completed request in a reply: its index in the call's list, status and data.
#[derive(Debug)]
pub(crate) struct Completion {
    pub index: usize,
    pub status: Status,
    pub payload: Option<Payload>,
}

/// The engine's answer to a [`Call`].
#[derive(Debug)]
pub(crate) enum Reply {
    /// Nothing to return.
    Done,
    /// A new request.
    Request(ReqId),
    /// Requests that completed (empty when a test found none).
    Completed(Vec<Completion>),
    /// The one request of a single-request wait completed (no vector on the hot path).
    One(Completion),
    /// A probe's finding.
    Probed(Option<Status>),
    /// The rank's virtual clock.
    Time(Time),
    /// A communicator this rank belongs to (`None`: not a member of any, MPI_COMM_NULL).
    Comm(Option<CommHandle>),
    /// The requests of a [`Op::Post`], receives first.
    Posted(Vec<ReqId>),
    /// The call is not over: these background requests completed. The rank advances its
    /// nonblocking collectives with them, then goes on with [`Op::Resume`] (MPI's
    /// progress rule: a pending collective advances inside any MPI call of its rank).
    Progress(Vec<Background>),
}

/// A completed background request (a step of a nonblocking collective).
#[derive(Debug)]
pub(crate) struct Background {
    pub req: ReqId,
    pub payload: Option<Payload>,
}
