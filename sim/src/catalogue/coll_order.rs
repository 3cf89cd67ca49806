//! `coll-order`: two communicators, and ranks that call their collectives in different
//! orders. Even ranks duplicate communicator A first, then B; odd ranks B first, then A.
//! `MPI_Comm_dup` is collective, so each half waits in a different collective for the
//! other half: a deadlock however the messages are buffered. Calling collectives in the
//! same order on every rank fixes it.

use super::{Param, Params, Program};
use crate::comm::Comm;
use serde_json::{json, Value};

/// Makes communicators A and B (two duplicates of `comm`), then duplicates them again:
/// A then B on every rank (`same`), or A then B on even ranks and B then A on odd ones
/// (`crossed`). Returns the sizes of the last two communicators made.
pub fn coll_order(comm: &Comm, crossed: bool) -> (usize, usize) {
    let a = comm.dup();
    let b = comm.dup();
    let (first, second) = if crossed && comm.rank() % 2 == 1 { (&b, &a) } else { (&a, &b) };
    let x = first.dup();
    let y = second.dup();
    (x.size(), y.size())
}

pub(super) const PROGRAM: Program = Program {
    name: "coll-order",
    summary: "collectives on two communicators called in different orders: deadlocks",
    params: &[Param::choice(
        "order",
        &["crossed", "same"],
        "crossed",
        "crossed: odd ranks call the collectives in the other order; same: every rank in one order",
    )],
    min_ranks: 2,
    default_ranks: 4,
    run: |comm: &Comm, p: &Params| -> Value { json!(coll_order(comm, p.word("order") == "crossed")) },
};
