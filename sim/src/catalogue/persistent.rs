//! `persistent`: a ring step repeated with persistent requests: Send_init and Recv_init
//! once, then Startall and Waitall in a loop.

use super::{Param, Params, Program};
use crate::comm::Comm;
use serde_json::{json, Value};

/// Each iteration sends `rank * 100 + i` to the right and receives from the left; returns
/// the sum of the received values.
pub fn persistent(comm: &Comm, iterations: u64) -> u64 {
    let (rank, size) = (comm.rank(), comm.size());
    let right = (rank + 1) % size;
    let left = (rank + size - 1) % size;
    let mut reqs = [comm.recv_init(left, 0), comm.send_init(&0u64, right, 0)];
    let mut sum = 0;
    for i in 0..iterations {
        reqs[1].bind(&(rank as u64 * 100 + i));
        comm.startall(&mut reqs);
        comm.waitall(&mut reqs);
        sum += reqs[0].value::<u64>();
    }
    for r in reqs {
        r.free();
    }
    sum
}

pub(super) const PROGRAM: Program = Program {
    name: "persistent",
    summary: "a ring step in a loop with persistent requests: Send_init, Recv_init, Startall",
    params: &[Param::count("iterations", "5", "times round the loop")],
    min_ranks: 1,
    default_ranks: 4,
    run: |comm: &Comm, p: &Params| -> Value { json!(persistent(comm, p.number("iterations"))) },
};
