// Exercise `scatterv`: deal `--items` numbers out from rank 0 in near-equal blocks with
// scatterv, square them, and gather the squares back with gatherv. This version only
// works when the number of ranks divides the number of items. `mpisim grade` in this
// folder grades it.

use mpisim::launch::{self, Param, Params};
use mpisim::Comm;

/// `--items`: how many numbers rank 0 deals out (0, 1, …, items − 1).
const PARAMS: &[Param] = &[Param::count("items", "10", "numbers to deal out: 0..items").range(0, 1 << 20)];

/// Returns every square, in order, on rank 0, and its own block of squares elsewhere.
fn scatterv(comm: &Comm, params: &Params) -> Vec<u64> {
    let size = comm.size();
    let items = params.number("items") as usize;
    // How many numbers each rank gets.
    let counts: Vec<usize> = vec![items / size; size];

    let data = (comm.rank() == 0).then(|| (0..items as u64).collect::<Vec<u64>>());
    let mine = comm.scatterv(data.as_deref(), &counts, 0);
    let squares: Vec<u64> = mine.iter().map(|x| x * x).collect();
    comm.gatherv(&squares, &counts, 0).unwrap_or(squares)
}

fn main() {
    launch::main_with_params(PARAMS, scatterv)
}
