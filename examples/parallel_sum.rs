//! The `parallel-sum` program of the catalogue (source: sim/src/catalogue/parallel_sum.rs), with every flag of
//! `mpisim run`: `cargo run --example parallel_sum -- -n 8 --format json`.

fn main() {
    mpisim::launch::catalogue_main("parallel-sum")
}
