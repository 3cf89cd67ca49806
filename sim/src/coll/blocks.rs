//! The collectives that move blocks (one rank's encoded part): scatter, gather, allgather
//! and alltoall, with their v-variants (a block then holds `counts[i]` values).
//!
//! Block vectors are indexed by rank in the communicator.

use super::net::Net;
use super::select::Algorithm;
use super::tree::{self, absolute, relative};
use super::wire::Blocks;
use crate::call::MpiError;
use crate::Rank;

type Block = Vec<u8>;

fn take(slot: &mut Option<Block>) -> Block {
    slot.take().expect("a block this rank holds")
}

/// Scatters `data` (p blocks, at the root) from `root`; returns this rank's block.
pub(crate) fn scatter(
    net: &mut Net,
    algorithm: Algorithm,
    root: Rank,
    blocks: &Blocks,
    data: Option<Vec<Block>>,
) -> Result<Block, MpiError> {
    let (r, p) = (net.rank, net.size);
    if algorithm == Algorithm::Linear {
        if r == root {
            let mut data = data.expect("the root has the blocks");
            let sends = (0..p).filter(|&i| i != root).map(|i| (i, blocks.join([&data[i]]))).collect();
            net.round(sends, Vec::new());
            return Ok(std::mem::take(&mut data[root]));
        }
        return Ok(blocks.split(&net.recv(root), [r], root)?.pop().expect("one block"));
    }
    // Binomial: each rank receives its subtree's blocks and passes on its children's.
    let rel = relative(r, root, p);
    let abs = |x: usize| absolute(x, root, p);
    let mut have: Vec<Option<Block>> = vec![None; p];
    match (tree::parent(rel), data) {
        (None, Some(data)) => {
            for (i, b) in data.into_iter().enumerate() {
                have[relative(i, root, p)] = Some(b);
            }
        }
        (Some((parent, _)), _) => {
            let from = abs(parent);
            let s = tree::subtree(rel, p);
            let got = blocks.split(&net.recv(from), (rel..rel + s).map(abs), from)?;
            for (i, b) in got.into_iter().enumerate() {
                have[rel + i] = Some(b);
            }
        }
        (None, None) => unreachable!("the root has the blocks"),
    }
    for (child, _) in tree::children(rel, p) {
        let s = tree::subtree(child, p);
        let msg = blocks.join(have[child..child + s].iter().map(|b| b.as_ref().expect("a block of the subtree")));
        net.send(abs(child), msg);
    }
    Ok(take(&mut have[rel]))
}

/// Gathers every rank's block at `root`; returns them (by rank) there.
pub(crate) fn gather(
    net: &mut Net,
    algorithm: Algorithm,
    root: Rank,
    blocks: &Blocks,
    mine: Block,
) -> Result<Option<Vec<Block>>, MpiError> {
    let (r, p) = (net.rank, net.size);
    if algorithm == Algorithm::Linear {
        if r != root {
            net.send(root, blocks.join([&mine]));
            return Ok(None);
        }
        let others: Vec<Rank> = (0..p).filter(|&i| i != root).collect();
        let got = net.round(Vec::new(), others.clone());
        let mut out: Vec<Block> = vec![Vec::new(); p];
        out[root] = mine;
        for (from, msg) in others.into_iter().zip(got) {
            out[from] = blocks.split(&msg, [from], from)?.pop().expect("one block");
        }
        return Ok(Some(out));
    }
    // Binomial: receive every child's subtree at once, then pass the own subtree up.
    let rel = relative(r, root, p);
    let abs = |x: usize| absolute(x, root, p);
    let mut have: Vec<Option<Block>> = vec![None; p];
    have[rel] = Some(mine);
    let kids = tree::children(rel, p);
    let got = net.round(Vec::new(), kids.iter().map(|&(c, _)| abs(c)).collect());
    for ((child, _), msg) in kids.into_iter().zip(got) {
        let s = tree::subtree(child, p);
        for (i, b) in blocks.split(&msg, (child..child + s).map(abs), abs(child))?.into_iter().enumerate() {
            have[child + i] = Some(b);
        }
    }
    match tree::parent(rel) {
        Some((parent, _)) => {
            let s = tree::subtree(rel, p);
            let msg = blocks.join(have[rel..rel + s].iter().map(|b| b.as_ref().expect("a block of the subtree")));
            net.send(abs(parent), msg);
            Ok(None)
        }
        None => Ok(Some((0..p).map(|i| take(&mut have[relative(i, root, p)])).collect())),
    }
}

/// Every rank gets every rank's block.
pub(crate) fn allgather(
    net: &mut Net,
    algorithm: Algorithm,
    blocks: &Blocks,
    mine: Block,
) -> Result<Vec<Block>, MpiError> {
    let (r, p) = (net.rank, net.size);
    let mut have: Vec<Option<Block>> = vec![None; p];
    have[r] = Some(mine);
    match algorithm {
        Algorithm::Ring => {
            let (right, left) = ((r + 1) % p, (r + p - 1) % p);
            for k in 0..p.saturating_sub(1) {
                let (give, get) = ((r + p - k) % p, (r + 2 * p - k - 1) % p);
                let msg = blocks.join([have[give].as_ref().expect("passed on in the previous step")]);
                let got = net.sendrecv(right, msg, left);
                have[get] = blocks.split(&got, [get], left)?.pop();
            }
        }
        Algorithm::RecursiveDoubling => {
            let mut mask = 1;
            while mask < p {
                let partner = r ^ mask;
                let (mine, theirs) = (r & !(mask - 1), partner & !(mask - 1));
                let msg = blocks.join(have[mine..mine + mask].iter().map(|b| b.as_ref().expect("gathered")));
                let got = net.sendrecv(partner, msg, partner);
                for (i, b) in blocks.split(&got, theirs..theirs + mask, partner)?.into_iter().enumerate() {
                    have[theirs + i] = Some(b);
                }
                mask <<= 1;
            }
        }
        _ => {
            // Bruck: position i holds the block of rank r + i; at distance k, send the first
            // min(k, p − k) to r − k and append as many from r + k.
            let mut cur = vec![take(&mut have[r])];
            let mut k = 1;
            while k < p {
                let n = k.min(p - k);
                let (to, from) = ((r + p - k) % p, (r + k) % p);
                let got = net.sendrecv(to, blocks.join(&cur[..n]), from);
                cur.extend(blocks.split(&got, (0..n).map(|i| (from + i) % p), from)?);
                k <<= 1;
            }
            for (i, b) in cur.into_iter().enumerate() {
                have[(r + i) % p] = Some(b);
            }
        }
    }
    Ok(have.iter_mut().map(take).collect())
}

/// Rank r sends `data[i]` to every rank i; returns the block from each rank.
pub(crate) fn alltoall(
    net: &mut Net,
    algorithm: Algorithm,
    blocks: &Blocks,
    data: Vec<Block>,
) -> Result<Vec<Block>, MpiError> {
    let (r, p) = (net.rank, net.size);
    let mut out: Vec<Option<Block>> = vec![None; p];
    match algorithm {
        Algorithm::Pairwise => {
            let mut data: Vec<Option<Block>> = data.into_iter().map(Some).collect();
            out[r] = data[r].take();
            for k in 1..p {
                let (to, from) = ((r + k) % p, (r + p - k) % p);
                let got = net.sendrecv(to, blocks.join([&take(&mut data[to])]), from);
                out[from] = blocks.split(&got, [from], from)?.pop();
            }
        }
        Algorithm::Bruck => {
            // Rotate so that position i holds the block for rank r + i; at distance k, send
            // the blocks whose position has bit k to r + k and take the same positions from
            // r − k; position i then holds the block from rank r − i.
            let mut cur: Vec<Block> = (0..p).map(|i| data[(r + i) % p].clone()).collect();
            let mut k = 1;
            while k < p {
                let idx: Vec<usize> = (0..p).filter(|i| i & k != 0).collect();
                let (to, from) = ((r + k) % p, (r + p - k) % p);
                let got = net.sendrecv(to, blocks.join(idx.iter().map(|&i| &cur[i])), from);
                for (&i, b) in idx.iter().zip(blocks.split(&got, idx.iter().copied(), from)?) {
                    cur[i] = b;
                }
                k <<= 1;
            }
            for (i, b) in cur.into_iter().enumerate() {
                out[(r + p - i) % p] = Some(b);
            }
        }
        _ => {
            // Linear: every receive and every send at once.
            let others: Vec<Rank> = (1..p).map(|k| (r + p - k) % p).collect();
            let mut data: Vec<Option<Block>> = data.into_iter().map(Some).collect();
            out[r] = data[r].take();
            let sends = (1..p).map(|k| (r + k) % p).map(|to| (to, blocks.join([&take(&mut data[to])]))).collect();
            let got = net.round(sends, others.clone());
            for (from, msg) in others.into_iter().zip(got) {
                out[from] = blocks.split(&msg, [from], from)?.pop();
            }
        }
    }
    Ok(out.iter_mut().map(take).collect())
}
