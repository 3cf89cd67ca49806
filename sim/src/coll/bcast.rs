//! Broadcast of an encoded value: binomial tree, scatter + allgather (van de Geijn, with a
//! recursive-doubling or a ring allgather), or linear.
//!
//! The scatter-based algorithms cut the root's `n` bytes into p chunks by relative rank:
//! chunks 1..p have ⌊n/p⌋ bytes and chunk 0 (the root's) the rest. Every chunk a non-root
//! rank receives in the scatter is a full one, so it learns the chunk size from the first
//! message without being told `n`.

use super::net::Net;
use super::select::Algorithm;
use super::tree::{self, absolute, relative};
use super::wire;
use crate::call::{ErrorClass, MpiError};
use crate::codec::Payload;
use crate::Rank;

/// Broadcasts `data` (given at the root) from `root`; returns it on every rank.
pub(crate) fn bcast(
    net: &mut Net,
    algorithm: Algorithm,
    root: Rank,
    data: Option<Payload>,
    type_name: &'static str,
) -> Result<Payload, MpiError> {
    if net.size == 1 {
        return Ok(data.expect("the root has the data"));
    }
    match algorithm {
        Algorithm::ScatterDoubling => scatter_allgather(net, root, data, type_name, false),
        Algorithm::ScatterRing => scatter_allgather(net, root, data, type_name, true),
        Algorithm::Linear => linear(net, root, data, type_name),
        _ => binomial(net, root, data, type_name),
    }
}

fn checked(p: Payload, type_name: &'static str, from: Rank) -> Result<Payload, MpiError> {
    wire::check_type(&p, type_name, from)?;
    Ok(p)
}

/// ⌈lg p⌉ rounds; each rank forwards to its children one blocking send at a time, as MPICH.
pub(crate) fn binomial(
    net: &mut Net,
    root: Rank,
    data: Option<Payload>,
    type_name: &'static str,
) -> Result<Payload, MpiError> {
    let p = net.size;
    let rel = relative(net.rank, root, p);
    let data = match tree::parent(rel) {
        Some((parent, _)) => {
            let from = absolute(parent, root, p);
            checked(net.recv(from), type_name, from)?
        }
        None => data.expect("the root has the data"),
    };
    for (child, _) in tree::children(rel, p) {
        net.send(absolute(child, root, p), data.clone());
    }
    Ok(data)
}

fn linear(net: &mut Net, root: Rank, data: Option<Payload>, type_name: &'static str) -> Result<Payload, MpiError> {
    if net.rank == root {
        let data = data.expect("the root has the data");
        let sends = (0..net.size).filter(|&r| r != root).map(|r| (r, data.clone())).collect();
        net.round(sends, Vec::new());
        Ok(data)
    } else {
        checked(net.recv(root), type_name, root)
    }
}

fn scatter_allgather(
    net: &mut Net,
    root: Rank,
    data: Option<Payload>,
    type_name: &'static str,
    ring: bool,
) -> Result<Payload, MpiError> {
    let p = net.size;
    let rel = relative(net.rank, root, p);
    let abs = |x: usize| absolute(x, root, p);
    let mut chunks: Vec<Option<Vec<u8>>> = vec![None; p];
    // Bytes of every chunk but chunk 0.
    let chunk = match (tree::parent(rel), data) {
        (None, Some(d)) => {
            let n = d.bytes.len();
            let c = n / p;
            let first = n - (p - 1) * c;
            chunks[0] = Some(d.bytes[..first].to_vec());
            for (i, slot) in chunks.iter_mut().enumerate().skip(1) {
                let at = first + (i - 1) * c;
                *slot = Some(d.bytes[at..at + c].to_vec());
            }
            c
        }
        (Some((parent, _)), _) => {
            let from = abs(parent);
            let msg = checked(net.recv(from), type_name, from)?;
            let s = tree::subtree(rel, p);
            let c = msg.bytes.len() / s;
            if c * s != msg.bytes.len() {
                return Err(uneven(from));
            }
            for (i, piece) in msg.bytes.chunks(c.max(1)).enumerate().take(s) {
                chunks[rel + i] = Some(piece.to_vec());
            }
            for slot in &mut chunks[rel..rel + s] {
                slot.get_or_insert_with(Vec::new);
            }
            c
        }
        (None, None) => unreachable!("the root has the data"),
    };
    let join = |chunks: &[Option<Vec<u8>>]| -> Payload {
        let bytes = chunks.iter().flat_map(|c| c.as_deref().expect("a chunk this rank holds").iter().copied());
        wire::payload(type_name, bytes.collect())
    };
    for (child, _) in tree::children(rel, p) {
        let s = tree::subtree(child, p);
        net.send(abs(child), join(&chunks[child..child + s]));
    }
    if ring {
        let (right, left) = (abs((rel + 1) % p), abs((rel + p - 1) % p));
        for k in 0..p - 1 {
            let (give, take) = ((rel + p - k) % p, (rel + 2 * p - k - 1) % p);
            let got = checked(net.sendrecv(right, join(&chunks[give..=give]), left), type_name, left)?;
            chunks[take] = Some(got.bytes);
        }
    } else {
        let mut mask = 1;
        while mask < p {
            let partner = rel ^ mask;
            let (mine, theirs) = (rel & !(mask - 1), partner & !(mask - 1));
            let from = abs(partner);
            let got = checked(net.sendrecv(from, join(&chunks[mine..mine + mask]), from), type_name, from)?;
            // Chunk 0 takes whatever the full chunks leave.
            let full = if theirs == 0 { (mask - 1) * chunk } else { mask * chunk };
            let fits = if theirs == 0 { got.bytes.len() >= full } else { got.bytes.len() == full };
            if !fits {
                return Err(uneven(from));
            }
            let first = if theirs == 0 { got.bytes.len() - full } else { chunk };
            let mut at = 0;
            for i in 0..mask {
                let len = if theirs + i == 0 { first } else { chunk };
                chunks[theirs + i] = Some(got.bytes[at..at + len].to_vec());
                at += len;
            }
            mask <<= 1;
        }
    }
    Ok(join(&chunks))
}

fn uneven(from: Rank) -> MpiError {
    MpiError::new(
        ErrorClass::Count,
        format!("the bcast data from rank {from} does not cut into equal chunks; every rank must call the same bcast"),
    )
}
