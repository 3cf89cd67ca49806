//! Which algorithm runs a collective: the user's choice (`World::algorithm`, or
//! `--algorithm coll=name`), else MPICH's default rules by message size and rank count.
//!
//! MPICH's thresholds (its CVAR defaults): bcast binomial below 12 KiB or 8 ranks, then
//! scatter + recursive-doubling allgather below 512 KiB on a power of two, else scatter +
//! ring allgather; allgather recursive doubling below 512 KiB in total on a power of two,
//! Bruck below 80 KiB, else ring; alltoall Bruck for blocks up to 256 B on 8 ranks or
//! more, isend/irecv up to 32 KiB, else pairwise; allreduce recursive doubling up to 2 KiB,
//! for user ops or fewer elements than the power of two below p, else Rabenseifner; reduce
//! binomial up to 2 KiB or for user ops, else Rabenseifner; reduce-scatter recursive
//! halving below 512 KiB for commutative ops, else pairwise; barrier dissemination; scan
//! and exscan recursive doubling; gather and scatter binomial; the v-variants linear.

use std::collections::BTreeMap;
use std::fmt;

/// A collective operation, as named for algorithm selection and on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(missing_docs)]
pub enum Collective {
    Barrier,
    Bcast,
    Scatter,
    Gather,
    Allgather,
    Alltoall,
    Scatterv,
    Gatherv,
    Allgatherv,
    Alltoallv,
    Reduce,
    Allreduce,
    /// Both `reduce_scatter` and `reduce_scatter_block`.
    ReduceScatter,
    Scan,
    Exscan,
}

/// A collective algorithm built from point-to-point messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algorithm {
    /// Binomial tree: ⌈lg p⌉ rounds.
    Binomial,
    /// The root (or every rank) talks to every other rank directly.
    Linear,
    /// Pairs at distance 1, 2, 4, … exchange everything they have (powers of two; other
    /// sizes fold the extra ranks in first).
    RecursiveDoubling,
    /// Pairs at distance p/2, p/4, … exchange half of what they still reduce.
    RecursiveHalving,
    /// Each rank passes to its right neighbour, p − 1 steps.
    Ring,
    /// Rabenseifner: reduce-scatter by recursive halving, then gather or allgather.
    Rabenseifner,
    /// Bruck: ⌈lg p⌉ steps at distances 1, 2, 4, … with local rotations.
    Bruck,
    /// p − 1 steps; in step k rank r sends to r + k and receives from r − k.
    Pairwise,
    /// Dissemination barrier: ⌈lg p⌉ rounds of messages to r + 2ᵏ.
    Dissemination,
    /// Bcast as a binomial scatter, then a recursive-doubling allgather (van de Geijn).
    ScatterDoubling,
    /// Bcast as a binomial scatter, then a ring allgather.
    ScatterRing,
    /// Allreduce as a binomial reduce to rank 0, then a binomial bcast.
    ReduceBcast,
}

impl Algorithm {
    /// Every algorithm.
    pub const ALL: [Algorithm; 12] = [
        Algorithm::Binomial,
        Algorithm::Linear,
        Algorithm::RecursiveDoubling,
        Algorithm::RecursiveHalving,
        Algorithm::Ring,
        Algorithm::Rabenseifner,
        Algorithm::Bruck,
        Algorithm::Pairwise,
        Algorithm::Dissemination,
        Algorithm::ScatterDoubling,
        Algorithm::ScatterRing,
        Algorithm::ReduceBcast,
    ];

    /// The name used on the command line and in traces.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Binomial => "binomial",
            Algorithm::Linear => "linear",
            Algorithm::RecursiveDoubling => "recursive_doubling",
            Algorithm::RecursiveHalving => "recursive_halving",
            Algorithm::Ring => "ring",
            Algorithm::Rabenseifner => "rabenseifner",
            Algorithm::Bruck => "bruck",
            Algorithm::Pairwise => "pairwise",
            Algorithm::Dissemination => "dissemination",
            Algorithm::ScatterDoubling => "scatter_doubling",
            Algorithm::ScatterRing => "scatter_ring",
            Algorithm::ReduceBcast => "reduce_bcast",
        }
    }

    /// The algorithm of a name (`recursive-doubling` also works).
    pub fn from_name(name: &str) -> Option<Algorithm> {
        let name = name.replace('-', "_");
        Algorithm::ALL.into_iter().find(|a| a.name() == name)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Collective {
    /// Every collective.
    pub const ALL: [Collective; 15] = [
        Collective::Barrier,
        Collective::Bcast,
        Collective::Scatter,
        Collective::Gather,
        Collective::Allgather,
        Collective::Alltoall,
        Collective::Scatterv,
        Collective::Gatherv,
        Collective::Allgatherv,
        Collective::Alltoallv,
        Collective::Reduce,
        Collective::Allreduce,
        Collective::ReduceScatter,
        Collective::Scan,
        Collective::Exscan,
    ];

    /// The name used on the command line: `bcast`, `reduce_scatter`, ….
    pub fn name(self) -> &'static str {
        match self {
            Collective::Barrier => "barrier",
            Collective::Bcast => "bcast",
            Collective::Scatter => "scatter",
            Collective::Gather => "gather",
            Collective::Allgather => "allgather",
            Collective::Alltoall => "alltoall",
            Collective::Scatterv => "scatterv",
            Collective::Gatherv => "gatherv",
            Collective::Allgatherv => "allgatherv",
            Collective::Alltoallv => "alltoallv",
            Collective::Reduce => "reduce",
            Collective::Allreduce => "allreduce",
            Collective::ReduceScatter => "reduce_scatter",
            Collective::Scan => "scan",
            Collective::Exscan => "exscan",
        }
    }

    /// The collective of a name (`reduce-scatter` also works).
    pub fn from_name(name: &str) -> Option<Collective> {
        let name = name.replace('-', "_");
        Collective::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The algorithms that implement it; the first is MPICH's choice for small messages.
    pub fn algorithms(self) -> &'static [Algorithm] {
        use Algorithm::*;
        match self {
            Collective::Barrier => &[Dissemination, Binomial, Linear],
            Collective::Bcast => &[Binomial, ScatterDoubling, ScatterRing, Linear],
            Collective::Scatter | Collective::Gather => &[Binomial, Linear],
            Collective::Allgather | Collective::Allgatherv => &[RecursiveDoubling, Bruck, Ring],
            Collective::Alltoall => &[Bruck, Linear, Pairwise],
            Collective::Alltoallv => &[Linear, Pairwise],
            Collective::Scatterv | Collective::Gatherv => &[Linear],
            Collective::Reduce => &[Binomial, Rabenseifner, Linear],
            Collective::Allreduce => &[RecursiveDoubling, Rabenseifner, Ring, ReduceBcast],
            Collective::ReduceScatter => &[RecursiveHalving, Pairwise],
            Collective::Scan | Collective::Exscan => &[RecursiveDoubling, Linear],
        }
    }
}

impl fmt::Display for Collective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The user's algorithm choices; collectives not named here follow MPICH's rules.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Algorithms {
    chosen: BTreeMap<Collective, Algorithm>,
}

impl Algorithms {
    /// Chooses `algorithm` for `collective`; an error names the algorithms it has.
    pub fn set(&mut self, collective: Collective, algorithm: Algorithm) -> Result<(), AlgorithmError> {
        if !collective.algorithms().contains(&algorithm) {
            return Err(AlgorithmError::NotOf { collective, algorithm });
        }
        self.chosen.insert(collective, algorithm);
        Ok(())
    }

    /// Parses `coll=name` (as `--algorithm` takes it) and chooses it.
    pub fn parse_and_set(&mut self, spec: &str) -> Result<(), AlgorithmError> {
        let Some((coll, alg)) = spec.split_once('=') else {
            return Err(AlgorithmError::Malformed { spec: spec.to_string() });
        };
        let collective = Collective::from_name(coll.trim())
            .ok_or_else(|| AlgorithmError::UnknownCollective { name: coll.trim().to_string() })?;
        let algorithm = Algorithm::from_name(alg.trim())
            .ok_or_else(|| AlgorithmError::UnknownAlgorithm { collective, name: alg.trim().to_string() })?;
        self.set(collective, algorithm)
    }

    /// The user's choice for `collective`, if any.
    pub fn get(&self, collective: Collective) -> Option<Algorithm> {
        self.chosen.get(&collective).copied()
    }

    /// The choices as `coll=name` pairs.
    pub fn describe(&self) -> Vec<String> {
        self.chosen.iter().map(|(c, a)| format!("{c}={a}")).collect()
    }
}

/// MPICH's default thresholds (bytes).
pub(crate) mod mpich {
    /// `MPIR_CVAR_BCAST_SHORT_MSG_SIZE`.
    pub const BCAST_SHORT: u64 = 12_288;
    /// `MPIR_CVAR_BCAST_LONG_MSG_SIZE`.
    pub const BCAST_LONG: u64 = 524_288;
    /// `MPIR_CVAR_BCAST_MIN_PROCS`.
    pub const BCAST_MIN_PROCS: usize = 8;
    /// `MPIR_CVAR_ALLGATHER_SHORT_MSG_SIZE`.
    pub const ALLGATHER_SHORT: u64 = 81_920;
    /// `MPIR_CVAR_ALLGATHER_LONG_MSG_SIZE`.
    pub const ALLGATHER_LONG: u64 = 524_288;
    /// `MPIR_CVAR_ALLTOALL_SHORT_MSG_SIZE`.
    pub const ALLTOALL_SHORT: u64 = 256;
    /// `MPIR_CVAR_ALLTOALL_MEDIUM_MSG_SIZE`.
    pub const ALLTOALL_MEDIUM: u64 = 32_768;
    /// `MPIR_CVAR_ALLREDUCE_SHORT_MSG_SIZE`.
    pub const ALLREDUCE_SHORT: u64 = 2_048;
    /// `MPIR_CVAR_REDUCE_SHORT_MSG_SIZE`.
    pub const REDUCE_SHORT: u64 = 2_048;
    /// `MPIR_CVAR_REDUCE_SCATTER_COMMUTATIVE_LONG_MSG_SIZE`.
    pub const REDUCE_SCATTER_LONG: u64 = 524_288;
}

/// The largest power of two not above `p` (p ≥ 1).
pub(crate) fn pof2_floor(p: usize) -> usize {
    1 << (usize::BITS - 1 - p.leading_zeros())
}

/// Facts about one call that selection looks at.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Facts {
    pub ranks: usize,
    /// The bytes MPICH would compare with its thresholds (see each collective).
    pub bytes: u64,
    /// Element count of a reduction's operand.
    pub count: usize,
    pub commutative: bool,
    pub builtin: bool,
}

/// Whether `algorithm` can run this call; some need a power of two or a commutative op.
pub(crate) fn applicable(collective: Collective, algorithm: Algorithm, f: &Facts) -> bool {
    let pof2 = f.ranks.is_power_of_two();
    match (collective, algorithm) {
        (Collective::Bcast, Algorithm::ScatterDoubling) => pof2,
        (Collective::Allgather | Collective::Allgatherv, Algorithm::RecursiveDoubling) => pof2,
        (Collective::Allreduce, Algorithm::Ring) => f.commutative,
        (Collective::ReduceScatter, Algorithm::RecursiveHalving) => f.commutative,
        _ => true,
    }
}

/// MPICH's choice for this call.
pub(crate) fn mpich_default(collective: Collective, f: &Facts) -> Algorithm {
    use mpich::*;
    let p = f.ranks;
    let pof2 = p.is_power_of_two();
    match collective {
        Collective::Barrier => Algorithm::Dissemination,
        Collective::Bcast if f.bytes < BCAST_SHORT || p < BCAST_MIN_PROCS => Algorithm::Binomial,
        Collective::Bcast if f.bytes < BCAST_LONG && pof2 => Algorithm::ScatterDoubling,
        Collective::Bcast => Algorithm::ScatterRing,
        Collective::Scatter | Collective::Gather => Algorithm::Binomial,
        Collective::Scatterv | Collective::Gatherv | Collective::Alltoallv => Algorithm::Linear,
        Collective::Allgather | Collective::Allgatherv if f.bytes < ALLGATHER_LONG && pof2 => {
            Algorithm::RecursiveDoubling
        }
        Collective::Allgather | Collective::Allgatherv if f.bytes < ALLGATHER_SHORT => Algorithm::Bruck,
        Collective::Allgather | Collective::Allgatherv => Algorithm::Ring,
        Collective::Alltoall if f.bytes <= ALLTOALL_SHORT && p >= 8 => Algorithm::Bruck,
        Collective::Alltoall if f.bytes <= ALLTOALL_MEDIUM => Algorithm::Linear,
        Collective::Alltoall => Algorithm::Pairwise,
        Collective::Allreduce if f.bytes <= ALLREDUCE_SHORT || !f.builtin || f.count < pof2_floor(p) => {
            Algorithm::RecursiveDoubling
        }
        Collective::Allreduce => Algorithm::Rabenseifner,
        Collective::Reduce if f.bytes > REDUCE_SHORT && f.builtin && f.count >= pof2_floor(p) => {
            Algorithm::Rabenseifner
        }
        Collective::Reduce => Algorithm::Binomial,
        Collective::ReduceScatter if f.commutative && f.bytes < REDUCE_SCATTER_LONG => Algorithm::RecursiveHalving,
        Collective::ReduceScatter => Algorithm::Pairwise,
        Collective::Scan | Collective::Exscan => Algorithm::RecursiveDoubling,
    }
}

/// The algorithm that runs: the user's choice where it applies, else MPICH's.
pub(crate) fn choose(collective: Collective, chosen: Option<Algorithm>, f: &Facts) -> Algorithm {
    match chosen {
        Some(a) if applicable(collective, a, f) => a,
        Some(Algorithm::ScatterDoubling) => Algorithm::ScatterRing,
        Some(Algorithm::RecursiveDoubling) => Algorithm::Bruck,
        Some(Algorithm::Ring) => Algorithm::RecursiveDoubling,
        Some(Algorithm::RecursiveHalving) => Algorithm::Pairwise,
        _ => mpich_default(collective, f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(ranks: usize, bytes: u64) -> Facts {
        Facts { ranks, bytes, count: bytes as usize, commutative: true, builtin: true }
    }

    #[test]
    fn mpich_rules() {
        assert_eq!(mpich_default(Collective::Bcast, &facts(16, 1024)), Algorithm::Binomial);
        assert_eq!(mpich_default(Collective::Bcast, &facts(4, 1 << 20)), Algorithm::Binomial);
        assert_eq!(mpich_default(Collective::Bcast, &facts(16, 100_000)), Algorithm::ScatterDoubling);
        assert_eq!(mpich_default(Collective::Bcast, &facts(12, 100_000)), Algorithm::ScatterRing);
        assert_eq!(mpich_default(Collective::Allgather, &facts(6, 1000)), Algorithm::Bruck);
        assert_eq!(mpich_default(Collective::Allgather, &facts(6, 100_000)), Algorithm::Ring);
        assert_eq!(mpich_default(Collective::Alltoall, &facts(8, 100)), Algorithm::Bruck);
        assert_eq!(mpich_default(Collective::Allreduce, &facts(8, 4096)), Algorithm::Rabenseifner);
    }

    #[test]
    fn inapplicable_choices_fall_back() {
        let f = Facts { commutative: false, ..facts(6, 8) };
        assert_eq!(choose(Collective::Bcast, Some(Algorithm::ScatterDoubling), &f), Algorithm::ScatterRing);
        assert_eq!(choose(Collective::Allgather, Some(Algorithm::RecursiveDoubling), &f), Algorithm::Bruck);
        assert_eq!(choose(Collective::Allreduce, Some(Algorithm::Ring), &f), Algorithm::RecursiveDoubling);
        assert_eq!(choose(Collective::Bcast, Some(Algorithm::Linear), &f), Algorithm::Linear);
    }

    #[test]
    fn names_round_trip_and_bad_specs_are_explained() {
        for a in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(a.name()), Some(a));
        }
        let mut s = Algorithms::default();
        s.parse_and_set("bcast=scatter-ring").unwrap();
        assert_eq!(s.get(Collective::Bcast), Some(Algorithm::ScatterRing));
        assert!(s.parse_and_set("bcast=ring").unwrap_err().to_string().contains("bcast has binomial"));
        assert!(s.parse_and_set("bacst=ring").unwrap_err().to_string().contains("not a collective"));
        assert!(s.parse_and_set("binomial").unwrap_err().to_string().contains("COLLECTIVE=ALGORITHM"));
    }
}

/// Why an algorithm choice (`--algorithm COLL=NAME`, [`Algorithms::set`]) is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AlgorithmError {
    /// Not `COLLECTIVE=ALGORITHM`.
    Malformed {
        /// What was given.
        spec: String,
    },
    /// No collective has that name.
    UnknownCollective {
        /// The name given.
        name: String,
    },
    /// No algorithm has that name.
    UnknownAlgorithm {
        /// The collective it was meant for.
        collective: Collective,
        /// The name given.
        name: String,
    },
    /// The algorithm exists but is not one of the collective's.
    NotOf {
        /// The collective.
        collective: Collective,
        /// The algorithm.
        algorithm: Algorithm,
    },
}

impl fmt::Display for AlgorithmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = |c: &Collective| c.algorithms().iter().map(|a| a.name()).collect::<Vec<_>>().join(", ");
        match self {
            AlgorithmError::Malformed { spec } => {
                write!(f, "`{spec}` is not COLLECTIVE=ALGORITHM, e.g. bcast=binomial")
            }
            AlgorithmError::UnknownCollective { name } => {
                let all: Vec<&str> = Collective::ALL.iter().map(|c| c.name()).collect();
                write!(f, "`{name}` is not a collective; collectives are {}", all.join(", "))
            }
            AlgorithmError::UnknownAlgorithm { collective, name } => {
                write!(f, "`{name}` is not an algorithm; {collective} has {}", names(collective))
            }
            AlgorithmError::NotOf { collective, algorithm } => {
                write!(f, "{algorithm} is not an algorithm of {collective}; {collective} has {}", names(collective))
            }
        }
    }
}

impl std::error::Error for AlgorithmError {}
