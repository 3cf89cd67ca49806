//! The machine a run is simulated on: latency, bandwidth, LogGP overheads, the eager limit,
//! nodes, and compute speed; built-in presets and RON platform files. What these cost a
//! run is the cost model's arithmetic (`cost.rs`).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

/// One kind of link between two ranks (within a node, or between nodes), in LogGP terms.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Link {
    /// Latency α (LogGP L) of one message, in nanoseconds.
    pub latency_ns: u64,
    /// Bandwidth in bytes per second (β = 1/bandwidth; LogGP G).
    pub bandwidth: u64,
    /// CPU time the sender spends in a send call (LogGP o at the sender), in nanoseconds.
    pub send_overhead_ns: u64,
    /// CPU time the receiver spends completing a receive (LogGP o at the receiver).
    pub recv_overhead_ns: u64,
    /// Minimum interval between two message injections by one rank (LogGP g).
    pub gap_ns: u64,
}

impl Default for Link {
    fn default() -> Link {
        Link { latency_ns: 1_000, bandwidth: 1_000_000_000, send_overhead_ns: 0, recv_overhead_ns: 0, gap_ns: 0 }
    }
}

/// A bandwidth that moves any message in no time: the ideal network's.
pub const INFINITE_BANDWIDTH: u64 = u64::MAX;

/// A simulated machine. Load one with [`Platform::resolve`] (a preset name or a RON file).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Platform {
    /// Name shown in reports and traces.
    pub name: String,
    /// Largest message, in bytes, sent eagerly (completes locally, buffered at the
    /// receiver). Larger messages use rendezvous: the sender waits for the matching
    /// receive. `0` makes every standard send synchronous.
    pub eager_limit: u64,
    /// Ranks per node: ranks `k*r .. (k+1)*r` share node `k` and use [`Platform::intra`].
    pub ranks_per_node: u32,
    /// Link between two ranks on the same node.
    pub intra: Link,
    /// Link between two ranks on different nodes.
    pub inter: Link,
    /// Extra time of a rendezvous handshake (request to send, clear to send), in ns.
    pub handshake_ns: u64,
    /// Virtual time charged for a poll that finds nothing (`test`, `iprobe`), in ns.
    /// It must be positive: a polling loop has to move time forward to see a message.
    pub poll_ns: u64,
    /// Speed of a rank relative to the durations given to `compute` (2.0 halves them).
    pub compute_speed: f64,
    /// Floating-point operations per second, for `compute_flops`.
    pub flops: f64,
}

/// The eager limit of the default platform: SMPI's detached threshold, 64 KiB.
pub const DEFAULT_EAGER_LIMIT: u64 = 64 * 1024;

impl Default for Platform {
    fn default() -> Platform {
        Platform {
            name: "default".into(),
            eager_limit: DEFAULT_EAGER_LIMIT,
            ranks_per_node: 1,
            intra: Link::default(),
            inter: Link::default(),
            handshake_ns: 0,
            poll_ns: 100,
            compute_speed: 1.0,
            flops: 1e9,
        }
    }
}

/// Built-in presets: `(name, eager limit, what it stands for)`. They differ in the eager
/// limit, because real libraries differ there and that is the lesson; calibrate for α and β.
pub const PRESETS: &[(&str, u64, &str)] = &[
    ("default", DEFAULT_EAGER_LIMIT, "1 µs, 1 GB/s, eager up to 64 KiB"),
    ("smpi", 65_536, "SimGrid SMPI's detached threshold (LogGOPSim S = 65535)"),
    ("mpich", 131_072, "MPICH ch3 MPIR_CVAR_CH3_EAGER_MAX_MSG_SIZE"),
    ("openmpi", 4_096, "Open MPI shared-memory btl_sm_eager_limit"),
    ("openmpi-tcp", 65_536, "Open MPI btl_tcp_eager_limit"),
    ("zero", 0, "no buffering: every send is synchronous (exposes unsafe programs)"),
    ("infinite", u64::MAX, "unlimited buffering: every standard send completes locally"),
    (IDEAL, DEFAULT_EAGER_LIMIT, "ideal network: zero latency and overheads, infinite bandwidth (POP's reference)"),
];

/// The largest platform file mpisim reads: a platform is a few hundred bytes, so anything
/// near this is not one (and `/dev/zero` is refused at its first byte).
pub const MAX_PLATFORM_FILE: u64 = 1 << 20;

/// The preset of the ideal network ([`Platform::ideal_network`] of the default platform).
pub const IDEAL: &str = "ideal";

/// Why a platform could not be had.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PlatformError {
    /// Neither a preset nor an existing file.
    Unknown {
        /// What the user gave.
        name: String,
    },
    /// The file could not be read.
    Io {
        /// The file.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// The RON text is malformed or has a field of the wrong type.
    Syntax {
        /// The file (or `<string>`).
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// The values parse but cannot describe a machine.
    Invalid {
        /// The file (or `<string>`).
        origin: String,
        /// What is wrong and what to put instead.
        message: String,
    },
}

impl fmt::Display for PlatformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlatformError::Unknown { name } => {
                let names: Vec<&str> = PRESETS.iter().map(|p| p.0).collect();
                write!(
                    f,
                    "unknown platform `{name}`: it is neither a preset nor a file; presets are {}",
                    names.join(", ")
                )
            }
            PlatformError::Io { path, reason } => {
                write!(f, "cannot read platform file {path}: {reason}")
            }
            PlatformError::Syntax { origin, line, column, message } => {
                write!(f, "{origin}:{line}:{column}: malformed platform file: {message}")
            }
            PlatformError::Invalid { origin, message } => {
                write!(f, "{origin}: invalid platform: {message}")
            }
        }
    }
}

impl std::error::Error for PlatformError {}

impl Platform {
    /// A built-in preset by name, or `None`.
    pub fn preset(name: &str) -> Option<Platform> {
        let &(name, eager_limit, _) = PRESETS.iter().find(|p| p.0 == name)?;
        let preset = Platform { name: name.to_string(), eager_limit, ..Platform::default() };
        Some(if name == IDEAL { Platform { name: name.to_string(), ..preset.ideal_network() } } else { preset })
    }

    /// This machine with an ideal network: zero latency, overheads, gap and handshake,
    /// infinite bandwidth. Compute speed, nodes, the poll cost and the eager limit stay, so
    /// a program takes the same protocol paths and only the network's time goes: the
    /// reference of POP's transfer efficiency.
    pub fn ideal_network(&self) -> Platform {
        let link =
            Link { latency_ns: 0, bandwidth: INFINITE_BANDWIDTH, send_overhead_ns: 0, recv_overhead_ns: 0, gap_ns: 0 };
        Platform {
            name: format!("{} (ideal network)", self.name),
            intra: link.clone(),
            inter: link,
            handshake_ns: 0,
            ..self.clone()
        }
    }

    /// A preset name, or else a path to a RON platform file.
    pub fn resolve(name_or_path: &str) -> Result<Platform, PlatformError> {
        if let Some(p) = Platform::preset(name_or_path) {
            return Ok(p);
        }
        let path = Path::new(name_or_path);
        if path.exists() {
            return Platform::load(path);
        }
        Err(PlatformError::Unknown { name: name_or_path.to_string() })
    }

    /// Reads a RON platform file of at most [`MAX_PLATFORM_FILE`] bytes. Missing fields
    /// take the default platform's values.
    pub fn load(path: &Path) -> Result<Platform, PlatformError> {
        let text = crate::input::read_capped(path, MAX_PLATFORM_FILE)
            .map_err(|e| PlatformError::Io { path: path.display().to_string(), reason: e.to_string() })?;
        Platform::from_ron(&text, &path.display().to_string())
    }

    /// Parses RON text; `origin` names it in errors.
    pub fn from_ron(text: &str, origin: &str) -> Result<Platform, PlatformError> {
        let platform: Platform = ron::from_str(text).map_err(|e| PlatformError::Syntax {
            origin: origin.to_string(),
            line: e.position.line,
            column: e.position.col,
            // The parser may quote the file, which may hold anything.
            message: crate::escape::escape_control(&e.code.to_string()).into_owned(),
        })?;
        platform.validate().map_err(|message| PlatformError::Invalid { origin: origin.to_string(), message })?;
        Ok(platform)
    }

    /// The platform as RON text, in the form [`Platform::from_ron`] reads.
    pub fn to_ron(&self) -> String {
        let config = ron::ser::PrettyConfig::new().struct_names(true);
        ron::ser::to_string_pretty(self, config).expect("a platform always serialises")
    }

    /// Whether the values can describe a machine: what a RON file and a loaded trace's
    /// platform must satisfy.
    pub(crate) fn validate(&self) -> Result<(), String> {
        for (which, link) in [("intra", &self.intra), ("inter", &self.inter)] {
            if link.bandwidth == 0 {
                return Err(format!("{which}.bandwidth is 0; give bytes per second, e.g. 1_000_000_000"));
            }
        }
        if self.ranks_per_node == 0 {
            return Err("ranks_per_node is 0; give at least 1".into());
        }
        if self.poll_ns == 0 {
            return Err("poll_ns is 0; a poll must cost time or a polling loop never sees its message".into());
        }
        if !(self.compute_speed.is_finite() && self.compute_speed > 0.0) {
            return Err(format!("compute_speed is {}; give a positive number (1.0 = as written)", self.compute_speed));
        }
        if !(self.flops.is_finite() && self.flops > 0.0) {
            return Err(format!("flops is {}; give a positive number of operations per second", self.flops));
        }
        Ok(())
    }

    /// The eager limit as people read it: `64 KiB`, `none`, `unlimited`.
    pub fn eager_limit_text(&self) -> String {
        crate::words::eager_limit(self.eager_limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_resolve() {
        for &(name, limit, _) in PRESETS {
            assert_eq!(Platform::resolve(name).unwrap().eager_limit, limit);
        }
        assert!(matches!(Platform::resolve("nosuch"), Err(PlatformError::Unknown { .. })));
    }

    #[test]
    fn the_ideal_network_costs_nothing_and_keeps_the_protocol() {
        let ideal = Platform::preset(IDEAL).unwrap();
        assert_eq!(ideal.name, "ideal");
        assert_eq!(ideal.eager_limit, DEFAULT_EAGER_LIMIT);
        for bytes in [0, 1, 1 << 20, u64::MAX] {
            assert_eq!(ideal.inter.transfer_time(bytes), crate::time::Time::ZERO);
            assert_eq!(ideal.intra.transfer_time(bytes), crate::time::Time::ZERO);
        }
        let lab = Platform { eager_limit: 4096, ranks_per_node: 2, compute_speed: 2.0, ..Platform::default() };
        let of_lab = lab.ideal_network();
        assert_eq!((of_lab.eager_limit, of_lab.ranks_per_node, of_lab.compute_speed), (4096, 2, 2.0));
        assert_eq!(of_lab.name, "default (ideal network)");
        assert_eq!(Platform::from_ron(&of_lab.to_ron(), "x").unwrap(), of_lab);
    }

    #[test]
    fn ron_round_trip() {
        let p = Platform { ranks_per_node: 4, ..Platform::preset("mpich").unwrap() };
        assert_eq!(Platform::from_ron(&p.to_ron(), "x").unwrap(), p);
    }

    #[test]
    fn partial_file_takes_defaults() {
        let p = Platform::from_ron("(name: \"lab\", eager_limit: 1024)", "lab.ron").unwrap();
        assert_eq!(p.eager_limit, 1024);
        assert_eq!(p.inter, Link::default());
    }

    #[test]
    fn malformed_file_names_line_and_column() {
        let err = Platform::from_ron("(\n  name: \"lab\",\n  eager_limit: \"big\",\n)", "lab.ron").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("lab.ron:3:"), "{text}");
        let err = Platform::from_ron("(latency: 5)", "lab.ron").unwrap_err();
        assert!(err.to_string().contains("latency"), "{err}");
    }

    #[test]
    fn invalid_values_are_explained() {
        let err = Platform::from_ron("(intra: (bandwidth: 0))", "p.ron").unwrap_err();
        assert!(err.to_string().contains("intra.bandwidth is 0"), "{err}");
    }
}
