// The reference solution of the `ring` exercise: the even/odd order.

use mpisim::launch::{self, Param, Params};
use mpisim::{payload_of_size, Comm};

const PARAMS: &[Param] = &[Param::bytes("bytes", "8", "size of the message each rank sends").range(0, 1 << 30)];

fn ring(comm: &Comm, params: &Params) -> usize {
    let (rank, size) = (comm.rank(), comm.size());
    let right = (rank + 1) % size;
    let left = (rank + size - 1) % size;
    let message = payload_of_size(params.number("bytes"));

    let status = if rank % 2 == 0 {
        comm.send(&message, right, 0);
        comm.recv_status::<Vec<u8>>(left, 0).1
    } else {
        let (_, status) = comm.recv_status::<Vec<u8>>(left, 0);
        comm.send(&message, right, 0);
        status
    };
    status.source
}

fn main() {
    launch::main_with_params(PARAMS, ring)
}
