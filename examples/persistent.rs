//! The `persistent` program of the catalogue (source: sim/src/catalogue/persistent.rs), with every flag of
//! `mpisim run`: `cargo run --example persistent -- -n 4 --format json`.

fn main() {
    mpisim::launch::catalogue_main("persistent")
}
