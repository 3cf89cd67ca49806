//! A user's own program with the terminal UI: every flag of `mpisim run`, `--tui` included.
//!
//! ```sh
//! cargo run --example tui_program -- -n 6 --tui
//! ```

use mpisim::Comm;
use std::time::Duration;

/// Each rank computes for a while that grows with its rank, then all of them pass a token
/// around a ring with sendrecv: the diagram shows the waiting the imbalance causes.
fn imbalanced_ring(comm: &Comm) -> usize {
    let (rank, size) = (comm.rank(), comm.size());
    comm.compute(Duration::from_micros(2 * (rank as u64 + 1)));
    let right = (rank + 1) % size;
    let left = (rank + size - 1) % size;
    comm.sendrecv::<usize, usize>(&rank, right, 0, left, 0)
}

fn main() {
    mpisim_tui::main(imbalanced_ring)
}
