//! `skip-collective`: the last rank returns without calling a collective (`MPI_Comm_dup`)
//! that every other rank calls; they wait for it forever. With `--skip none`, every rank
//! calls it.

use super::{Param, Params, Program};
use crate::comm::Comm;
use serde_json::{json, Value};

/// Every rank but (with `skip`) the last duplicates the communicator; returns the size of
/// the duplicate, or 0 on the rank that skipped.
pub fn skip_collective(comm: &Comm, skip: bool) -> usize {
    if skip && comm.rank() == comm.size() - 1 {
        return 0;
    }
    comm.dup().size()
}

pub(super) const PROGRAM: Program = Program {
    name: "skip-collective",
    summary: "the last rank skips a collective the others call: they wait for it forever",
    params: &[Param::choice(
        "skip",
        &["last", "none"],
        "last",
        "last: the last rank skips the collective; none: every rank calls it",
    )],
    min_ranks: 2,
    default_ranks: 4,
    run: |comm: &Comm, p: &Params| -> Value { json!(skip_collective(comm, p.word("skip") == "last")) },
};
