// Exercise `bcast`: broadcast a vector from a root rank to every rank with sends and
// receives, in a binomial tree as MPI libraries do. This version is correct but slow:
// the root sends to every rank in turn. `mpisim grade` in this folder grades it.

use mpisim::launch::{self, Param, Params};
use mpisim::Comm;

/// `--count`: how many numbers to broadcast; `--root`: the rank that has them.
const PARAMS: &[Param] = &[
    Param::count("count", "1000", "numbers to broadcast: 0..count").range(1, 1 << 24),
    Param::count("root", "0", "the broadcasting rank"),
];

/// Returns the sum of the numbers this rank ends up with.
fn bcast(comm: &Comm, params: &Params) -> u64 {
    let (rank, size) = (comm.rank(), comm.size());
    let root = params.number("root") as usize;
    let numbers: Vec<u64> = if rank == root {
        let numbers: Vec<u64> = (0..params.number("count")).collect();
        for other in (0..size).filter(|&r| r != root) {
            comm.send(&numbers, other, 0);
        }
        numbers
    } else {
        comm.recv(root, 0)
    };
    numbers.iter().sum()
}

fn main() {
    launch::main_with_params(PARAMS, bcast)
}
