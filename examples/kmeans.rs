//! The `kmeans` program of the catalogue (source: sim/src/catalogue/kmeans.rs), with every flag of
//! `mpisim run`: `cargo run --example kmeans -- -n 8 --format json`.

fn main() {
    mpisim::launch::catalogue_main("kmeans")
}
