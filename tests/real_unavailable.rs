//! Without the cargo feature `mpi` (the default), asking for real MPI is a usage error that
//! says how to get it; the simulator never needs MPI. `tests/real.rs` covers the feature.
#![cfg(not(feature = "mpi"))]

use mpisim::catalogue;
use mpisim::report::EXIT_USAGE;

#[test]
fn real_runs_need_the_feature() {
    let hello = catalogue::find("hello").expect("hello is in the catalogue");
    assert_eq!(mpisim::launch::run_program(hello, &["--real".to_string()]), EXIT_USAGE);
    assert!(mpisim::real::BUILD_HINT.contains("--features mpi"));
    assert!(mpisim::real::BUILD_HINT.contains("libopenmpi-dev libclang-dev"));
}

#[test]
fn calibration_needs_the_feature() {
    assert_eq!(mpisim::real::calibrate::main(&[]), EXIT_USAGE);
}
