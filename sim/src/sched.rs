//! The scheduling oracle: the one place that decides among legal alternatives.
//!
//! MPI leaves some choices open: which sender a wildcard receive takes when several
//! messages wait, which completed request `waitany` returns. The engine asks an
//! [`Oracle`]; the default one always takes the first option (earliest arrival, lowest
//! rank, lowest index), so a run is reproducible without any seed.

use crate::Rank;

/// A decision the engine leaves to the oracle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    /// A wildcard receive on `rank` can take the first message of any of several senders.
    WildcardMatch {
        /// The receiving rank.
        rank: Rank,
    },
    /// `waitany`, `testany` on `rank` can return any of several completed requests.
    AnyRequest {
        /// The waiting rank.
        rank: Rank,
    },
}

/// Decides among `options` legal alternatives (numbered from 0 in the engine's preferred
/// order); must return a number below `options`.
pub trait Oracle {
    /// Picks one alternative.
    fn choose(&mut self, choice: Choice, options: usize) -> usize;
}

/// Always the engine's preferred alternative: earliest arrival, then lowest rank or index.
#[derive(Clone, Copy, Debug, Default)]
pub struct FirstChoice;

impl Oracle for FirstChoice {
    fn choose(&mut self, _: Choice, _: usize) -> usize {
        0
    }
}
