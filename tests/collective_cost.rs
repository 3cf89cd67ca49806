//! Closed forms: on a contention-free platform, each collective algorithm's simulated time
//! equals its formula from Thakur, Rabenseifner & Gropp (2005) exactly.
//!
//! Model: a message of n bytes arrives α + nβ after it leaves (β = 1/bandwidth, with
//! ⌈·⌉ once per message); a rank's injections serialise (the next leaves nβ after the
//! last), and receptions do not. Platforms here have zero overheads and gaps, one rank
//! per node, and an eager limit above every message (unless a test says rendezvous).

use mpisim::{op, payload_of_size, Algorithm, Collective, Comm, Platform, World};

const ALPHA: u64 = 1_000;

/// α = 1 µs, 1 GB/s (β = 1 ns per byte), eager limit as given.
fn platform(eager_limit: u64) -> Platform {
    Platform { eager_limit, ..Platform::default() }
}

fn lg(p: usize) -> u64 {
    p.next_power_of_two().trailing_zeros() as u64 // ⌈lg p⌉
}

fn floor_lg(p: usize) -> u64 {
    (usize::BITS - 1 - p.leading_zeros()) as u64
}

/// The virtual time of one collective on `p` ranks with `alg`.
fn time(p: usize, coll: Collective, alg: Algorithm, eager_limit: u64, program: impl Fn(&Comm)) -> u64 {
    World::new(p)
        .platform(platform(eager_limit))
        .algorithm(coll, alg)
        .record_trace(false)
        .run(program)
        .unwrap_or_else(|e| panic!("{coll} {alg} p={p}: {e}"))
        .time
        .as_nanos()
}

#[track_caller]
fn check(what: &str, got: u64, formula: u64) {
    assert_eq!(got, formula, "{what}: simulated {got} ns, closed form {formula} ns");
}

const EAGER: u64 = u64::MAX;
const RENDEZVOUS: u64 = 0;

const POF2: [usize; 5] = [2, 4, 8, 16, 32];
const ANY: [usize; 10] = [2, 3, 4, 5, 6, 7, 8, 12, 17, 32];
/// Both protocols: every message eager, and every message rendezvous.
const PROTOCOLS: [(u64, &str); 2] = [(EAGER, "eager"), (RENDEZVOUS, "rendezvous")];

fn bcast_time(p: usize, alg: Algorithm, n: u64, limit: u64) -> u64 {
    time(p, Collective::Bcast, alg, limit, move |c| {
        let root = p / 3;
        let v = payload_of_size(n);
        assert_eq!(c.bcast((c.rank() == root).then_some(&v), root), v);
    })
}

#[test]
fn the_cli_example_bcast_is_lg_p_times_alpha_plus_n_beta() {
    let t = bcast_time(16, Algorithm::Binomial, 1024, Platform::default().eager_limit);
    check("bcast binomial p=16 n=1024", t, 4 * (ALPHA + 1024));
}

#[test]
fn the_coll_program_with_cli_flags_times_the_same() {
    // What `mpisim run coll -n 16 --op bcast --bytes 1024 --algorithm binomial` runs.
    let args: Vec<String> = "-n 16 --op bcast --bytes 1024 --algorithm binomial".split(' ').map(String::from).collect();
    let coll = mpisim::catalogue::find("coll").unwrap();
    let (opts, params) = mpisim::launch::prepare(coll, &args).unwrap();
    let sim = opts.world(coll.default_ranks).simulate(|c| (coll.run)(c, &params));
    assert!(sim.outcome.is_ok(), "{:?}", sim.outcome.err());
    check("coll bcast binomial p=16 n=1024", sim.time.as_nanos(), 4 * (ALPHA + 1024));
    // `--algorithm bcast=scatter_ring` is the run flag form, for any program.
    let args: Vec<String> =
        "-n 8 --op bcast --bytes 8192 --algorithm bcast=scatter_ring".split(' ').map(String::from).collect();
    let (opts, params) = mpisim::launch::prepare(coll, &args).unwrap();
    let sim = opts.world(coll.default_ranks).simulate(|c| (coll.run)(c, &params));
    check("coll bcast scatter_ring p=8 n=8192", sim.time.as_nanos(), (3 + 7) * ALPHA + 2 * 7 * 1024);
    let bad: Vec<String> = ["--algorithm", "bcast=ring"].map(String::from).to_vec();
    assert!(mpisim::launch::RunOptions::parse(&bad).unwrap_err().to_string().contains("bcast has binomial"));
}

#[test]
fn dissemination_barrier_is_lg_p_alpha() {
    for p in ANY.into_iter().chain([64]) {
        let t = time(p, Collective::Barrier, Algorithm::Dissemination, EAGER, |c| c.barrier());
        check(&format!("barrier p={p}"), t, lg(p) * ALPHA);
    }
}

#[test]
fn tree_and_linear_barriers() {
    for p in ANY {
        // Empty messages: a gather up the binomial tree and a release down it, each as deep
        // as the deepest rank (⌊lg p⌋ hops); linear: everyone to rank 0 and back.
        let t = time(p, Collective::Barrier, Algorithm::Binomial, EAGER, |c| c.barrier());
        check(&format!("binomial barrier p={p}"), t, 2 * floor_lg(p) * ALPHA);
        let t = time(p, Collective::Barrier, Algorithm::Linear, EAGER, |c| c.barrier());
        check(&format!("linear barrier p={p}"), t, 2 * ALPHA);
    }
}

#[test]
fn binomial_bcast_is_lg_p_times_alpha_plus_n_beta() {
    // Eager sends pipeline a root's later sends, so the form is exact on powers of two;
    // rendezvous sends are blocking, as in the paper's model, so it is exact on any p.
    for n in [1024, 100_000] {
        for p in POF2 {
            check(
                &format!("binomial eager p={p} n={n}"),
                bcast_time(p, Algorithm::Binomial, n, EAGER),
                lg(p) * (ALPHA + n),
            );
        }
        for p in ANY {
            let t = bcast_time(p, Algorithm::Binomial, n, RENDEZVOUS);
            check(&format!("binomial rendezvous p={p} n={n}"), t, lg(p) * (ALPHA + n));
        }
    }
}

#[test]
fn scatter_allgather_bcasts_meet_van_de_geijns_forms() {
    for p in POF2 {
        for (limit, proto) in PROTOCOLS {
            let n = 3 * 4096;
            let moved = 2 * (p as u64 - 1) * n / p as u64; // 2·((p−1)/p)·nβ
            let t = bcast_time(p, Algorithm::ScatterDoubling, n, limit);
            check(&format!("scatter+recursive doubling {proto} p={p}"), t, 2 * lg(p) * ALPHA + moved);
            let t = bcast_time(p, Algorithm::ScatterRing, n, limit);
            check(&format!("scatter+ring {proto} p={p}"), t, (lg(p) + p as u64 - 1) * ALPHA + moved);
        }
    }
}

#[test]
fn linear_bcast_serialises_the_roots_injections() {
    for p in ANY {
        for (limit, proto) in PROTOCOLS {
            let t = bcast_time(p, Algorithm::Linear, 2048, limit);
            check(&format!("linear bcast {proto} p={p}"), t, ALPHA + (p as u64 - 1) * 2048);
        }
    }
}

/// Scatter of p blocks of `m` bytes each (n = p·m).
fn scatter_time(p: usize, alg: Algorithm, m: u64, limit: u64) -> u64 {
    time(p, Collective::Scatter, alg, limit, move |c| {
        let blocks: Vec<Vec<u8>> = (0..p).map(|_| payload_of_size(m)).collect();
        c.scatter((c.rank() == 0).then_some(&blocks[..]), 0);
    })
}

fn gather_time(p: usize, alg: Algorithm, m: u64, limit: u64) -> u64 {
    time(p, Collective::Gather, alg, limit, move |c| {
        c.gather(&payload_of_size(m), p - 1);
    })
}

#[test]
fn scatter_and_gather() {
    for (m, (limit, proto)) in [1000, 10_000].into_iter().flat_map(|m| PROTOCOLS.map(|p| (m, p))) {
        for p in POF2 {
            // Binomial: lg p·α + ((p−1)/p)·nβ.
            let form = lg(p) * ALPHA + (p as u64 - 1) * m;
            check(
                &format!("binomial scatter {proto} p={p} m={m}"),
                scatter_time(p, Algorithm::Binomial, m, limit),
                form,
            );
            check(&format!("binomial gather {proto} p={p}"), gather_time(p, Algorithm::Binomial, m, limit), form);
        }
        for p in ANY {
            // Linear: the root's p − 1 injections serialise; its receptions do not.
            let t = scatter_time(p, Algorithm::Linear, m, limit);
            check(&format!("linear scatter {proto} p={p}"), t, ALPHA + (p as u64 - 1) * m);
            check(&format!("linear gather {proto} p={p}"), gather_time(p, Algorithm::Linear, m, limit), ALPHA + m);
        }
    }
}

fn allgather_time(p: usize, alg: Algorithm, m: u64, limit: u64) -> u64 {
    time(p, Collective::Allgather, alg, limit, move |c| {
        c.allgather(&payload_of_size(m));
    })
}

#[test]
fn allgathers() {
    for (m, (limit, proto)) in [1000, 10_000].into_iter().flat_map(|m| PROTOCOLS.map(|p| (m, p))) {
        for p in ANY {
            let moved = (p as u64 - 1) * m; // ((p−1)/p)·nβ
            check(
                &format!("ring {proto} p={p}"),
                allgather_time(p, Algorithm::Ring, m, limit),
                (p as u64 - 1) * ALPHA + moved,
            );
            check(
                &format!("bruck {proto} p={p}"),
                allgather_time(p, Algorithm::Bruck, m, limit),
                lg(p) * ALPHA + moved,
            );
            if p.is_power_of_two() {
                let t = allgather_time(p, Algorithm::RecursiveDoubling, m, limit);
                check(&format!("recursive doubling {proto} p={p}"), t, lg(p) * ALPHA + moved);
            }
        }
    }
}

fn alltoall_time(p: usize, alg: Algorithm, m: u64, limit: u64) -> u64 {
    time(p, Collective::Alltoall, alg, limit, move |c| {
        let blocks: Vec<Vec<u8>> = (0..p).map(|_| payload_of_size(m)).collect();
        c.alltoall(&blocks);
    })
}

#[test]
fn alltoalls() {
    for (m, (limit, proto)) in [1000, 10_000].into_iter().flat_map(|m| PROTOCOLS.map(|p| (m, p))) {
        for p in ANY {
            let pm = p as u64;
            let t = alltoall_time(p, Algorithm::Pairwise, m, limit);
            check(&format!("pairwise {proto} p={p}"), t, (pm - 1) * (ALPHA + m));
            let t = alltoall_time(p, Algorithm::Linear, m, limit);
            check(&format!("linear {proto} p={p}"), t, ALPHA + (pm - 1) * m);
            // Bruck: step k sends the blocks whose index has bit k, p/2 of them on a power
            // of two, so lg p·(α + (n/2)β) there.
            let bruck: u64 = (0..lg(p)).map(|k| ALPHA + (0..p).filter(|i| i >> k & 1 == 1).count() as u64 * m).sum();
            if p.is_power_of_two() {
                assert_eq!(bruck, lg(p) * (ALPHA + pm / 2 * m));
            }
            check(&format!("bruck {proto} p={p}"), alltoall_time(p, Algorithm::Bruck, m, limit), bruck);
        }
    }
}

/// A reduction of `n` one-byte elements (`n` bytes on the wire).
fn operand(c: &Comm, n: u64) -> Vec<u8> {
    (0..n).map(|i| (i as usize + c.rank()) as u8).collect()
}

fn reduce_time(p: usize, coll: Collective, alg: Algorithm, n: u64, limit: u64) -> u64 {
    time(p, coll, alg, limit, move |c| match coll {
        Collective::Reduce => drop(c.reduce(&operand(c, n), op::BOR, p - 1)),
        Collective::Allreduce => drop(c.allreduce(&operand(c, n), op::BOR)),
        Collective::Scan => drop(c.scan(&operand(c, n), op::BOR)),
        Collective::Exscan => drop(c.exscan(&operand(c, n), op::BOR)),
        Collective::ReduceScatter => {
            let blocks: Vec<Vec<u8>> = (0..p).map(|_| operand(c, n / p as u64)).collect();
            drop(c.reduce_scatter_block(&blocks, op::BOR));
        }
        other => unreachable!("{other} is not a reduction"),
    })
}

#[test]
fn reduces() {
    for (limit, proto) in PROTOCOLS {
        for p in ANY {
            let n = 96 * p as u64;
            // Binomial: the deepest rank is ⌊lg p⌋ hops from the root (= Thakur's ⌈lg p⌉
            // on powers of two; the model has γ = 0).
            let t = reduce_time(p, Collective::Reduce, Algorithm::Binomial, n, limit);
            check(&format!("binomial reduce {proto} p={p}"), t, floor_lg(p) * (ALPHA + n));
            let t = reduce_time(p, Collective::Reduce, Algorithm::Linear, n, limit);
            check(&format!("linear reduce {proto} p={p}"), t, ALPHA + n);
        }
        for p in POF2 {
            let n = 96 * p as u64;
            let t = reduce_time(p, Collective::Reduce, Algorithm::Rabenseifner, n, limit);
            // Reduce-scatter, then gather: 2 lg p·α + 2((p−1)/p)·nβ.
            check(&format!("rabenseifner reduce {proto} p={p}"), t, 2 * lg(p) * ALPHA + 2 * (p as u64 - 1) * 96);
        }
    }
}

#[test]
fn allreduces() {
    for (limit, proto) in PROTOCOLS {
        for p in ANY {
            let (pm, pof2) = (p as u64, 1u64 << floor_lg(p));
            let n = 96 * pm * pof2;
            if !p.is_power_of_two() && limit == EAGER {
                // An eager send completes at once, so a rank that folded in an extra one
                // can start its next send before the round ends: never slower than the round model.
                let t = reduce_time(p, Collective::Allreduce, Algorithm::RecursiveDoubling, n, limit);
                assert!(t <= (floor_lg(p) + 2) * (ALPHA + n), "p={p}: {t}");
                continue;
            }
            // Recursive doubling: lg p rounds of α + nβ; other sizes fold the extra ranks
            // in first and hand them the result last, two more rounds.
            let rounds = if p.is_power_of_two() { lg(p) } else { floor_lg(p) + 2 };
            let t = reduce_time(p, Collective::Allreduce, Algorithm::RecursiveDoubling, n, limit);
            check(&format!("recursive doubling {proto} p={p}"), t, rounds * (ALPHA + n));
            // Rabenseifner: 2 lg p·α + 2((p−1)/p)·nβ, plus the fold-in and hand-back.
            let core = 2 * floor_lg(p) * ALPHA + 2 * (pof2 - 1) * n / pof2;
            let extra = if p.is_power_of_two() { 0 } else { 2 * (ALPHA + n) };
            let t = reduce_time(p, Collective::Allreduce, Algorithm::Rabenseifner, n, limit);
            check(&format!("rabenseifner {proto} p={p}"), t, core + extra);
            // Ring: 2(p−1)·α + 2((p−1)/p)·nβ.
            let t = reduce_time(p, Collective::Allreduce, Algorithm::Ring, n, limit);
            check(&format!("ring {proto} p={p}"), t, 2 * (pm - 1) * ALPHA + 2 * (pm - 1) * n / pm);
        }
        for p in POF2 {
            let n = 96;
            let t = reduce_time(p, Collective::Allreduce, Algorithm::ReduceBcast, n, limit);
            check(&format!("reduce+bcast {proto} p={p}"), t, 2 * lg(p) * (ALPHA + n));
        }
    }
}

#[test]
fn reduce_scatters_and_scans() {
    for (limit, proto) in PROTOCOLS {
        for p in ANY {
            let (pm, n) = (p as u64, 96 * p as u64);
            let t = reduce_time(p, Collective::ReduceScatter, Algorithm::Pairwise, n, limit);
            check(&format!("pairwise reduce-scatter {proto} p={p}"), t, (pm - 1) * (ALPHA + n / pm));
            for coll in [Collective::Scan, Collective::Exscan] {
                let t = reduce_time(p, coll, Algorithm::RecursiveDoubling, n, limit);
                check(&format!("recursive doubling {coll} {proto} p={p}"), t, lg(p) * (ALPHA + n));
                let t = reduce_time(p, coll, Algorithm::Linear, n, limit);
                check(&format!("linear {coll} {proto} p={p}"), t, (pm - 1) * (ALPHA + n));
            }
        }
        for p in POF2 {
            let (pm, n) = (p as u64, 96 * p as u64);
            let t = reduce_time(p, Collective::ReduceScatter, Algorithm::RecursiveHalving, n, limit);
            check(&format!("recursive halving {proto} p={p}"), t, lg(p) * ALPHA + (pm - 1) * n / pm);
        }
    }
}
