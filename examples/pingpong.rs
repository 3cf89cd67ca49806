//! The `pingpong` program of the catalogue (source: sim/src/catalogue/pingpong.rs), with every flag of
//! `mpisim run`: `cargo run --example pingpong -- -n 4 --format json`.

fn main() {
    mpisim::launch::catalogue_main("pingpong")
}
