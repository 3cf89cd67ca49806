//! Python ranks benchmark: prints figures, asserts nothing about them.
//!
//! ```text
//! cargo bench -p mpisim --bench python                          # N = 4, 16, 64
//! MPISIM_BENCH_SCALE=0.1 cargo bench -p mpisim --bench python   # fewer calls
//! ```
//!
//! For each N it prints the wall time to start N Python ranks and run an empty script
//! (`from mpi4py import MPI`, and the same with `import numpy`), the fastest of three
//! runs; and the wall time of one MPI call from Python: `MPI.Wtime()` (a round trip to
//! the engine and back, no message) and `comm.sendrecv` around a ring (a call that moves
//! a message): k calls on every rank between two barriers, timed by rank 0 with
//! `time.perf_counter()`, over N·k. Needs `python3` (or `MPISIM_PYTHON`); numpy's column
//! is skipped without numpy.
//!
//! Without `--bench` on the command line (as under `cargo test --benches`) it runs once at
//! N = 2 with a few calls, as a smoke test.

use mpisim::python::Script;
use mpisim::World;
use std::time::{Duration, Instant};

const EMPTY: &str = "from mpi4py import MPI\n";
const NUMPY: &str = "from mpi4py import MPI\nimport numpy\n";
/// k calls of `CALL` on every rank; rank 0 prints the wall time of the phase (the wall
/// clock is the benchmark's, not the simulation's).
const PHASE: &str = "import sys, time\nfrom mpi4py import MPI\ncomm = MPI.COMM_WORLD\nr, n = comm.rank, comm.size\n\
                     k = int(sys.argv[1])\ncomm.barrier()\nt = time.perf_counter()\nfor i in range(k):\n    CALL\n\
                     comm.barrier()\nif r == 0:\n    print(time.perf_counter() - t)\n";

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let scale: f64 = std::env::var("MPISIM_BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let (sizes, calls): (&[usize], u64) =
        if full { (&[4, 16, 64], ((2000.0 * scale).round() as u64).max(10)) } else { (&[2], 10) };
    let dir = std::env::temp_dir().join(format!("mpisim-bench-python-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("a benchmark script");
        path.to_string_lossy().into_owned()
    };
    let (empty, numpy) = (write("empty.py", EMPTY), write("numpy.py", NUMPY));
    let wtime = write("wtime.py", &PHASE.replace("CALL", "MPI.Wtime()"));
    let sendrecv =
        write("sendrecv.py", &PHASE.replace("CALL", "comm.sendrecv(i, dest=(r + 1) % n, source=(r - 1) % n)"));
    let has_numpy = std::process::Command::new(std::env::var("MPISIM_PYTHON").unwrap_or_else(|_| "python3".into()))
        .args(["-c", "import numpy"])
        .status()
        .is_ok_and(|s| s.success());
    let version = Script::new(&empty, &[], None).map(|s| s.python_version().to_string()).unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(2)
    });
    println!("Python {version}; {calls} calls per rank; wall times (fastest of 3 runs for the starts)");
    println!(
        "{:>5}  {:>14}  {:>18}  {:>16}  {:>18}",
        "ranks", "start (empty)", "start (numpy)", "MPI.Wtime()", "comm.sendrecv()"
    );
    for &n in sizes {
        let start = fastest(3, || run(&script(&empty, &[]), n));
        let start_numpy = has_numpy.then(|| fastest(3, || run(&script(&numpy, &[]), n)));
        let per_call = |path: &str| phase(&script(path, &[calls.to_string()]), n) / (n as u64 * calls) as f64;
        let (w, s) = (per_call(&wtime), per_call(&sendrecv));
        println!(
            "{n:>5}  {:>14}  {:>18}  {:>13.1} µs  {:>15.1} µs",
            ms(start),
            start_numpy.map_or("(no numpy)".into(), ms),
            w * 1e6,
            s * 1e6
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn script(path: &str, args: &[String]) -> Script {
    Script::new(path, args, None).expect("the interpreter was checked")
}

/// The wall time of one simulated run of `script` on `n` ranks, from the start of its
/// processes to the last one reaped.
fn run(script: &Script, n: usize) -> Duration {
    let world = World::new(n);
    // Benchmarks measure wall time on purpose.
    #[allow(clippy::disallowed_methods)]
    let t = Instant::now();
    let sim = world.simulate(script.program(world.platform_ref(), 0));
    let took = t.elapsed();
    assert!(sim.outcome.is_ok(), "{} on {n} ranks: {:?}", script.path(), sim.outcome);
    took
}

/// The seconds rank 0 printed: the wall time of the timed phase of the run.
fn phase(script: &Script, n: usize) -> f64 {
    let world = World::new(n);
    let sim = world.simulate(script.program(world.platform_ref(), 0));
    assert!(sim.outcome.is_ok(), "{} on {n} ranks: {:?}", script.path(), sim.outcome);
    sim.output.last().and_then(|l| l.text.trim().parse().ok()).expect("rank 0 prints the phase's time")
}

fn fastest(times: usize, mut f: impl FnMut() -> Duration) -> Duration {
    (0..times).map(|_| f()).min().expect("at least one run")
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1e3)
}
