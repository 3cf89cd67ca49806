// Exercise `ring`: every rank passes a message to its right neighbour and receives one
// from its left. It works for small messages and hangs for large ones: make it complete
// at any size. `cargo run --release -- -n 4 --bytes 1MiB` shows the hang; `mpisim grade`
// in this folder grades your fix.

use mpisim::launch::{self, Param, Params};
use mpisim::{payload_of_size, Comm};

/// `--bytes`: the size of the message every rank sends.
const PARAMS: &[Param] = &[Param::bytes("bytes", "8", "size of the message each rank sends").range(0, 1 << 30)];

/// Sends `--bytes` bytes to the right, receives from the left; returns the rank the
/// message came from.
fn ring(comm: &Comm, params: &Params) -> usize {
    let (rank, size) = (comm.rank(), comm.size());
    let right = (rank + 1) % size;
    let left = (rank + size - 1) % size;
    let message = payload_of_size(params.number("bytes"));

    comm.send(&message, right, 0);
    let (_, status) = comm.recv_status::<Vec<u8>>(left, 0);

    status.source
}

fn main() {
    launch::main_with_params(PARAMS, ring)
}
