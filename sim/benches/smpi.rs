//! The SMPI comparison (issue 14): SMPI's classic workload, `ring-allreduce`, on SimGrid
//! SMPI and on mpisim, on the same simulated machine, in alternating runs. Prints figures,
//! asserts nothing.
//!
//! ```text
//! cargo build --release -p mpisim-tui                   # the `mpisim` binary it runs
//! cargo bench -p mpisim --bench smpi                    # N = 1024 and 4096, 3 runs each: 45 min
//! MPISIM_BENCH_RANKS=1024 MPISIM_BENCH_RUNS=1 cargo bench -p mpisim --bench smpi   # 1-2 min
//! ```
//!
//! (On the 2-core VM of development, loaded by other jobs: SMPI takes 45-90 s at 1,024 ranks
//! and 10-15 min at 4,096, most of the full run.)
//!
//! For each N, K times in turn, three child processes run the workload:
//! - SMPI: `smpirun -np N -platform cluster.xml` on the C program (`bench/smpi/`, built
//!   here with `smpicc -O2`), with the flags of [`SMPI_FLAGS`];
//! - `mpisim run`: what a user runs, `target/release/mpisim run ring-allreduce -n N
//!   --platform platforms/smpi-cluster.ron --format json` (trace kept, buffering check on);
//! - `World::run`: this binary as a child, running the same catalogue program with the
//!   trace off and no buffering check, as a library user who wants speed would.
//!
//! It prints each child's wall time (median of K) and peak resident memory (`ru_maxrss`
//! from `wait4`, which covers smpirun's own children), the ratios, and both simulators'
//! simulated times with their difference. Without SimGrid it says so and prints mpisim's
//! figures alone.
//!
//! Settings (environment):
//! - `MPISIM_BENCH_RANKS`: rank counts, default `1024,4096` (powers of two keep the
//!   allreduce a pure recursive doubling on both sides);
//! - `MPISIM_BENCH_RUNS`: K, default 3;
//! - `MPISIM_BENCH_WORKLOAD`: `laps,bytes,allreduces,length`, default `100,1024,100,8`;
//! - `MPISIM_BENCH_SMPI=off`: mpisim only, even where SimGrid is installed;
//! - `MPISIM_BIN`: the `mpisim` binary (default: `release/mpisim` in this bench's target
//!   directory; if it is missing, the same code path, `launch::run_program`, runs in a child
//!   of this binary, and the output says so).
//!
//! Without `--bench` on the command line (as under `cargo test --benches`) it runs once,
//! at 16 ranks and 2 laps and allreduces, as a smoke test.

#[path = "smpi/parse.rs"]
mod parse;

use mpisim::catalogue;
use mpisim::{Comm, Platform, World};
use parse::{Rank0, Simulated, Workload};
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Set in a child of this benchmark: `ranks,laps,bytes,allreduces,length` for a bare
/// `World::run`, or `launch` to run `mpisim run`'s code path on the arguments.
const CHILD_ENV: &str = "MPISIM_BENCH_CHILD";

/// The settings that make SMPI's model the one of `platforms/smpi-cluster.ron` (the file
/// says why each is needed): no piecewise latency and bandwidth factors, no cross-traffic
/// on the reverse links, eager messages that move when they are sent and up to the same
/// limit, MPICH's recursive-doubling allreduce (what mpisim picks for 64 bytes), no
/// benchmarking of the code between calls, no privatization of globals, and the
/// simulated time at the end.
const SMPI_FLAGS: &[&str] = &[
    "--cfg=smpi/simulate-computation:no",
    "--cfg=smpi/privatization:no",
    "--cfg=smpi/lat-factor:0:1",
    "--cfg=smpi/bw-factor:0:1",
    "--cfg=network/crosstraffic:0",
    "--cfg=smpi/send-is-detached-thresh:65536",
    "--cfg=smpi/async-small-thresh:65536",
    "--cfg=smpi/allreduce:rdb",
    "--cfg=smpi/display-timing:yes",
];

/// The system allocator, counting allocations (one relaxed atomic add each, a few ns
/// against microseconds per simulated message), so that the bare run can print
/// allocations per message.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is passed on to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's promises about `layout` are the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `ptr` was allocated here with `layout`, as the caller promises.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated here with `layout`, as the caller promises.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Where the benchmark's inputs are, from the `sim/` package.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("sim/ is in the repository").to_path_buf()
}

fn main() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        child(&spec);
        return;
    }
    let full = std::env::args().any(|a| a == "--bench");
    let settings = match Settings::from_env(full) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("smpi bench: {e}");
            std::process::exit(2);
        }
    };
    let t0 = now();
    println!("mpisim against SimGrid SMPI: ring-allreduce ({})", if full { "full" } else { "smoke test: tiny sizes" });
    let w = settings.workload;
    println!(
        "  workload: a token of {} bytes, {} laps of the ring, then {} MPI_Allreduce (SUM) of {} doubles",
        w.bytes, w.laps, w.allreduces, w.length
    );
    println!("  ranks {:?}, {} run(s) of each, in turn; machine: {}", settings.ranks, settings.runs, machine());
    let platform = repo().join("platforms/smpi-cluster.ron");
    let smpi = if settings.smpi { Smpi::prepare() } else { Err("MPISIM_BENCH_SMPI=off".into()) };
    match &smpi {
        Ok(s) => println!("  SMPI: {} ({}), platform bench/smpi/cluster.xml", s.version, s.exe.display()),
        Err(why) => println!("  SMPI: not run: {why}; mpisim's figures alone"),
    }
    let user = UserRun::find();
    println!("  mpisim run: {}", user.describe());
    println!("  platform: {}", platform.display());
    println!();
    for &n in &settings.ranks {
        compare(n, &settings, smpi.as_ref().ok(), &user, &platform);
    }
    if let Ok(s) = &smpi {
        let _ = std::fs::remove_dir_all(&s.dir);
    }
    println!("total wall time {:.1} s", t0.elapsed().as_secs_f64());
}

struct Settings {
    ranks: Vec<usize>,
    runs: usize,
    workload: Workload,
    smpi: bool,
}

impl Settings {
    fn from_env(full: bool) -> Result<Settings, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let ranks = match var("MPISIM_BENCH_RANKS") {
            Some(text) => parse::numbers(&text).map_err(|e| format!("MPISIM_BENCH_RANKS: {e}"))?,
            None if full => vec![1024, 4096],
            None => vec![16],
        };
        if ranks.is_empty() || ranks.contains(&0) {
            return Err("MPISIM_BENCH_RANKS: give one or more positive rank counts, e.g. 1024,4096".into());
        }
        let runs = match var("MPISIM_BENCH_RUNS") {
            Some(text) => text.trim().parse().map_err(|_| format!("MPISIM_BENCH_RUNS: `{text}` is not a count"))?,
            None if full => 3,
            None => 1,
        };
        if runs == 0 {
            return Err("MPISIM_BENCH_RUNS: give at least 1".into());
        }
        let workload = match var("MPISIM_BENCH_WORKLOAD") {
            Some(text) => Workload::parse(&text).map_err(|e| format!("MPISIM_BENCH_WORKLOAD: {e}"))?,
            None if full => Workload::CLASSIC,
            None => Workload { laps: 2, allreduces: 2, ..Workload::CLASSIC },
        };
        let smpi = var("MPISIM_BENCH_SMPI").is_none_or(|v| v != "off");
        Ok(Settings { ranks: ranks.into_iter().map(|n| n as usize).collect(), runs, workload, smpi })
    }
}

/// The C program built with smpicc, in a directory of its own.
struct Smpi {
    dir: PathBuf,
    exe: PathBuf,
    version: String,
}

impl Smpi {
    fn prepare() -> Result<Smpi, String> {
        for tool in ["smpicc", "smpirun"] {
            if !on_path(tool) {
                return Err(format!(
                    "`{tool}` is not on PATH (Debian: `apt-get install libsimgrid-dev`, which has both)"
                ));
            }
        }
        let version = Command::new("smpirun")
            .arg("-version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or("").trim().to_string())
            .unwrap_or_default();
        let dir = std::env::temp_dir().join(format!("mpisim-bench-smpi-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let exe = dir.join("ring_allreduce");
        let source = repo().join("bench/smpi/ring_allreduce.c");
        let out = Command::new("smpicc")
            .arg("-O2")
            .arg("-o")
            .arg(&exe)
            .arg(&source)
            .current_dir(&dir)
            .output()
            .map_err(|e| format!("cannot run smpicc: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "smpicc failed on {} ({}): {}",
                source.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Smpi { dir, exe, version: if version.is_empty() { "SimGrid, version unknown".into() } else { version } })
    }

    /// SMPI's cluster with exactly `n` hosts: `bench/smpi/cluster.xml` with its range of
    /// host numbers rewritten.
    fn cluster(&self, n: usize) -> Result<PathBuf, String> {
        let template = repo().join("bench/smpi/cluster.xml");
        let text =
            std::fs::read_to_string(&template).map_err(|e| format!("cannot read {}: {e}", template.display()))?;
        const RADICAL: &str = "radical=\"0-4095\"";
        if !text.contains(RADICAL) {
            return Err(format!("{} has no {RADICAL} to rewrite", template.display()));
        }
        let path = self.dir.join(format!("cluster-{n}.xml"));
        std::fs::write(&path, text.replace(RADICAL, &format!("radical=\"0-{}\"", n - 1)))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(path)
    }
}

/// How `mpisim run` is run: the binary, or its code path in a child of this benchmark.
enum UserRun {
    Binary {
        path: PathBuf,
        stale: bool,
    },
    /// No binary at `tried`.
    Launch {
        tried: Option<PathBuf>,
    },
}

impl UserRun {
    fn find() -> UserRun {
        let path = std::env::var_os("MPISIM_BIN").map(PathBuf::from).or_else(|| {
            // This binary is target/release/deps/smpi-HASH; the command is target/release/mpisim.
            Some(std::env::current_exe().ok()?.parent()?.parent()?.join("mpisim"))
        });
        match path {
            Some(path) if path.is_file() => {
                let built = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
                let sources = ["sim/src", "tui/src"].iter().filter_map(|d| newest(&repo().join(d))).max();
                let stale = matches!((built, sources), (Some(b), Some(s)) if b < s);
                UserRun::Binary { path, stale }
            }
            tried => UserRun::Launch { tried },
        }
    }

    fn describe(&self) -> String {
        match self {
            UserRun::Binary { path, stale: false } => format!("{}", path.display()),
            UserRun::Binary { path, stale: true } => format!(
                "{} (older than the newest file in sim/src or tui/src: it may not have the latest \
                 changes; `cargo build --release -p mpisim-tui` rebuilds it)",
                path.display()
            ),
            UserRun::Launch { tried } => format!(
                "no mpisim binary{} (build it with `cargo build --release -p mpisim-tui`, or set MPISIM_BIN); \
                 running its code path, launch::run_program, in a child of this benchmark",
                tried.as_ref().map_or(String::new(), |p| format!(" at {}", p.display()))
            ),
        }
    }

    fn command(&self, args: &[String]) -> Command {
        let mut cmd = match self {
            UserRun::Binary { path, .. } => Command::new(path),
            UserRun::Launch { .. } => {
                let mut c = Command::new(std::env::current_exe().expect("the bench knows its own path"));
                c.env(CHILD_ENV, "launch");
                c
            }
        };
        cmd.args(args);
        cmd
    }
}

/// One contestant's run: what the child process cost and what it simulated.
struct Run {
    wall: Duration,
    /// User and system CPU time: on a machine shared with other jobs, steadier than the wall.
    cpu: Duration,
    max_rss_kib: u64,
    simulated: Result<Simulated, String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Contestant {
    Smpi,
    User,
    Bare,
}

impl Contestant {
    fn label(self) -> &'static str {
        match self {
            Contestant::Smpi => "SMPI (smpirun)",
            Contestant::User => "mpisim run",
            Contestant::Bare => "World::run, trace off",
        }
    }
}

fn compare(n: usize, settings: &Settings, smpi: Option<&Smpi>, user: &UserRun, platform: &Path) {
    let w = settings.workload;
    let expected = w.messages(n as u64).map_or(String::new(), |m| format!(", {m} simulated messages"));
    println!("== {n} ranks{expected}");
    let cluster = match smpi.map(|s| s.cluster(n)) {
        Some(Ok(path)) => Some(path),
        Some(Err(e)) => {
            println!("  SMPI skipped: {e}");
            None
        }
        None => None,
    };
    let mut contestants = Vec::new();
    if cluster.is_some() {
        contestants.push(Contestant::Smpi);
    }
    contestants.extend([Contestant::User, Contestant::Bare]);
    let mut runs: Vec<(Contestant, Run)> = Vec::new();
    for k in 0..settings.runs {
        for &c in &contestants {
            let run = match c {
                Contestant::Smpi => {
                    let (smpi, cluster) = (smpi.expect("SMPI is prepared"), cluster.as_ref().expect("a cluster file"));
                    let mut cmd = Command::new("smpirun");
                    cmd.arg("-np").arg(n.to_string()).arg("-platform").arg(cluster);
                    cmd.args(SMPI_FLAGS).arg(&smpi.exe).args(w.c_args()).current_dir(&smpi.dir);
                    measure(cmd, |out, err| smpi_figures(n, out, err))
                }
                Contestant::User => {
                    let mut args: Vec<String> =
                        ["run", "ring-allreduce", "-n", &n.to_string(), "--platform"].map(String::from).to_vec();
                    args.push(platform.display().to_string());
                    args.extend(w.flags());
                    args.extend(["--format", "json"].map(String::from));
                    measure(user.command(&args), |out, _| parse::mpisim_report(out))
                }
                Contestant::Bare => {
                    let mut cmd = Command::new(std::env::current_exe().expect("the bench knows its own path"));
                    let [laps, bytes, allreduces, length] = w.c_args();
                    cmd.env(CHILD_ENV, format!("{n},{laps},{bytes},{allreduces},{length}"));
                    cmd.env("MPISIM_BENCH_PLATFORM", platform);
                    measure(cmd, |out, _| parse::child_simulated(&parse::child_fields(out)))
                }
            };
            print_run(k, c, &run);
            runs.push((c, run));
        }
    }
    summary(n, &contestants, &runs);
    println!();
}

fn print_run(k: usize, c: Contestant, run: &Run) {
    let sim = match &run.simulated {
        // SMPI does not count messages.
        Ok(s) if s.messages == 0 => format!("simulated {:.6} s", s.time_ns as f64 / 1e9),
        Ok(s) => {
            let allocs = s.allocations.map_or(String::new(), |a| {
                format!(", {:.2} allocations a message", a as f64 / s.messages.max(1) as f64)
            });
            format!("simulated {:.6} s, {} messages{allocs}", s.time_ns as f64 / 1e9, s.messages)
        }
        Err(e) => format!("FAILED: {e}"),
    };
    println!(
        "  run {} {:<22} {:>9.3} s wall {:>9.3} s CPU {:>9.1} MiB peak  {sim}",
        k + 1,
        c.label(),
        run.wall.as_secs_f64(),
        run.cpu.as_secs_f64(),
        run.max_rss_kib as f64 / 1024.0
    );
}

fn summary(n: usize, contestants: &[Contestant], runs: &[(Contestant, Run)]) {
    struct Row {
        c: Contestant,
        wall: f64,
        cpu: f64,
        rss_mib: f64,
        sim: Option<Simulated>,
    }
    let rows: Vec<Row> = contestants
        .iter()
        .filter_map(|&c| {
            let mine: Vec<&Run> = runs.iter().filter(|(d, _)| *d == c).map(|(_, r)| r).collect();
            let ok: Vec<&Run> = mine.iter().copied().filter(|r| r.simulated.is_ok()).collect();
            let wall = parse::median(&ok.iter().map(|r| r.wall.as_secs_f64()).collect::<Vec<_>>())?;
            let cpu = parse::median(&ok.iter().map(|r| r.cpu.as_secs_f64()).collect::<Vec<_>>())?;
            let rss = parse::median(&ok.iter().map(|r| r.max_rss_kib as f64 / 1024.0).collect::<Vec<_>>())?;
            let sim = ok.first().and_then(|r| r.simulated.clone().ok());
            Some(Row { c, wall, cpu, rss_mib: rss, sim })
        })
        .collect();
    println!("  summary at {n} ranks (medians of the runs that completed; × faster: by wall, and by CPU time):");
    let smpi = rows.iter().find(|r| r.c == Contestant::Smpi);
    for r in &rows {
        let msgs = rows.iter().find_map(|r| r.sim.map(|s| s.messages).filter(|&m| m > 0));
        let rate = msgs.map_or(String::new(), |m| format!("  {:>6.3} M msg/s", m as f64 / r.wall / 1e6));
        let versus = match smpi {
            Some(s) if r.c != Contestant::Smpi => {
                let (wall, cpu, memory) = (s.wall / r.wall, s.cpu / r.cpu, r.rss_mib / s.rss_mib);
                format!("  {wall:>6.1}× faster than SMPI ({cpu:.1}× by CPU time), {memory:>5.2}× its memory")
            }
            _ => String::new(),
        };
        println!(
            "    {:<22} {:>9.3} s wall {:>9.3} s CPU {:>9.1} MiB{rate}{versus}",
            r.c.label(),
            r.wall,
            r.cpu,
            r.rss_mib
        );
    }
    let sims: Vec<(Contestant, Simulated)> = rows.iter().filter_map(|r| Some((r.c, r.sim?))).collect();
    if let Some((_, base)) = sims.iter().find(|(c, _)| *c == Contestant::Smpi) {
        for (c, s) in sims.iter().filter(|(c, _)| *c != Contestant::Smpi) {
            let diff = s.time_ns as f64 - base.time_ns as f64;
            println!(
                "    simulated time: SMPI {:.6} s, {} {:.6} s: {:+.3} ms ({:+.3}%){}",
                base.time_ns as f64 / 1e9,
                c.label(),
                s.time_ns as f64 / 1e9,
                diff / 1e6,
                100.0 * diff / base.time_ns as f64,
                if s.rank0 == base.rank0 { "; rank 0's results agree" } else { "; RANK 0'S RESULTS DIFFER" }
            );
        }
    } else if let Some((_, s)) = sims.first() {
        println!("    simulated time {:.6} s", s.time_ns as f64 / 1e9);
    }
    let distinct: Vec<Rank0> = sims.iter().map(|(_, s)| s.rank0).fold(Vec::new(), |mut v, r| {
        if !v.contains(&r) {
            v.push(r);
        }
        v
    });
    if let [r] = distinct[..] {
        println!("    rank 0's result on every side: token {}, sum {}", r.token, r.sum);
    } else if distinct.len() > 1 {
        println!("    rank 0's results differ: {distinct:?}");
    }
}

/// SMPI's figures: its simulated time and the C program's line for rank 0.
fn smpi_figures(n: usize, stdout: &str, stderr: &str) -> Result<Simulated, String> {
    let time = parse::smpi_simulated_time(stderr)
        .or_else(|| parse::smpi_simulated_time(stdout))
        .ok_or_else(|| format!("SMPI printed no simulated time: {}", tail(stderr)))?;
    let (ranks, rank0) =
        parse::c_result(stdout).ok_or_else(|| format!("the C program printed no result: {}", tail(stderr)))?;
    if ranks != n as u64 {
        return Err(format!("the C program ran on {ranks} ranks, not {n}"));
    }
    Ok(Simulated { time_ns: (time * 1e9).round() as u64, messages: 0, rank0, allocations: None })
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().rev().take(3).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join(" / ")
}

/// Runs a child to its end: its wall time, its peak resident memory (`ru_maxrss` as
/// `wait4` reports it, which includes the descendants it waited for), and its figures.
fn measure(mut cmd: Command, figures: impl Fn(&str, &str) -> Result<Simulated, String>) -> Run {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let start = now();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let simulated = Err(format!("cannot start {cmd:?}: {e}"));
            return Run { wall: Duration::ZERO, cpu: Duration::ZERO, max_rss_kib: 0, simulated };
        }
    };
    // Read both pipes while the child runs, so that neither fills up and blocks it.
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut text);
            }
            text
        })
    };
    let out = reader(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let err = reader(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let (status, Usage { cpu, max_rss_kib }) = wait4(child.id());
    let wall = start.elapsed();
    let (stdout, stderr) = (out.join().unwrap_or_default(), err.join().unwrap_or_default());
    let simulated = match status {
        Ok(0) => figures(&stdout, &stderr),
        Ok(code) => Err(format!("exited with {code}: {}", tail(&format!("{stdout}\n{stderr}")))),
        Err(e) => Err(e),
    };
    Run { wall, cpu, max_rss_kib, simulated }
}

/// What `wait4` says a child used.
struct Usage {
    cpu: Duration,
    max_rss_kib: u64,
}

/// Waits for a child: its exit code (or why it has none), its CPU time and its
/// `ru_maxrss` in KiB.
fn wait4(pid: u32) -> (Result<i32, String>, Usage) {
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of the plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not waited for yet; both pointers are valid for writes.
    let got = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
    if got < 0 {
        let usage = Usage { cpu: Duration::ZERO, max_rss_kib: 0 };
        return (Err(format!("wait4 failed: {}", std::io::Error::last_os_error())), usage);
    }
    let time = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    let used = Usage {
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
        max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
    };
    let code = if libc::WIFEXITED(status) {
        Ok(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Err(format!("killed by signal {}", libc::WTERMSIG(status)))
    } else {
        Err(format!("ended with status {status:#x}"))
    };
    (code, used)
}

/// In a child: `launch` runs `mpisim run`'s code path on the arguments; otherwise a bare
/// `World::run` of the workload, which prints `child key=value…`.
fn child(spec: &str) {
    if spec == "launch" {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let [run, name, rest @ ..] = &args[..] else {
            panic!("{CHILD_ENV}=launch needs `run PROGRAM ARGS…`");
        };
        assert_eq!(run, "run", "{CHILD_ENV}=launch runs `run PROGRAM ARGS…`");
        let program = catalogue::find(name).expect("the benchmark names a catalogue program");
        std::process::exit(mpisim::launch::run_program(program, rest));
    }
    let numbers = parse::numbers(spec).expect("the parent writes numbers");
    let [ranks, laps, bytes, allreduces, length] = numbers[..] else {
        panic!("bad {CHILD_ENV}={spec}");
    };
    let path = std::env::var("MPISIM_BENCH_PLATFORM").expect("the parent names the platform");
    let platform = Platform::load(Path::new(&path)).unwrap_or_else(|e| panic!("{e}"));
    let (start, allocations) = (now(), ALLOCATIONS.load(Ordering::Relaxed));
    let run = World::new(ranks as usize)
        .platform(platform)
        .record_trace(false)
        .check_buffering(false)
        .run(|comm: &Comm| catalogue::ring_allreduce(comm, laps, bytes, allreduces, length));
    let (wall, allocations) = (start.elapsed(), ALLOCATIONS.load(Ordering::Relaxed) - allocations);
    let fields = match run {
        Ok(run) => {
            let r = run.results[0];
            format!(
                "time_ns={}\tmessages={}\ttoken={}\tsum={}\tallocations={allocations}\twall_ns={}",
                run.time.as_nanos(),
                run.stats.messages,
                r.token,
                r.sum,
                wall.as_nanos()
            )
        }
        Err(e) => format!("error={}", e.to_string().replace(['\n', '\t'], " ")),
    };
    println!("child {fields}");
}

/// The wall clock: what a benchmark measures, and what the engine never reads.
#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

/// The newest modification time of any file under `dir`.
fn newest(dir: &Path) -> Option<std::time::SystemTime> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            if meta.is_dir() {
                newest(&e.path())
            } else {
                meta.modified().ok()
            }
        })
        .max()
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
}

/// The machine, as the figures' caption needs it: CPU model, cores and memory.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':').map(|(_, m)| m.trim().to_string()))
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:")?.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(String::new(), |kib| format!(", {:.0} GiB", kib / 1024.0 / 1024.0));
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(|x| format!(", load {x} at start")))
        .unwrap_or_default();
    format!("{model}, {cores} cores{mem_gib}{load}")
}
