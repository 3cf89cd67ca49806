//! Engine benchmark: prints figures, asserts nothing.
//!
//! ```text
//! cargo bench -p mpisim --bench engine                       # default parts (< ~2 min on 2 cores)
//! cargo bench -p mpisim --bench engine -- pingpong ring      # chosen parts
//! MPISIM_BENCH=memory,maxranks cargo bench -p mpisim --bench engine
//! MPISIM_BENCH_SCALE=0.1 cargo bench -p mpisim --bench engine   # fewer iterations
//! ```
//!
//! Parts:
//! - `pingpong`: 2 ranks exchange 8-byte messages; simulated messages per wall-clock second,
//!   trace recording off and on.
//! - `ring`: 1,024 ranks pass 8-byte messages around a ring (sendrecv, and send then recv),
//!   trace off and on.
//! - `memory`: peak resident memory per rank of worlds of 10,000 and 30,000 ranks with
//!   16 KiB stacks, each rank doing one ring step (each world in its own process).
//! - `maxranks`: the largest world that runs under the current `vm.max_map_count`: 30,000
//!   ranks, the largest count mpisim's check admits, and one more (which must be refused).
//! - `million`: 1,000,000 ranks with 16 KiB stacks, one ring step; skipped with advice
//!   unless `vm.max_map_count` allows it (`sysctl -w vm.max_map_count=2100000`).
//!
//! `MPISIM_BENCH_TRACE=off` (or `on`) runs parts 1 and 2 with that trace setting only.
//!
//! Without `--bench` on the command line (as under `cargo test --benches`), every part runs
//! once at a tiny size, as a smoke test.
//!
//! The memory and rank-count parts re-run this binary with `MPISIM_BENCH_CHILD` set, so
//! that each world is measured in a fresh process (its own peak RSS, its own map count,
//! no stacks pooled from an earlier world).

use mpisim::{Comm, World, MAPS_PER_RANK};
use std::process::Command;
use std::time::{Duration, Instant};

const PARTS: &[&str] = &["pingpong", "ring", "matching", "memory", "maxranks", "million"];
const CHILD_ENV: &str = "MPISIM_BENCH_CHILD";
const SMALL_STACK: usize = 16 * 1024;
/// `check_map_count`'s margin of maps kept free for the rest of the process.
const MAP_MARGIN: usize = 512;

fn main() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        child(&spec);
        return;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let full = args.iter().any(|a| a == "--bench");
    let mut parts: Vec<String> = args.iter().filter(|a| !a.starts_with('-')).cloned().collect();
    if parts.is_empty() {
        if let Ok(list) = std::env::var("MPISIM_BENCH") {
            parts = list.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        }
    }
    if parts.is_empty() || parts.iter().any(|p| p == "all") {
        parts = PARTS.iter().map(|s| s.to_string()).collect();
    }
    for p in &parts {
        if !PARTS.contains(&p.as_str()) {
            eprintln!("unknown part {p:?}; the parts are {}", PARTS.join(", "));
            std::process::exit(2);
        }
    }
    let scale: f64 = std::env::var("MPISIM_BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let scale = if full { scale } else { 1e-4 };
    let n = |base: u64| ((base as f64 * scale).round() as u64).max(1);
    let traces: &[bool] = match std::env::var("MPISIM_BENCH_TRACE").as_deref() {
        Ok("off") => &[false],
        Ok("on") => &[true],
        _ => &[false, true],
    };

    println!("mpisim engine benchmark ({})", if full { "full" } else { "smoke test: tiny sizes" });
    println!("  parts: {}; scale {scale}", parts.join(", "));
    println!("  vm.max_map_count = {}", max_map_count().map_or("unknown".into(), |m| m.to_string()));
    println!();
    let t0 = now();
    for part in &parts {
        match part.as_str() {
            "pingpong" => pingpong(traces, n(1_000_000), n(1_000_000)),
            "ring" => ring(traces, 1024, n(2_000), n(500)),
            "matching" => matching(&[n(10_000), n(100_000)]),
            "memory" => memory(if full { &[10_000, 30_000] } else { &[100, 300] }),
            "maxranks" => maxranks(full),
            "million" => million(if full { 1_000_000 } else { 1_000 }),
            _ => unreachable!(),
        }
        println!();
    }
    println!("total wall time {:.1} s", t0.elapsed().as_secs_f64());
}

/// Many outstanding messages: rank 0 isends `n` messages with distinct tags, rank 1 takes
/// them in reverse tag order and then with ANY_TAG: matching must not scan the whole
/// unexpected queue for each receive.
fn matching(sizes: &[u64]) {
    println!("matching: n outstanding isends, received by tag (reverse order), then with ANY_TAG");
    for &n in sizes {
        let program = move |comm: &Comm| -> f64 {
            if comm.rank() == 0 {
                let mut reqs: Vec<_> = (0..n).map(|i| comm.isend(&i, 1, i as i32)).collect();
                comm.waitall(&mut reqs);
            } else {
                comm.compute(Duration::from_millis(10));
                for i in (n / 2..n).rev() {
                    let _: u64 = comm.recv(0, i as i32);
                }
                for _ in 0..n / 2 {
                    let _: u64 = comm.recv(0, mpisim::ANY_TAG);
                }
            }
            0.0
        };
        measure(World::new(2).record_trace(false), program).print(&format!("{n} outstanding"));
    }
}

/// A run's figures: simulated messages, wall-clock time.
struct Measured {
    messages: u64,
    bytes: u64,
    calls: u64,
    events: usize,
    wall: Duration,
}

impl Measured {
    fn print(&self, label: &str) {
        let secs = self.wall.as_secs_f64();
        println!(
            "  {label:<28} {:>10} msgs {:>7.3} s  {:>6.2} M msg/s  {:>6.1} ns/msg  {:>6.2} M calls/s  {:>9} events  {} B/msg",
            self.messages,
            secs,
            self.messages as f64 / secs / 1e6,
            secs * 1e9 / self.messages as f64,
            self.calls as f64 / secs / 1e6,
            self.events,
            self.bytes / self.messages.max(1),
        );
    }
}

fn measure<F: Fn(&Comm) -> f64>(world: World, program: F) -> Measured {
    let start = now();
    let run = world.run(program).unwrap_or_else(|e| panic!("the benchmark world failed: {e}"));
    let wall = start.elapsed();
    let m = Measured {
        messages: run.stats.messages,
        bytes: run.stats.bytes,
        calls: run.stats.calls,
        events: run.trace.events.len(),
        wall,
    };
    drop(run);
    m
}

/// Rank 0 sends 8 bytes (an `f64`) to rank 1, which sends them back, `rounds` times.
fn pingpong_program(rounds: u64) -> impl Fn(&Comm) -> f64 {
    move |comm| {
        let mut x = 0.0f64;
        for _ in 0..rounds {
            if comm.rank() == 0 {
                comm.send(&x, 1, 0);
                x = comm.recv(1, 0);
            } else {
                x = comm.recv(0, 0);
                comm.send(&(x + 1.0), 0, 0);
            }
        }
        x
    }
}

fn pingpong(traces: &[bool], rounds_off: u64, rounds_on: u64) {
    println!("1. ping-pong, 2 ranks, 8-byte messages (wall clock of World::run, 1 thread)");
    measure(World::new(2).record_trace(false), pingpong_program(1_000)); // warm up
    for &trace in traces {
        let (rounds, on) = if trace { (rounds_on, "on ") } else { (rounds_off, "off") };
        measure(World::new(2).record_trace(trace), pingpong_program(rounds))
            .print(&format!("trace {on}, {rounds} round trips"));
    }
}

/// Each rank passes 8 bytes to its right neighbour and takes them from its left one,
/// `steps` times: with `sendrecv`, or with a blocking send then a receive (fine: eager).
fn ring_program(steps: u64, sendrecv: bool) -> impl Fn(&Comm) -> f64 {
    move |comm| {
        let (rank, size) = (comm.rank(), comm.size());
        let (right, left) = ((rank + 1) % size, (rank + size - 1) % size);
        let mut x = rank as f64;
        for _ in 0..steps {
            if sendrecv {
                x = comm.sendrecv(&x, right, 0, left, 0);
            } else {
                comm.send(&x, right, 0);
                x = comm.recv(left, 0);
            }
        }
        x
    }
}

fn ring(traces: &[bool], ranks: usize, steps_off: u64, steps_on: u64) {
    println!("2. ring, {ranks} ranks, 8-byte messages");
    for &trace in traces {
        let steps = if trace { steps_on } else { steps_off };
        for (sendrecv, name) in [(true, "sendrecv"), (false, "send+recv")] {
            let on = if trace { "on " } else { "off" };
            measure(World::new(ranks).record_trace(trace), ring_program(steps, sendrecv))
                .print(&format!("trace {on}, {name}, {steps} steps"));
        }
    }
}

fn memory(sizes: &[usize]) {
    println!("3. peak memory per rank: one ring step (sendrecv), {} KiB stacks, trace off", SMALL_STACK / 1024);
    println!("   (each world in a fresh process; per rank = (VmHWM after - VmRSS before) / ranks)");
    let mut rows = Vec::new();
    for &ranks in sizes {
        let r = run_child("ring", ranks, SMALL_STACK, false);
        r.print();
        rows.push((ranks, r));
    }
    if let [(n1, a), (n2, b), ..] = &rows[..] {
        if let (Some(a), Some(b)) = (a.get("hwm_after_kb"), b.get("hwm_after_kb")) {
            println!(
                "  marginal cost {n1} -> {n2} ranks: {:.2} KiB per rank",
                (b as f64 - a as f64) / (*n2 as f64 - *n1 as f64)
            );
        }
    }
    let r = run_child("ring", sizes[0], SMALL_STACK, true);
    print!("  with trace on: ");
    r.print();
}

fn maxranks(full: bool) {
    println!("4. ranks under the current vm.max_map_count ({MAPS_PER_RANK} maps per rank's stack)");
    let Some(limit) = max_map_count() else {
        println!("  /proc/sys/vm/max_map_count is not readable: skipped");
        return;
    };
    let probe = run_child("maps", 0, SMALL_STACK, false);
    let used = probe.get("maps").unwrap_or(0) as usize;
    let fits = limit.saturating_sub(used + MAP_MARGIN) / MAPS_PER_RANK;
    println!("  limit {limit}; a fresh process has {used} maps; mpisim admits at most {fits} ranks");
    let mut tries = vec![if full { 30_000 } else { 300 }];
    if full {
        tries.extend([fits, fits + 1]);
    }
    for ranks in tries {
        run_child("ring", ranks, SMALL_STACK, false).print();
    }
}

fn million(ranks: usize) {
    println!("5. {ranks} ranks, {} KiB stacks, one ring step", SMALL_STACK / 1024);
    let limit = max_map_count().unwrap_or(usize::MAX);
    let needed = ranks * MAPS_PER_RANK + 2 * MAP_MARGIN;
    if needed > limit {
        println!(
            "  skipped: needs about {needed} memory maps, vm.max_map_count is {limit}; as root run \
             `sysctl -w vm.max_map_count={}` and then `cargo bench -p mpisim --bench engine -- million`",
            needed.next_multiple_of(100_000)
        );
        return;
    }
    run_child("ring", ranks, SMALL_STACK, false).print();
}

/// The key=value figures a child printed, or why it failed.
struct ChildResult {
    ranks: usize,
    fields: Vec<(String, String)>,
    failure: Option<String>,
}

impl ChildResult {
    fn get(&self, key: &str) -> Option<u64> {
        self.fields.iter().find(|(k, _)| k == key).and_then(|(_, v)| v.parse().ok())
    }

    fn text(&self, key: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn print(&self) {
        if let Some(why) = &self.failure {
            println!("  {:>9} ranks: FAILED: {why}", self.ranks);
            return;
        }
        if let Some(err) = self.text("error") {
            println!("  {:>9} ranks: refused: {}", self.ranks, err.replace(" | ", "\n                   "));
            return;
        }
        let kib = |k: &str| self.get(k).unwrap_or(0);
        let (before, hwm) = (kib("rss_before_kb"), kib("hwm_after_kb"));
        let per_rank = |kib: u64| kib as f64 / self.ranks.max(1) as f64;
        let stacks = self.get("stack_rss_kb").map_or(String::new(), |s| {
            format!(
                " (stack pages {:.2} KiB, the rest {:.2} KiB)",
                per_rank(s),
                per_rank(hwm.saturating_sub(before).saturating_sub(s))
            )
        });
        println!(
            "  {:>9} ranks: ok in {:.2} s; {} messages; maps at peak {}; VmRSS before {} KiB, VmHWM after {} KiB \
             ({:.1} MiB); {:.2} KiB per rank{stacks}",
            self.ranks,
            kib("wall_ms") as f64 / 1000.0,
            kib("messages"),
            kib("maps_peak"),
            before,
            hwm,
            hwm as f64 / 1024.0,
            per_rank(hwm.saturating_sub(before)),
        );
    }
}

/// Runs one world in a fresh process of this binary.
fn run_child(what: &str, ranks: usize, stack: usize, trace: bool) -> ChildResult {
    let exe = std::env::current_exe().expect("the bench knows its own path");
    let spec = format!("{what},{ranks},{stack},{}", u8::from(trace));
    let out = Command::new(exe).env(CHILD_ENV, &spec).output();
    let mut result = ChildResult { ranks, fields: Vec::new(), failure: None };
    match out {
        Err(e) => result.failure = Some(format!("could not start the child process: {e}")),
        Ok(out) => {
            let stdout = String::from_utf8_lossy(&out.stdout);
            if let Some(line) = stdout.lines().find(|l| l.starts_with("child ")) {
                for field in line["child ".len()..].split('\t') {
                    if let Some((k, v)) = field.split_once('=') {
                        result.fields.push((k.to_string(), v.to_string()));
                    }
                }
            }
            if !out.status.success() {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
                result.failure = Some(format!(
                    "child exited with {}: {}",
                    out.status,
                    tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
                ));
            }
        }
    }
    result
}

/// In a child process: run one world and print `child k=v\tk=v...`.
fn child(spec: &str) {
    let fields: Vec<&str> = spec.split(',').collect();
    let [what, ranks, stack, trace] = fields[..] else {
        panic!("bad {CHILD_ENV}={spec}");
    };
    let ranks: usize = ranks.parse().expect("rank count");
    let stack: usize = stack.parse().expect("stack size");
    let trace = trace == "1";
    let mut out = vec![format!("ranks={ranks}")];
    match what {
        "maps" => out.push(format!("maps={}", map_count())),
        "ring" => {
            let rss_before = status_kib("VmRSS");
            let maps_peak = std::cell::Cell::new(0usize);
            let maps_read = std::cell::Cell::new(Duration::ZERO);
            let stack_rss = std::cell::Cell::new(None);
            let start = now();
            let run = World::new(ranks).stack_size(stack).record_trace(trace).run(|comm| {
                let (rank, size) = (comm.rank(), comm.size());
                let x: f64 = comm.sendrecv(&(rank as f64), (rank + 1) % size, 0, (rank + size - 1) % size, 0);
                if rank == 0 {
                    // Every rank's stack is mapped now: all are blocked in or past their step.
                    let t = now();
                    maps_peak.set(map_count());
                    if ranks <= 100_000 {
                        stack_rss.set(Some(stack_rss_kib(stack)));
                    }
                    maps_read.set(t.elapsed());
                }
                x
            });
            // Not counting the read of /proc/self/maps, slow with millions of maps.
            let wall = start.elapsed().saturating_sub(maps_read.get());
            out.push(format!("rss_before_kb={rss_before}"));
            out.push(format!("hwm_after_kb={}", status_kib("VmHWM")));
            out.push(format!("wall_ms={}", wall.as_millis()));
            match run {
                Ok(run) => {
                    out.push(format!("messages={}", run.stats.messages));
                    out.push(format!("maps_peak={}", maps_peak.get()));
                    if let Some(kib) = stack_rss.get() {
                        out.push(format!("stack_rss_kb={kib}"));
                    }
                    out.push(format!("events={}", run.trace.events.len()));
                }
                Err(e) => out.push(format!("error={}", e.to_string().replace('\n', " | "))),
            }
        }
        _ => panic!("bad {CHILD_ENV}={spec}"),
    }
    println!("child {}", out.join("\t"));
}

/// The wall clock: what a benchmark measures, and what the engine never reads.
#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

fn max_map_count() -> Option<usize> {
    std::fs::read_to_string("/proc/sys/vm/max_map_count").ok()?.trim().parse().ok()
}

fn map_count() -> usize {
    let mut n = 0;
    for_each_line("/proc/self/maps", |_| n += 1);
    n
}

/// Resident KiB of all read-write mappings exactly `stack` bytes long: the ranks' stacks
/// (without their guard pages), from `/proc/self/smaps`.
fn stack_rss_kib(stack: usize) -> u64 {
    let (mut total, mut rw, mut sized) = (0, false, false);
    for_each_line("/proc/self/smaps", |line| {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or("");
        if !first.ends_with(':') {
            // A mapping's header: `start-end perms offset dev inode [path]`.
            (rw, sized) = (words.next() == Some("rw-p"), false);
            return;
        }
        let value: u64 = words.next().and_then(|v| v.parse().ok()).unwrap_or(0);
        match first {
            "Size:" => sized = value * 1024 == stack as u64,
            "Rss:" if rw && sized => total += value,
            _ => {}
        }
    });
    total
}

/// Calls `f` on each line of a file, reading it in small pieces: `/proc/self/smaps` of a
/// world of 30,000 ranks is 60 MB, which would otherwise count in the peak it measures.
fn for_each_line(path: &str, mut f: impl FnMut(&str)) {
    use std::io::BufRead;
    let Ok(file) = std::fs::File::open(path) else {
        return;
    };
    let mut reader = std::io::BufReader::with_capacity(64 * 1024, file);
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
        f(&line);
        line.clear();
    }
}

/// A `kB` line of `/proc/self/status`, e.g. `VmRSS`, `VmHWM`.
fn status_kib(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
