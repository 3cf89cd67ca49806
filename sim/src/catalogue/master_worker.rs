//! `master-worker`: rank 0 hands slices of the numbers `0..items` to the workers, each
//! worker sums its slice, rank 0 adds up the partial sums.

use super::{Param, Params, Program};
use crate::comm::Comm;
use serde_json::{json, Value};

/// Virtual time charged per element a worker adds.
pub const NS_PER_ITEM: u64 = 2;

/// Returns the total on rank 0 (which checks it against `items·(items−1)/2`), the
/// worker's partial sum elsewhere.
pub fn master_worker(comm: &Comm, items: u64) -> u64 {
    let workers = comm.size() as u64 - 1;
    if comm.rank() == 0 {
        for w in 1..=workers {
            let (lo, hi) = (items * (w - 1) / workers, items * w / workers);
            let slice: Vec<u64> = (lo..hi).collect();
            comm.send(&slice, w as usize, 0);
        }
        let total: u64 = (1..=workers).map(|w| comm.recv::<u64>(w as usize, 1)).sum();
        let expected = items * items.saturating_sub(1) / 2;
        assert_eq!(total, expected, "the workers' partial sums do not add up");
        comm.print(format!("sum of 0..{items} = {total} from {workers} workers"));
        total
    } else {
        let slice: Vec<u64> = comm.recv(0, 0);
        comm.compute(std::time::Duration::from_nanos(NS_PER_ITEM * slice.len() as u64));
        let partial: u64 = slice.iter().sum();
        comm.send(&partial, 0, 1);
        partial
    }
}

pub(super) const PROGRAM: Program = Program {
    name: "master-worker",
    summary: "rank 0 sends slices, workers sum them, rank 0 adds up",
    params: &[Param::count("items", "10000", "numbers to add")],
    min_ranks: 2,
    default_ranks: 4,
    run: |comm: &Comm, p: &Params| -> Value { json!(master_worker(comm, p.number("items"))) },
};
