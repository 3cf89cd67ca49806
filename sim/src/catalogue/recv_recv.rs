//! `recv-recv`: every rank first receives from its left neighbour, then sends to its right.
//! Each receive waits for a message that its sender only sends after its own receive: a
//! cycle of receives that no buffering can break. Receiving first on odd ranks only (or
//! `sendrecv`) fixes it.

use super::{Param, Params, Program};
use crate::codec::payload_of_size;
use crate::comm::Comm;
use serde_json::{json, Value};

/// Receives from the left, then sends `bytes` bytes to the right; returns the left rank.
pub fn recv_recv(comm: &Comm, bytes: u64) -> usize {
    let (rank, size) = (comm.rank(), comm.size());
    let right = (rank + 1) % size;
    let left = (rank + size - 1) % size;
    let (_, status) = comm.recv_status::<Vec<u8>>(left, 0);
    comm.send(&payload_of_size(bytes), right, 0);
    status.source
}

pub(super) const PROGRAM: Program = Program {
    name: "recv-recv",
    summary: "every rank receives before it sends: a cycle of receives that always deadlocks",
    params: &[Param::bytes("bytes", "8", "message size")],
    min_ranks: 2,
    default_ranks: 4,
    run: |comm: &Comm, p: &Params| -> Value { json!(recv_recv(comm, p.number("bytes"))) },
};
