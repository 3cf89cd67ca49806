//! `amdahl`: Amdahl's law as a program. Rank 0 runs the serial part while the others wait
//! for its bcast; then every rank computes an equal share of the parallel part, and an
//! allreduce adds up the work done.
//!
//! Compute model: `--work` microseconds of computation in all, whatever the number of
//! ranks; the fraction `--serial` of it runs on rank 0 alone, the rest is divided among
//! the ranks (shares differ by at most one nanosecond). On the `ideal` platform the
//! messages cost nothing, so T(N) = serial + parallel/N exactly as the law says; on any
//! other platform the bcast and the allreduce add message times that grow as lg N, which
//! the law does not know.

use super::{Param, Params, Program};
use crate::comm::Comm;
use serde_json::{json, Value};
use std::time::Duration;

/// Runs `work_us` µs of work with the fraction `serial` of it on rank 0 alone; every rank
/// returns the nanoseconds of work done in all (the same on any number of ranks).
pub fn amdahl(comm: &Comm, serial: f64, work_us: u64) -> u64 {
    let (rank, size) = (comm.rank() as u64, comm.size() as u64);
    let total = work_us.saturating_mul(1_000);
    let serial_ns = (serial.clamp(0.0, 1.0) * total as f64).round() as u64;
    let parallel = total - serial_ns;
    if rank == 0 {
        comm.compute(Duration::from_nanos(serial_ns));
    }
    // The serial part's result: the other ranks wait for it here.
    let done_serial = comm.bcast((rank == 0).then_some(&serial_ns), 0);
    let share = parallel * (rank + 1) / size - parallel * rank / size;
    comm.compute(Duration::from_nanos(share));
    let done_parallel = comm.allreduce(&share, crate::op::SUM);
    if rank == 0 {
        comm.print(format!(
            "{} ns of work: {done_serial} ns serial on rank 0, {done_parallel} ns shared by {size} rank{}",
            done_serial + done_parallel,
            crate::words::plural(size as usize)
        ));
    }
    done_serial + done_parallel
}

pub(super) const PROGRAM: Program = Program {
    name: "amdahl",
    summary: "a serial part on rank 0, then parallel work shared by all: Amdahl's law",
    params: &[
        Param::fraction("serial", "0.1", "fraction of the work that only rank 0 can do"),
        Param::count("work", "1000", "work in all, in µs of one rank's time"),
    ],
    min_ranks: 1,
    default_ranks: 4,
    run: |comm: &Comm, p: &Params| -> Value { json!(amdahl(comm, p.fraction("serial"), p.number("work"))) },
};
