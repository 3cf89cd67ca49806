//! `kmeans`: k-means with restarts in parallel. Every rank makes the same data set (a
//! fixed generator, no input file) and runs its share of the restarts (restart i on rank
//! i mod N), each Lloyd's iterations from the random start of restart i; then MINLOC over
//! (inertia, restart) picks the best run and a bcast from its rank gives everyone its
//! centroids. The answer is the same on any number of ranks.
//!
//! Compute model: [`NS_PER_DISTANCE`] of virtual time per point-to-centroid distance, so
//! a restart costs points × k × (iterations + 1) distances and the restarts are the work
//! divided among the ranks: with more ranks than restarts, the extra ranks have nothing
//! to do (POP's load balance says so).

use super::{Param, Params, Program};
use crate::comm::Comm;
use serde_json::{json, Value};
use std::time::Duration;

/// Virtual time charged per point-to-centroid distance.
pub const NS_PER_DISTANCE: u64 = 4;

/// A small, stable generator (Knuth's MMIX LCG): the same numbers on every machine.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

type Point = (f64, f64);

/// `n` points in `k` clusters around (10·c, 10·c) for c in 0..k.
fn data(n: usize, k: usize) -> Vec<Point> {
    let mut g = Lcg(2024);
    (0..n)
        .map(|i| {
            let c = (i % k) as f64 * 10.0;
            (c + 4.0 * (g.next() - 0.5), c + 4.0 * (g.next() - 0.5))
        })
        .collect()
}

fn dist2(a: Point, b: Point) -> f64 {
    (a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)
}

fn nearest(p: Point, centroids: &[Point]) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (j, &c) in centroids.iter().enumerate() {
        let d = dist2(p, c);
        if d < best.1 {
            best = (j, d);
        }
    }
    best
}

/// What the best run found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Clustering {
    /// The restart that won (the first of those with the least inertia).
    pub best_restart: usize,
    /// Its sum of squared distances to the nearest centroid.
    pub inertia: f64,
    /// Its centroids.
    pub centroids: Vec<Point>,
}

/// One restart: Lloyd's iterations from the start that restart `restart` draws; its
/// inertia and centroids.
fn lloyd(comm: &Comm, xs: &[Point], k: usize, iterations: usize, restart: usize) -> (f64, Vec<Point>) {
    // This restart's start: k distinct points picked by its own generator.
    let mut g = Lcg(0x9E37_79B9 ^ restart as u64);
    let mut centroids: Vec<Point> = Vec::with_capacity(k);
    while centroids.len() < k {
        let p = xs[(g.next() * xs.len() as f64) as usize % xs.len()];
        if !centroids.contains(&p) {
            centroids.push(p);
        }
    }
    let distances = Duration::from_nanos(NS_PER_DISTANCE * (xs.len() * k) as u64);
    for _ in 0..iterations {
        comm.compute(distances);
        let mut sums = vec![(0.0, 0.0, 0usize); k];
        for &p in xs {
            let (j, _) = nearest(p, &centroids);
            sums[j] = (sums[j].0 + p.0, sums[j].1 + p.1, sums[j].2 + 1);
        }
        for (c, s) in centroids.iter_mut().zip(&sums) {
            if s.2 > 0 {
                *c = (s.0 / s.2 as f64, s.1 / s.2 as f64);
            }
        }
    }
    comm.compute(distances);
    (xs.iter().map(|&p| nearest(p, &centroids).1).sum(), centroids)
}

/// `restarts` k-means runs shared among the ranks; every rank returns the best run's
/// clustering.
pub fn kmeans(comm: &Comm, points: usize, k: usize, iterations: usize, restarts: usize) -> Clustering {
    let k = k.clamp(1, points.max(1));
    let restarts = restarts.max(1);
    let xs = data(points, k);
    let (rank, size) = (comm.rank(), comm.size());
    // This rank's best: restarts in increasing order, so a tie keeps the first.
    let mut best: Option<(f64, usize, Vec<Point>)> = None;
    for restart in (rank..restarts).step_by(size) {
        let (inertia, centroids) = lloyd(comm, &xs, k, iterations, restart);
        if best.as_ref().is_none_or(|b| inertia < b.0) {
            best = Some((inertia, restart, centroids));
        }
    }
    let mine = best.as_ref().map_or((f64::INFINITY, usize::MAX), |b| (b.0, b.1));
    // The best run: smallest inertia, ties to the smaller restart.
    let (best_inertia, best_restart) = comm.allreduce(&mine, crate::op::MINLOC);
    let owner = best_restart % size;
    let centroids = comm.bcast(best.as_ref().filter(|_| rank == owner).map(|b| &b.2), owner);
    if rank == 0 {
        comm.print(format!("best run: restart {best_restart}, inertia {best_inertia:.3}, centroids {centroids:.2?}"));
    }
    Clustering { best_restart, inertia: best_inertia, centroids }
}

pub(super) const PROGRAM: Program = Program {
    name: "kmeans",
    summary: "k-means restarts shared by the ranks; MINLOC picks the best, bcast shares it",
    params: &[
        Param::count("points", "2000", "points in the data set"),
        Param::count("k", "4", "clusters"),
        Param::count("iterations", "10", "Lloyd iterations per run"),
        Param::count("restarts", "16", "runs from random starts, shared by the ranks"),
    ],
    min_ranks: 1,
    default_ranks: 4,
    run: |comm: &Comm, p: &Params| -> Value {
        let number = |name| p.number(name) as usize;
        let c = kmeans(comm, number("points"), number("k"), number("iterations"), number("restarts"));
        json!({ "best_restart": c.best_restart, "inertia": c.inertia })
    },
};
