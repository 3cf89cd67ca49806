//! The `bcast-sum` program of the catalogue (source: sim/src/catalogue/bcast_sum.rs), with every flag of
//! `mpisim run`: `cargo run --example bcast_sum -- -n 8 --root 3 --count 100`.

fn main() {
    mpisim::launch::catalogue_main("bcast-sum")
}
