//! MPICH's binomial tree over ranks relative to the root (`rel = (rank − root) mod p`):
//! the parent of `rel` is `rel − lowbit(rel)`; its children are `rel + m` for the powers
//! of two `m < lowbit(rel)` (every power of two below p for the root).

use crate::Rank;

/// Rank relative to `root`.
pub(crate) fn relative(rank: Rank, root: Rank, p: usize) -> usize {
    (rank + p - root) % p
}

/// Rank of a relative rank.
pub(crate) fn absolute(rel: usize, root: Rank, p: usize) -> Rank {
    (rel + root) % p
}

/// The parent of `rel` and the mask it receives at, or `None` for the root.
pub(crate) fn parent(rel: usize) -> Option<(usize, usize)> {
    (rel != 0).then(|| {
        let mask = 1 << rel.trailing_zeros();
        (rel - mask, mask)
    })
}

/// The children of `rel` with their masks, largest mask first (the order a bcast sends in).
pub(crate) fn children(rel: usize, p: usize) -> Vec<(usize, usize)> {
    let top = match parent(rel) {
        Some((_, mask)) => mask,
        None => p.next_power_of_two(),
    };
    let mut out = Vec::new();
    let mut mask = top >> 1;
    while mask > 0 {
        if rel + mask < p {
            out.push((rel + mask, mask));
        }
        mask >>= 1;
    }
    out
}

/// Ranks in the subtree of `rel` (itself included): `rel .. rel + subtree(rel, p)`.
pub(crate) fn subtree(rel: usize, p: usize) -> usize {
    match parent(rel) {
        Some((_, mask)) => mask.min(p - rel),
        None => p,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_of_eight_and_six() {
        assert_eq!(children(0, 8), vec![(4, 4), (2, 2), (1, 1)]);
        assert_eq!(children(4, 8), vec![(6, 2), (5, 1)]);
        assert_eq!(parent(6), Some((4, 2)));
        assert_eq!(subtree(4, 6), 2);
        assert_eq!(children(4, 6), vec![(5, 1)]);
        assert_eq!(children(0, 1), vec![]);
        // Every non-root rank is the child of its parent exactly once.
        for p in 1..40 {
            let mut seen = vec![0; p];
            for r in 0..p {
                for (c, _) in children(r, p) {
                    assert_eq!(parent(c).unwrap().0, r);
                    seen[c] += 1;
                }
            }
            assert!(seen[1..].iter().all(|&n| n == 1) && seen[0] == 0);
        }
    }
}
