//! Reductions over element vectors: reduce, allreduce, reduce-scatter, scan and exscan.
//!
//! Every combination is `lower ∘ higher`, where `lower` stands for a contiguous range of
//! ranks just below `higher`'s, so operands apply in ascending rank order whatever the
//! algorithm. The exceptions rotate the order and run only for commutative operators: a
//! binomial reduce to a root other than 0 (MPICH's order), the ring allreduce, and the
//! recursive-halving reduce-scatter.

use super::net::Net;
use super::select::{pof2_floor, Algorithm};
use super::tree::{self, absolute, relative};
use super::wire;
use crate::call::{ErrorClass, MpiError};
use crate::codec::Payload;
use crate::Rank;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::ops::Range;

/// `combine(acc, other, acc_lower)`: see [`Reduction`].
pub(crate) type Combine<'o, E> = &'o dyn Fn(&mut [E], &[E], bool) -> Result<(), super::ops::OpError>;

/// How a reduction combines two operands: `combine(acc, other, acc_lower)` folds `other`
/// into `acc` element by element, `acc` the lower operand if `acc_lower`.
pub(crate) struct Reduction<'o, E> {
    pub combine: Combine<'o, E>,
    pub commutative: bool,
    pub name: String,
}

impl<E: Serialize + DeserializeOwned + Clone> Reduction<'_, E> {
    /// `lower ∘ higher`, element by element; `other` is the rank the received side came from.
    pub fn fold(&self, lower: &[E], higher: &[E], other: Rank) -> Result<Vec<E>, MpiError> {
        let mut out = lower.to_vec();
        self.fold_into(&mut out, higher, true, other)?;
        Ok(out)
    }

    /// `fold` into `acc` in place, `acc` the lower operand if `acc_lower`: the same values
    /// without a vector for the result (one allocation less in every round of a reduction).
    pub fn fold_into(&self, acc: &mut [E], other: &[E], acc_lower: bool, from: Rank) -> Result<(), MpiError> {
        if acc.len() != other.len() {
            return Err(self.mismatch(acc.len(), other.len(), from));
        }
        (self.combine)(acc, other, acc_lower).map_err(|e| MpiError::new(ErrorClass::Op, e.to_string()))
    }

    /// Operands of `a` and `b` elements met; one came from `other`.
    fn mismatch(&self, a: usize, b: usize, other: Rank) -> MpiError {
        let (a, b) = (a.min(b), a.max(b));
        MpiError::new(
            ErrorClass::Count,
            format!(
                "mismatched counts in a {} reduction: operands of {a} and {b} elements meet here (one from rank \
                 {other}); every rank must contribute the same number of elements",
                self.name
            ),
        )
    }

    /// Stores `theirs` over `acc[at]` after checking its length.
    fn store(&self, acc: &mut [E], at: Range<usize>, theirs: Vec<E>, from: Rank) -> Result<(), MpiError> {
        if theirs.len() != at.len() {
            return Err(self.mismatch(at.len(), theirs.len(), from));
        }
        acc[at].clone_from_slice(&theirs);
        Ok(())
    }

    fn send(&self, v: &[E]) -> Result<Payload, MpiError> {
        wire::elements(v)
    }

    /// [`Reduction::send`] in `spare`'s allocation.
    fn send_into(&self, v: &[E], spare: Vec<u8>) -> Result<Payload, MpiError> {
        wire::elements_into(v, spare)
    }

    fn take(&self, p: &Payload, from: Rank) -> Result<Vec<E>, MpiError> {
        wire::take_elements(p, from)
    }

    /// [`Reduction::take`] into `out`, whose allocation serves every round.
    fn take_into(&self, p: &Payload, from: Rank, out: &mut Vec<E>) -> Result<(), MpiError> {
        wire::take_elements_into(p, from, out)
    }
}

/// Pieces of `count` elements: `parts` contiguous ranges, the first `count % parts` one longer.
fn pieces(count: usize, parts: usize) -> Vec<Range<usize>> {
    let (base, extra) = (count / parts, count % parts);
    let mut at = 0;
    (0..parts)
        .map(|i| {
            let len = base + usize::from(i < extra);
            at += len;
            at - len..at
        })
        .collect()
}

/// Elements of pieces `range` (pieces are contiguous).
fn span(pieces: &[Range<usize>], range: Range<usize>) -> Range<usize> {
    if range.is_empty() {
        return 0..0;
    }
    pieces[range.start].start..pieces[range.end - 1].end
}

/// MPICH's handling of the ranks beyond the largest power of two p′: of the first 2·(p − p′)
/// ranks, each even one sends its operand to the odd one above it, which combines them and
/// stays as new rank r/2; ranks from 2·(p − p′) on become r − (p − p′).
struct Folded {
    pof2: usize,
    extra: usize,
    /// This rank's new rank, `None` if it sat out.
    new_rank: Option<usize>,
}

impl Folded {
    fn old(&self, new_rank: usize) -> Rank {
        if new_rank < self.extra {
            2 * new_rank + 1
        } else {
            new_rank + self.extra
        }
    }
}

fn fold_in<E: Serialize + DeserializeOwned + Clone>(
    net: &mut Net,
    acc: &mut [E],
    red: &Reduction<E>,
) -> Result<Folded, MpiError> {
    let (r, p) = (net.rank, net.size);
    let pof2 = pof2_floor(p);
    let extra = p - pof2;
    let new_rank = if r < 2 * extra {
        if r % 2 == 0 {
            net.send(r + 1, red.send(acc)?);
            None
        } else {
            let lower = red.take(&net.recv(r - 1), r - 1)?;
            red.fold_into(acc, &lower, false, r - 1)?;
            Some(r / 2)
        }
    } else {
        Some(r - extra)
    };
    Ok(Folded { pof2, extra, new_rank })
}

/// One step of the recursive halving: (mask, pieces kept, pieces given away).
type Step = (usize, Range<usize>, Range<usize>);

/// Reduce-scatter by recursive halving at distances 1, 2, 4, … (order-preserving): new rank
/// `nr` ends with one piece of `pieces` fully reduced over the p′ new ranks.
fn halving<E: Serialize + DeserializeOwned + Clone>(
    net: &mut Net,
    f: &Folded,
    nr: usize,
    acc: &mut [E],
    pieces: &[Range<usize>],
    red: &Reduction<E>,
) -> Result<Vec<Step>, MpiError> {
    let mut steps = Vec::new();
    let mut range = 0..f.pof2;
    let mut mask = 1;
    while mask < f.pof2 {
        let partner = nr ^ mask;
        let mid = range.start + range.len() / 2;
        let (keep, give) =
            if nr < partner { (range.start..mid, mid..range.end) } else { (mid..range.end, range.start..mid) };
        let to = f.old(partner);
        let got = net.sendrecv(to, red.send(&acc[span(pieces, give.clone())])?, to);
        let theirs = red.take(&got, to)?;
        let at = span(pieces, keep.clone());
        let mine = &acc[at.clone()];
        let folded = if nr < partner { red.fold(mine, &theirs, to)? } else { red.fold(&theirs, mine, to)? };
        acc[at].clone_from_slice(&folded);
        steps.push((mask, keep.clone(), give));
        range = keep;
        mask <<= 1;
    }
    Ok(steps)
}

/// The binomial reduce towards `root` over relative ranks; the root's result.
fn binomial_to<E: Serialize + DeserializeOwned + Clone>(
    net: &mut Net,
    root: Rank,
    mut acc: Vec<E>,
    red: &Reduction<E>,
) -> Result<Option<Vec<E>>, MpiError> {
    let p = net.size;
    let rel = relative(net.rank, root, p);
    let abs = |x: usize| absolute(x, root, p);
    let mut kids = tree::children(rel, p);
    kids.reverse(); // smallest mask first: the ranks just above this one
    let got = net.round(Vec::new(), kids.iter().map(|&(c, _)| abs(c)).collect());
    for ((child, _), msg) in kids.into_iter().zip(got) {
        let theirs = red.take(&msg, abs(child))?;
        red.fold_into(&mut acc, &theirs, true, abs(child))?;
    }
    match tree::parent(rel) {
        Some((parent, _)) => {
            net.send(abs(parent), red.send(&acc)?);
            Ok(None)
        }
        None => Ok(Some(acc)),
    }
}

/// Reduces every rank's `mine` to `root`.
pub(crate) fn reduce<E: Serialize + DeserializeOwned + Clone>(
    net: &mut Net,
    algorithm: Algorithm,
    root: Rank,
    mine: Vec<E>,
    red: &Reduction<E>,
) -> Result<Option<Vec<E>>, MpiError> {
    let (r, p) = (net.rank, net.size);
    match algorithm {
        Algorithm::Linear => {
            if r != root {
                net.send(root, red.send(&mine)?);
                return Ok(None);
            }
            let others: Vec<Rank> = (0..p).filter(|&i| i != root).collect();
            let got = net.round(Vec::new(), others.clone());
            let mut parts: Vec<Option<Vec<E>>> = vec![None; p];
            for (from, msg) in others.into_iter().zip(got) {
                parts[from] = Some(red.take(&msg, from)?);
            }
            parts[root] = Some(mine);
            let mut acc = parts[0].take().expect("rank 0's operand");
            for (i, part) in parts.into_iter().enumerate().skip(1) {
                acc = red.fold(&acc, &part.expect("every rank's operand"), i)?;
            }
            Ok(Some(acc))
        }
        Algorithm::Rabenseifner => rabenseifner_reduce(net, root, mine, red),
        _ if red.commutative || root == 0 => binomial_to(net, root, mine, red),
        _ => {
            // A non-commutative op needs the tree rooted at 0; rank 0 then passes the result on.
            let at_zero = binomial_to(net, 0, mine, red)?;
            if r == 0 {
                net.send(root, red.send(&at_zero.expect("rank 0 is the tree's root"))?);
                Ok(None)
            } else if r == root {
                Ok(Some(red.take(&net.recv(0), 0)?))
            } else {
                Ok(None)
            }
        }
    }
}

fn rabenseifner_reduce<E: Serialize + DeserializeOwned + Clone>(
    net: &mut Net,
    root: Rank,
    mut acc: Vec<E>,
    red: &Reduction<E>,
) -> Result<Option<Vec<E>>, MpiError> {
    let r = net.rank;
    let f = fold_in(net, &mut acc, red)?;
    // The root's stand-in among the new ranks: itself, or the odd rank it folded into.
    let new_root = if root < 2 * f.extra { root / 2 } else { root - f.extra };
    let stand_in = f.old(new_root);
    let mut result = None;
    if let Some(nr) = f.new_rank {
        let pieces = pieces(acc.len(), f.pof2);
        let steps = halving(net, &f, nr, &mut acc, &pieces, red)?;
        // Gather the pieces back up a binomial tree towards the new root, largest mask first.
        let mut alive = true;
        for (mask, keep, give) in steps.into_iter().rev() {
            let partner = nr ^ mask;
            let other = f.old(partner);
            if (nr ^ new_root) & mask == 0 {
                let theirs = red.take(&net.recv(other), other)?;
                red.store(&mut acc, span(&pieces, give), theirs, other)?;
            } else {
                net.send(other, red.send(&acc[span(&pieces, keep)])?);
                alive = false;
                break;
            }
        }
        if alive && nr == new_root {
            result = Some(acc);
        }
    }
    if stand_in != root {
        if r == stand_in {
            net.send(root, red.send(&result.take().expect("the stand-in holds the result"))?);
        } else if r == root {
            result = Some(red.take(&net.recv(stand_in), stand_in)?);
        }
    }
    Ok(if r == root { result } else { None })
}

/// Every rank gets the reduction of all ranks' `mine`.
pub(crate) fn allreduce<E: Serialize + DeserializeOwned + Clone>(
    net: &mut Net,
    algorithm: Algorithm,
    mut acc: Vec<E>,
    red: &Reduction<E>,
) -> Result<Vec<E>, MpiError> {
    let r = net.rank;
    match algorithm {
        Algorithm::Ring => return ring_allreduce(net, acc, red),
        Algorithm::ReduceBcast => {
            let at_zero = binomial_to(net, 0, acc, red)?;
            let data = at_zero.map(|v| red.send(&v)).transpose()?;
            let data = super::bcast::binomial(net, 0, data, std::any::type_name::<E>())?;
            return red.take(&data, 0);
        }
        _ => {}
    }
    let f = fold_in(net, &mut acc, red)?;
    if let Some(nr) = f.new_rank {
        if algorithm == Algorithm::Rabenseifner {
            let pieces = pieces(acc.len(), f.pof2);
            let steps = halving(net, &f, nr, &mut acc, &pieces, red)?;
            for (mask, keep, give) in steps.into_iter().rev() {
                let to = f.old(nr ^ mask);
                let got = net.sendrecv(to, red.send(&acc[span(&pieces, keep)])?, to);
                let theirs = red.take(&got, to)?;
                red.store(&mut acc, span(&pieces, give), theirs, to)?;
            }
        } else {
            // Each round's values arrive in a buffer the next round's send reuses, and are
            // decoded into one vector: no allocation a round.
            let (mut mask, mut theirs, mut spare) = (1, Vec::new(), Vec::new());
            while mask < f.pof2 {
                let partner = nr ^ mask;
                let to = f.old(partner);
                let got = net.sendrecv(to, red.send_into(&acc, std::mem::take(&mut spare))?, to);
                red.take_into(&got, to, &mut theirs)?;
                spare = got.bytes;
                red.fold_into(&mut acc, &theirs, nr < partner, to)?;
                mask <<= 1;
            }
        }
    }
    // The ranks that sat out get the result from the rank they folded into.
    if r < 2 * f.extra {
        if r % 2 == 0 {
            acc = red.take(&net.recv(r + 1), r + 1)?;
        } else {
            net.send(r - 1, red.send(&acc)?);
        }
    }
    Ok(acc)
}

/// Ring reduce-scatter then ring allgather over p pieces (commutative operators).
fn ring_allreduce<E: Serialize + DeserializeOwned + Clone>(
    net: &mut Net,
    mut acc: Vec<E>,
    red: &Reduction<E>,
) -> Result<Vec<E>, MpiError> {
    let (r, p) = (net.rank, net.size);
    let pieces = pieces(acc.len(), p);
    let (right, left) = ((r + 1) % p, (r + p - 1) % p);
    for k in 0..p.saturating_sub(1) {
        let (give, get) = ((r + p - k) % p, (r + 2 * p - k - 1) % p);
        let got = net.sendrecv(right, red.send(&acc[pieces[give].clone()])?, left);
        let theirs = red.take(&got, left)?;
        let folded = red.fold(&theirs, &acc[pieces[get].clone()], left)?;
        acc[pieces[get].clone()].clone_from_slice(&folded);
    }
    for k in 0..p.saturating_sub(1) {
        let (give, get) = ((r + 1 + p - k) % p, (r + p - k) % p);
        let got = net.sendrecv(right, red.send(&acc[pieces[give].clone()])?, left);
        let theirs = red.take(&got, left)?;
        red.store(&mut acc, pieces[get].clone(), theirs, left)?;
    }
    Ok(acc)
}

/// Reduces `mine` (Σ counts elements) and gives rank i the `counts[i]` elements of its segment.
pub(crate) fn reduce_scatter<E: Serialize + DeserializeOwned + Clone>(
    net: &mut Net,
    algorithm: Algorithm,
    counts: &[usize],
    mut acc: Vec<E>,
    red: &Reduction<E>,
) -> Result<Vec<E>, MpiError> {
    let (r, p) = (net.rank, net.size);
    let segs = {
        let mut at = 0;
        counts
            .iter()
            .map(|&c| {
                at += c;
                at - c..at
            })
            .collect::<Vec<_>>()
    };
    if algorithm == Algorithm::RecursiveHalving {
        let f = fold_in(net, &mut acc, red)?;
        // New rank i reduces the segments of the old ranks it stands for.
        let new_seg = |nr: usize| {
            if nr < f.extra {
                segs[2 * nr].start..segs[2 * nr + 1].end
            } else {
                segs[nr + f.extra].clone()
            }
        };
        if let Some(nr) = f.new_rank {
            let mut range = 0..f.pof2;
            let mut mask = f.pof2 >> 1;
            while mask > 0 {
                let partner = nr ^ mask;
                let mid = range.start + mask;
                let (keep, give) = if nr & mask == 0 {
                    (range.start..mid, mid..range.end)
                } else {
                    (mid..range.end, range.start..mid)
                };
                let elems = |ranks: &Range<usize>| new_seg(ranks.start).start..new_seg(ranks.end - 1).end;
                let to = f.old(partner);
                let got = net.sendrecv(to, red.send(&acc[elems(&give)])?, to);
                let theirs = red.take(&got, to)?;
                let at = elems(&keep);
                let mine = &acc[at.clone()];
                let folded = if to < r { red.fold(&theirs, mine, to)? } else { red.fold(mine, &theirs, to)? };
                acc[at].clone_from_slice(&folded);
                range = keep;
                mask >>= 1;
            }
        }
        if r < 2 * f.extra {
            if r % 2 == 0 {
                return red.take(&net.recv(r + 1), r + 1);
            }
            net.send(r - 1, red.send(&acc[segs[r - 1].clone()])?);
        }
        return Ok(acc[segs[r].clone()].to_vec());
    }
    // Pairwise: in step k send rank r + k its segment, take rank r − k's part of this one;
    // fold every part in rank order at the end.
    let mut parts: Vec<Option<Vec<E>>> = vec![None; p];
    parts[r] = Some(acc[segs[r].clone()].to_vec());
    for k in 1..p {
        let (to, from) = ((r + k) % p, (r + p - k) % p);
        let got = net.sendrecv(to, red.send(&acc[segs[to].clone()])?, from);
        parts[from] = Some(red.take(&got, from)?);
    }
    let mut result = parts[0].take().expect("rank 0's part");
    for (i, part) in parts.into_iter().enumerate().skip(1) {
        result = red.fold(&result, &part.expect("every rank's part"), i)?;
    }
    Ok(result)
}

/// Inclusive (`exclusive: false`) or exclusive prefix reduction; `None` for rank 0's exscan.
pub(crate) fn scan<E: Serialize + DeserializeOwned + Clone>(
    net: &mut Net,
    algorithm: Algorithm,
    mine: Vec<E>,
    exclusive: bool,
    red: &Reduction<E>,
) -> Result<Option<Vec<E>>, MpiError> {
    let (r, p) = (net.rank, net.size);
    if algorithm == Algorithm::Linear {
        // A chain: rank r gets the prefix of ranks below it from r − 1.
        let before = if r > 0 { Some(red.take(&net.recv(r - 1), r - 1)?) } else { None };
        let inclusive = match &before {
            Some(b) => red.fold(b, &mine, r - 1)?,
            None => mine,
        };
        if r + 1 < p {
            net.send(r + 1, red.send(&inclusive)?);
        }
        return Ok(if exclusive { before } else { Some(inclusive) });
    }
    // Recursive doubling: `partial` covers this rank's group, `result` its prefix.
    let mut partial = mine.clone();
    let mut result = (!exclusive).then_some(mine);
    let mut mask = 1;
    while mask < p {
        let partner = r ^ mask;
        if partner < p {
            let theirs = red.take(&net.sendrecv(partner, red.send(&partial)?, partner), partner)?;
            if partner < r {
                red.fold_into(&mut partial, &theirs, false, partner)?;
                result = Some(match result {
                    Some(res) => red.fold(&theirs, &res, partner)?,
                    None => theirs,
                });
            } else {
                red.fold_into(&mut partial, &theirs, true, partner)?;
            }
        }
        mask <<= 1;
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cover_in_order() {
        assert_eq!(pieces(10, 4), vec![0..3, 3..6, 6..8, 8..10]);
        assert_eq!(pieces(2, 4), vec![0..1, 1..2, 2..2, 2..2]);
        assert_eq!(span(&pieces(10, 4), 1..3), 3..8);
    }
}
