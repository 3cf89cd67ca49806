//! The `master-worker` program of the catalogue (source: sim/src/catalogue/master_worker.rs), with every flag of
//! `mpisim run`: `cargo run --example master_worker -- -n 4 --format json`.

fn main() {
    mpisim::launch::catalogue_main("master-worker")
}
