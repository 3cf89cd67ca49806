//! The `task-farm` program of the catalogue (source: sim/src/catalogue/task_farm.rs), with every flag of
//! `mpisim run`: `cargo run --example task_farm -- -n 6 --schedule static`.

fn main() {
    mpisim::launch::catalogue_main("task-farm")
}
