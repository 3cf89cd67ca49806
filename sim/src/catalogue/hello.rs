//! `hello`: every rank says who it is.

use super::{Params, Program};
use crate::comm::Comm;
use serde_json::{json, Value};

/// Prints `Hello from rank r of n`; returns the rank.
pub fn hello(comm: &Comm) -> usize {
    comm.print(format!("Hello from rank {} of {}", comm.rank(), comm.size()));
    comm.rank()
}

pub(super) const PROGRAM: Program = Program {
    name: "hello",
    summary: "every rank prints its rank and the world size",
    params: &[],
    min_ranks: 1,
    default_ranks: 4,
    run: |comm: &Comm, _: &Params| -> Value { json!(hello(comm)) },
    memory: super::no_data,
};
