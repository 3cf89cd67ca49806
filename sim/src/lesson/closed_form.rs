//! Closed-form times of the collective algorithms (Thakur, Rabenseifner & Gropp, 2005),
//! on a run's platform: what the collective lessons compare a run with. On a
//! contention-free platform (no overheads, gaps or handshake, one kind of link) the
//! simulator's times equal these exactly where README's table says they hold;
//! `tests/collective_cost.rs` checks the simulator against the same forms.
//!
//! `bytes` means what the `coll` program's `--bytes` means: the whole message for bcast
//! and the reductions, one rank's block (m; n = p·m) for scatter, gather, allgather and
//! alltoall.

use crate::coll::{Algorithm, Collective};
use crate::platform::Platform;
use crate::time::Time;
use std::fmt;

/// The collective and algorithm a lesson names, if a closed form of it is known here.
pub fn parse(collective: &str, algorithm: &str) -> Result<(Collective, Algorithm), ClosedFormError> {
    let coll = Collective::from_name(collective)
        .ok_or_else(|| ClosedFormError::NotACollective { given: collective.to_string() })?;
    let alg = Algorithm::from_name(algorithm)
        .filter(|a| coll.algorithms().contains(a))
        .ok_or_else(|| ClosedFormError::NotAnAlgorithm { collective: coll, given: algorithm.to_string() })?;
    if form(coll, alg, 4, 4, false).is_none() {
        return Err(ClosedFormError::Unlisted { collective: coll, algorithm: alg });
    }
    Ok((coll, alg))
}

/// Why a closed form is not there to compare a run with: a name a lesson gives is not
/// known, or the form does not hold on the run's platform, ranks or size.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClosedFormError {
    /// The lesson's collective has no such name.
    NotACollective {
        /// The name given.
        given: String,
    },
    /// The collective has no algorithm of that name.
    NotAnAlgorithm {
        /// The collective.
        collective: Collective,
        /// The name given.
        given: String,
    },
    /// A lesson names an algorithm whose closed form is not known here (README's table
    /// lists the known ones).
    Unlisted {
        /// The collective.
        collective: Collective,
        /// The algorithm.
        algorithm: Algorithm,
    },
    /// No closed form of the algorithm is known.
    Unknown {
        /// The collective.
        collective: Collective,
        /// The algorithm.
        algorithm: Algorithm,
    },
    /// A collective on no ranks.
    NoRanks,
    /// The run spans nodes of a platform whose links differ within and between nodes.
    MixedLinks {
        /// The platform's name.
        platform: String,
        /// Its ranks per node.
        ranks_per_node: u32,
    },
    /// The platform has overheads, gaps or a rendezvous handshake.
    Overheads {
        /// The platform's name.
        platform: String,
    },
    /// The form holds only for other numbers of ranks or sizes.
    OtherSizes {
        /// The collective.
        collective: Collective,
        /// The algorithm.
        algorithm: Algorithm,
        /// Which sizes it holds for: `powers of two`.
        holds_for: &'static str,
        /// The run's ranks.
        ranks: u64,
        /// The run's bytes.
        bytes: u64,
    },
}

impl fmt::Display for ClosedFormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClosedFormError::NotACollective { given } => {
                let names: Vec<&str> = Collective::ALL.iter().map(|c| c.name()).collect();
                write!(f, "`{given}` is not a collective; collectives are {}", names.join(", "))
            }
            ClosedFormError::NotAnAlgorithm { collective: coll, given } => {
                let names: Vec<&str> = coll.algorithms().iter().map(|a| a.name()).collect();
                write!(f, "`{given}` is not an algorithm of {coll}; {coll} has {}", names.join(", "))
            }
            ClosedFormError::Unlisted { collective, algorithm } => {
                write!(f, "no closed form of {collective} by {algorithm} is known; README's table lists the known ones")
            }
            ClosedFormError::Unknown { collective, algorithm } => {
                write!(f, "no closed form of {collective} by {algorithm} is known")
            }
            ClosedFormError::NoRanks => f.write_str("a collective needs at least one rank"),
            ClosedFormError::MixedLinks { platform, ranks_per_node } => write!(
                f,
                "the closed forms assume one kind of link, and platform {platform} mixes links within and between \
                 its nodes of {ranks_per_node} ranks"
            ),
            ClosedFormError::Overheads { platform } => {
                write!(f, "the closed forms assume no overheads, gaps or handshake, and platform {platform} has them")
            }
            ClosedFormError::OtherSizes { collective, algorithm, holds_for, ranks, bytes } => write!(
                f,
                "the closed form of {collective} by {algorithm} holds for {holds_for}; this run has {ranks} ranks \
                 and {bytes} bytes"
            ),
        }
    }
}

impl std::error::Error for ClosedFormError {}

/// `⌈lg p⌉`.
fn lg(p: u64) -> u64 {
    u64::from(p.next_power_of_two().trailing_zeros())
}

/// `⌊lg p⌋`.
fn floor_lg(p: u64) -> u64 {
    u64::from(63 - p.max(1).leading_zeros())
}

/// A closed form: `alphas` latencies plus the wire time of each `(count, bytes)` message
/// on the critical path. `Err` says for which sizes the form holds.
type Form = Result<(u64, Vec<(u64, u64)>), &'static str>;

fn form(coll: Collective, alg: Algorithm, p: u64, bytes: u64, eager: bool) -> Option<Form> {
    use Algorithm::*;
    use Collective::*;
    let pof2 = p.is_power_of_two();
    let need = |ok: bool, when: &'static str, f: (u64, Vec<(u64, u64)>)| if ok { Ok(f) } else { Err(when) };
    let (n, m) = match coll {
        Scatter | Gather | Allgather | Alltoall => (p * bytes, bytes),
        _ => (bytes, bytes / p.max(1)),
    };
    let divides = n % p == 0;
    Some(match (coll, alg) {
        (Barrier, Dissemination) => Ok((lg(p), vec![])),
        (Barrier, Binomial) => Ok((2 * floor_lg(p), vec![])),
        (Barrier, Linear) => Ok((2, vec![])),
        (Bcast, Binomial) => need(
            pof2 || !eager,
            "powers of two when its messages are eager (any number of ranks when they are not)",
            (lg(p), vec![(lg(p), n)]),
        ),
        (Bcast, ScatterDoubling) => {
            need(pof2 && divides, "powers of two that divide the message", (2 * lg(p), vec![(1, 2 * (p - 1) * n / p)]))
        }
        (Bcast, ScatterRing) => need(
            pof2 && divides,
            "powers of two that divide the message",
            (lg(p) + p - 1, vec![(1, 2 * (p - 1) * n / p)]),
        ),
        (Bcast, Linear) => Ok((1, vec![(p - 1, n)])),
        (Scatter | Gather, Binomial) => need(pof2, "powers of two", (lg(p), vec![(1, (p - 1) * m)])),
        (Scatter, Linear) => Ok((1, vec![(1, (p - 1) * m)])),
        (Gather, Linear) => Ok((1, vec![(1, m)])),
        (Allgather, Ring) => Ok((p - 1, vec![(p - 1, m)])),
        (Allgather, RecursiveDoubling) => need(pof2, "powers of two", (lg(p), vec![(1, (p - 1) * m)])),
        (Allgather, Bruck) => Ok((lg(p), vec![(1, (p - 1) * m)])),
        (Alltoall, Pairwise) => Ok((p - 1, vec![(p - 1, m)])),
        (Alltoall, Linear) => Ok((1, vec![(1, (p - 1) * m)])),
        (Alltoall, Bruck) => {
            // Step k sends the blocks whose index has bit k set.
            let steps: Vec<(u64, u64)> =
                (0..lg(p)).map(|k| (1, (0..p).filter(|i| i >> k & 1 == 1).count() as u64 * m)).collect();
            Ok((lg(p), steps))
        }
        (Reduce, Binomial) => Ok((floor_lg(p), vec![(floor_lg(p), n)])),
        (Reduce, Linear) => Ok((1, vec![(1, n)])),
        (Reduce, Rabenseifner) => {
            need(pof2 && divides, "powers of two that divide the message", (2 * lg(p), vec![(1, 2 * (p - 1) * n / p)]))
        }
        (Allreduce, RecursiveDoubling) if pof2 => Ok((lg(p), vec![(lg(p), n)])),
        (Allreduce, RecursiveDoubling) => need(
            !eager,
            "powers of two, or other sizes when its messages are not eager",
            (floor_lg(p) + 2, vec![(floor_lg(p) + 2, n)]),
        ),
        (Allreduce, Rabenseifner) => {
            let q = 1 << floor_lg(p);
            let extra = if pof2 { (0, vec![]) } else { (2, vec![(2, n)]) };
            let mut msgs = vec![(1, 2 * (q - 1) * n / q)];
            msgs.extend(extra.1);
            need(
                n % q == 0 && (pof2 || !eager),
                "sizes whose largest power of two below divides the message (and, off powers of two, messages that are not eager)",
                (2 * floor_lg(p) + extra.0, msgs),
            )
        }
        (Allreduce, Ring) => {
            need(divides, "ranks that divide the message", (2 * (p - 1), vec![(1, 2 * (p - 1) * n / p)]))
        }
        (Allreduce, ReduceBcast) => need(pof2, "powers of two", (2 * lg(p), vec![(2 * lg(p), n)])),
        (ReduceScatter, RecursiveHalving) => {
            need(pof2 && divides, "powers of two that divide the message", (lg(p), vec![(1, (p - 1) * n / p)]))
        }
        (ReduceScatter, Pairwise) => Ok((p - 1, vec![(p - 1, n / p)])),
        (Scan | Exscan, RecursiveDoubling) => Ok((lg(p), vec![(lg(p), n)])),
        (Scan | Exscan, Linear) => Ok((p - 1, vec![(p - 1, n)])),
        _ => return None,
    })
}

/// The closed-form time of `alg` for `coll` on `ranks` ranks of `platform`, moving `bytes`
/// (see the module's doc for what `bytes` means). `Err` says why the form does not apply:
/// the platform has overheads or mixed links, or the form holds only for other sizes.
pub fn time(
    coll: Collective,
    alg: Algorithm,
    ranks: usize,
    bytes: u64,
    platform: &Platform,
) -> Result<Time, ClosedFormError> {
    let p = ranks as u64;
    if p == 0 {
        return Err(ClosedFormError::NoRanks);
    }
    let one_node = ranks <= platform.ranks_per_node as usize;
    if !one_node && platform.ranks_per_node != 1 {
        return Err(ClosedFormError::MixedLinks {
            platform: platform.name.clone(),
            ranks_per_node: platform.ranks_per_node,
        });
    }
    let link = if one_node { &platform.intra } else { &platform.inter };
    if link.send_overhead_ns + link.recv_overhead_ns + link.gap_ns + platform.handshake_ns > 0 {
        return Err(ClosedFormError::Overheads { platform: platform.name.clone() });
    }
    let eager = platform.is_eager(bytes);
    let f = form(coll, alg, p, bytes, eager)
        .ok_or(ClosedFormError::Unknown { collective: coll, algorithm: alg })?
        .map_err(|holds_for| ClosedFormError::OtherSizes {
            collective: coll,
            algorithm: alg,
            holds_for,
            ranks: p,
            bytes,
        })?;
    let (alphas, messages) = f;
    let wire: u64 = messages.iter().map(|&(count, b)| count * link.wire_time(b).as_nanos()).sum();
    Ok(Time(alphas * link.latency_ns + wire))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(coll: &str, alg: &str, p: usize, bytes: u64, want: Result<u64, &str>) {
        let (c, a) = parse(coll, alg).unwrap();
        let got = time(c, a, p, bytes, &Platform::default());
        match (want, got) {
            (Ok(w), Ok(t)) => assert_eq!(t.as_nanos(), w, "{coll} {alg} p={p} n={bytes}"),
            (Err(words), Err(e)) => assert!(e.to_string().contains(words), "{coll} {alg}: {e}"),
            (want, got) => panic!("{coll} {alg} p={p}: want {want:?}, got {got:?}"),
        }
    }

    #[test]
    fn forms_on_the_default_platform() {
        // α = 1000 ns, β = 1 ns per byte.
        check("bcast", "binomial", 16, 1024, Ok(4 * (1000 + 1024)));
        check("bcast", "binomial", 6, 1024, Err("powers of two when its messages are eager"));
        check("bcast", "binomial", 6, 1 << 20, Ok(3 * (1000 + (1 << 20))));
        check("barrier", "dissemination", 5, 0, Ok(3 * 1000));
        check("allgather", "ring", 4, 800, Ok(3 * (1000 + 800)));
        check("allgather", "recursive_doubling", 8, 100, Ok(3 * 1000 + 7 * 100));
        check("alltoall", "pairwise", 4, 80, Ok(3 * (1000 + 80)));
        check("alltoall", "bruck", 4, 10, Ok(2 * (1000 + 20)));
        check("reduce", "binomial", 8, 96, Ok(3 * (1000 + 96)));
        check("allreduce", "recursive_doubling", 8, 96, Ok(3 * (1000 + 96)));
        check("allreduce", "ring", 4, 400, Ok(6 * 1000 + 600));
        check("scatter", "binomial", 6, 10, Err("powers of two"));
    }

    #[test]
    fn names_and_platforms_are_checked() {
        let err = parse("bcast", "ring").unwrap_err();
        assert_eq!(err, ClosedFormError::NotAnAlgorithm { collective: Collective::Bcast, given: "ring".into() });
        assert!(err.to_string().contains("bcast has binomial"), "{err}");
        let err = parse("broadcast", "binomial").unwrap_err();
        assert!(matches!(&err, ClosedFormError::NotACollective { given } if given == "broadcast"));
        assert!(err.to_string().contains("not a collective"), "{err}");
        let busy = Platform { ranks_per_node: 2, ..Platform::default() };
        let err = time(Collective::Bcast, Algorithm::Binomial, 4, 8, &busy).unwrap_err();
        assert!(matches!(err, ClosedFormError::MixedLinks { ranks_per_node: 2, .. }), "{err:?}");
        assert!(err.to_string().contains("mixes links"), "{err}");
        let mut slow = Platform::default();
        slow.inter.gap_ns = 5;
        let err = time(Collective::Bcast, Algorithm::Binomial, 4, 8, &slow).unwrap_err();
        assert!(matches!(err, ClosedFormError::Overheads { .. }) && err.to_string().contains("gaps"), "{err}");
        let err = time(Collective::Scatter, Algorithm::Binomial, 6, 10, &Platform::default()).unwrap_err();
        assert!(matches!(err, ClosedFormError::OtherSizes { ranks: 6, bytes: 10, holds_for: "powers of two", .. }));
        assert_eq!(
            time(Collective::Bcast, Algorithm::Binomial, 0, 8, &Platform::default()),
            Err(ClosedFormError::NoRanks)
        );
    }
}
