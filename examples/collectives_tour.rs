//! The `collectives-tour` program of the catalogue (source: sim/src/catalogue/collectives_tour.rs), with every flag of
//! `mpisim run`: `cargo run --example collectives_tour -- -n 8 --format json`.

fn main() {
    mpisim::launch::catalogue_main("collectives-tour")
}
