//! The proxy rank: the program the engine runs for each rank of a Python script. It reads
//! the rank's requests off its pipe and makes each call through the ordinary [`Comm`],
//! attributed to the script's line ([`Comm::with_site`]), so matching, collectives'
//! algorithms and the cost model are the engine's own. A reduction of Python objects is a
//! [`UserOp`] whose function asks the rank's process to apply the operator.
//!
//! Invariant: the proxy holds no borrow of the process while it is inside a call, since a
//! reduction's operator borrows it to talk to the process.

use super::process::{describe_exit, Pool, RankProcess};
use super::values::{payload_len, Buffer, Fixed, Pickle, Width};
use super::wire::{self, How, Mode, Raised, ReduceKind, Request, VERSION};
use crate::comm::RankCtx;
use crate::site::CallSite;
use crate::{
    CallKind, Comm, ErrorClass, MpiError, Rank, ReduceOp, Request as MpiRequest, Status, Tag, UserOp, ANY_SOURCE,
    ANY_TAG, PROC_NULL, UNDEFINED,
};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::rc::Rc;

/// What a request moves when it completes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Moves {
    /// A send: nothing comes back.
    Nothing,
    /// A lowercase receive: a pickle.
    Object,
    /// An uppercase receive into a buffer of this many bytes.
    Bytes(u64),
}

struct Pending {
    req: MpiRequest,
    moves: Moves,
}

/// The rank's process, shared with the operators of its reductions.
type Process = Rc<RefCell<RankProcess>>;

/// The program of every rank of a script: starts (or takes) the rank's process and
/// serves it until the script ends.
pub(crate) fn serve(pool: &Pool, comm: &Comm) {
    let script = pool.script();
    let start = CallSite::script(script, 0);
    let process = match pool.take(comm.rank(), comm.size()) {
        Ok(p) => p,
        Err(e) => comm.ctx.fail_at(CallKind::Compute, start, MpiError::new(ErrorClass::Other, e.to_string())),
    };
    let mut proxy = Proxy {
        world: comm,
        comms: Vec::new(),
        pending: Vec::new(),
        process: Rc::new(RefCell::new(process)),
        site: start,
        measure: pool.measures(),
    };
    proxy.serve();
}

struct Proxy<'a> {
    world: &'a Comm,
    /// Communicators made by Split and Dup: the script's id `i` is `comms[i - 1]` (0 is
    /// the world). `None` for a rank left out of a split.
    comms: Vec<Comm>,
    /// Requests by the script's id (its index); `None` once completed or freed.
    pending: Vec<Option<Pending>>,
    process: Process,
    /// The site of the call in progress (or the last one).
    site: CallSite,
    /// `--measure`: charge the CPU time each call says the rank spent before it.
    measure: bool,
}

/// A reply: its header and payloads.
type Reply = (Value, Vec<Vec<u8>>);

fn empty() -> Reply {
    (json!({}), Vec::new())
}

impl Proxy<'_> {
    fn ctx(&self) -> &RankCtx {
        &self.world.ctx
    }

    /// Fails the rank at the call in progress.
    fn fail(&self, kind: CallKind, class: ErrorClass, message: impl Into<String>) -> ! {
        self.ctx().fail_at(kind, self.site, MpiError::new(class, message))
    }

    fn serve(&mut self) {
        match self.next() {
            (Request::Hello { v }, ..) if v == VERSION => {}
            (Request::Hello { v }, ..) => self.fail(
                CallKind::Compute,
                ErrorClass::Other,
                format!("the rank's mpi4py speaks protocol version {v}, this mpisim version {VERSION}"),
            ),
            (other, ..) => self.fail(
                CallKind::Compute,
                ErrorClass::Other,
                format!("the rank's process began with {other:?} instead of its greeting"),
            ),
        }
        loop {
            let (request, blobs, cpu) = self.next();
            if matches!(request, Request::Exit) {
                let status = self.process.borrow_mut().wait();
                if let Err(e) = status {
                    self.fail(CallKind::Compute, ErrorClass::Other, format!("waiting for the rank's process: {e}"));
                }
                return;
            }
            let (header, out) = self.handle(request, blobs, cpu);
            let blobs: Vec<&[u8]> = out.iter().map(Vec::as_slice).collect();
            let written = self.process.borrow_mut().write(&header, &blobs);
            if written.is_err() {
                self.died();
            }
        }
    }

    /// The next request from the process (an exception fails the rank here), and the CPU
    /// time it spent before it (0 unless `--measure`).
    fn next(&mut self) -> (Request, Vec<Vec<u8>>, f64) {
        let frame = self.process.borrow_mut().read();
        match frame {
            Ok(Some(frame)) => match serde_json::from_slice::<Request>(&frame.header) {
                Ok(Request::Raise(raised)) => raise(self.ctx(), self.site, &raised),
                Ok(request) => {
                    let cpu = if self.measure { wire::measured_cpu(&frame.header) } else { 0.0 };
                    (request, frame.blobs, cpu)
                }
                Err(e) => self.fail(
                    CallKind::Compute,
                    ErrorClass::Other,
                    format!(
                        "the rank's process sent a request mpisim does not understand ({e}): {}",
                        String::from_utf8_lossy(&frame.header)
                    ),
                ),
            },
            Ok(None) => self.died(),
            Err(e) => self.fail(CallKind::Compute, ErrorClass::Other, format!("reading from the rank's process: {e}")),
        }
    }

    /// The process went away without saying why.
    fn died(&self) -> ! {
        died(self.ctx(), self.site, &self.process)
    }

    fn comm(&self, id: u32) -> &Comm {
        match id {
            0 => self.world,
            i => self.comms.get(i as usize - 1).unwrap_or_else(|| {
                self.fail(CallKind::Compute, ErrorClass::Comm, format!("no communicator {i}: it was never made"))
            }),
        }
    }

    /// A rank of the script (`-1` any source, `-2` the null process) as the engine's.
    fn rank(&self, kind: CallKind, value: i64) -> Rank {
        match value {
            -1 => ANY_SOURCE,
            -2 => PROC_NULL,
            v if v >= 0 => v as Rank,
            v => self.fail(
                kind,
                ErrorClass::Rank,
                format!("{v} is not a rank: give 0..size-1, MPI.PROC_NULL, or MPI.ANY_SOURCE in a receive"),
            ),
        }
    }

    fn tag(&self, kind: CallKind, value: i64) -> Tag {
        Tag::try_from(value).unwrap_or_else(|_| {
            self.fail(kind, ErrorClass::Tag, format!("tag {value} is out of range: give 0..=MPI.TAG_UB (2147483647)"))
        })
    }

    fn root(&self, kind: CallKind, value: i64) -> Rank {
        usize::try_from(value).unwrap_or_else(|_| {
            self.fail(kind, ErrorClass::Root, format!("root {value} is not a rank of the communicator"))
        })
    }

    fn one_blob(&self, kind: CallKind, blobs: Vec<Vec<u8>>) -> Vec<u8> {
        blobs.into_iter().next().unwrap_or_else(|| {
            self.fail(kind, ErrorClass::Other, "the rank's process sent no data with a call that needs it")
        })
    }

    /// A receive's payload checked against the buffer it goes into.
    fn fits(&self, kind: CallKind, data: &[u8], cap: Option<u64>, status: &Status) {
        if let Some(cap) = cap.filter(|&c| data.len() as u64 > c) {
            self.fail(
                kind,
                ErrorClass::Truncate,
                format!(
                    "a message of {} bytes from rank {} with tag {} does not fit the receive buffer of {cap} bytes; \
                     receive into a buffer at least as large as the message",
                    data.len(),
                    status.source,
                    status.tag
                ),
            );
        }
    }

    fn handle(&mut self, request: Request, blobs: Vec<Vec<u8>>, cpu: f64) -> Reply {
        let Some(at) = request.at() else {
            self.fail(
                CallKind::Compute,
                ErrorClass::Other,
                format!("the rank's process sent {request:?} where it should make a call"),
            )
        };
        self.site = CallSite::script(&at.0, at.1);
        let world = self.world;
        world.with_site(self.site, || {
            if cpu > 0.0 {
                // The rank's own computation since its last call, measured (--measure).
                world.compute(std::time::Duration::from_secs_f64(cpu));
            }
            self.call(request, blobs)
        })
    }

    fn call(&mut self, request: Request, blobs: Vec<Vec<u8>>) -> Reply {
        use Request as R;
        match request {
            R::Print { text, .. } => {
                self.world.print(text);
                empty()
            }
            R::Sleep { s, .. } => {
                if !(s.is_finite() && s >= 0.0) {
                    self.fail(
                        CallKind::Compute,
                        ErrorClass::Arg,
                        format!("time.sleep({s}): sleep length must be a number ≥ 0"),
                    );
                }
                self.world.compute(std::time::Duration::from_secs_f64(s));
                empty()
            }
            R::Wtime { .. } => (json!({ "t": self.world.wtime() }), Vec::new()),
            R::Send { c, dest, tag, mode, obj, nb, .. } => {
                let kind = send_kind(mode, nb);
                let (dest, tag) = (self.rank(kind, dest), self.tag(kind, tag));
                let data = self.one_blob(kind, blobs);
                let comm = self.comm(c);
                if nb {
                    let req = match (obj, mode) {
                        (true, Mode::Sync) => comm.issend(&Pickle(data), dest, tag),
                        (true, _) => comm.isend(&Pickle(data), dest, tag),
                        (false, Mode::Sync) => comm.issend(&Buffer(data), dest, tag),
                        (false, _) => comm.isend(&Buffer(data), dest, tag),
                    };
                    return self.keep(req, Moves::Nothing);
                }
                match (obj, mode) {
                    (true, Mode::Std) => comm.send(&Pickle(data), dest, tag),
                    (true, Mode::Sync) => comm.ssend(&Pickle(data), dest, tag),
                    (true, Mode::Buffered) => comm.bsend(&Pickle(data), dest, tag),
                    (true, Mode::Ready) => comm.rsend(&Pickle(data), dest, tag),
                    (false, Mode::Std) => comm.send(&Buffer(data), dest, tag),
                    (false, Mode::Sync) => comm.ssend(&Buffer(data), dest, tag),
                    (false, Mode::Buffered) => comm.bsend(&Buffer(data), dest, tag),
                    (false, Mode::Ready) => comm.rsend(&Buffer(data), dest, tag),
                }
                empty()
            }
            R::Recv { c, source, tag, obj, cap, nb, .. } => {
                let kind = if nb { CallKind::Irecv } else { CallKind::Recv };
                let (source, tag) = (self.rank(kind, source), self.tag(kind, tag));
                let comm = self.comm(c);
                if nb {
                    let req = comm.irecv(source, tag);
                    return self.keep(req, if obj { Moves::Object } else { Moves::Bytes(cap.unwrap_or(u64::MAX)) });
                }
                let (data, status) = if source == PROC_NULL {
                    let ((), status) = comm.recv_status(source, tag);
                    (None, status)
                } else if obj {
                    let (p, status): (Pickle, Status) = comm.recv_status(source, tag);
                    (Some(p.0), status)
                } else {
                    let (b, status): (Buffer, Status) = comm.recv_status(source, tag);
                    (Some(b.0), status)
                };
                self.received(kind, data, cap, status)
            }
            R::Sendrecv { c, dest, stag, source, rtag, obj, cap, .. } => {
                let kind = CallKind::Sendrecv;
                let (dest, stag) = (self.rank(kind, dest), self.tag(kind, stag));
                let (source, rtag) = (self.rank(kind, source), self.tag(kind, rtag));
                let data = self.one_blob(kind, blobs);
                let comm = self.comm(c);
                let (got, status) = match (source == PROC_NULL, obj) {
                    (true, true) => {
                        let ((), s) = comm.sendrecv_status(&Pickle(data), dest, stag, source, rtag);
                        (None, s)
                    }
                    (true, false) => {
                        let ((), s) = comm.sendrecv_status(&Buffer(data), dest, stag, source, rtag);
                        (None, s)
                    }
                    (false, true) => {
                        let (p, s): (Pickle, Status) = comm.sendrecv_status(&Pickle(data), dest, stag, source, rtag);
                        (Some(p.0), s)
                    }
                    (false, false) => {
                        let (b, s): (Buffer, Status) = comm.sendrecv_status(&Buffer(data), dest, stag, source, rtag);
                        (Some(b.0), s)
                    }
                };
                self.received(kind, got, cap, status)
            }
            R::Probe { c, source, tag, block, .. } => {
                let kind = if block { CallKind::Probe } else { CallKind::Iprobe };
                let (source, tag) = (self.rank(kind, source), self.tag(kind, tag));
                let comm = self.comm(c);
                let found = if block { Some(comm.probe(source, tag)) } else { comm.iprobe(source, tag) };
                (json!({ "s": found.map(|s| status_json(&s, payload_len(s.count))) }), Vec::new())
            }
            R::Wait { r, how, block, one, .. } => self.wait(&r, how, block, one),
            R::Start { r, bind, one, .. } => {
                let kind = if one { CallKind::Start } else { CallKind::Startall };
                let mut data = blobs.into_iter();
                let mut taken = Vec::with_capacity(r.len());
                for (i, id) in r.iter().enumerate() {
                    let Some(mut p) = self.pending.get_mut(*id as usize).and_then(Option::take) else {
                        self.fail(kind, ErrorClass::Request, "start of a request that was freed or is not persistent");
                    };
                    if bind.get(i).copied().unwrap_or(false) {
                        let bytes = data.next().unwrap_or_default();
                        p.req.bind(&Buffer(bytes));
                    }
                    taken.push((*id, p));
                }
                let mut reqs: Vec<MpiRequest> = Vec::with_capacity(taken.len());
                let mut moves = Vec::with_capacity(taken.len());
                let mut ids = Vec::with_capacity(taken.len());
                for (id, p) in taken {
                    ids.push(id);
                    moves.push(p.moves);
                    reqs.push(p.req);
                }
                match (one, reqs.as_mut_slice()) {
                    (true, [req]) => req.start(),
                    _ => self.world.startall(&mut reqs),
                }
                for ((id, req), moves) in ids.into_iter().zip(reqs).zip(moves) {
                    self.pending[id as usize] = Some(Pending { req, moves });
                }
                empty()
            }
            R::SendInit { c, dest, tag, .. } => {
                let kind = CallKind::SendInit;
                let (dest, tag) = (self.rank(kind, dest), self.tag(kind, tag));
                let data = self.one_blob(kind, blobs);
                let req = self.comm(c).send_init(&Buffer(data), dest, tag);
                self.keep(req, Moves::Nothing)
            }
            R::RecvInit { c, source, tag, cap, .. } => {
                let kind = CallKind::RecvInit;
                let (source, tag) = (self.rank(kind, source), self.tag(kind, tag));
                let req = self.comm(c).recv_init(source, tag);
                self.keep(req, Moves::Bytes(cap.unwrap_or(u64::MAX)))
            }
            R::Cancel { r, .. } => {
                if let Some(Some(p)) = self.pending.get_mut(r as usize) {
                    p.req.cancel();
                }
                empty()
            }
            R::Free { r, .. } => {
                if let Some(p) = self.pending.get_mut(r as usize).and_then(Option::take) {
                    p.req.free();
                }
                empty()
            }
            R::Barrier { c, .. } => {
                self.comm(c).barrier();
                empty()
            }
            R::Bcast { c, root, obj, cap, .. } => {
                let root = self.root(CallKind::Bcast, root);
                let comm = self.comm(c);
                let mine = (comm.rank() == root).then(|| self.one_blob(CallKind::Bcast, blobs));
                let got = if obj {
                    comm.bcast(mine.map(Pickle).as_ref(), root).0
                } else {
                    let got = comm.bcast(mine.map(Buffer).as_ref(), root).0;
                    self.fits_block(CallKind::Bcast, &got, cap, root);
                    got
                };
                (json!({}), vec![got])
            }
            R::Scatter { c, root, obj, cap, .. } => {
                let root = self.root(CallKind::Scatter, root);
                let comm = self.comm(c);
                let at_root = comm.rank() == root;
                let got = if obj {
                    let values: Vec<Pickle> = blobs.into_iter().map(Pickle).collect();
                    comm.scatter(at_root.then_some(values.as_slice()), root).0
                } else {
                    let values: Vec<Buffer> = blobs.into_iter().map(Buffer).collect();
                    let got = comm.scatter(at_root.then_some(values.as_slice()), root).0;
                    self.fits_block(CallKind::Scatter, &got, cap, root);
                    got
                };
                (json!({}), vec![got])
            }
            R::Gather { c, root, obj, .. } => {
                let root = self.root(CallKind::Gather, root);
                let data = self.one_blob(CallKind::Gather, blobs);
                let comm = self.comm(c);
                let got = if obj {
                    comm.gather(&Pickle(data), root).map(|all| all.into_iter().map(|p| p.0).collect())
                } else {
                    comm.gather(&Buffer(data), root).map(|all| all.into_iter().map(|b| b.0).collect())
                };
                (json!({}), got.unwrap_or_default())
            }
            R::Allgather { c, obj, .. } => {
                let data = self.one_blob(CallKind::Allgather, blobs);
                let comm = self.comm(c);
                let got: Vec<Vec<u8>> = if obj {
                    comm.allgather(&Pickle(data)).into_iter().map(|p| p.0).collect()
                } else {
                    comm.allgather(&Buffer(data)).into_iter().map(|b| b.0).collect()
                };
                (json!({}), got)
            }
            R::Alltoall { c, obj, .. } => {
                let comm = self.comm(c);
                let got: Vec<Vec<u8>> = if obj {
                    let values: Vec<Pickle> = blobs.into_iter().map(Pickle).collect();
                    comm.alltoall(&values).into_iter().map(|p| p.0).collect()
                } else {
                    let values: Vec<Buffer> = blobs.into_iter().map(Buffer).collect();
                    comm.alltoall(&values).into_iter().map(|b| b.0).collect()
                };
                (json!({}), got)
            }
            R::Scatterv { c, root, counts, cap, .. } => {
                let kind = CallKind::Scatterv;
                let root = self.root(kind, root);
                let comm = self.comm(c);
                let at_root = comm.rank() == root;
                // A rank other than the root knows only its own count, as in MPI; the
                // engine's scatterv (linear, as MPICH's) needs no other.
                let counts = self.counts(kind, comm, counts.filter(|_| at_root), cap.unwrap_or(0));
                let data: Vec<u8> = blobs.concat();
                let got = comm.scatterv(at_root.then_some(data.as_slice()), &counts, root);
                (json!({}), vec![got])
            }
            R::Gatherv { c, root, counts, .. } => {
                let kind = CallKind::Gatherv;
                let root = self.root(kind, root);
                let data = self.one_blob(kind, blobs);
                let comm = self.comm(c);
                let counts = self.counts(kind, comm, counts.filter(|_| comm.rank() == root), data.len() as u64);
                let got = comm.gatherv(&data, &counts, root);
                (json!({}), got.map(|all| split_by(&all, &counts)).unwrap_or_default())
            }
            R::Allgatherv { c, counts, .. } => {
                let kind = CallKind::Allgatherv;
                let data = self.one_blob(kind, blobs);
                let comm = self.comm(c);
                let counts = self.counts(kind, comm, Some(counts), 0);
                let all = comm.allgatherv(&data, &counts);
                (json!({}), split_by(&all, &counts))
            }
            R::Reduce { c, kind, operator: op, root, obj, commute, dtype, .. } => {
                let call = match kind {
                    ReduceKind::Reduce => CallKind::Reduce,
                    ReduceKind::Allreduce => CallKind::Allreduce,
                    ReduceKind::Scan => CallKind::Scan,
                    ReduceKind::Exscan => CallKind::Exscan,
                };
                let root = root.map(|r| self.root(call, r));
                let data = self.one_blob(call, blobs);
                let comm = self.comm(c);
                let got = if obj {
                    let applier = Applier {
                        world: Comm { ctx: self.world.ctx.clone(), handle: self.world.handle },
                        process: self.process.clone(),
                        site: self.site,
                        kind: call,
                    };
                    let op = UserOp::new(move |a: &Pickle, b: &Pickle| Pickle(applier.apply(a, b)), commute).named(op);
                    reduce(comm, kind, &Pickle(data), op, root).map(|p| p.0)
                } else {
                    let op = ReduceOp::ALL.into_iter().find(|o| o.mpi_name() == op).unwrap_or_else(|| {
                        self.fail(call, ErrorClass::Op, format!("{op} is not one of MPI's predefined operators"))
                    });
                    let dtype = dtype.unwrap_or_default();
                    let reduced = match dtype.as_str() {
                        "i1" => reduce_buffer::<i8>(comm, kind, &data, op, root),
                        "u1" => reduce_buffer::<u8>(comm, kind, &data, op, root),
                        "i2" => reduce_buffer::<i16>(comm, kind, &data, op, root),
                        "u2" => reduce_buffer::<u16>(comm, kind, &data, op, root),
                        "i4" => reduce_buffer::<i32>(comm, kind, &data, op, root),
                        "u4" => reduce_buffer::<u32>(comm, kind, &data, op, root),
                        "i8" => reduce_buffer::<i64>(comm, kind, &data, op, root),
                        "u8" => reduce_buffer::<u64>(comm, kind, &data, op, root),
                        "f4" => reduce_buffer::<f32>(comm, kind, &data, op, root),
                        "f8" => reduce_buffer::<f64>(comm, kind, &data, op, root),
                        "b1" => reduce_buffer::<bool>(comm, kind, &data, op, root),
                        other => {
                            self.fail(call, ErrorClass::Type, format!("no reduction for elements of type `{other}`"))
                        }
                    };
                    reduced.unwrap_or_else(|width| {
                        self.fail(
                            call,
                            ErrorClass::Count,
                            format!("a buffer of {} bytes is not a whole number of {width}-byte elements", data.len()),
                        )
                    })
                };
                (json!({}), got.into_iter().collect())
            }
            R::Split { c, color, key, .. } => {
                let kind = CallKind::CommSplit;
                let color = match color {
                    -32766 => UNDEFINED,
                    c if (0..i64::from(u32::MAX)).contains(&c) => c as u32,
                    c => self.fail(kind, ErrorClass::Arg, format!("color {c}: give a color ≥ 0, or MPI.UNDEFINED")),
                };
                let key = i32::try_from(key)
                    .unwrap_or_else(|_| self.fail(kind, ErrorClass::Arg, format!("key {key} is out of range")));
                let made = self.comm(c).split(color, key);
                self.made(made)
            }
            R::Dup { c, .. } => {
                let made = Some(self.comm(c).dup());
                self.made(made)
            }
            R::SelfComm { .. } => {
                let made = Some(self.world.self_comm());
                self.made(made)
            }
            R::Abort { code, .. } => self.world.abort(code),
            R::Hello { .. } | R::Exit | R::Raise(_) | R::Applied => unreachable!("not a call: handled before"),
        }
    }

    /// The counts (in bytes) of a v-collective: all of them where the script gave them,
    /// else this rank's own (`mine`) and zeros.
    fn counts(&self, kind: CallKind, comm: &Comm, given: Option<Vec<u64>>, mine: u64) -> Vec<usize> {
        let counts = given.unwrap_or_else(|| {
            let mut c = vec![0; comm.size()];
            c[comm.rank()] = mine;
            c
        });
        counts
            .into_iter()
            .map(|n| usize::try_from(n).unwrap_or_else(|_| self.fail(kind, ErrorClass::Count, "a count beyond memory")))
            .collect()
    }

    fn fits_block(&self, kind: CallKind, data: &[u8], cap: Option<u64>, root: Rank) {
        self.fits(kind, data, cap, &Status { source: root, tag: ANY_TAG, count: data.len() as u64, cancelled: false })
    }

    fn received(&self, kind: CallKind, data: Option<Vec<u8>>, cap: Option<u64>, status: Status) -> Reply {
        match data {
            Some(data) => {
                self.fits(kind, &data, cap, &status);
                (json!({ "s": status_json(&status, data.len() as u64) }), vec![data])
            }
            None => (json!({ "s": status_json(&status, 0) }), Vec::new()),
        }
    }

    fn keep(&mut self, req: MpiRequest, moves: Moves) -> Reply {
        self.pending.push(Some(Pending { req, moves }));
        (json!({ "req": self.pending.len() - 1 }), Vec::new())
    }

    fn made(&mut self, made: Option<Comm>) -> Reply {
        match made {
            Some(comm) => {
                let (rank, size) = (comm.rank(), comm.size());
                self.comms.push(comm);
                (json!({ "comm": self.comms.len(), "rank": rank, "size": size }), Vec::new())
            }
            None => (json!({ "comm": null }), Vec::new()),
        }
    }

    /// A wait or test: the script's requests `r` (nulls and unknown ids are null
    /// requests, which MPI skips).
    fn wait(&mut self, r: &[Option<u64>], how: How, block: bool, one: bool) -> Reply {
        let mut index = Vec::new();
        let mut reqs = Vec::new();
        let mut moves = Vec::new();
        for (i, id) in r.iter().enumerate() {
            if let Some(p) = id.and_then(|id| self.pending.get_mut(id as usize)).and_then(Option::take) {
                index.push((i, id.expect("a live request has an id") as usize));
                moves.push(p.moves);
                reqs.push(p.req);
            }
        }
        let world = self.world;
        let done: Option<Vec<(usize, Status)>> = match (one, how, block) {
            (true, _, true) => Some(reqs.first_mut().map(|q| vec![(0, q.wait())]).unwrap_or_default()),
            (true, _, false) => Some(reqs.first_mut().and_then(|q| q.test()).map(|s| vec![(0, s)]).unwrap_or_default()),
            (false, How::All, true) => Some(world.waitall(&mut reqs).into_iter().enumerate().collect()),
            (false, How::All, false) => world.testall(&mut reqs).map(|all| all.into_iter().enumerate().collect()),
            (false, How::Any, true) => Some(world.waitany(&mut reqs).into_iter().collect()),
            (false, How::Any, false) => Some(world.testany(&mut reqs).into_iter().collect()),
            (false, How::Some, true) => Some(world.waitsome(&mut reqs)),
            (false, How::Some, false) => Some(world.testsome(&mut reqs)),
        };
        let kind = match (one, how, block) {
            (true, _, true) => CallKind::Wait,
            (true, _, false) => CallKind::Test,
            (false, How::All, b) => [CallKind::Testall, CallKind::Waitall][usize::from(b)],
            (false, How::Any, b) => [CallKind::Testany, CallKind::Waitany][usize::from(b)],
            (false, How::Some, b) => [CallKind::Testsome, CallKind::Waitsome][usize::from(b)],
        };
        let mut entries = Vec::new();
        let mut blobs = Vec::new();
        let completed: Vec<(usize, Status)> = done.clone().unwrap_or_default();
        for &(k, status) in &completed {
            let data = match moves[k] {
                _ if status.source == PROC_NULL || status.cancelled => None,
                Moves::Nothing => None,
                Moves::Object => Some(reqs[k].value::<Pickle>().0),
                Moves::Bytes(cap) => {
                    let data = reqs[k].value::<Buffer>().0;
                    self.fits(kind, &data, Some(cap), &status);
                    Some(data)
                }
            };
            let count = data.as_ref().map_or(0, |d| d.len() as u64);
            let mut entry = vec![json!(index[k].0)];
            entry.extend(status_fields(&status, count));
            entry.push(json!(data.is_some()));
            entries.push(Value::Array(entry));
            blobs.extend(data);
        }
        // Requests still pending, and persistent ones, stay; completed ones are gone.
        for (k, req) in reqs.into_iter().enumerate() {
            if !req.is_null() {
                self.pending[index[k].1] = Some(Pending { req, moves: moves[k] });
            }
        }
        (json!({ "done": done.map(|_| entries) }), blobs)
    }
}

fn send_kind(mode: Mode, nonblocking: bool) -> CallKind {
    match (mode, nonblocking) {
        (Mode::Std, false) => CallKind::Send,
        (Mode::Sync, false) => CallKind::Ssend,
        (Mode::Buffered, false) => CallKind::Bsend,
        (Mode::Ready, false) => CallKind::Rsend,
        (Mode::Sync, true) => CallKind::Issend,
        (_, true) => CallKind::Isend,
    }
}

/// `[source, tag, bytes, cancelled]`, as the shim's Status takes them.
fn status_fields(s: &Status, bytes: u64) -> [Value; 4] {
    let source = if s.source == PROC_NULL { json!(-2) } else { json!(s.source) };
    [source, json!(s.tag), json!(bytes), json!(s.cancelled)]
}

fn status_json(s: &Status, bytes: u64) -> Value {
    Value::Array(status_fields(s, bytes).into())
}

/// Splits a v-collective's result into each rank's block.
fn split_by(all: &[u8], counts: &[usize]) -> Vec<Vec<u8>> {
    let mut at = 0;
    counts
        .iter()
        .map(|&n| {
            let block = all[at.min(all.len())..(at + n).min(all.len())].to_vec();
            at += n;
            block
        })
        .collect()
}

fn reduce<T: Clone, O: crate::coll::ops::Operator<T>>(
    comm: &Comm,
    kind: ReduceKind,
    value: &T,
    op: O,
    root: Option<Rank>,
) -> Option<T> {
    match kind {
        ReduceKind::Reduce => comm.reduce(value, op, root.unwrap_or(0)),
        ReduceKind::Allreduce => Some(comm.allreduce(value, op)),
        ReduceKind::Scan => Some(comm.scan(value, op)),
        ReduceKind::Exscan => comm.exscan(value, op),
    }
}

/// A reduction of a buffer of `T`s with MPI's operator, element by element; `Err` is the
/// element width the buffer's length is not a multiple of.
fn reduce_buffer<T: Width>(
    comm: &Comm,
    kind: ReduceKind,
    data: &[u8],
    op: ReduceOp,
    root: Option<Rank>,
) -> Result<Option<Vec<u8>>, usize> {
    let elements = Fixed::<T>::elements(data).ok_or(T::WIDTH)?;
    Ok(reduce(comm, kind, &elements, op, root).map(|e| Fixed::bytes(&e)))
}

/// What the operator of a reduction of Python objects needs: the rank (its world
/// communicator), its process, and the reduction's site and kind.
struct Applier {
    world: Comm,
    process: Process,
    site: CallSite,
    kind: CallKind,
}

impl Applier {
    /// `a ∘ b` of two pickles, applied by the rank's process (mpi4py applies Python's
    /// operators to Python objects). The operator may print; an exception in it fails the
    /// rank, and so does an MPI call, which MPI forbids in an operator.
    fn apply(&self, a: &Pickle, b: &Pickle) -> Vec<u8> {
        let ctx = &*self.world.ctx;
        if self.process.borrow_mut().write(&json!({ "apply": true }), &[&a.0, &b.0]).is_err() {
            died(ctx, self.site, &self.process);
        }
        loop {
            let answer = self.process.borrow_mut().read();
            let frame = match answer {
                Ok(Some(frame)) => frame,
                Ok(None) | Err(_) => died(ctx, self.site, &self.process),
            };
            match serde_json::from_slice::<Request>(&frame.header) {
                Ok(Request::Applied) => return frame.blobs.into_iter().next().unwrap_or_default(),
                Ok(Request::Raise(raised)) => raise(ctx, self.site, &raised),
                Ok(Request::Print { at, text }) => {
                    self.world.with_site(CallSite::script(&at.0, at.1), || self.world.print(text));
                    if self.process.borrow_mut().write(&json!({}), &[]).is_err() {
                        died(ctx, self.site, &self.process);
                    }
                }
                other => ctx.fail_at(
                    self.kind,
                    self.site,
                    MpiError::new(
                        ErrorClass::Other,
                        match other {
                            Ok(call) => format!(
                                "the operator of this reduction made an MPI call ({}{}); an operator must not call MPI",
                                call.name(),
                                call.at().map_or(String::new(), |(file, line)| format!(" at {file}:{line}"))
                            ),
                            Err(e) => format!("the rank's process answered a reduction with {e}"),
                        },
                    ),
                ),
            }
        }
    }
}

/// Fails the rank with the script's uncaught exception, at the traceback's innermost line.
fn raise(ctx: &RankCtx, site: CallSite, raised: &Raised) -> ! {
    let site = raised.frames.last().map_or(site, |(file, line, _)| CallSite::script(file, *line));
    let kind = raised.within.as_deref().map_or(CallKind::Compute, call_kind);
    let mut message = format!("{}: {}", raised.kind, raised.message);
    if raised.kind == "ModuleNotFoundError" && raised.message.contains("'numpy'") {
        message += " (install numpy for this interpreter: pip install numpy, or apt-get install python3-numpy)";
    }
    if raised.frames.len() > 1 {
        let path: Vec<String> =
            raised.frames.iter().map(|(file, line, func)| format!("{file}:{line} in {func}")).collect();
        message += &format!("; traceback: {}", path.join(" → "));
    }
    ctx.fail_at(kind, site, MpiError::new(ErrorClass::Other, format!("uncaught Python exception {message}")))
}

/// Fails the rank whose process ended without a word: how it ended. (Its end of the
/// pipes closed, so it has exited or is exiting: waiting for it does not block.)
fn died(ctx: &RankCtx, site: CallSite, process: &Process) -> ! {
    let (pid, status) = {
        let mut p = process.borrow_mut();
        (p.pid(), p.wait().ok())
    };
    ctx.fail_at(
        CallKind::Compute,
        site,
        MpiError::new(
            ErrorClass::Other,
            format!(
                "the rank's Python process (pid {pid}) ended without a traceback ({}); its error output, if any, is \
                 above",
                describe_exit(status)
            ),
        ),
    )
}

/// The call an mpi4py method makes, for reports of exceptions raised inside it.
fn call_kind(method: &str) -> CallKind {
    use CallKind::*;
    match method.to_ascii_lowercase().as_str() {
        "send" => Send,
        "ssend" => Ssend,
        "bsend" => Bsend,
        "rsend" => Rsend,
        "recv" => Recv,
        "sendrecv" | "sendrecv_replace" => Sendrecv,
        "isend" => Isend,
        "issend" => Issend,
        "irecv" => Irecv,
        "probe" => Probe,
        "iprobe" => Iprobe,
        "send_init" => SendInit,
        "recv_init" => RecvInit,
        "start" => Start,
        "startall" => Startall,
        "wait" => Wait,
        "waitall" => Waitall,
        "waitany" => Waitany,
        "waitsome" => Waitsome,
        "test" => Test,
        "testall" => Testall,
        "testany" => Testany,
        "testsome" => Testsome,
        "cancel" => Cancel,
        "free" => RequestFree,
        "barrier" => Barrier,
        "bcast" => Bcast,
        "scatter" => Scatter,
        "scatterv" => Scatterv,
        "gather" => Gather,
        "gatherv" => Gatherv,
        "allgather" => Allgather,
        "allgatherv" => Allgatherv,
        "alltoall" => Alltoall,
        "reduce" => Reduce,
        "allreduce" => Allreduce,
        "scan" => Scan,
        "exscan" => Exscan,
        "split" => CommSplit,
        "dup" | "clone" => CommDup,
        "abort" => Abort,
        "wtime" => Wtime,
        "write" | "print" => Print,
        _ => Compute,
    }
}
