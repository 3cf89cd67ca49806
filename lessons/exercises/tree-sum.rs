// Exercise `tree-sum`: add up the numbers 0..values spread over the ranks, as `reduce`
// does it: in a tree, with sends and receives. This version is correct but slow: rank 0
// receives from every rank in turn. `mpisim grade` in this folder grades it.

use mpisim::launch::{self, Param, Params};
use mpisim::Comm;

/// `--values`: how many numbers to add (0, 1, …, values − 1).
const PARAMS: &[Param] = &[Param::count("values", "1000", "numbers to add: 0..values").range(0, 1 << 32)];

/// Returns the total on rank 0 (elsewhere: what the rank sent on).
fn tree_sum(comm: &Comm, params: &Params) -> u64 {
    let (rank, size) = (comm.rank() as u64, comm.size() as u64);
    let values = params.number("values");
    // This rank's share of the numbers: a contiguous block.
    let (lo, hi) = (values * rank / size, values * (rank + 1) / size);
    let mine: u64 = (lo..hi).sum();

    if rank == 0 {
        let mut total = mine;
        for source in 1..comm.size() {
            total += comm.recv::<u64>(source, 0);
        }
        total
    } else {
        comm.send(&mine, 0, 0);
        mine
    }
}

fn main() {
    launch::main_with_params(PARAMS, tree_sum)
}
