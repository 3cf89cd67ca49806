//! A program of your own gets every flag of `mpisim run` with one line in `main`:
//! `cargo run --example my_program -- -n 8 --eager-limit 0`.

use mpisim::Comm;

/// Rank 0 sums the squares the other ranks send it.
fn sum_of_squares(comm: &Comm) -> u64 {
    if comm.rank() == 0 {
        let total: u64 = (1..comm.size()).map(|r| comm.recv::<u64>(r, 0)).sum();
        comm.print(format!("sum of squares = {total}"));
        total
    } else {
        let r = comm.rank() as u64;
        comm.send(&(r * r), 0, 0);
        r * r
    }
}

fn main() {
    mpisim::launch::main(sum_of_squares)
}
