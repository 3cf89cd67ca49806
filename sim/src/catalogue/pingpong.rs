//! `pingpong`: ranks 0 and 1 bounce a message; the round trip time is 2(α + nβ).

use super::{Param, Params, Program};
use crate::codec::payload_of_size;
use crate::comm::Comm;
use serde_json::{json, Value};

/// Ranks 0 and 1 exchange a `bytes`-byte message `round_trips` times; returns rank 0's
/// virtual time per round trip in nanoseconds (other ranks return 0).
pub fn pingpong(comm: &Comm, bytes: u64, round_trips: u64) -> u64 {
    let msg = payload_of_size(bytes);
    let start = comm.now();
    match comm.rank() {
        0 => {
            for _ in 0..round_trips {
                comm.send(&msg, 1, 0);
                let _: Vec<u8> = comm.recv(1, 0);
            }
        }
        1 => {
            for _ in 0..round_trips {
                let back: Vec<u8> = comm.recv(0, 0);
                comm.send(&back, 0, 0);
            }
        }
        _ => return 0,
    }
    let elapsed = (comm.now() - start).as_nanos();
    if comm.rank() == 0 && round_trips > 0 {
        comm.print(format!("{bytes} bytes: {} ns per round trip", elapsed / round_trips));
    }
    elapsed / round_trips.max(1)
}

pub(super) const PROGRAM: Program = Program {
    name: "pingpong",
    summary: "ranks 0 and 1 bounce a message: latency and bandwidth",
    params: &[Param::bytes("bytes", "8", "message size"), Param::count("round-trips", "100", "number of round trips")],
    min_ranks: 2,
    default_ranks: 2,
    run: |comm: &Comm, p: &Params| -> Value { json!(pingpong(comm, p.number("bytes"), p.number("round-trips"))) },
};
