//! The `ring` program of the catalogue (source: sim/src/catalogue/ring.rs), with every flag of
//! `mpisim run`: `cargo run --example ring -- -n 4 --format json`.

fn main() {
    mpisim::launch::catalogue_main("ring")
}
