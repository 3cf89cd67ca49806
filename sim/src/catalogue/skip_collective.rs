//! `skip-collective`: the last rank returns without calling a collective (an allreduce on
//! `COMM_WORLD`) that every other rank calls; they wait for it forever. With `--skip
//! none`, every rank calls it.

use super::{Param, Params, Program};
use crate::coll::ops::names as op;
use crate::comm::Comm;
use serde_json::{json, Value};

/// Every rank but (with `skip`) the last sums the ranks with an allreduce; returns the
/// sum, or `None` on the rank that skipped.
pub fn skip_collective(comm: &Comm, skip: bool) -> Option<usize> {
    if skip && comm.rank() == comm.size() - 1 {
        return None;
    }
    Some(comm.allreduce(&comm.rank(), op::SUM))
}

pub(super) const PROGRAM: Program = Program {
    name: "skip-collective",
    summary: "the last rank skips an allreduce the others call: they wait for it forever",
    params: &[Param::choice(
        "skip",
        &["last", "none"],
        "last",
        "last: the last rank skips the allreduce; none: every rank calls it",
    )],
    min_ranks: 2,
    default_ranks: 4,
    run: |comm: &Comm, p: &Params| -> Value { json!(skip_collective(comm, p.word("skip") == "last")) },
    memory: super::no_data,
};
