//! `master-worker`: rank 0 hands slices of the numbers `0..items` to the workers, each
//! worker sums its slice, rank 0 adds up the partial sums. On one rank, rank 0 sums them
//! all itself.
//!
//! Compute model: [`NS_PER_ITEM`] of virtual time per number a worker adds, and the slices
//! are the data (8 bytes a number), sent one after the other by rank 0: the master's
//! injections serialise, so the time to hand out the data is a serial part that more
//! workers do not shorten, and rank 0 does no useful work while it serves them.

use super::{Param, Params, Program};
use crate::comm::Comm;
use serde_json::{json, Value};
use std::time::Duration;

/// Virtual time charged per element a worker adds.
pub const NS_PER_ITEM: u64 = 50;

/// Returns the total on rank 0 (which checks it against `items·(items−1)/2`), the
/// worker's partial sum elsewhere.
pub fn master_worker(comm: &Comm, items: u64) -> u64 {
    let workers = comm.size() as u64 - 1;
    let expected = items * items.saturating_sub(1) / 2;
    if workers == 0 {
        comm.compute(Duration::from_nanos(NS_PER_ITEM * items));
        let total: u64 = (0..items).sum();
        assert_eq!(total, expected);
        comm.print(format!("sum of 0..{items} = {total} on rank 0 alone"));
        return total;
    }
    if comm.rank() == 0 {
        for w in 1..=workers {
            let (lo, hi) = (items * (w - 1) / workers, items * w / workers);
            let slice: Vec<u64> = (lo..hi).collect();
            comm.send(&slice, w as usize, 0);
        }
        let total: u64 = (1..=workers).map(|w| comm.recv::<u64>(w as usize, 1)).sum();
        assert_eq!(total, expected, "the workers' partial sums do not add up");
        comm.print(format!("sum of 0..{items} = {total} from {workers} workers"));
        total
    } else {
        let slice: Vec<u64> = comm.recv(0, 0);
        comm.compute(Duration::from_nanos(NS_PER_ITEM * slice.len() as u64));
        let partial: u64 = slice.iter().sum();
        comm.send(&partial, 0, 1);
        partial
    }
}

pub(super) const PROGRAM: Program = Program {
    name: "master-worker",
    summary: "rank 0 sends slices, workers sum them, rank 0 adds up",
    params: &[Param::count("items", "10000", "numbers to add")],
    min_ranks: 1,
    default_ranks: 4,
    run: |comm: &Comm, p: &Params| -> Value { json!(master_worker(comm, p.number("items"))) },
};
