//! A program of your own gets every flag of `mpisim run` with one line in `main`, and takes
//! parameters of its own, declared as the catalogue's programs declare theirs:
//! `cargo run --example my_program -- -n 8 --eager-limit 0 --power 3`, and `-- --help`
//! lists them.

use mpisim::launch::{self, Param, Params};
use mpisim::Comm;

/// The parameters: typed, with a default, a range and a help line.
const PARAMS: &[Param] = &[Param::count("power", "2", "each worker sends its rank to this power").range(1, 8)];

/// Rank 0 sums the powers the other ranks send it.
fn sum_of_powers(comm: &Comm, params: &Params) -> u64 {
    let power = params.number("power") as u32;
    if comm.rank() == 0 {
        let total: u64 = (1..comm.size()).map(|r| comm.recv::<u64>(r, 0)).sum();
        comm.print(format!("sum of powers = {total}"));
        total
    } else {
        let x = (comm.rank() as u64).pow(power);
        comm.send(&x, 0, 0);
        x
    }
}

fn main() {
    launch::main_with_params(PARAMS, sum_of_powers)
}
