//! The `scatterv` program of the catalogue (source: sim/src/catalogue/scatterv.rs), with every flag of
//! `mpisim run`: `cargo run --example scatterv -- -n 8 --format json`.

fn main() {
    mpisim::launch::catalogue_main("scatterv")
}
