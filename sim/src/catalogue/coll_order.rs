//! `coll-order`: two communicators, and ranks that call their collectives in different
//! orders. Every rank duplicates `COMM_WORLD` twice (A, then B: the same order everywhere,
//! as `MPI_Comm_dup` is itself a collective); then even ranks sum over A before B and odd
//! ranks over B before A. An allreduce needs every member, so each half waits in a
//! different allreduce for the other half: a deadlock however messages are buffered.
//! Calling the collectives in the same order on every rank fixes it.

use super::{Param, Params, Program};
use crate::coll::ops::names as op;
use crate::comm::Comm;
use serde_json::{json, Value};

/// Makes communicators A and B (two duplicates of `comm`), then sums the ranks over each:
/// A then B on every rank (`same`), or A then B on even ranks and B then A on odd ones
/// (`crossed`). Returns the two sums (over A, over B).
pub fn coll_order(comm: &Comm, crossed: bool) -> (usize, usize) {
    let a = comm.dup();
    let b = comm.dup();
    let rank = comm.rank();
    if crossed && rank % 2 == 1 {
        let over_b = b.allreduce(&rank, op::SUM);
        let over_a = a.allreduce(&rank, op::SUM);
        (over_a, over_b)
    } else {
        let over_a = a.allreduce(&rank, op::SUM);
        let over_b = b.allreduce(&rank, op::SUM);
        (over_a, over_b)
    }
}

pub(super) const PROGRAM: Program = Program {
    name: "coll-order",
    summary: "allreduces on two communicators called in different orders: deadlocks",
    params: &[Param::choice(
        "order",
        &["crossed", "same"],
        "crossed",
        "crossed: odd ranks call the collectives in the other order; same: every rank in one order",
    )],
    min_ranks: 2,
    default_ranks: 4,
    run: |comm: &Comm, p: &Params| -> Value { json!(coll_order(comm, p.word("order") == "crossed")) },
    memory: super::no_data,
};
