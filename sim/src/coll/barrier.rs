//! Barrier: dissemination (MPICH's), a binomial gather and release, or a linear one.

use super::net::Net;
use super::select::Algorithm;
use super::tree;
use super::wire;
use crate::codec::Payload;

fn token() -> Payload {
    wire::payload("()", Vec::new())
}

/// Returns once every rank has entered.
pub(crate) fn barrier(net: &mut Net, algorithm: Algorithm) {
    let (r, p) = (net.rank, net.size);
    match algorithm {
        Algorithm::Binomial => {
            // Gather empty messages up the tree to rank 0, then release down it.
            let kids: Vec<usize> = tree::children(r, p).into_iter().map(|(c, _)| c).collect();
            net.round(Vec::new(), kids.clone());
            if let Some((parent, _)) = tree::parent(r) {
                net.send(parent, token());
                net.recv(parent);
            }
            for c in kids {
                net.send(c, token());
            }
        }
        Algorithm::Linear => {
            let others: Vec<usize> = (1..p).collect();
            if r == 0 {
                net.round(Vec::new(), others.clone());
                net.round(others.into_iter().map(|o| (o, token())).collect(), Vec::new());
            } else {
                net.send(0, token());
                net.recv(0);
            }
        }
        _ => {
            // Dissemination: in round k, tell r + 2ᵏ and hear from r − 2ᵏ.
            let mut d = 1;
            while d < p {
                net.sendrecv((r + d) % p, token(), (r + p - d) % p);
                d <<= 1;
            }
        }
    }
}
