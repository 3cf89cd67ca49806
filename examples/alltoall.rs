//! The `alltoall` program of the catalogue (source: sim/src/catalogue/alltoall.rs), with every flag of
//! `mpisim run`: `cargo run --example alltoall -- -n 4 --format json`.

fn main() {
    mpisim::launch::catalogue_main("alltoall")
}
