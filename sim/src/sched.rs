//! The scheduling oracle: the one place that decides among legal alternatives.
//!
//! MPI leaves some choices open: which sender a wildcard receive takes when several
//! messages wait, which completed request `waitany` returns, how many `waitsome` returns,
//! and how long a message takes within what the network could do. The engine asks an
//! [`Oracle`]; the default one, [`FirstChoice`], always takes the first option (earliest
//! arrival, lowest rank, lowest index) and adds no delay, so a run is reproducible without
//! any seed. [`RandomChoice`] makes every choice from a seeded, stable RNG: schedule
//! exploration (`--explore N`) runs it with many seeds, and a [`Schedule`] token replays
//! one exactly.

use crate::time::Time;
use crate::Rank;
use std::fmt;
use std::str::FromStr;

/// A decision the engine leaves to the oracle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    /// A wildcard receive on `rank` can take the first message of any of several senders.
    WildcardMatch {
        /// The receiving rank.
        rank: Rank,
    },
    /// A wildcard probe on `rank` can report the first message of any of several senders.
    WildcardProbe {
        /// The probing rank.
        rank: Rank,
    },
    /// `waitany`, `testany` on `rank` can return any of several completed requests.
    AnyRequest {
        /// The waiting rank.
        rank: Rank,
    },
    /// `waitsome`, `testsome` on `rank` found another completed request besides the one it
    /// returns anyway: option 0 returns it now, option 1 leaves it for a later call.
    SomeRequest {
        /// The waiting rank.
        rank: Rank,
    },
}

/// Decides among `options` legal alternatives (numbered from 0 in the engine's preferred
/// order); must return a number below `options`.
pub trait Oracle {
    /// Picks one alternative.
    fn choose(&mut self, choice: Choice, options: usize) -> usize;

    /// Extra time a message from `src` to `dst` takes on top of the cost model, on a link
    /// of latency `latency`: timing jitter that can reorder arrivals from different
    /// senders (messages between one pair of ranks still never overtake each other).
    fn delay(&mut self, src: Rank, dst: Rank, latency: Time) -> Time {
        let _ = (src, dst, latency);
        Time::ZERO
    }
}

/// Always the engine's preferred alternative: earliest arrival, then lowest rank or index.
#[derive(Clone, Copy, Debug, Default)]
pub struct FirstChoice;

impl Oracle for FirstChoice {
    fn choose(&mut self, _: Choice, _: usize) -> usize {
        0
    }
}

/// SplitMix64 (Steele, Lea and Flood 2014): a small RNG whose output depends on nothing but
/// its seed, on every platform and in every version of mpisim.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`), without modulo bias worth mentioning (Lemire's
    /// multiply-shift).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

/// Which kinds of freedom a random schedule uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScheduleMode {
    /// Only the choices MPI leaves open (wildcard matches, `waitany`, `waitsome`); timing
    /// is exactly the cost model's.
    Choices,
    /// The choices, and every message delayed by up to [`JITTER_LATENCIES`] link latencies.
    Jitter,
}

/// How many link latencies a message may be delayed by under [`ScheduleMode::Jitter`].
pub const JITTER_LATENCIES: u64 = 4;

/// A schedule of a run: the default one, or a random one that a token names exactly.
///
/// Its text form is the replay token printed by `--explore`: `c` (choices only) or `j`
/// (choices and timing jitter), then the schedule's seed in decimal, e.g. `j1234`; the
/// default schedule is `first`. `--replay TOKEN` and `MPISIM_SEED=TOKEN` take it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Schedule {
    /// The engine's preferred choices and no delays ([`FirstChoice`]).
    #[default]
    First,
    /// Choices (and, with [`ScheduleMode::Jitter`], delays) drawn from an RNG seeded
    /// with `seed`.
    Random {
        /// What may vary.
        mode: ScheduleMode,
        /// The RNG's seed.
        seed: u64,
    },
}

impl Schedule {
    /// The `index`-th schedule an exploration tries after the default run: modes
    /// alternate (choices only, then choices with jitter), and seeds follow from `base`
    /// so that explorations with different bases try different schedules.
    pub fn explored(base: u64, index: u64) -> Schedule {
        let mode = if index % 2 == 0 { ScheduleMode::Choices } else { ScheduleMode::Jitter };
        // Small, readable seeds for base 0; a scrambled sequence for any other base.
        let seed = if base == 0 { index + 1 } else { SplitMix64::new(base ^ index).next_u64() };
        Schedule::Random { mode, seed }
    }

    /// The oracle that makes this schedule's choices.
    pub fn oracle(self) -> Box<dyn Oracle> {
        match self {
            Schedule::First => Box::new(FirstChoice),
            Schedule::Random { mode, seed } => Box::new(RandomChoice::new(seed, mode == ScheduleMode::Jitter)),
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::First => f.write_str("first"),
            Schedule::Random { mode: ScheduleMode::Choices, seed } => write!(f, "c{seed}"),
            Schedule::Random { mode: ScheduleMode::Jitter, seed } => write!(f, "j{seed}"),
        }
    }
}

/// A text that is not a schedule token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleError {
    /// What was given.
    pub token: String,
}

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a schedule token: a token is `c` (choices) or `j` (choices and jitter) followed by a seed, \
             like `j17`, or `first`; copy it from the output of --explore",
            self.token
        )
    }
}

impl std::error::Error for ScheduleError {}

impl FromStr for Schedule {
    type Err = ScheduleError;

    fn from_str(token: &str) -> Result<Schedule, ScheduleError> {
        let token = token.trim();
        let bad = || ScheduleError { token: token.to_string() };
        if token == "first" {
            return Ok(Schedule::First);
        }
        let mode = match token.chars().next() {
            Some('c') => ScheduleMode::Choices,
            Some('j') => ScheduleMode::Jitter,
            _ => return Err(bad()),
        };
        let seed = token[1..].parse().map_err(|_| bad())?;
        Ok(Schedule::Random { mode, seed })
    }
}

/// Makes every open choice at random from a seeded [`SplitMix64`], and with `jitter`
/// delays each message by up to [`JITTER_LATENCIES`] link latencies.
#[derive(Clone, Debug)]
pub struct RandomChoice {
    rng: SplitMix64,
    jitter: bool,
}

impl RandomChoice {
    /// An oracle seeded with `seed`.
    pub fn new(seed: u64, jitter: bool) -> RandomChoice {
        RandomChoice { rng: SplitMix64::new(seed), jitter }
    }
}

impl Oracle for RandomChoice {
    fn choose(&mut self, _: Choice, options: usize) -> usize {
        self.rng.below(options as u64) as usize
    }

    fn delay(&mut self, _: Rank, _: Rank, latency: Time) -> Time {
        if !self.jitter {
            return Time::ZERO;
        }
        let most = latency.as_nanos().max(1).saturating_mul(JITTER_LATENCIES);
        Time(self.rng.below(most + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_is_the_published_sequence() {
        // First outputs for seed 1234567 from the reference implementation.
        let mut rng = SplitMix64::new(1234567);
        assert_eq!(rng.next_u64(), 6457827717110365317);
        assert_eq!(rng.next_u64(), 3203168211198807973);
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng = SplitMix64::new(7);
        let mut seen = [false; 5];
        for _ in 0..200 {
            let x = rng.below(5);
            seen[x as usize] = true;
        }
        assert!(seen.iter().all(|&s| s), "{seen:?}");
    }

    #[test]
    fn tokens_round_trip_and_bad_ones_are_explained() {
        for s in [
            Schedule::First,
            Schedule::Random { mode: ScheduleMode::Choices, seed: 0 },
            Schedule::Random { mode: ScheduleMode::Jitter, seed: u64::MAX },
        ] {
            assert_eq!(s.to_string().parse::<Schedule>(), Ok(s));
        }
        assert_eq!("j17".parse::<Schedule>(), Ok(Schedule::Random { mode: ScheduleMode::Jitter, seed: 17 }));
        for bad in ["", "x17", "j", "c-1", "17"] {
            assert!(bad.parse::<Schedule>().unwrap_err().to_string().contains("not a schedule token"), "{bad}");
        }
    }

    #[test]
    fn explored_schedules_alternate_modes_and_differ() {
        let first: Vec<Schedule> = (0..4).map(|i| Schedule::explored(0, i)).collect();
        assert_eq!(first[0], Schedule::Random { mode: ScheduleMode::Choices, seed: 1 });
        assert_eq!(first[1], Schedule::Random { mode: ScheduleMode::Jitter, seed: 2 });
        assert_ne!(Schedule::explored(5, 0), Schedule::explored(6, 0));
    }

    #[test]
    fn jitter_only_in_jitter_mode_and_within_bounds() {
        let mut quiet = RandomChoice::new(3, false);
        assert_eq!(quiet.delay(0, 1, Time(1000)), Time::ZERO);
        let mut noisy = RandomChoice::new(3, true);
        let delays: Vec<Time> = (0..100).map(|_| noisy.delay(0, 1, Time(1000))).collect();
        assert!(delays.iter().all(|d| d.as_nanos() <= 4000));
        assert!(delays.iter().any(|d| d.as_nanos() > 0));
    }
}
