//! `coll`: times one collective of a given size with a given algorithm, the way OSU's
//! micro-benchmarks time MPI's. `--bytes` is the whole message for bcast and the
//! reductions, and each rank's block for scatter, gather, allgather and alltoall.

use super::{Param, Params, Program};
use crate::codec::payload_of_size;
use crate::coll::{Algorithm, Collective};
use crate::comm::Comm;
use serde_json::{json, Value};

/// The collectives `--op` names.
pub const OPS: &[&str] = &[
    "barrier",
    "bcast",
    "scatter",
    "gather",
    "allgather",
    "alltoall",
    "reduce",
    "allreduce",
    "reduce_scatter",
    "scan",
];

const ALGORITHMS: &[&str] = &[
    "auto",
    "binomial",
    "linear",
    "recursive_doubling",
    "recursive_halving",
    "ring",
    "rabenseifner",
    "bruck",
    "pairwise",
    "dissemination",
    "scatter_doubling",
    "scatter_ring",
    "reduce_bcast",
];

/// Runs collective `op` once on `bytes` with `algorithm` (`None`: MPICH's choice, or the
/// world's `--algorithm`); returns the bytes this rank ends up with. An algorithm that is
/// not one of `op`'s is a panic that names the ones it has.
pub fn coll(comm: &Comm, op: Collective, bytes: u64, algorithm: Option<Algorithm>) -> usize {
    if let Some(alg) = algorithm {
        if let Err(e) = comm.use_algorithm(op, alg) {
            panic!("--algorithm: {e}");
        }
    }
    let (rank, p) = (comm.rank(), comm.size());
    let block = || payload_of_size(bytes);
    // A reduction's operand: `bytes` one-byte elements, so exactly `bytes` on the wire.
    let operand = |n: u64| (0..n).map(|i| (i as usize + rank) as u8).collect::<Vec<u8>>();
    match op {
        Collective::Barrier => {
            comm.barrier();
            0
        }
        Collective::Bcast => comm.bcast((rank == 0).then(block).as_ref(), 0).len(),
        Collective::Scatter => {
            let blocks = (rank == 0).then(|| (0..p).map(|_| block()).collect::<Vec<_>>());
            comm.scatter(blocks.as_deref(), 0).len()
        }
        Collective::Gather => comm.gather(&block(), 0).map_or(0, |all| all.iter().map(Vec::len).sum()),
        Collective::Allgather => comm.allgather(&block()).iter().map(Vec::len).sum(),
        Collective::Alltoall => comm.alltoall(&(0..p).map(|_| block()).collect::<Vec<_>>()).iter().map(Vec::len).sum(),
        Collective::Reduce => comm.reduce(&operand(bytes), crate::op::SUM, 0).map_or(0, |v| v.len()),
        Collective::Allreduce => comm.allreduce(&operand(bytes), crate::op::SUM).len(),
        Collective::ReduceScatter => {
            let parts: Vec<Vec<u8>> = (0..p).map(|_| operand(bytes / p as u64)).collect();
            comm.reduce_scatter_block(&parts, crate::op::SUM).len()
        }
        _ => comm.scan(&operand(bytes), crate::op::SUM).len(),
    }
}

pub(super) const PROGRAM: Program = Program {
    name: "coll",
    summary: "times one collective: --op, --bytes, --algorithm",
    params: &[
        Param::choice("op", OPS, "bcast", "the collective"),
        Param::bytes("bytes", "1024", "message size (per rank's block for scatter, gather, allgather, alltoall)"),
        Param::choice("algorithm", ALGORITHMS, "auto", "algorithm (auto: MPICH's choice by size)"),
    ],
    min_ranks: 1,
    default_ranks: 8,
    run: |comm: &Comm, p: &Params| -> Value {
        let op = Collective::from_name(p.word("op")).expect("declared ops are collectives");
        json!(coll(comm, op, p.number("bytes"), Algorithm::from_name(p.word("algorithm"))))
    },
};
