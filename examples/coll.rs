//! The `coll` program of the catalogue (source: sim/src/catalogue/coll.rs), with every flag of
//! `mpisim run`: `cargo run --example coll -- -n 8 --format json`.

fn main() {
    mpisim::launch::catalogue_main("coll")
}
