//! The `hello` program of the catalogue (source: sim/src/catalogue/hello.rs), with every flag of
//! `mpisim run`: `cargo run --example hello -- -n 4 --format json`.

fn main() {
    mpisim::launch::catalogue_main("hello")
}
