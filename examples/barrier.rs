//! The `barrier` program of the catalogue (source: sim/src/catalogue/barrier.rs), with every flag of
//! `mpisim run`: `cargo run --example barrier -- -n 4 --format json`.

fn main() {
    mpisim::launch::catalogue_main("barrier")
}
