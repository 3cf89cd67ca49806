//! `barrier`: ranks arrive at a barrier at different times (rank r computes r units of
//! work first) and all leave it together, once the last has arrived and the barrier's
//! messages have gone round.

use super::{Param, Params, Program};
use crate::comm::Comm;
use serde_json::{json, Value};
use std::time::Duration;

/// Computes `rank × work_ns`, waits in the barrier; returns when it left the barrier, in
/// nanoseconds of virtual time.
pub fn barrier(comm: &Comm, work_ns: u64) -> u64 {
    comm.compute(Duration::from_nanos(comm.rank() as u64 * work_ns));
    let arrived = comm.now();
    comm.barrier();
    let left = comm.now();
    comm.print(format!("rank {} arrived at {arrived}, left at {left}", comm.rank()));
    left.as_nanos()
}

pub(super) const PROGRAM: Program = Program {
    name: "barrier",
    summary: "ranks arrive at a barrier at different times and leave it together",
    params: &[Param::count("work", "1000", "nanoseconds of work per rank number before the barrier")],
    min_ranks: 1,
    default_ranks: 4,
    run: |comm: &Comm, p: &Params| -> Value { json!(barrier(comm, p.number("work"))) },
};
