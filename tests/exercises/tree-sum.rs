// The reference solution of the `tree-sum` exercise: a binomial reduction tree.

use mpisim::launch::{self, Param, Params};
use mpisim::Comm;

const PARAMS: &[Param] = &[Param::count("values", "1000", "numbers to add: 0..values").range(0, 1 << 32)];

fn tree_sum(comm: &Comm, params: &Params) -> u64 {
    let (rank, size) = (comm.rank(), comm.size());
    let values = params.number("values");
    let (lo, hi) = (values * rank as u64 / size as u64, values * (rank as u64 + 1) / size as u64);
    let mut sum: u64 = (lo..hi).sum();
    let mut d = 1;
    while d < size {
        if rank % (2 * d) == d {
            comm.send(&sum, rank - d, 0);
            break;
        }
        if rank + d < size {
            sum += comm.recv::<u64>(rank + d, 0);
        }
        d *= 2;
    }
    sum
}

fn main() {
    launch::main_with_params(PARAMS, tree_sum)
}
