//! `ring`: every rank sends to its right neighbour and receives from its left. Naively
//! ordered, it hangs once messages pass the eager limit; the fixes order the calls by rank
//! parity, use sendrecv, or use nonblocking calls.

use super::{Param, Params, Program};
use crate::codec::payload_of_size;
use crate::comm::Comm;
use serde_json::{json, Value};

/// How the ring orders its calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RingOrder {
    /// Everyone sends, then receives: deadlocks above the eager limit.
    Naive,
    /// Even ranks send first, odd ranks receive first.
    Parity,
    /// One `sendrecv`.
    Sendrecv,
    /// `irecv`, `isend`, `waitall`.
    Nonblocking,
}

impl RingOrder {
    /// The order named on the command line.
    pub fn from_name(name: &str) -> Option<RingOrder> {
        Some(match name {
            "naive" => RingOrder::Naive,
            "parity" => RingOrder::Parity,
            "sendrecv" => RingOrder::Sendrecv,
            "nonblocking" => RingOrder::Nonblocking,
            _ => return None,
        })
    }
}

/// Passes a `bytes`-byte message one step around the ring; returns the rank it came from.
pub fn ring(comm: &Comm, bytes: u64, order: RingOrder) -> usize {
    let (rank, size) = (comm.rank(), comm.size());
    let right = (rank + 1) % size;
    let left = (rank + size - 1) % size;
    let msg = payload_of_size(bytes);
    let status = match order {
        RingOrder::Naive => {
            comm.send(&msg, right, 0);
            comm.recv_status::<Vec<u8>>(left, 0).1
        }
        RingOrder::Parity if rank % 2 == 0 => {
            comm.send(&msg, right, 0);
            comm.recv_status::<Vec<u8>>(left, 0).1
        }
        RingOrder::Parity => {
            let status = comm.recv_status::<Vec<u8>>(left, 0).1;
            comm.send(&msg, right, 0);
            status
        }
        RingOrder::Sendrecv => comm.sendrecv_status::<_, Vec<u8>>(&msg, right, 0, left, 0).1,
        RingOrder::Nonblocking => {
            let mut reqs = [comm.irecv(left, 0), comm.isend(&msg, right, 0)];
            comm.waitall(&mut reqs)[0]
        }
    };
    status.source
}

pub(super) const PROGRAM: Program = Program {
    name: "ring",
    summary: "send right, receive left: hangs above the eager limit unless reordered",
    params: &[
        Param::bytes("bytes", "8", "message size"),
        Param::choice("order", &["naive", "parity", "sendrecv", "nonblocking"], "naive", "call order"),
    ],
    min_ranks: 2,
    default_ranks: 4,
    run: |comm: &Comm, p: &Params| -> Value {
        let order = RingOrder::from_name(p.word("order")).expect("declared choices are orders");
        json!(ring(comm, p.number("bytes"), order))
    },
};
