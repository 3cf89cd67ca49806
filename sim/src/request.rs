//! `Request`: a nonblocking or persistent point-to-point operation, as its rank holds it.

use crate::call::{CallKind, ErrorClass, MpiError, Op, ReqId, Status, WaitHow, PROC_NULL};
use crate::codec::{self, Payload};
use crate::comm::{decode_completion, RankCtx};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::rc::Rc;

/// A nonblocking or persistent operation (`MPI_Request`).
///
/// Complete it with [`Request::wait`] or [`Request::test`] (or the `Comm::wait*` and
/// `Comm::test*` calls for many); a completed receive's value is then taken with
/// [`Request::value`]. A completed non-persistent request becomes null.
pub struct Request {
    pub(crate) id: Option<ReqId>,
    ctx: Rc<RankCtx>,
    persistent: bool,
    /// A completed receive's value, until the program takes it.
    pub(crate) data: Option<Payload>,
    /// A persistent send's new value, handed to the engine at the next start.
    pub(crate) bound: Option<Payload>,
}

impl Request {
    /// The program's handle of engine request `id`.
    pub(crate) fn new(id: ReqId, ctx: Rc<RankCtx>, persistent: bool) -> Request {
        Request { id: Some(id), ctx, persistent, data: None, bound: None }
    }

    /// The request completed with `payload`; a non-persistent one becomes null.
    pub(crate) fn settle(&mut self, payload: Option<Payload>) {
        self.data = payload;
        if !self.persistent {
            self.id = None;
        }
    }

    #[track_caller]
    pub(crate) fn persistent_id(&self, kind: CallKind) -> ReqId {
        match self.id {
            Some(id) if self.persistent => id,
            _ => self.ctx.fail(
                kind,
                MpiError::new(
                    ErrorClass::Request,
                    "start needs a persistent request (from send_init or recv_init) that has not been freed",
                ),
            ),
        }
    }

    /// Whether this is the null request (completed, or freed).
    pub fn is_null(&self) -> bool {
        self.id.is_none()
    }

    #[track_caller]
    fn complete_one(&mut self, kind: CallKind, block: bool) -> Option<Status> {
        let reply = self.ctx.call(kind, Op::Wait { reqs: vec![self.id], how: WaitHow::All, block });
        let c = reply.into_completions().into_iter().next()?;
        self.settle(c.payload);
        Some(c.status)
    }

    /// Waits for the request to complete (`MPI_Wait`).
    #[track_caller]
    pub fn wait(&mut self) -> Status {
        self.complete_one(CallKind::Wait, true).unwrap_or(Status::EMPTY)
    }

    /// Whether the request is complete (`MPI_Test`); if so, completes it.
    #[track_caller]
    pub fn test(&mut self) -> Option<Status> {
        if self.id.is_none() {
            return Some(Status::EMPTY);
        }
        self.complete_one(CallKind::Test, false)
    }

    /// Waits for a receive and takes its value: mpi4py's `req.wait()`.
    #[track_caller]
    pub fn wait_value<T: DeserializeOwned>(&mut self) -> T {
        let status = self.wait();
        self.take(CallKind::Wait, &status)
    }

    /// Takes the value of a completed receive.
    #[track_caller]
    pub fn value<T: DeserializeOwned>(&mut self) -> T {
        self.take(CallKind::Wait, &Status::EMPTY)
    }

    #[track_caller]
    fn take<T: DeserializeOwned>(&mut self, kind: CallKind, status: &Status) -> T {
        match self.data.take() {
            Some(p) => decode_completion(&self.ctx, kind, Some(&p), status),
            None if status.source == PROC_NULL => decode_completion(&self.ctx, kind, None, status),
            None => self.ctx.fail(
                kind,
                MpiError::new(
                    ErrorClass::Request,
                    "no received value here: the request is a send, is not complete yet, or its value was taken already",
                ),
            ),
        }
    }

    /// Cancels the request if its message has not been matched (`MPI_Cancel`); it must
    /// still be waited for, and its status says whether the cancel succeeded.
    #[track_caller]
    pub fn cancel(&mut self) {
        if let Some(req) = self.id {
            self.ctx.call(CallKind::Cancel, Op::Cancel { req });
        }
    }

    /// Frees the request (`MPI_Request_free`); an active operation still completes.
    #[track_caller]
    pub fn free(mut self) {
        if let Some(req) = self.id.take() {
            self.ctx.call(CallKind::RequestFree, Op::Free { req });
        }
    }

    /// Starts a persistent request (`MPI_Start`).
    #[track_caller]
    pub fn start(&mut self) {
        let req = self.persistent_id(CallKind::Start);
        self.ctx.call(CallKind::Start, Op::Start { reqs: vec![(req, self.bound.take())] });
        self.data = None;
    }

    /// Rebinds a persistent send to `value` without starting it: mpi4py's
    /// `sendbuf[:] = …` before `Startall`.
    #[track_caller]
    pub fn bind<T: Serialize + ?Sized>(&mut self, value: &T) {
        self.persistent_id(CallKind::Start);
        let payload = match codec::encode(value) {
            Ok(payload) => payload,
            Err(e) => self.ctx.fail(CallKind::Start, MpiError::new(ErrorClass::Type, e)),
        };
        self.bound = Some(payload);
    }

    /// Rebinds a persistent send to `value` and starts it: mpi4py's
    /// `sendbuf[:] = …; req.Start()`.
    #[track_caller]
    pub fn start_with<T: Serialize + ?Sized>(&mut self, value: &T) {
        self.bind(value);
        self.start();
    }
}
