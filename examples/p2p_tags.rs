//! The `p2p-tags` program of the catalogue (source: sim/src/catalogue/p2p_tags.rs), with every flag of
//! `mpisim run`: `cargo run --example p2p_tags -- -n 4 --format json`.

fn main() {
    mpisim::launch::catalogue_main("p2p-tags")
}
