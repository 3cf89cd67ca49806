//! `p2p-tags`: rank 0 sends a dict with tag 11 (and a number with tag 22); rank 1 receives
//! by tag, in the other order, as the lecture's send/recv example does.

use super::{Params, Program};
use crate::comm::Comm;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The dict of the lecture: `{'a': 7, 'b': 3.14}`.
#[allow(clippy::approx_constant)] // the lecture's literal, not an approximation of π
pub fn lecture_dict() -> BTreeMap<String, f64> {
    BTreeMap::from([("a".to_string(), 7.0), ("b".to_string(), 3.14)])
}

/// Rank 0 sends `lecture_dict()` with tag 11, then `42` with tag 22; rank 1 receives tag 22
/// first: tags, not order, decide which message a receive takes. Returns what rank 1 got.
pub fn p2p_tags(comm: &Comm) -> Option<(BTreeMap<String, f64>, i64)> {
    match comm.rank() {
        0 => {
            comm.send(&lecture_dict(), 1, 11);
            comm.send(&42i64, 1, 22);
            None
        }
        1 => {
            let number: i64 = comm.recv(0, 22);
            let data: BTreeMap<String, f64> = comm.recv(0, 11);
            comm.print(format!("received {data:?} with tag 11 and {number} with tag 22"));
            Some((data, number))
        }
        _ => None,
    }
}

pub(super) const PROGRAM: Program = Program {
    name: "p2p-tags",
    summary: "send a dict with tag 11; the receiver picks messages by tag",
    params: &[],
    min_ranks: 2,
    default_ranks: 2,
    run: |comm: &Comm, _: &Params| -> Value { json!(p2p_tags(comm)) },
    memory: super::no_data,
};
