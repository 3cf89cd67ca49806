//! `wildcard-race`: rank 0 takes one message from `ANY_SOURCE`, then one from the last
//! rank, as if the wildcard always matched a lower rank first. Under the default schedule
//! (ties go to the lowest rank) it completes; when the wildcard happens to match the last
//! rank, the named receive waits for a message that never comes. `--explore` finds that
//! schedule; `--order fixed` receives from explicit sources and is always right.

use super::{Param, Params, Program};
use crate::call::ANY_SOURCE;
use crate::comm::Comm;
use serde_json::{json, Value};
use std::time::Duration;

/// Ranks above 0 each send their rank to rank 0. Rank 0 (after 10 µs of work, so the
/// messages are all waiting) receives one of them from `ANY_SOURCE` (or, `fixed`, from
/// rank 1) and then one from the last rank; it returns the senders in the order it
/// received them. Needs 3 ranks or more; the ranks between 1 and the last are ignored.
pub fn wildcard_race(comm: &Comm, fixed: bool) -> Vec<usize> {
    let (rank, size) = (comm.rank(), comm.size());
    if rank != 0 {
        comm.send(&rank, 0, 0);
        return Vec::new();
    }
    comm.compute(Duration::from_micros(10));
    let first: usize = comm.recv(if fixed { 1 } else { ANY_SOURCE }, 0);
    let last: usize = comm.recv(size - 1, 0);
    let mut rest: Vec<usize> = (1..size - 1).filter(|&r| r != first).map(|_| comm.recv(ANY_SOURCE, 0)).collect();
    rest.sort_unstable();
    [vec![first, last], rest].concat()
}

pub(super) const PROGRAM: Program = Program {
    name: "wildcard-race",
    summary: "an ANY_SOURCE receive whose match order decides between completing and deadlock",
    params: &[Param::choice(
        "order",
        &["racy", "fixed"],
        "racy",
        "racy: the first receive is from ANY_SOURCE; fixed: from rank 1",
    )],
    min_ranks: 3,
    default_ranks: 3,
    run: |comm: &Comm, p: &Params| -> Value { json!(wildcard_race(comm, p.word("order") == "fixed")) },
};
