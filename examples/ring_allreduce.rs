//! The `ring-allreduce` program of the catalogue (source: sim/src/catalogue/ring_allreduce.rs),
//! SMPI's benchmark workload, with every flag of `mpisim run`:
//! `cargo run --release --example ring_allreduce -- -n 64 --platform platforms/smpi-cluster.ron`.

fn main() {
    mpisim::launch::catalogue_main("ring-allreduce")
}
