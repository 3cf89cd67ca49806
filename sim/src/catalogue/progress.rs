//! `progress`: a nonblocking collective advances while its rank is in any MPI call (MPI 4.1
//! §6.12 applies the progress rule of §3.7.4 to collectives). Every rank starts an ibcast
//! from rank 0; then each even rank blocks in a receive from the next odd rank, which sends
//! only once its own ibcast has completed. In the binomial tree an odd rank's parent is the
//! even rank just below it, so that even rank must forward the broadcast while it is blocked
//! in its receive: a library that advanced the ibcast only in its own test or wait would hang.

use super::{Params, Program};
use crate::comm::Comm;
use serde_json::{json, Value};

/// Broadcasts `value` from rank 0 with `ibcast` while even ranks block in receives that
/// odd ranks satisfy after their ibcast; returns `(broadcast value, token received)`.
pub fn progress(comm: &Comm, value: u64) -> (u64, Option<u64>) {
    let (rank, size) = (comm.rank(), comm.size());
    let request = comm.ibcast((rank == 0).then_some(&value), 0);
    if rank % 2 == 1 {
        let got = request.wait();
        comm.send(&(got + rank as u64), rank - 1, 7);
        (got, None)
    } else if rank + 1 < size {
        let token: u64 = comm.recv(rank + 1, 7);
        (request.wait(), Some(token))
    } else {
        (request.wait(), None)
    }
}

pub(super) const PROGRAM: Program = Program {
    name: "progress",
    summary: "an ibcast advances while its rank is blocked in a receive (MPI's progress rule)",
    params: &[],
    min_ranks: 1,
    default_ranks: 4,
    run: |comm: &Comm, _: &Params| -> Value { json!(progress(comm, 42)) },
};
