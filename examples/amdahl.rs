//! The `amdahl` program of the catalogue (source: sim/src/catalogue/amdahl.rs), with every flag of
//! `mpisim run`: `cargo run --example amdahl -- -n 8 --serial 0.2 --platform ideal`.

fn main() {
    mpisim::launch::catalogue_main("amdahl")
}
