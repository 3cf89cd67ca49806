//! `nonblocking`: each rank exchanges with both neighbours using Isend/Irecv/Waitall.

use super::{Params, Program};
use crate::comm::Comm;
use serde_json::{json, Value};

/// Posts receives from both neighbours, sends its rank to both, waits for all four
/// requests; returns `(from_left, from_right)`.
pub fn nonblocking(comm: &Comm) -> (usize, usize) {
    let (rank, size) = (comm.rank(), comm.size());
    let right = (rank + 1) % size;
    let left = (rank + size - 1) % size;
    let mut reqs = [comm.irecv(left, 1), comm.irecv(right, 2), comm.isend(&rank, right, 1), comm.isend(&rank, left, 2)];
    comm.waitall(&mut reqs);
    let from_left: usize = reqs[0].value();
    let from_right: usize = reqs[1].value();
    (from_left, from_right)
}

pub(super) const PROGRAM: Program = Program {
    name: "nonblocking",
    summary: "exchange with both neighbours: Isend, Irecv, Waitall",
    params: &[],
    min_ranks: 1,
    default_ranks: 4,
    run: |comm: &Comm, _: &Params| -> Value { json!(nonblocking(comm)) },
    memory: super::no_data,
};
