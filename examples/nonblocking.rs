//! The `nonblocking` program of the catalogue (source: sim/src/catalogue/nonblocking.rs), with every flag of
//! `mpisim run`: `cargo run --example nonblocking -- -n 4 --format json`.

fn main() {
    mpisim::launch::catalogue_main("nonblocking")
}
