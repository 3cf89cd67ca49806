//! The `parallel-map` program of the catalogue (source: sim/src/catalogue/parallel_map.rs), with every flag of
//! `mpisim run`: `cargo run --example parallel_map -- -n 8 --format json`.

fn main() {
    mpisim::launch::catalogue_main("parallel-map")
}
