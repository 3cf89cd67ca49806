//! The `reduce-ops` program of the catalogue (source: sim/src/catalogue/reduce_ops.rs), with every flag of
//! `mpisim run`: `cargo run --example reduce_ops -- -n 8 --format json`.

fn main() {
    mpisim::launch::catalogue_main("reduce-ops")
}
