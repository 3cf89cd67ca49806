//! `allgather`: every rank holds one row of numbers (as a numpy array would be), and
//! allgather gives every rank the whole matrix, rows in rank order, as mpi4py's
//! `comm.Allgather(row, matrix)` does.

use super::{Param, Params, Program};
use crate::comm::Comm;
use serde_json::{json, Value};

/// Rank r's row is `r·length, r·length + 1, …`; returns the sum of each row of the matrix
/// every rank gathered (checked to be the same matrix on every rank).
pub fn allgather(comm: &Comm, length: u64) -> Vec<f64> {
    let (rank, size) = (comm.rank() as u64, comm.size());
    let row: Vec<f64> = (0..length).map(|i| (rank * length + i) as f64).collect();
    let matrix: Vec<Vec<f64>> = comm.allgather(&row);
    assert_eq!(matrix.len(), size, "one row per rank");
    for (r, got) in matrix.iter().enumerate() {
        assert!(
            got.iter().enumerate().all(|(i, &x)| x == (r as u64 * length + i as u64) as f64),
            "row {r} out of order"
        );
    }
    let sums: Vec<f64> = matrix.iter().map(|r| r.iter().sum()).collect();
    if rank == 0 {
        comm.print(format!("matrix of {size}×{length}; row sums {sums:?}"));
    }
    sums
}

pub(super) const PROGRAM: Program = Program {
    name: "allgather",
    summary: "each rank's row of numbers to every rank: the whole matrix everywhere",
    params: &[Param::count("length", "4", "numbers in each rank's row")],
    min_ranks: 1,
    default_ranks: 4,
    run: |comm: &Comm, p: &Params| -> Value { json!(allgather(comm, p.number("length"))) },
};
