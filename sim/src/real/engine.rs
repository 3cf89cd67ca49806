//! `RealEngine`: the second implementation of the rank/engine protocol of
//! [`call`](crate::call), on a real MPI library. Each [`Op`] is carried out with MPI and
//! answered with the same [`Reply`] the simulator gives, so `Comm`, `Request` and every
//! collective built from point-to-point calls run unchanged.
//!
//! How it maps the protocol onto MPI:
//! - Every communicator is two MPI communicators (split, then duplicated): one for the
//!   program's point-to-point messages, one for collective traffic, as the simulator keeps
//!   two matching contexts. `COMM_WORLD` is a duplicate of `MPI_COMM_WORLD`.
//! - Sends post `MPI_Isend`/`MPI_Issend`/`MPI_Irsend` from a buffer the engine owns until
//!   MPI completes the request (a blocking send with nothing else pending calls
//!   `MPI_Send`/`MPI_Ssend`/`MPI_Rsend` directly). A buffered send is an `MPI_Isend` the
//!   engine keeps alive: the call completes at once, as `MPI_Bsend` does.
//! - A receive's size is unknown until its message is there, so receives are matched by
//!   the engine: it pulls envelopes off MPI with matched probes (`MPI_Improbe`, which
//!   leaves the data, and a rendezvous sender, waiting), keeps them in arrival order, and
//!   gives each to the earliest posted receive it matches (MPI's rules), which then takes
//!   the data with `MPI_Imrecv`. Envelopes that no receive wants yet wait in the engine, so
//!   probes see them. Pulling happens whenever the rank is in a call, and only on
//!   communicators where it has a receive posted.
//! - rsmpi's request objects are scoped and have no persistent requests, `MPI_Testsome` or
//!   `MPI_Test_cancelled`; the engine holds raw `MPI_Request`s next to the buffers they use
//!   (see the SAFETY notes), and persistent requests are engine-side: each start posts a
//!   fresh operation.
//! - A blocked call polls and yields the processor between polls, so a rank that has work
//!   gets the core even when ranks outnumber cores.

use super::signatures::Checks;
use super::snapshot::{self, InCollective, Pending, PendingOp, Publisher};
use super::wire::{self, Names};
use crate::call::{
    satisfying, stale_request, Background, CallKind, Channel, CollSignature, CommHandle, Completion, Op, RecvArgs,
    Reply, ReqId, SendArgs, SendMode, Standing, WaitHow,
};
use crate::call::{ErrorClass, MpiError};
use crate::call::{Status, ANY_TAG, PROC_NULL};
use crate::codec::Payload;
use crate::deadlock::Unreceived;
use crate::error::{RankFailure, SimError};
use crate::platform::Platform;
use crate::site::CallSite;
use crate::time::Time;
use crate::trace::Site;
use crate::world::Warning;
use crate::world::{OutputLine, RunStats};
use crate::{Rank, Tag};
use mpi::ffi;
use mpi::topology::{Color, SimpleCommunicator};
use mpi::traits::*;
use std::cell::RefCell;
use std::collections::BTreeMap;

/// A communicator on real MPI.
struct RealComm {
    /// Point-to-point traffic of the program.
    p2p: SimpleCommunicator,
    /// Collective traffic (a duplicate of `p2p`).
    coll: SimpleCommunicator,
    /// The broadcasts that check collective signatures (another duplicate).
    check: SimpleCommunicator,
    /// The world rank of each member, by rank here.
    world: Vec<Rank>,
}

impl RealComm {
    fn new(p2p: SimpleCommunicator, world_rank: Rank) -> RealComm {
        let (coll, check) = (p2p.duplicate(), p2p.duplicate());
        let mut world = vec![0u64; p2p.size() as usize];
        p2p.all_gather_into(&(world_rank as u64), &mut world[..]);
        RealComm { p2p, coll, check, world: world.into_iter().map(|w| w as Rank).collect() }
    }

    fn raw(&self, collective: bool) -> ffi::MPI_Comm {
        if collective {
            self.coll.as_raw()
        } else {
            self.p2p.as_raw()
        }
    }
}

/// An envelope pulled off MPI by a matched probe: the message waits in MPI until a receive
/// takes it with `MPI_Imrecv`.
struct Envelope {
    chan: Channel,
    message: ffi::MPI_Message,
    source: Rank,
    tag: Tag,
    /// Bytes on the wire, header included.
    wire_len: usize,
}

impl Envelope {
    fn matches(&self, filter: &RecvArgs) -> bool {
        self.chan == filter.chan
            && filter.source.is_none_or(|s| s == self.source)
            && filter.tag.is_none_or(|t| t == self.tag)
    }

    fn status(&self) -> Status {
        Status { source: self.source, tag: self.tag, count: payload_len(self.wire_len), cancelled: false }
    }
}

fn payload_len(wire_len: usize) -> u64 {
    wire_len.saturating_sub(wire::HEADER) as u64
}

enum ReqOp {
    Send {
        chan: Channel,
        dest: Rank,
        tag: Tag,
        mode: SendMode,
        payload: Option<Payload>,
    },
    Recv {
        filter: RecvArgs,
    },
    /// A nonblocking collective: done when its rank says its algorithm has finished.
    Collective,
}

enum ReqState {
    Inactive,
    /// A nonblocking collective whose algorithm is still running.
    Running,
    /// A receive waiting for a matching envelope.
    Posted,
    /// An MPI operation in flight. SAFETY invariant: `buffer` is the memory MPI reads or
    /// writes; it is neither touched nor dropped until MPI completes `request`.
    InFlight {
        request: ffi::MPI_Request,
        buffer: Vec<u8>,
        /// For a receive: the status of its envelope.
        status: Option<Status>,
        /// For a receive: the sender's world rank, which names the value's type.
        world_source: Rank,
    },
    Done(Status, Option<Payload>),
}

struct Req {
    /// The nonblocking collective this request is a step of.
    background: Option<u64>,
    kind: CallKind,
    site: CallSite,
    persistent: bool,
    /// Freed by the program while active: released when it completes.
    freed: bool,
    op: ReqOp,
    state: ReqState,
}

/// A call interrupted so that the program could advance its nonblocking collectives
/// (MPI's progress rule), as the simulator does; `Op::Resume` goes on with it.
enum Parked {
    Wait { keys: Vec<Option<u64>>, how: WaitHow, block: bool },
    Probe { args: RecvArgs, block: bool },
}

/// A send that completes without the program waiting for it (buffered, or freed while
/// active).
struct Detached {
    request: ffi::MPI_Request,
    buffer: Vec<u8>,
}

/// What a failing rank needs to say about the run before it stops the job.
pub(crate) type FailureReport = Box<dyn Fn(&SimError, Time, &RunStats, &[OutputLine]) -> i32>;

/// What the engine hands back when the program has returned.
pub(crate) struct Finished {
    pub time: Time,
    pub stats: RunStats,
    pub output: Vec<OutputLine>,
    pub warnings: Vec<Warning>,
}

struct Inner {
    world_rank: Rank,
    comms: Vec<Option<RealComm>>,
    names: Names,
    requests: BTreeMap<u64, Req>,
    next_request: u64,
    /// Receives waiting for an envelope, in the order they were posted.
    posted: Vec<u64>,
    /// Live steps of nonblocking collectives, oldest first.
    background: Vec<u64>,
    /// A call set aside while the program advances its nonblocking collectives.
    parked: Option<Parked>,
    /// Envelopes no receive has taken yet, in the order they were pulled.
    envelopes: Vec<Envelope>,
    detached: Vec<Detached>,
    clock: super::Clock,
    platform: Platform,
    /// Counts, printed lines, and the wait the rank is blocked in, for its helper thread.
    publisher: Publisher,
    /// The call being handled, for what a blocked wait publishes.
    current: (CallKind, CallSite),
    /// The collectives this rank is inside, innermost last (for failure reports).
    collective: Vec<InCollective>,
    /// Per communicator: collectives begun (the position of the next).
    begun: Vec<u64>,
    checks: Checks,
    report: FailureReport,
}

/// One rank's engine on real MPI. `RankCtx` calls it for every MPI call of the program.
pub(crate) struct RealEngine {
    inner: RefCell<Inner>,
}

impl RealEngine {
    /// An engine for this process, a rank of `world` on `library`; `report` prints a
    /// failure as the run's report and returns its exit code. Starts the rank's helper
    /// thread, which tells what the rank is doing when asked ([`snapshot`]).
    pub fn new(world: &SimpleCommunicator, library: String, platform: Platform, report: FailureReport) -> RealEngine {
        let world_rank = world.rank() as Rank;
        let names = Names::new(world.duplicate());
        let world_comm = RealComm::new(world.duplicate(), world_rank);
        let publisher = Publisher::new();
        publisher.comm_created(world_comm.world.clone());
        let me = snapshot::Identity { rank: world_rank, library, eager_limit: super::mpit::eager_limit(world) };
        let clock = super::Clock::start(world);
        if let Err(e) = snapshot::spawn_helper(publisher.watch(), me, move || clock.now()) {
            eprintln!(
                "warning: rank {world_rank} cannot start the thread that reports where it is blocked ({e}); a \
                 timeout of this run will only say that it hung"
            );
        }
        RealEngine {
            inner: RefCell::new(Inner {
                world_rank,
                comms: vec![Some(world_comm)],
                names,
                requests: BTreeMap::new(),
                next_request: 0,
                posted: Vec::new(),
                background: Vec::new(),
                parked: None,
                envelopes: Vec::new(),
                detached: Vec::new(),
                clock,
                platform,
                publisher,
                current: (CallKind::Wtime, CallSite::here()),
                collective: Vec::new(),
                begun: vec![0],
                checks: Checks::default(),
                report,
            }),
        }
    }

    /// Reports a failure found outside any call (a panic) and stops the job.
    pub fn fail(&self, failure: impl FnOnce(Rank, Time) -> SimError) -> ! {
        let mut inner = self.inner.borrow_mut();
        let error = failure(inner.world_rank, inner.clock.now());
        inner.die(error)
    }

    /// The program has returned: completes what MPI still holds, and returns the rank's
    /// time, counts, printed lines and warnings. Collective over the world.
    pub fn finish(&self) -> Finished {
        let mut inner = self.inner.borrow_mut();
        let time = inner.clock.now();
        inner.publisher.finished();
        inner.progress();
        inner.complete_checks();
        // Once every rank has returned, every message of the run has been sent.
        inner.names.barrier();
        inner.progress();
        let mut warnings = inner.dangling_requests();
        warnings.extend(inner.unreceived());
        inner.names.finish();
        for d in inner.detached.drain(..) {
            // A send the program never completed: MPI may still read its buffer, which is
            // therefore kept for the life of the process.
            let mut request = d.request;
            // SAFETY: the request is live; its buffer is leaked, so never freed under it.
            unsafe { ffi::MPI_Request_free(&mut request) };
            std::mem::forget(d.buffer);
        }
        Finished { time, stats: inner.publisher.stats(), output: inner.publisher.take_output(), warnings }
    }
}

impl crate::comm::Backend for RealEngine {
    /// Carries out one call of the program.
    fn call(&self, kind: CallKind, site: CallSite, op: Op) -> Reply {
        let mut inner = self.inner.borrow_mut();
        inner.publisher.count_call();
        inner.current = (kind, site);
        match inner.handle(kind, site, op) {
            Ok(reply) => reply,
            Err(error) => {
                let failure = RankFailure {
                    rank: inner.world_rank,
                    time: inner.clock.now(),
                    call: Some(inner.user_call(kind)),
                    location: Some(site.site()),
                    error: Some(error),
                    panic: None,
                };
                inner.die(SimError::RankFailed(failure))
            }
        }
    }
}

impl Inner {
    /// The call a failure is reported in: the user's collective if inside one.
    fn user_call(&self, kind: CallKind) -> CallKind {
        self.collective.first().map_or(kind, |c| c.kind)
    }

    fn die(&mut self, error: SimError) -> ! {
        let output = self.publisher.take_output();
        let code = (self.report)(&error, self.clock.now(), &self.publisher.stats(), &output);
        // Give the launcher a moment to forward the report before the job is torn down.
        std::thread::sleep(std::time::Duration::from_millis(100));
        // SAFETY: plain FFI call with the world communicator; it does not return.
        unsafe { ffi::MPI_Abort(ffi::RSMPI_COMM_WORLD, code) };
        unreachable!("MPI_Abort returned")
    }

    fn handle(&mut self, kind: CallKind, site: CallSite, op: Op) -> Result<Reply, MpiError> {
        self.validate(&op)?;
        let now = |s: &Self| s.clock.now();
        Ok(match op {
            Op::Send { args, block } => {
                if block
                    && self.posted.is_empty()
                    && self.background.is_empty()
                    && self.checks.is_empty()
                    && args.mode != SendMode::Buffered
                {
                    self.send_now(kind, site, args);
                    Reply::Completed(vec![Completion { index: 0, status: Status::EMPTY, payload: None }])
                } else {
                    let id = self.new_request(kind, site, send_op(args), false);
                    self.start(id);
                    if block {
                        self.wait(vec![Some(id)], WaitHow::All, true)
                    } else {
                        Reply::Request(req_id(id))
                    }
                }
            }
            Op::Recv { args, block } => {
                let id = self.new_request(kind, site, ReqOp::Recv { filter: args }, false);
                self.start(id);
                if block {
                    self.wait(vec![Some(id)], WaitHow::All, true)
                } else {
                    Reply::Request(req_id(id))
                }
            }
            Op::Sendrecv { send, recv } => {
                let s = self.new_request(kind, site, send_op(send), false);
                let r = self.new_request(kind, site, ReqOp::Recv { filter: recv }, false);
                self.start(s);
                self.start(r);
                self.wait(vec![Some(s), Some(r)], WaitHow::All, true)
            }
            Op::Probe { args, block } => self.probe(args, block),
            Op::SendInit { args } => Reply::Request(req_id(self.new_request(kind, site, send_op(args), true))),
            Op::RecvInit { args } => {
                Reply::Request(req_id(self.new_request(kind, site, ReqOp::Recv { filter: args }, true)))
            }
            Op::Start { reqs } => {
                for (id, payload) in &reqs {
                    let key = self.live(*id)?;
                    let req = self.requests.get_mut(&key).expect("live requests exist");
                    if !req.persistent {
                        return Err(stale_request());
                    }
                    if !matches!(req.state, ReqState::Inactive) {
                        return Err(MpiError::new(
                            ErrorClass::Request,
                            "start of a persistent request that is still active: wait for it (or test it to \
                             completion) before starting it again",
                        ));
                    }
                    if let (Some(p), ReqOp::Send { payload, .. }) = (payload, &mut req.op) {
                        *payload = Some(p.clone());
                    }
                }
                for (id, _) in reqs {
                    self.start(key_of(id));
                }
                Reply::Done
            }
            Op::Wait { reqs, how, block } => {
                let mut keys = Vec::with_capacity(reqs.len());
                for id in &reqs {
                    keys.push(match id {
                        Some(id) => Some(self.live(*id)?),
                        None => None,
                    });
                }
                self.wait(keys, how, block)
            }
            Op::Cancel { req } => {
                let key = self.live(req)?;
                self.cancel(key);
                Reply::Done
            }
            Op::Free { req } => {
                let key = self.live(req)?;
                self.free(key);
                Reply::Done
            }
            Op::Compute { duration } => {
                super::spend_cpu(duration);
                Reply::Done
            }
            Op::ComputeFlops { flops } => {
                super::spend_cpu(self.platform.flops_time(flops));
                Reply::Done
            }
            Op::Wtime => Reply::Time(now(self)),
            Op::Print { text } => {
                let (rank, time) = (self.world_rank, now(self));
                self.publisher.print(text.lines().map(|line| OutputLine { rank, time, text: line.to_string() }));
                Reply::Done
            }
            Op::Abort { code } => {
                self.die(SimError::Aborted { rank: self.world_rank, code, location: site.site(), time: now(self) })
            }
            Op::Fail { error } => return Err(error),
            Op::CommSplit { comm, color, key } => Reply::Comm(self.split(comm, color, key)?),
            Op::CommSelf => {
                let comm = RealComm::new(SimpleCommunicator::self_comm().duplicate(), self.world_rank);
                Reply::Comm(Some(self.add_comm(comm)))
            }
            Op::CollBegin { comm, root, algorithm, op, count, .. } => {
                if self.collective.is_empty() {
                    self.check_collective(CollSignature { kind, root, op: op.map(Into::into), count }, site, comm);
                }
                let root = root.map(|r| self.comm(comm).world[r]);
                self.collective.push(InCollective {
                    kind,
                    location: site.site(),
                    comm,
                    root,
                    algorithm: algorithm.into(),
                });
                Reply::Done
            }
            Op::CollEnd => {
                self.collective.pop();
                Reply::Done
            }
            Op::CollStart { .. } => {
                let key = self.new_request(kind, site, ReqOp::Collective, false);
                self.requests.get_mut(&key).expect("just made").state = ReqState::Running;
                Reply::Request(req_id(key))
            }
            Op::Post { coll, recvs, sends } => {
                let coll = self.live(coll)?;
                let ops = recvs
                    .into_iter()
                    .map(|filter| (CallKind::Irecv, ReqOp::Recv { filter }))
                    .chain(sends.into_iter().map(|s| (CallKind::Isend, send_op(s))));
                let keys: Vec<u64> = ops.map(|(step, op)| self.new_request(step, site, op, false)).collect();
                for &key in &keys {
                    self.requests.get_mut(&key).expect("just made").background = Some(coll);
                    self.background.push(key);
                    self.start(key);
                }
                Reply::Posted(keys.into_iter().map(req_id).collect())
            }
            Op::CollDone { coll } => {
                let key = self.live(coll)?;
                self.requests.get_mut(&key).expect("live").state = ReqState::Done(Status::EMPTY, None);
                Reply::Done
            }
            Op::Resume => match self.parked.take() {
                Some(Parked::Wait { keys, how, block }) => self.wait(keys, how, block),
                Some(Parked::Probe { args, block }) => self.probe(args, block),
                None => return Err(MpiError::new(ErrorClass::Other, "a return into a call that was not interrupted")),
            },
        })
    }

    fn comm(&self, id: u32) -> &RealComm {
        self.comms[id as usize].as_ref().expect("communicator handles name live communicators")
    }

    /// MPI's argument checks, with the simulator's words.
    fn validate(&self, op: &Op) -> Result<(), MpiError> {
        op.validate(|comm| self.comm(comm).world.len())
    }

    /// The engine's key of a request the program holds, if it is live.
    fn live(&self, id: ReqId) -> Result<u64, MpiError> {
        let key = key_of(id);
        if self.requests.contains_key(&key) {
            Ok(key)
        } else {
            Err(stale_request())
        }
    }

    fn new_request(&mut self, kind: CallKind, site: CallSite, op: ReqOp, persistent: bool) -> u64 {
        let key = self.next_request;
        self.next_request += 1;
        let req = Req { background: None, kind, site, persistent, freed: false, op, state: ReqState::Inactive };
        self.requests.insert(key, req);
        key
    }

    /// The payload a send moves: persistent sends keep theirs for the next start.
    fn send_payload(req: &mut Req) -> Payload {
        match &mut req.op {
            ReqOp::Send { payload, .. } if req.persistent => payload.clone(),
            ReqOp::Send { payload, .. } => payload.take(),
            ReqOp::Recv { .. } | ReqOp::Collective => None,
        }
        .expect("sends have data")
    }

    /// Activates a request: a send goes to MPI, a receive waits for its envelope.
    fn start(&mut self, key: u64) {
        let req = self.requests.get_mut(&key).expect("started requests exist");
        let (kind, site) = (req.kind, req.site);
        match req.op {
            ReqOp::Send { chan, dest, tag, mode, .. } => {
                let payload = Self::send_payload(req);
                if dest == PROC_NULL {
                    req.state = ReqState::Done(Status::EMPTY, None);
                    return;
                }
                let (request, buffer) = self.post_send(kind, site, chan, dest, tag, mode, &payload);
                let req = self.requests.get_mut(&key).expect("started requests exist");
                if mode == SendMode::Buffered {
                    self.detached.push(Detached { request, buffer });
                    req.state = ReqState::Done(Status::EMPTY, None);
                } else {
                    req.state = ReqState::InFlight { request, buffer, status: None, world_source: PROC_NULL };
                }
            }
            ReqOp::Recv { filter } => {
                if filter.source == Some(PROC_NULL) {
                    req.state =
                        ReqState::Done(Status { source: PROC_NULL, tag: ANY_TAG, count: 0, cancelled: false }, None);
                    return;
                }
                req.state = ReqState::Posted;
                self.posted.push(key);
                self.match_posted();
            }
            ReqOp::Collective => req.state = ReqState::Running,
        }
    }

    /// Counts a message, makes sure its destination can name its type and site, and frames
    /// it.
    fn prepare_send(
        &mut self,
        kind: CallKind,
        site: CallSite,
        chan: Channel,
        dest: Rank,
        payload: &Payload,
    ) -> Vec<u8> {
        self.publisher.count_message(payload.len());
        let world_dest = self.comm(chan.comm).world[dest];
        self.names.announce_type(payload, world_dest);
        let site_id = self.names.site(kind, site, world_dest);
        wire::frame(payload, site_id)
    }

    /// Posts a nonblocking send; the returned buffer must outlive the request.
    #[allow(clippy::too_many_arguments)]
    fn post_send(
        &mut self,
        kind: CallKind,
        site: CallSite,
        chan: Channel,
        dest: Rank,
        tag: Tag,
        mode: SendMode,
        payload: &Payload,
    ) -> (ffi::MPI_Request, Vec<u8>) {
        let buffer = self.prepare_send(kind, site, chan, dest, payload);
        let comm = self.comm(chan.comm).raw(chan.collective);
        let mut request = unsafe { ffi::RSMPI_REQUEST_NULL };
        let (ptr, len) = (buffer.as_ptr().cast(), buffer.len() as i32);
        let post = match mode {
            SendMode::Standard | SendMode::Buffered => ffi::MPI_Isend,
            SendMode::Synchronous => ffi::MPI_Issend,
            SendMode::Ready => ffi::MPI_Irsend,
        };
        // SAFETY: the buffer is returned to the caller, which keeps it with the request
        // until MPI completes it (see `ReqState::InFlight` and `Detached`).
        unsafe { post(ptr, len, ffi::RSMPI_UINT8_T, dest as i32, tag, comm, &mut request) };
        (request, buffer)
    }

    /// A blocking send when nothing else waits on this rank: straight into MPI.
    fn send_now(&mut self, kind: CallKind, site: CallSite, args: SendArgs) {
        if args.dest == PROC_NULL {
            return;
        }
        let buffer = self.prepare_send(kind, site, args.chan, args.dest, &args.payload);
        let send = Pending {
            op: PendingOp::Send {
                dest: self.comm(args.chan.comm).world[args.dest],
                tag: args.tag,
                bytes: args.payload.len(),
                synchronous: args.mode == SendMode::Synchronous,
            },
            comm: args.chan.comm,
            collective: args.chan.collective,
            request: None,
        };
        self.enter(|w| w.pending.push(send));
        let comm = self.comm(args.chan.comm).raw(args.chan.collective);
        let send = match args.mode {
            SendMode::Standard | SendMode::Buffered => ffi::MPI_Send,
            SendMode::Synchronous => ffi::MPI_Ssend,
            SendMode::Ready => ffi::MPI_Rsend,
        };
        // SAFETY: a blocking send reads `buffer`, alive for the whole call.
        unsafe {
            send(buffer.as_ptr().cast(), buffer.len() as i32, ffi::RSMPI_UINT8_T, args.dest as i32, args.tag, comm)
        };
        self.publisher.leave();
    }

    /// Publishes that the current call is about to block on what `fill` adds to its
    /// pending operations (see [`snapshot`]).
    fn enter(&mut self, fill: impl FnOnce(&mut snapshot::Wait)) {
        let (kind, site) = self.current;
        let collective = self.collective.first().cloned();
        self.publisher.enter(|w| {
            w.call = Some(kind);
            w.location = Some(site.site());
            w.collective = collective;
            w.any = false;
            w.pending.clear();
            fill(w);
        });
    }

    /// What pending request `key` waits for: itself, or a nonblocking collective's
    /// pending steps.
    fn pending_of(&self, key: u64, out: &mut Vec<Pending>) {
        let Some(req) = self.requests.get(&key) else { return };
        let (kind, _) = self.current;
        let request = (req.kind != kind && req.background.is_none()).then(|| (req.kind, req.site.site()));
        let op = match (&req.op, &req.state) {
            (ReqOp::Send { chan, dest, tag, mode, .. }, ReqState::InFlight { buffer, .. }) => Some((
                *chan,
                PendingOp::Send {
                    dest: self.comm(chan.comm).world[*dest],
                    tag: *tag,
                    bytes: payload_len(buffer.len()),
                    synchronous: *mode == SendMode::Synchronous,
                },
            )),
            (ReqOp::Recv { filter }, ReqState::Posted) => Some((
                filter.chan,
                PendingOp::Recv {
                    source: filter.source.map(|s| self.comm(filter.chan.comm).world[s]),
                    tag: filter.tag,
                    matched: false,
                },
            )),
            (ReqOp::Recv { filter }, ReqState::InFlight { world_source, .. }) => {
                Some((filter.chan, PendingOp::Recv { source: Some(*world_source), tag: filter.tag, matched: true }))
            }
            (ReqOp::Collective, ReqState::Running) => {
                for &step in self.background.iter().filter(|s| self.requests[s].background == Some(key)) {
                    self.pending_of(step, out);
                }
                None
            }
            _ => None,
        };
        if let Some((chan, op)) = op {
            out.push(Pending { op, comm: chan.comm, collective: chan.collective, request });
        }
    }

    /// Publishes that the current call blocks on `keys` (see [`snapshot`]).
    fn enter_wait(&mut self, keys: &[Option<u64>], how: WaitHow) {
        let mut pending = Vec::new();
        for &key in keys.iter().flatten() {
            self.pending_of(key, &mut pending);
        }
        self.enter(|w| {
            w.any = how != WaitHow::All;
            w.pending.extend(pending);
        });
    }

    /// Pulls every envelope MPI has on `chan` into the engine, in arrival order.
    fn pull(&mut self, chan: Channel) {
        let comm = self.comm(chan.comm).raw(chan.collective);
        loop {
            let mut flag = 0;
            let mut message = unsafe { ffi::RSMPI_MESSAGE_NULL };
            let mut status = empty_status();
            // SAFETY: plain FFI call with valid out-pointers.
            unsafe {
                ffi::MPI_Improbe(ffi::RSMPI_ANY_SOURCE, ffi::RSMPI_ANY_TAG, comm, &mut flag, &mut message, &mut status)
            };
            if flag == 0 {
                return;
            }
            self.envelopes.push(Envelope {
                chan,
                message,
                source: status.MPI_SOURCE as Rank,
                tag: status.MPI_TAG,
                wire_len: byte_count(&status),
            });
        }
    }

    /// Waits in MPI for the first message matching `filter` and pulls its envelope.
    fn pull_blocking(&mut self, filter: &RecvArgs) {
        let comm = self.comm(filter.chan.comm).raw(filter.chan.collective);
        let source = filter.source.map_or(unsafe { ffi::RSMPI_ANY_SOURCE }, |s| s as i32);
        let tag = filter.tag.unwrap_or(unsafe { ffi::RSMPI_ANY_TAG });
        let mut message = unsafe { ffi::RSMPI_MESSAGE_NULL };
        let mut status = empty_status();
        // SAFETY: plain FFI call with valid out-pointers.
        unsafe { ffi::MPI_Mprobe(source, tag, comm, &mut message, &mut status) };
        self.envelopes.push(Envelope {
            chan: filter.chan,
            message,
            source: status.MPI_SOURCE as Rank,
            tag: status.MPI_TAG,
            wire_len: byte_count(&status),
        });
    }

    /// Gives envelopes to posted receives: each receive, in posting order, takes the
    /// earliest envelope it matches, and starts taking its data.
    fn match_posted(&mut self) {
        let mut i = 0;
        while i < self.posted.len() {
            let key = self.posted[i];
            let filter = match &self.requests[&key].op {
                ReqOp::Recv { filter } => *filter,
                ReqOp::Send { .. } | ReqOp::Collective => unreachable!("only receives are posted"),
            };
            let Some(found) = self.envelopes.iter().position(|e| e.matches(&filter)) else {
                i += 1;
                continue;
            };
            self.posted.remove(i);
            let mut env = self.envelopes.remove(found);
            let mut buffer = vec![0u8; env.wire_len];
            let mut request = unsafe { ffi::RSMPI_REQUEST_NULL };
            // SAFETY: `buffer` moves into the request's state and stays there until MPI
            // completes the request; the message handle is consumed here.
            unsafe {
                ffi::MPI_Imrecv(
                    buffer.as_mut_ptr().cast(),
                    buffer.len() as i32,
                    ffi::RSMPI_UINT8_T,
                    &mut env.message,
                    &mut request,
                )
            };
            let world_source = self.comm(env.chan.comm).world[env.source];
            let req = self.requests.get_mut(&key).expect("posted receives exist");
            req.state = ReqState::InFlight { request, buffer, status: Some(env.status()), world_source };
        }
    }

    /// Moves the engine forward without blocking: pulls envelopes where receives wait,
    /// matches them, completes what MPI has finished, and tests signature checks.
    fn progress(&mut self) {
        let mut chans: Vec<Channel> = Vec::new();
        for key in &self.posted {
            if let ReqOp::Recv { filter } = &self.requests[key].op {
                if !chans.contains(&filter.chan) {
                    chans.push(filter.chan);
                }
            }
        }
        for chan in chans {
            self.pull(chan);
        }
        self.match_posted();
        let in_flight: Vec<u64> = self
            .requests
            .iter()
            .filter(|(_, r)| matches!(r.state, ReqState::InFlight { .. }))
            .map(|(k, _)| *k)
            .collect();
        for key in in_flight {
            self.test(key);
        }
        self.detached.retain_mut(|d| {
            let mut flag = 0;
            // SAFETY: the request is live; its buffer is dropped only once MPI says done.
            unsafe { ffi::MPI_Test(&mut d.request, &mut flag, ffi::RSMPI_STATUS_IGNORE) };
            flag == 0
        });
        self.test_checks();
    }

    /// Tests one in-flight request; if MPI has completed it, records its result.
    fn test(&mut self, key: u64) {
        let req = self.requests.get_mut(&key).expect("tested requests exist");
        let ReqState::InFlight { request, .. } = &mut req.state else {
            return;
        };
        let mut flag = 0;
        let mut raw = empty_status();
        // SAFETY: the request is live and its buffer is in the same state value.
        unsafe { ffi::MPI_Test(request, &mut flag, &mut raw) };
        if flag != 0 {
            self.complete(key, raw);
        }
    }

    /// An in-flight request that MPI completed with `raw`.
    fn complete(&mut self, key: u64, raw: ffi::MPI_Status) {
        let req = self.requests.get_mut(&key).expect("completed requests exist");
        let ReqState::InFlight { buffer, status, world_source, .. } =
            std::mem::replace(&mut req.state, ReqState::Inactive)
        else {
            unreachable!("only in-flight requests complete")
        };
        let mut cancelled = 0;
        // SAFETY: plain FFI call on a status MPI filled in.
        unsafe { ffi::MPI_Test_cancelled(&raw, &mut cancelled) };
        let freed = req.freed;
        let state = match status {
            None => ReqState::Done(Status { cancelled: cancelled != 0, ..Status::EMPTY }, None),
            Some(status) => {
                let (header, bytes) = wire::unframe(buffer).expect("every mpisim message has a header");
                let type_name = self.names.resolve(header.type_id, world_source).unwrap_or("an unnamed type");
                ReqState::Done(status, Some(Payload { bytes, type_name }))
            }
        };
        if freed {
            self.requests.remove(&key);
        } else {
            self.requests.get_mut(&key).expect("completed requests exist").state = state;
        }
    }

    /// Completes `keys` once they satisfy `how`, blocking for it if `block` (else a test
    /// that may find nothing). Completed steps of nonblocking collectives interrupt it: the
    /// program advances them, then resumes the call.
    fn wait(&mut self, keys: Vec<Option<u64>>, how: WaitHow, block: bool) -> Reply {
        let mut entered = false;
        let reply = loop {
            self.progress();
            if let Some(done) = self.try_complete(&keys, how) {
                break Reply::Completed(done);
            }
            if self.has_done_background() {
                let done = self.take_background();
                self.parked = Some(Parked::Wait { keys, how, block });
                break Reply::Progress(done);
            }
            if !block {
                break Reply::Completed(Vec::new());
            }
            if !entered {
                self.enter_wait(&keys, how);
                entered = true;
            }
            self.block_on(&keys, how);
        };
        if entered {
            self.publisher.leave();
        }
        reply
    }

    /// Whether a step of a nonblocking collective has completed and not been handed over.
    fn has_done_background(&self) -> bool {
        self.background.iter().any(|k| matches!(self.requests.get(k).map(|r| &r.state), Some(ReqState::Done(..))))
    }

    /// The completed steps of nonblocking collectives, handed over and released.
    fn take_background(&mut self) -> Vec<Background> {
        let mut done = Vec::new();
        let requests = &mut self.requests;
        self.background.retain(|key| match requests.get(key).map(|r| &r.state) {
            Some(ReqState::Done(..)) => {
                let Some(Req { state: ReqState::Done(_, payload), .. }) = requests.remove(key) else {
                    unreachable!("matched just above")
                };
                done.push(Background { req: req_id(*key), payload });
                false
            }
            Some(_) => true,
            None => false,
        });
        done
    }

    /// Waits for something to happen to `keys`, which do not satisfy `how` yet. When every
    /// one of them must complete and nothing else needs this rank's attention, it blocks in
    /// MPI (for the envelope of the one posted receive, or for an operation in flight);
    /// otherwise it yields the processor and the caller polls again.
    fn block_on(&mut self, keys: &[Option<u64>], how: WaitHow) {
        // Blocked in MPI, the rank could not post its collectives' next rounds, nor see a
        // signature check fail.
        if how == WaitHow::All && self.background.is_empty() && self.checks.is_empty() {
            match self.posted[..] {
                [key] if keys.contains(&Some(key)) => {
                    if let ReqOp::Recv { filter } = self.requests[&key].op {
                        self.pull_blocking(&filter);
                        return;
                    }
                }
                [] => {
                    let in_flight =
                        keys.iter().flatten().copied().find(|k| {
                            self.requests.get(k).is_some_and(|r| matches!(r.state, ReqState::InFlight { .. }))
                        });
                    if let Some(key) = in_flight {
                        self.wait_in_mpi(key);
                        return;
                    }
                }
                _ => {}
            }
        }
        std::thread::yield_now();
    }

    /// Blocks in `MPI_Wait` for one in-flight request and records its result.
    fn wait_in_mpi(&mut self, key: u64) {
        let req = self.requests.get_mut(&key).expect("waited requests exist");
        let ReqState::InFlight { request, .. } = &mut req.state else {
            return;
        };
        let mut raw = empty_status();
        // SAFETY: the request is live and its buffer is in the same state value.
        unsafe { ffi::MPI_Wait(request, &mut raw) };
        self.complete(key, raw);
    }

    /// If `keys` satisfy `how`, completes them (taking their status and data), as the
    /// simulator does: inactive and null requests count as complete and return nothing;
    /// `Any` takes the first complete request.
    fn try_complete(&mut self, keys: &[Option<u64>], how: WaitHow) -> Option<Vec<Completion>> {
        let standing = keys.iter().map(|key| {
            key.and_then(|k| self.requests.get(&k)).map(|req| match req.state {
                ReqState::Inactive => Standing::Inactive,
                ReqState::Done(..) => Standing::Done,
                _ => Standing::Pending,
            })
        });
        let mut chosen = satisfying(standing, how)?;
        if how == WaitHow::Any {
            chosen.truncate(1);
        }
        Some(
            chosen
                .into_iter()
                .map(|index| {
                    let key = keys[index].expect("done requests are not null");
                    let req = self.requests.get_mut(&key).expect("done requests exist");
                    let ReqState::Done(status, payload) = std::mem::replace(&mut req.state, ReqState::Inactive) else {
                        unreachable!("only done requests complete")
                    };
                    if !req.persistent {
                        self.requests.remove(&key);
                    }
                    Completion { index, status, payload }
                })
                .collect(),
        )
    }

    /// A probe: the earliest envelope no receive has taken that matches `args`.
    fn probe(&mut self, args: RecvArgs, block: bool) -> Reply {
        if args.source == Some(PROC_NULL) {
            return Reply::Probed(Some(Status { source: PROC_NULL, tag: ANY_TAG, count: 0, cancelled: false }));
        }
        let mut entered = false;
        let reply = loop {
            self.progress();
            self.pull(args.chan);
            self.match_posted();
            if let Some(env) = self.envelopes.iter().find(|e| e.matches(&args)) {
                break Reply::Probed(Some(env.status()));
            }
            if self.has_done_background() {
                self.parked = Some(Parked::Probe { args, block });
                break Reply::Progress(self.take_background());
            }
            if !block {
                break Reply::Probed(None);
            }
            if !entered {
                let probe = Pending {
                    op: PendingOp::Probe {
                        source: args.source.map(|s| self.comm(args.chan.comm).world[s]),
                        tag: args.tag,
                    },
                    comm: args.chan.comm,
                    collective: args.chan.collective,
                    request: None,
                };
                self.enter(|w| w.pending.push(probe));
                entered = true;
            }
            if self.posted.is_empty() && self.background.is_empty() && self.checks.is_empty() {
                self.pull_blocking(&args);
            } else {
                std::thread::yield_now();
            }
        };
        if entered {
            self.publisher.leave();
        }
        reply
    }

    fn cancel(&mut self, key: u64) {
        let req = self.requests.get_mut(&key).expect("checked by the caller");
        match &mut req.state {
            ReqState::Posted => {
                // Not matched yet: the receive is the engine's alone, so it can go.
                self.posted.retain(|k| *k != key);
                let status = Status { cancelled: true, ..Status::EMPTY };
                self.requests.get_mut(&key).expect("exists").state = ReqState::Done(status, None);
            }
            // A send MPI may still cancel; a matched receive completes normally.
            ReqState::InFlight { request, status: None, .. } => {
                // SAFETY: the request is live.
                unsafe { ffi::MPI_Cancel(request) };
            }
            _ => {}
        }
    }

    fn free(&mut self, key: u64) {
        let req = self.requests.get_mut(&key).expect("checked by the caller");
        match &req.state {
            ReqState::Posted => {
                // A freed receive still takes its message when one comes.
                req.freed = true;
            }
            ReqState::InFlight { status: None, .. } => {
                let Some(Req { state: ReqState::InFlight { request, buffer, .. }, .. }) = self.requests.remove(&key)
                else {
                    unreachable!("matched just above")
                };
                self.detached.push(Detached { request, buffer });
            }
            ReqState::InFlight { .. } | ReqState::Running => req.freed = true,
            ReqState::Inactive | ReqState::Done(..) => {
                self.requests.remove(&key);
            }
        }
    }

    /// `MPI_Comm_split` of communicator `comm`; `None` for `MPI_UNDEFINED` ranks.
    fn split(&mut self, comm: u32, color: Option<u32>, key: i32) -> Result<Option<CommHandle>, MpiError> {
        let color = match color {
            None => Color::undefined(),
            Some(c) => match i32::try_from(c) {
                Ok(c) => Color::with_value(c),
                Err(_) => {
                    return Err(MpiError::new(
                        ErrorClass::Arg,
                        format!(
                            "color {c} is too large for MPI, whose colors are non-negative C ints; use 0 to {}",
                            i32::MAX
                        ),
                    ))
                }
            },
        };
        self.gather_for_collective(comm);
        let Some(new) = self.comm(comm).p2p.split_by_color_with_key(color, key) else {
            return Ok(None);
        };
        let comm = RealComm::new(new, self.world_rank);
        Ok(Some(self.add_comm(comm)))
    }

    /// A new communicator of this rank: its handle, the next id.
    fn add_comm(&mut self, comm: RealComm) -> CommHandle {
        let (rank, size) = (comm.p2p.rank() as Rank, comm.world.len());
        let id = self.comms.len() as u32;
        self.publisher.comm_created(comm.world.clone());
        self.comms.push(Some(comm));
        self.begun.push(0);
        CommHandle { id, rank, size }
    }

    /// A user's collective begins on `comm`: counts its position there and posts the
    /// check of its signature against the communicator's rank 0 ([`Checks`]).
    fn check_collective(&mut self, sig: CollSignature, site: CallSite, comm: u32) {
        let position = self.begun[comm as usize];
        self.begun[comm as usize] += 1;
        self.publisher.collective_begun(comm);
        let c = self.comm(comm);
        let (raw, size, first) = (c.check.as_raw(), c.world.len(), c.world[0]);
        let me_first = first == self.world_rank;
        self.checks.post(raw, size, comm, position, first, me_first, sig, site);
    }

    /// Tests the pending signature checks; a mismatch fails the rank in its collective.
    fn test_checks(&mut self) {
        if self.checks.is_empty() {
            return;
        }
        if let Some(m) = self.checks.test(self.world_rank) {
            let failure = RankFailure {
                rank: self.world_rank,
                time: self.clock.now(),
                call: Some(m.kind),
                location: Some(m.site.site()),
                error: Some(m.error),
                panic: None,
            };
            self.die(SimError::RankFailed(failure))
        }
    }

    /// Waits for every pending signature check: the program has returned, and a mismatch
    /// found now is still the program's error.
    fn complete_checks(&mut self) {
        while !self.checks.is_empty() {
            self.progress();
            if !self.checks.is_empty() {
                std::thread::yield_now();
            }
        }
    }

    /// Waits, making progress, until every member of `comm` has reached the same point.
    /// A blocking MPI collective such as `MPI_Comm_split` does not match the receives the
    /// engine holds, so a member blocked in it could keep a peer's synchronous send to one
    /// of them from completing; once all members are here, none of them waits on such a
    /// send any more.
    fn gather_for_collective(&mut self, comm: u32) {
        let raw = self.comm(comm).coll.as_raw();
        let position = self.publisher.split_begun(comm);
        let (kind, site) = self.current;
        self.publisher.enter(|w| {
            w.call = Some(kind);
            w.location = Some(site.site());
            w.collective = None;
            w.any = false;
            w.pending.clear();
            w.pending.push(Pending { op: PendingOp::Join { position }, comm, collective: true, request: None });
        });
        let mut request = unsafe { ffi::RSMPI_REQUEST_NULL };
        // SAFETY: a nonblocking barrier has no buffer; the request is completed below.
        unsafe { ffi::MPI_Ibarrier(raw, &mut request) };
        loop {
            self.progress();
            let mut flag = 0;
            // SAFETY: the request is live until the test completes it.
            unsafe { ffi::MPI_Test(&mut request, &mut flag, ffi::RSMPI_STATUS_IGNORE) };
            if flag != 0 {
                self.publisher.leave();
                return;
            }
            std::thread::yield_now();
        }
    }

    fn dangling_requests(&self) -> Vec<Warning> {
        self.requests
            .values()
            .filter(|r| r.background.is_none())
            .filter(|r| !(r.freed || r.persistent && matches!(r.state, ReqState::Inactive)))
            .map(|r| Warning::DanglingRequest { rank: self.world_rank, call: r.kind, location: r.site.site() })
            .collect()
    }

    /// Messages that reached this rank and were never received, taken off MPI so that
    /// nothing is pending at `MPI_Finalize`.
    fn unreceived(&mut self) -> Vec<Warning> {
        for id in 0..self.comms.len() as u32 {
            if self.comms[id as usize].is_some() {
                for collective in [false, true] {
                    self.pull(Channel { comm: id, collective });
                }
            }
        }
        let mut warnings = Vec::new();
        for mut env in std::mem::take(&mut self.envelopes) {
            let source = self.comm(env.chan.comm).world[env.source];
            let mut sink = vec![0u8; env.wire_len];
            // SAFETY: a blocking matched receive into a buffer of the message's size.
            unsafe {
                ffi::MPI_Mrecv(
                    sink.as_mut_ptr().cast(),
                    sink.len() as i32,
                    ffi::RSMPI_UINT8_T,
                    &mut env.message,
                    ffi::RSMPI_STATUS_IGNORE,
                )
            };
            let sent = wire::peek(&sink)
                .and_then(|h| self.names.resolve(h.site_id, source))
                .and_then(wire::parse_site)
                .unwrap_or((CallKind::Send, Site { file: "an unknown site".into(), line: 0, column: 0 }));
            warnings.push(Warning::Unreceived(Unreceived {
                rank: self.world_rank,
                source,
                tag: env.tag,
                bytes: payload_len(env.wire_len),
                call: sent.0,
                location: sent.1,
                comm: env.chan.comm,
                comm_name: None,
            }));
        }
        warnings
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Requests still in flight when the engine goes (the program left them): MPI may
        // still use their buffers, which are kept for the life of the process.
        for req in std::mem::take(&mut self.requests).into_values() {
            if let ReqState::InFlight { mut request, buffer, .. } = req.state {
                // SAFETY: the request is live; its buffer is leaked, never freed under it.
                unsafe { ffi::MPI_Request_free(&mut request) };
                std::mem::forget(buffer);
            }
        }
    }
}

fn send_op(args: SendArgs) -> ReqOp {
    ReqOp::Send { chan: args.chan, dest: args.dest, tag: args.tag, mode: args.mode, payload: Some(args.payload) }
}

fn req_id(key: u64) -> ReqId {
    ReqId { slot: key as u32, generation: (key >> 32) as u32 }
}

fn key_of(id: ReqId) -> u64 {
    u64::from(id.generation) << 32 | u64::from(id.slot)
}

fn empty_status() -> ffi::MPI_Status {
    // SAFETY: MPI_Status is a plain C struct of integers; all zeroes is a valid value.
    unsafe { std::mem::zeroed() }
}

fn byte_count(status: &ffi::MPI_Status) -> usize {
    let mut count = 0;
    // SAFETY: plain FFI call on a status MPI filled in.
    unsafe { ffi::MPI_Get_count(status, ffi::RSMPI_UINT8_T, &mut count) };
    count.max(0) as usize
}
