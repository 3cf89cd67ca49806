//! The `allgather` program of the catalogue (source: sim/src/catalogue/allgather.rs), with every flag of
//! `mpisim run`: `cargo run --example allgather -- -n 4 --format json`.

fn main() {
    mpisim::launch::catalogue_main("allgather")
}
