//! Collectives: mpi4py's semantics on every algorithm, errors, nonblocking collectives,
//! communicators, and a proptest conformance suite against sequential reference results.

mod common;

use mpisim::{
    op, strategies, Algorithm, CallKind, Collective, Comm, ErrorClass, ReduceOp, SimError, UserOp, World, ANY_SOURCE,
    ANY_TAG,
};
use proptest::prelude::*;

/// A world of `p` ranks running `coll` with `alg`.
fn world(p: usize, coll: Collective, alg: Algorithm) -> World {
    World::new(p).algorithm(coll, alg).record_trace(false)
}

/// Every algorithm of `coll`.
fn algorithms(coll: Collective) -> Vec<Algorithm> {
    coll.algorithms().to_vec()
}

/// Runs `program` on `p` ranks with every algorithm of `coll`, and checks each rank's result.
#[track_caller]
fn check<R: std::fmt::Debug + PartialEq>(
    coll: Collective,
    p: usize,
    program: impl Fn(&Comm) -> R,
    expected: impl Fn(usize) -> R,
) {
    for alg in algorithms(coll) {
        let run = world(p, coll, alg).run(&program).unwrap_or_else(|e| panic!("{coll} with {alg} on {p} ranks: {e}"));
        for (rank, got) in run.results.iter().enumerate() {
            assert_eq!(got, &expected(rank), "{coll} with {alg} on {p} ranks, rank {rank}");
        }
    }
}

const SIZES: [usize; 9] = [1, 2, 3, 4, 5, 7, 8, 12, 16];

#[test]
fn bcast_of_a_dict_reaches_every_rank_from_every_root() {
    for p in SIZES {
        for root in [0, p / 2, p - 1] {
            let dict = || std::collections::BTreeMap::from([("key1".to_string(), vec![7, 2]), ("key2".into(), vec![])]);
            check(Collective::Bcast, p, |c| c.bcast((c.rank() == root).then(dict).as_ref(), root), |_| dict());
        }
    }
}

#[test]
fn bcast_of_large_values_cuts_into_chunks() {
    for p in [2, 3, 4, 6, 8, 13] {
        let data = |n: usize| (0..n).map(|i| (i * 7 % 251) as u8).collect::<Vec<u8>>();
        for n in [0, 1, p - 1, 1000, 4099] {
            check(Collective::Bcast, p, |c| c.bcast((c.rank() == 1).then(|| data(n)).as_ref(), 1), |_| data(n));
        }
    }
}

#[test]
fn scatter_of_squares_and_gather_of_them() {
    for p in SIZES {
        for root in [0, p - 1] {
            let squares: Vec<u64> = (0..p as u64).map(|i| (i + 1) * (i + 1)).collect();
            check(
                Collective::Scatter,
                p,
                |c| c.scatter((c.rank() == root).then_some(&squares[..]), root),
                |r| squares[r],
            );
            check(
                Collective::Gather,
                p,
                |c| c.gather(&(((c.rank() + 1) * (c.rank() + 1)) as u64), root),
                |r| (r == root).then(|| squares.clone()),
            );
        }
    }
}

#[test]
fn allgather_and_alltoall_transpose() {
    for p in SIZES {
        check(
            Collective::Allgather,
            p,
            |c| c.allgather(&format!("r{}", c.rank())),
            |_| (0..p).map(|i| format!("r{i}")).collect::<Vec<_>>(),
        );
        check(
            Collective::Alltoall,
            p,
            |c| c.alltoall(&(0..p).map(|j| (c.rank(), j)).collect::<Vec<_>>()),
            |r| (0..p).map(|i| (i, r)).collect::<Vec<_>>(),
        );
    }
}

#[test]
fn reduce_replace_gives_the_last_rank_and_no_op_the_first() {
    for p in SIZES {
        for root in [0, p - 1] {
            check(
                Collective::Reduce,
                p,
                |c| (c.reduce(&c.rank(), op::REPLACE, root), c.reduce(&c.rank(), op::NO_OP, root)),
                |r| if r == root { (Some(p - 1), Some(0)) } else { (None, None) },
            );
        }
        check(
            Collective::Allreduce,
            p,
            |c| (c.allreduce(&c.rank(), op::REPLACE), c.allreduce(&c.rank(), op::NO_OP)),
            |_| (p - 1, 0),
        );
    }
}

#[test]
fn scan_and_exscan_values() {
    for p in SIZES {
        check(
            Collective::Scan,
            p,
            |c| c.scan(&(c.rank() as u64 + 1), op::SUM),
            |r| (r as u64 + 1) * (r as u64 + 2) / 2,
        );
        check(
            Collective::Exscan,
            p,
            |c| c.exscan(&(c.rank() as u64 + 1), op::SUM),
            |r| (r > 0).then(|| r as u64 * (r as u64 + 1) / 2),
        );
    }
}

#[test]
fn a_non_commutative_user_op_gives_the_rank_order_product() {
    let concat = UserOp::new(|a: &String, b: &String| format!("{a}{b}"), false);
    for p in SIZES {
        let all: String = (0..p).map(|i| char::from(b'a' + i as u8)).collect();
        let me = |c: &Comm| char::from(b'a' + c.rank() as u8).to_string();
        for root in [0, p / 2, p - 1] {
            let op = concat.clone();
            check(
                Collective::Reduce,
                p,
                move |c| c.reduce(&me(c), op.clone(), root),
                |r| (r == root).then(|| all.clone()),
            );
        }
        let op = concat.clone();
        check(Collective::Allreduce, p, move |c| c.allreduce(&me(c), op.clone()), |_| all.clone());
        let op = concat.clone();
        check(Collective::Scan, p, move |c| c.scan(&me(c), op.clone()), |r| all[..=r].to_string());
        let op = concat.clone();
        check(Collective::Exscan, p, move |c| c.exscan(&me(c), op.clone()), |r| (r > 0).then(|| all[..r].to_string()));
        let op = concat.clone();
        check(
            Collective::ReduceScatter,
            p,
            move |c| c.reduce_scatter_block(&(0..p).map(|j| format!("{}{j}", me(c))).collect::<Vec<_>>(), op.clone()),
            |r| (0..p).map(|i| format!("{}{r}", char::from(b'a' + i as u8))).collect::<String>(),
        );
    }
}

#[test]
fn every_builtin_op_on_vectors_element_by_element() {
    for p in [1, 3, 4, 6, 8] {
        let v = |r: usize| vec![r as i64 - 2, (r * r) as i64 % 5, 1 << r, 3];
        let fold = |f: fn(i64, i64) -> i64| {
            let mut acc = v(0);
            for r in 1..p {
                acc = acc.iter().zip(v(r)).map(|(a, b)| f(*a, b)).collect();
            }
            acc
        };
        type Reference = fn(i64, i64) -> i64;
        let cases: Vec<(mpisim::ReduceOp, Reference)> = vec![
            (op::SUM, |a, b| a.wrapping_add(b)),
            (op::PROD, |a, b| a.wrapping_mul(b)),
            (op::MAX, |a, b| a.max(b)),
            (op::MIN, |a, b| a.min(b)),
            (op::LAND, |a, b| i64::from(a != 0 && b != 0)),
            (op::LOR, |a, b| i64::from(a != 0 || b != 0)),
            (op::LXOR, |a, b| i64::from((a != 0) != (b != 0))),
            (op::BAND, |a, b| a & b),
            (op::BOR, |a, b| a | b),
            (op::BXOR, |a, b| a ^ b),
        ];
        for (o, f) in cases {
            let want = fold(f);
            check(Collective::Allreduce, p, move |c| c.allreduce(&v(c.rank()), o), |_| want.clone());
            let want = fold(f);
            check(
                Collective::Reduce,
                p,
                move |c| c.reduce(&v(c.rank()), o, p - 1),
                |r| (r == p - 1).then(|| want.clone()),
            );
        }
    }
}

#[test]
fn maxloc_and_minloc_ties_go_to_the_smaller_index() {
    for p in SIZES {
        let value = |r: usize| [3.0f64, 7.5, 1.0, 7.5, 1.0][r % 5];
        let max_at = (0..p).max_by(|&a, &b| value(a).total_cmp(&value(b)).then(b.cmp(&a))).unwrap();
        let min_at = (0..p).min_by(|&a, &b| value(a).total_cmp(&value(b)).then(a.cmp(&b))).unwrap();
        check(
            Collective::Allreduce,
            p,
            |c| {
                (
                    c.allreduce(&(value(c.rank()), c.rank()), op::MAXLOC),
                    c.allreduce(&(value(c.rank()), c.rank()), op::MINLOC),
                )
            },
            |_| ((value(max_at), max_at), (value(min_at), min_at)),
        );
    }
}

/// The line of this file that ends with the marker comment `// @name`.
fn line_of(name: &str) -> u32 {
    common::marked_line(include_str!("collectives.rs"), name)
}

/// Runs `program` on `p` ranks and returns the rank failure it must end in.
#[track_caller]
fn failure<R: std::fmt::Debug>(p: usize, program: impl Fn(&Comm) -> R) -> mpisim::RankFailure {
    match World::new(p).run(program) {
        Err(SimError::RankFailed(f)) => f,
        other => panic!("expected a rank failure, got {other:?}"),
    }
}

#[track_caller]
fn check_failure(f: &mpisim::RankFailure, class: ErrorClass, call: CallKind, marker: &str, words: &str) {
    let e = f.error.as_ref().unwrap_or_else(|| panic!("no MPI error in {f:?}"));
    assert_eq!(e.class, class, "{e}");
    assert_eq!(f.call, Some(call), "{e}");
    assert!(e.message.contains(words), "`{words}` not in: {e}");
    let site = f.location.as_ref().expect("a failure names its site");
    assert!(site.file.ends_with("collectives.rs") && site.line == line_of(marker), "at {site}: {e}");
}

#[test]
fn misuse_is_a_clear_error_at_the_callers_line() {
    let f = failure(4, |c| {
        let values = [1, 2, 3];
        c.scatter((c.rank() == 0).then_some(&values[..]), 0) // @scatter
    });
    check_failure(&f, ErrorClass::Count, CallKind::Scatter, "scatter", "3 values for 4 ranks");
    let f = failure(3, |c| c.alltoall(&[1, 2])); // @alltoall
    check_failure(&f, ErrorClass::Count, CallKind::Alltoall, "alltoall", "2 values for 3 ranks");
    let f = failure(4, |c| c.bcast(Some(&1), 9)); // @root
    check_failure(&f, ErrorClass::Root, CallKind::Bcast, "root", "invalid root 9: the communicator has 4 ranks");
    let f = failure(2, |c| c.bcast::<u8>(None, 0)); // @none
    check_failure(&f, ErrorClass::Arg, CallKind::Bcast, "none", "must pass Some(&value)");
    let f = failure(4, |c| c.gatherv(&[1, 2], &[2, 2, 2], 0)); // @gatherv
    check_failure(&f, ErrorClass::Count, CallKind::Gatherv, "gatherv", "3 entries for 4 ranks");
    let f = failure(2, |c| c.allreduce(&1.5f64, op::BAND)); // @band
    check_failure(&f, ErrorClass::Op, CallKind::Allreduce, "band", "MPI_BAND is not defined for `f64`");
}

#[test]
fn mismatched_counts_and_types_are_errors() {
    // Vectors of different lengths: MPI's "mismatched counts".
    for alg in algorithms(Collective::Allreduce) {
        let run = world(4, Collective::Allreduce, alg).run(|c| c.allreduce(&vec![1u32; 3 + c.rank() % 2], op::SUM));
        let Err(SimError::RankFailed(f)) = run else { panic!("{alg}: expected a failure, got {run:?}") };
        assert_eq!(f.error.unwrap().class, ErrorClass::Count, "{alg}");
    }
    // Ranks that disagree on a v-variant's counts.
    let run = World::new(3).run(|c| {
        let counts = if c.rank() == 1 { [1, 2, 1] } else { [2, 1, 1] };
        c.allgatherv(&vec![7u32; counts[c.rank()]], &counts)
    });
    let Err(SimError::RankFailed(f)) = run else { panic!("expected a failure, got {run:?}") };
    let e = f.error.unwrap();
    assert_eq!(e.class, ErrorClass::Count, "{e}");
    assert!(e.message.contains("mismatched counts"), "{e}");
    // A rank that bcasts another type than the root.
    let run = World::new(3).run(|c| {
        if c.rank() == 0 {
            c.bcast(Some(&7i32), 0);
        } else {
            c.bcast::<i64>(None, 0);
        }
    });
    let Err(SimError::RankFailed(f)) = run else { panic!("expected a failure, got {run:?}") };
    let e = f.error.unwrap();
    assert_eq!(e.class, ErrorClass::Type, "{e}");
    assert!(e.message.contains("`i32`") && e.message.contains("`i64`"), "{e}");
}

#[test]
fn collective_traffic_never_matches_a_users_receive() {
    let run = World::new(4)
        .run(|c| {
            if c.rank() == 0 {
                // Posted before the bcast's messages arrive; it must get only the user's send.
                let req = c.irecv(ANY_SOURCE, ANY_TAG);
                c.bcast(Some(&"collective".to_string()), 0);
                let mut req = req;
                let got: String = req.wait_value();
                got
            } else {
                let s: String = c.bcast(None, 0);
                if c.rank() == 3 {
                    c.send(&"user".to_string(), 0, 5);
                }
                s
            }
        })
        .unwrap();
    assert_eq!(run.results, vec!["user", "collective", "collective", "collective"]);
}

#[test]
fn collectives_on_split_dup_and_self_communicators() {
    for p in [1, 2, 5, 8] {
        let run = World::new(p)
            .run(|c| {
                let half = c.split((c.rank() % 2) as u32, c.rank() as i32).expect("every rank has a color");
                let in_half = half.allreduce(&c.rank(), op::SUM);
                let dup = c.dup();
                let everyone = dup.allgather(&c.rank());
                let me = c.self_comm();
                let alone = (me.bcast(Some(&c.rank()), 0), me.allreduce(&5, op::SUM), me.alltoall(&[c.rank()]));
                (in_half, everyone, alone)
            })
            .unwrap();
        for (r, (in_half, everyone, alone)) in run.results.into_iter().enumerate() {
            assert_eq!(in_half, (0..p).filter(|i| i % 2 == r % 2).sum::<usize>());
            assert_eq!(everyone, (0..p).collect::<Vec<_>>());
            assert_eq!(alone, (r, 5, vec![r]));
        }
    }
}

#[test]
fn nonblocking_collectives_overlap_and_agree_with_the_blocking_ones() {
    for p in [1, 2, 3, 4, 7, 8] {
        let run = World::new(p)
            .run(|c| {
                let r = c.rank() as u64;
                let b = c.ibcast((c.rank() == 0).then_some(&"hi".to_string()), 0);
                let s = c.iallreduce(&r, op::SUM);
                let g = c.igather(&r, p - 1);
                let x = c.iexscan(&r, op::SUM);
                let mut bar = c.ibarrier();
                c.compute(std::time::Duration::from_micros(20));
                while !bar.test() {}
                let a = c.ialltoall(&(0..p as u64).map(|j| r * 100 + j).collect::<Vec<_>>());
                let sc = c.iscatter((c.rank() == 0).then(|| (0..p as u64).collect::<Vec<_>>()).as_deref(), 0);
                let red = c.ireduce(&vec![r, 1], op::MAX, 0);
                let scan = c.iscan(&r, op::SUM);
                let all = c.iallgather(&r);
                (b.wait(), s.wait(), g.wait(), x.wait(), a.wait(), sc.wait(), red.wait(), scan.wait(), all.wait())
            })
            .unwrap();
        let pm = p as u64;
        for (r, got) in run.results.into_iter().enumerate() {
            let ru = r as u64;
            assert_eq!(got.0, "hi");
            assert_eq!(got.1, pm * (pm - 1) / 2);
            assert_eq!(got.2, (r == p - 1).then(|| (0..pm).collect::<Vec<_>>()));
            assert_eq!(got.3, (r > 0).then(|| ru * (ru - 1) / 2));
            assert_eq!(got.4, (0..pm).map(|i| i * 100 + ru).collect::<Vec<_>>());
            assert_eq!(got.5, ru);
            assert_eq!(got.6, (r == 0).then(|| vec![pm - 1, 1]));
            assert_eq!(got.7, ru * (ru + 1) / 2);
            assert_eq!(got.8, (0..pm).collect::<Vec<_>>());
        }
    }
    // Overlap: a nonblocking allreduce costs nothing extra behind a long enough compute.
    let t = |overlap: bool| {
        World::new(8)
            .run(move |c| {
                if overlap {
                    let req = c.iallreduce(&vec![1u8; 1000], op::SUM);
                    c.compute(std::time::Duration::from_micros(50));
                    req.wait();
                } else {
                    c.allreduce(&vec![1u8; 1000], op::SUM);
                    c.compute(std::time::Duration::from_micros(50));
                }
            })
            .unwrap()
            .time
            .as_nanos()
    };
    assert!(t(true) < t(false), "overlapped {} ns, not overlapped {} ns", t(true), t(false));
}

#[test]
fn auto_selection_follows_mpichs_sizes() {
    // bcast on 8 ranks or more agrees on the size first, then picks by it: the trace's
    // begin markers name the algorithms.
    let algorithms_of = |bytes: u64| {
        let run = World::new(16)
            .run(move |c| {
                let v = mpisim::payload_of_size(bytes);
                c.bcast((c.rank() == 0).then_some(&v), 0).len()
            })
            .unwrap();
        run.stats.messages
    };
    // Binomial: 15 messages of data plus 15 of the size; scatter + allgather sends more.
    assert_eq!(algorithms_of(1000), 30);
    assert!(algorithms_of(100_000) > 30);
}

/// The sequential reference of a reduction in rank order.
fn fold(op: ReduceOp, xs: &[Vec<i16>]) -> Vec<i16> {
    let mut acc = xs[0].clone();
    for x in &xs[1..] {
        acc = acc.iter().zip(x).map(|(a, b)| <i16 as mpisim::Element>::apply(op, a, b).unwrap()).collect();
    }
    acc
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn bcast_scatter_gather_conform((p, root, alg) in strategies::rooted_world(Collective::Bcast, 64),
                                    data in strategies::payloads::<u16>(64, 40)) {
        let d = data.clone();
        let run = world(p, Collective::Bcast, alg).run(move |c| c.bcast((c.rank() == root).then_some(&d[root]), root)).unwrap();
        prop_assert!(run.results.iter().all(|v| v == &data[root]));
        let d = data.clone();
        let alg = Collective::Scatter.algorithms()[root % 2];
        let run = world(p, Collective::Scatter, alg)
            .run(move |c| c.scatter((c.rank() == root).then_some(&d[..p]), root)).unwrap();
        prop_assert_eq!(&run.results[..], &data[..p]);
        let d = data.clone();
        let run = world(p, Collective::Gather, alg).run(move |c| c.gather(&d[c.rank()], root)).unwrap();
        for (r, got) in run.results.iter().enumerate() {
            prop_assert_eq!(got, &(r == root).then(|| data[..p].to_vec()));
        }
    }

    #[test]
    fn allgather_and_alltoall_conform((p, alg) in strategies::world(Collective::Allgather, 64),
                                      data in strategies::payloads::<i8>(64, 6), which in 0usize..3) {
        let d = data.clone();
        let run = world(p, Collective::Allgather, alg).run(move |c| c.allgather(&d[c.rank()])).unwrap();
        prop_assert!(run.results.iter().all(|v| v[..] == data[..p]));
        let alg = Collective::Alltoall.algorithms()[which];
        let d = data.clone();
        let run = world(p, Collective::Alltoall, alg)
            .run(move |c| c.alltoall(&(0..p).map(|j| (d[c.rank()].clone(), j)).collect::<Vec<_>>())).unwrap();
        for (r, got) in run.results.iter().enumerate() {
            prop_assert_eq!(got, &(0..p).map(|i| (data[i].clone(), r)).collect::<Vec<_>>());
        }
    }

    #[test]
    fn reductions_conform((p, root, alg) in strategies::rooted_world(Collective::Allreduce, 64),
                          xs in strategies::operands::<i16>(64, 9), o in strategies::integer_op()) {
        let xs = xs[..p].to_vec();
        let want = fold(o, &xs);
        let x = xs.clone();
        let run = world(p, Collective::Allreduce, alg).run(move |c| c.allreduce(&x[c.rank()], o)).unwrap();
        prop_assert!(run.results.iter().all(|v| v == &want));
        let ralg = Collective::Reduce.algorithms()[root % 3];
        let x = xs.clone();
        let run = world(p, Collective::Reduce, ralg).run(move |c| c.reduce(&x[c.rank()], o, root)).unwrap();
        for (r, got) in run.results.iter().enumerate() {
            prop_assert_eq!(got, &(r == root).then(|| want.clone()));
        }
        let salg = Collective::Scan.algorithms()[root % 2];
        let x = xs.clone();
        let run = World::new(p).algorithm(Collective::Scan, salg).algorithm(Collective::Exscan, salg)
            .run(move |c| (c.scan(&x[c.rank()], o), c.exscan(&x[c.rank()], o))).unwrap();
        for (r, (scan, exscan)) in run.results.iter().enumerate() {
            prop_assert_eq!(scan, &fold(o, &xs[..=r]));
            prop_assert_eq!(exscan, &(r > 0).then(|| fold(o, &xs[..r])));
        }
    }

    #[test]
    fn reduce_scatter_conforms((p, alg) in strategies::world(Collective::ReduceScatter, 40),
                               xs in strategies::operands::<i16>(40, 40), o in strategies::integer_op(),
                               counts in strategies::counts(40, 3)) {
        let counts = counts[..p].to_vec();
        let n: usize = counts.iter().sum();
        let xs: Vec<Vec<i16>> = xs[..p].iter().map(|x| x.iter().copied().cycle().take(n).collect()).collect();
        if xs[0].len() == n {
            let want = fold(o, &xs);
            let (x, k) = (xs.clone(), counts.clone());
            let run = world(p, Collective::ReduceScatter, alg).run(move |c| c.reduce_scatter(&x[c.rank()], &k, o)).unwrap();
            let mut at = 0;
            for (r, got) in run.results.iter().enumerate() {
                prop_assert_eq!(got, &want[at..at + counts[r]].to_vec());
                at += counts[r];
            }
        }
    }

    #[test]
    fn v_variants_conform((p, root) in strategies::ranks_and_root(32), counts in strategies::counts(32, 4),
                          alg in strategies::algorithm(Collective::Allgatherv)) {
        let counts = counts[..p].to_vec();
        let n: usize = counts.iter().sum();
        let all: Vec<u32> = (0..n as u32).map(|i| i * 7).collect();
        let mut starts = vec![0];
        for c in &counts { starts.push(starts.last().unwrap() + c); }
        let (a, k, s) = (all.clone(), counts.clone(), starts.clone());
        let run = World::new(p).algorithm(Collective::Allgatherv, alg).run(move |c| {
            let r = c.rank();
            let mine = c.scatterv((r == root).then_some(&a[..]), &k, root);
            let back = c.gatherv(&mine, &k, root);
            let everyone = c.allgatherv(&mine, &k);
            // alltoallv: rank r sends j copies of r to rank j.
            let send: Vec<usize> = (0..p).flat_map(|j| std::iter::repeat_n(r, j)).collect();
            let sc: Vec<usize> = (0..p).collect();
            let got = c.alltoallv(&send, &sc, &vec![r; p]);
            let _ = &s;
            (mine, back, everyone, got)
        }).unwrap();
        for (r, (mine, back, everyone, got)) in run.results.into_iter().enumerate() {
            prop_assert_eq!(&mine[..], &all[starts[r]..starts[r + 1]]);
            prop_assert_eq!(back, (r == root).then(|| all.clone()));
            prop_assert_eq!(&everyone, &all);
            prop_assert_eq!(got, (0..p).flat_map(|i| std::iter::repeat_n(i, r)).collect::<Vec<_>>());
        }
    }

    #[test]
    fn non_commutative_ops_keep_rank_order((p, root, alg) in strategies::rooted_world(Collective::Reduce, 48)) {
        // 2×2 integer matrix products: associative, not commutative.
        type M = [[i64; 2]; 2];
        let mat = |r: usize| -> M { [[1, r as i64 % 3], [(r as i64 * 5) % 7 + 3, 1]] };
        let mul = |a: &M, b: &M| -> M {
            let mut c = [[0i64; 2]; 2];
            for (i, row) in c.iter_mut().enumerate() {
                for (j, cell) in row.iter_mut().enumerate() {
                    *cell = (a[i][0] * b[0][j] + a[i][1] * b[1][j]).rem_euclid(1_000_003);
                }
            }
            c
        };
        let want = (1..p).fold(mat(0), |acc, r| mul(&acc, &mat(r)));
        let op = UserOp::new(mul, false);
        let run = world(p, Collective::Reduce, alg).run(move |c| c.reduce(&mat(c.rank()), op.clone(), root)).unwrap();
        prop_assert_eq!(&run.results[root], &Some(want));
    }
}

#[test]
fn a_deadlock_inside_a_collective_names_it_and_the_users_line() {
    let run = World::new(4).run(|c| {
        if c.rank() != 2 {
            c.allreduce(&c.rank(), op::SUM) // @hang
        } else {
            0
        }
    });
    let Err(SimError::Deadlock(report)) = run else { panic!("expected a deadlock, got {run:?}") };
    assert!(!report.blocked.is_empty() && report.finished == vec![2], "{report:?}");
    for b in &report.blocked {
        assert_eq!(b.call, CallKind::Allreduce, "{b:?}");
        assert_eq!(b.location.line, line_of("hang"), "{b:?}");
    }
}

#[test]
fn ranks_calling_different_collectives_is_an_error() {
    let run = World::new(3).run(|c| {
        if c.rank() == 0 {
            c.bcast(Some(&1u8), 0);
        } else {
            c.reduce(&1u8, op::SUM, 0);
        }
    });
    let Err(SimError::RankFailed(f)) = run else { panic!("expected a failure, got {run:?}") };
    assert!(f.error.unwrap().message.contains("collective mismatch"));
}

#[test]
fn a_binomial_reduction_is_drawn_as_its_tree() {
    let run = world(8, Collective::Reduce, Algorithm::Binomial).record_trace(true).run(|c| c.reduce(&1u32, op::SUM, 0));
    let run = run.unwrap();
    let mut edges: Vec<(usize, usize)> = run
        .trace
        .events
        .iter()
        .filter_map(|e| match e.kind {
            mpisim::EventKind::Send { dst, .. } => Some((e.rank, dst)),
            _ => None,
        })
        .collect();
    edges.sort();
    // Rank r sends to r − lowbit(r): 1→0, 2→0, 3→2, 4→0, 5→4, 6→4, 7→6.
    assert_eq!(edges, vec![(1, 0), (2, 0), (3, 2), (4, 0), (5, 4), (6, 4), (7, 6)]);
    // The trace shows each rank inside the reduce while its steps run.
    let enters = run
        .trace
        .events
        .iter()
        .filter(|e| matches!(&e.kind, mpisim::EventKind::Enter { call, .. } if *call == CallKind::Reduce));
    assert_eq!(enters.count(), 8);
}

#[test]
fn collectives_are_deterministic() {
    let tour = mpisim::catalogue::find("collectives-tour").unwrap();
    let trace = || {
        let params = tour.defaults();
        World::new(6).seed(7).run(|c| (tour.run)(c, &params)).unwrap().trace.to_json()
    };
    assert_eq!(trace(), trace());
}

#[test]
fn nonblocking_collectives_complete_in_any_order() {
    // MPI's progress rule: waiting for one pending collective advances the others, so
    // ranks may wait for them in different orders.
    for p in [2, 3, 4, 8] {
        let run = World::new(p)
            .run(|c| {
                let r = c.rank() as u32;
                let a = c.ibcast((c.rank() == 0).then_some(&vec![1u8; 100_000]), 0);
                let b = c.iallreduce(&r, op::SUM);
                let g = c.iallgather(&r);
                if c.rank() % 2 == 0 {
                    let a = a.wait().len();
                    (a, b.wait(), g.wait())
                } else {
                    let g = g.wait();
                    let b = b.wait();
                    (a.wait().len(), b, g)
                }
            })
            .unwrap_or_else(|e| panic!("p={p}: {e}"));
        let pu = p as u32;
        assert!(run.results.iter().all(|x| x == &(100_000, pu * (pu - 1) / 2, (0..pu).collect::<Vec<_>>())));
    }
    // Two linear barriers with synchronous sends: rank 0 waits for the second first, rank 1
    // for the first. Each needs the other rank's next round, which only progress across
    // requests provides.
    let run = World::new(2).eager_limit(0).algorithm(Collective::Barrier, Algorithm::Linear).run(|c| {
        let (first, second) = (c.ibarrier(), c.ibarrier());
        if c.rank() == 0 {
            second.wait();
            first.wait();
        } else {
            first.wait();
            second.wait();
        }
    });
    assert!(run.is_ok(), "{run:?}");
}

#[test]
fn an_ibcast_advances_while_its_rank_is_blocked_in_a_receive() {
    // The `progress` program: even ranks block in a receive that their child in the
    // binomial tree satisfies only after its ibcast, which the blocked rank must forward.
    for p in [2, 3, 4, 8, 13] {
        let run = World::new(p).run(|c| mpisim::catalogue::progress(c, 42)).unwrap();
        for (rank, (value, token)) in run.results.iter().enumerate() {
            assert_eq!(*value, 42, "rank {rank} of {p}");
            let child = rank % 2 == 0 && rank + 1 < p;
            assert_eq!(*token, child.then_some(42 + rank as u64 + 1), "rank {rank} of {p}");
        }
    }
    // A test that finds the round complete advances it too.
    let run = World::new(4)
        .run(|c| {
            let mut req = c.iallreduce(&(c.rank() as u64), op::SUM);
            let mut polls = 0;
            while !req.test() {
                polls += 1;
            }
            (req.wait(), polls > 0)
        })
        .unwrap();
    assert!(run.results.iter().all(|&(sum, _)| sum == 6), "{:?}", run.results);
}

#[test]
fn a_deadlocked_ibcast_names_the_users_wait_not_its_steps() {
    let run = World::new(4).run(|c| {
        if c.rank() == 0 {
            return 0; // the root never calls the ibcast
        }
        let req = c.ibcast::<u64>(None, 0); // @ibcast
        req.wait() // @wait
    });
    let Err(SimError::Deadlock(report)) = run else { panic!("expected a deadlock, got {run:?}") };
    assert_eq!(report.finished, vec![0]);
    for b in &report.blocked {
        assert_eq!(b.call, CallKind::Wait, "{b}");
        assert_eq!(b.location.line, line_of("wait"), "{b}");
        assert!(b.waiting_for.contains("MPI_Ibcast"), "{b}");
        for internal in ["Waitsome", "Testsome", "MPI_Irecv", "MPI_Isend"] {
            assert!(!b.to_string().contains(internal), "an internal call leaks into the report: {b}");
            assert!(!b.waits_on.iter().any(|w| w.what.contains(internal)), "{:?}", b.waits_on);
        }
    }
    assert!(report.hint.contains("finished"), "{}", report.hint);
}

#[test]
fn a_dropped_nonblocking_collective_still_completes_and_is_reported_dangling() {
    let run = World::new(3)
        .run(|c| {
            let _forgotten = c.ibarrier(); // @forgotten
            c.barrier();
        })
        .unwrap();
    let dangling: Vec<_> = run
        .warnings
        .iter()
        .filter_map(|w| match w {
            mpisim::Warning::DanglingRequest { call, location, .. } => Some((*call, location.line)),
            _ => None,
        })
        .collect();
    assert_eq!(dangling, vec![(CallKind::Ibarrier, line_of("forgotten")); 3]);
}
