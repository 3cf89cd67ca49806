// The reference solution of the `scatterv` exercise: near-equal counts.

use mpisim::launch::{self, Param, Params};
use mpisim::Comm;

const PARAMS: &[Param] = &[Param::count("items", "10", "numbers to deal out: 0..items").range(0, 1 << 20)];

fn scatterv(comm: &Comm, params: &Params) -> Vec<u64> {
    let size = comm.size();
    let items = params.number("items") as usize;
    let counts: Vec<usize> = (0..size).map(|r| items / size + usize::from(r < items % size)).collect();

    let data = (comm.rank() == 0).then(|| (0..items as u64).collect::<Vec<u64>>());
    let mine = comm.scatterv(data.as_deref(), &counts, 0);
    let squares: Vec<u64> = mine.iter().map(|x| x * x).collect();
    comm.gatherv(&squares, &counts, 0).unwrap_or(squares)
}

fn main() {
    launch::main_with_params(PARAMS, scatterv)
}
