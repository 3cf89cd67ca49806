//! The `scatterv-blocks` program of the catalogue (source: sim/src/catalogue/scatterv_blocks.rs), with every flag of
//! `mpisim run`: `cargo run --example scatterv_blocks -- -n 4 --items 10`.

fn main() {
    mpisim::launch::catalogue_main("scatterv-blocks")
}
