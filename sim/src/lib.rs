//! # mpisim: a deterministic MPI simulator
//!
//! One process runs N virtual MPI ranks as green tasks on a virtual clock with a
//! latency/bandwidth cost model (eager and rendezvous protocols). A program is a plain
//! synchronous function of a [`Comm`], written as an mpi4py script would be:
//!
//! ```
//! use mpisim::{World, SimError};
//!
//! fn ring(comm: &mpisim::Comm) {
//!     let (rank, size) = (comm.rank(), comm.size());
//!     let msg = vec![rank as f64; 1 << 17];                  // 1 MiB: above the eager limit
//!     comm.send(&msg, (rank + 1) % size, 0);                  // blocks until matched
//!     let _got: Vec<f64> = comm.recv((rank + size - 1) % size, 0);
//! }
//!
//! match World::new(4).run(ring) {
//!     Err(SimError::Deadlock(report)) => assert_eq!(report.blocked.len(), 4),
//!     other => panic!("expected a deadlock, got {other:?}"),
//! }
//! ```
//!
//! Same program, platform and seed give a byte-identical [`Trace`].
#![deny(missing_docs)]

mod call;
pub mod catalogue;
pub mod chrome;
mod codec;
mod coll;
mod comm;
mod cost;
pub mod deadlock;
mod engine;
mod error;
pub mod escape;
pub mod exercise;
mod hazard;
pub mod input;
pub mod launch;
pub mod lesson;
mod matching;
pub mod memory;
pub mod platform;
mod prefetch;
pub mod python;
pub mod real;
pub mod report;
mod request;
pub mod sched;
mod sigint;
mod site;
pub mod speedup;
mod task;
mod time;
pub mod timeline;
pub mod trace;
pub mod watchdog;
mod words;
mod world;

/// A rank number within a communicator.
pub type Rank = usize;
/// A message tag: `0..=TAG_UB`, or [`ANY_TAG`] in receives.
pub type Tag = i32;

pub use call::{CallKind, ErrorClass, MpiError, Status, ANY_SOURCE, ANY_TAG, PROC_NULL, TAG_UB, UNDEFINED};
pub use codec::{encoded_len, payload_of_size};
pub use coll::ops::names as op;
pub use coll::ops::{Element, OpError, Operand, Operator, ReduceOp, UserOp};
#[cfg(feature = "proptest")]
pub use coll::strategies;
pub use coll::{Algorithm, AlgorithmError, Algorithms, CollRequest, Collective};
pub use comm::Comm;
pub use deadlock::{BlockedCall, DeadlockReport, EdgeKind, Peer, SendWait, Unreceived, WaitsOn, WildcardMatch};
pub use error::{RankActivity, RankFailure, SimError, Spinning};
pub use hazard::{BufferingCheck, Reliance};
pub use memory::MAPS_PER_RANK;
pub use platform::Platform;
pub use request::Request;
pub use sched::Schedule;
pub use time::Time;
pub use trace::{Event, EventKind, Protocol, SavedRun, Site, Trace};
pub use world::{
    Completed, Exploration, ExploreFailure, OutputLine, RunStats, Simulation, Warning, World, DEFAULT_STACK_SIZE,
    DEFAULT_STEP_LIMIT, DEFAULT_TIME_LIMIT, DEFAULT_TRACE_LIMIT,
};
