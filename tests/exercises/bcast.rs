// The reference solution of the `bcast` exercise: MPICH's binomial broadcast, on ranks
// relative to the root.

use mpisim::launch::{self, Param, Params};
use mpisim::Comm;

const PARAMS: &[Param] = &[
    Param::count("count", "1000", "numbers to broadcast: 0..count").range(1, 1 << 24),
    Param::count("root", "0", "the broadcasting rank"),
];

fn bcast(comm: &Comm, params: &Params) -> u64 {
    let (rank, size) = (comm.rank(), comm.size());
    let root = params.number("root") as usize;
    let relative = (rank + size - root) % size;
    let mut numbers: Vec<u64> = if rank == root { (0..params.number("count")).collect() } else { Vec::new() };
    let mut mask = 1;
    while mask < size {
        if relative & mask != 0 {
            numbers = comm.recv((relative - mask + root) % size, 0);
            break;
        }
        mask <<= 1;
    }
    mask >>= 1;
    while mask > 0 {
        if relative + mask < size {
            comm.send(&numbers, (relative + mask + root) % size, 0);
        }
        mask >>= 1;
    }
    numbers.iter().sum()
}

fn main() {
    launch::main_with_params(PARAMS, bcast)
}
