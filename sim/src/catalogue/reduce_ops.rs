//! `reduce-ops`: every predefined reduction operator on every rank's value, MAXLOC and
//! MINLOC included (ties go to the smaller index), and a non-commutative user op.

use super::{Params, Program};
use crate::coll::ops::{ReduceOp, UserOp};
use crate::comm::Comm;
use serde_json::{json, Value};

/// Reduces at rank 0 with each operator; returns rank 0's results as `(op, result)` text.
pub fn reduce_ops(comm: &Comm) -> Vec<(String, String)> {
    let rank = comm.rank();
    let x = (rank as i64 * 5 + 3) % 7; // 3, 1, 6, 4, 2, 0, 5, …
    let mut out = Vec::new();
    for op in ReduceOp::ALL {
        let result = match op {
            ReduceOp::Maxloc | ReduceOp::Minloc => comm.reduce(&(x, rank), op, 0).map(|v| format!("{v:?}")),
            ReduceOp::Land | ReduceOp::Lor | ReduceOp::Lxor => {
                comm.reduce(&(x % 2 == 1), op, 0).map(|v| format!("{v}"))
            }
            _ => comm.reduce(&x, op, 0).map(|v| format!("{v}")),
        };
        if let Some(r) = result {
            comm.print(format!("{op:<11} {r}"));
            out.push((op.mpi_name().to_string(), r));
        }
    }
    // A user op that is not commutative: the result is the product in rank order.
    let concat = UserOp::new(|a: &String, b: &String| format!("{a}{b}"), false).named("concat");
    if let Some(s) = comm.reduce(&rank.to_string(), concat, 0) {
        comm.print(format!("concat      {s}"));
        out.push(("concat".into(), s));
    }
    out
}

pub(super) const PROGRAM: Program = Program {
    name: "reduce-ops",
    summary: "every reduction operator, MAXLOC/MINLOC and a non-commutative user op",
    params: &[],
    min_ranks: 1,
    default_ranks: 4,
    run: |comm: &Comm, _: &Params| -> Value { json!(reduce_ops(comm)) },
    memory: super::no_data,
};
