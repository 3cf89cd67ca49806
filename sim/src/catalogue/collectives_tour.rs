//! `collectives-tour`: mpi4py's tutorial of collectives: bcast of a dict, scatter of
//! squares, gather checking (i+1)², allgather, and alltoall as a transpose.

use super::{rounds, Footprint, Params, Program};
use crate::comm::Comm;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Runs the tour; returns what this rank gathered from everyone.
pub fn collectives_tour(comm: &Comm) -> Vec<u64> {
    let (rank, size) = (comm.rank(), comm.size());
    // bcast: the root's dict reaches every rank.
    let dict = (rank == 0)
        .then(|| BTreeMap::from([("key1".to_string(), vec![7.0, 2.72]), ("key2".to_string(), vec![1.0, 4.0, 9.0])]));
    let dict = comm.bcast(dict.as_ref(), 0);
    assert_eq!(dict["key1"], vec![7.0, 2.72]);
    // scatter: rank i gets (i+1)².
    let squares = (rank == 0).then(|| (0..size as u64).map(|i| (i + 1) * (i + 1)).collect::<Vec<_>>());
    let mine = comm.scatter(squares.as_deref(), 0);
    assert_eq!(mine, (rank as u64 + 1).pow(2));
    // gather: the root gets them back in rank order.
    if let Some(all) = comm.gather(&mine, 0) {
        for (i, v) in all.iter().enumerate() {
            assert_eq!(*v, (i as u64 + 1).pow(2), "gather out of order at {i}");
        }
        comm.print(format!("gathered squares {all:?}"));
    }
    // allgather: everyone gets everyone's.
    let everyone = comm.allgather(&mine);
    // alltoall: rank i sends (i, j) to j; j gets column j: a transpose.
    let row: Vec<(usize, usize)> = (0..size).map(|j| (rank, j)).collect();
    let column = comm.alltoall(&row);
    assert!(column.iter().enumerate().all(|(i, &(from, to))| from == i && to == rank));
    comm.print(format!("rank {rank}: dict has {} keys, square {mine}, alltoall column {column:?}", dict.len()));
    everyone
}

pub(super) const PROGRAM: Program = Program {
    name: "collectives-tour",
    summary: "bcast of a dict, scatter of squares, gather, allgather, alltoall",
    params: &[],
    min_ranks: 1,
    default_ranks: 4,
    run: |comm: &Comm, _: &Params| -> Value { json!(collectives_tour(comm)) },
    memory: |_: &Params, n: usize| {
        // Allgather and alltoall give every rank a vector of n values (16 bytes each), and
        // Bruck's alltoall sends half of them in each of its ⌈lg n⌉ rounds.
        let ranks = n as u64;
        let copies = ranks.saturating_mul(3 + rounds(n));
        Footprint::buffers(copies, ranks * 16) + Footprint::messages(ranks.saturating_mul(5 * rounds(n)))
    },
};
