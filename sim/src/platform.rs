//! The machine a run is simulated on: latency, bandwidth, LogGP overheads, the eager limit,
//! nodes, and compute speed; built-in presets and RON platform files. What these cost a
//! run is the cost model's arithmetic (`cost.rs`).

use crate::time::Time;
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

/// A built-in platform: its name, what it stands for, and where each of its figures
/// comes from (shown by `mpisim platforms` and in `mpisim platform NAME`'s template).
#[derive(Clone, Copy, Debug)]
pub struct Preset {
    /// The name `--platform` takes.
    pub name: &'static str,
    /// What it stands for, in a line.
    pub summary: &'static str,
    /// The source of each figure, one a line.
    pub sources: &'static [&'static str],
    make: fn() -> Platform,
}

impl Preset {
    /// The platform.
    pub fn platform(&self) -> Platform {
        Platform { name: self.name.to_string(), ..(self.make)() }
    }
}

/// A platform whose every message takes `link`, with this eager limit.
fn one_link(link: Link, eager_limit: u64) -> Platform {
    Platform { eager_limit, intra: link.clone(), inter: link, ..Platform::default() }
}

/// A link of latency `latency_ns` and `bandwidth` bytes per second, no overheads.
const fn link(latency_ns: u64, bandwidth: u64) -> Link {
    Link { latency_ns, bandwidth, send_overhead_ns: 0, recv_overhead_ns: 0, gap_ns: 0 }
}

/// The built-in platforms. `default` keeps round figures for teaching; `smpi`, `mpich`,
/// `openmpi` and `openmpi-tcp` are what those libraries show on a typical node or network,
/// from published figures (each preset's `sources`); the rest are limits of buffering and
/// of the network.
///
/// Why they differ as they do: the eager limit is each library's own default, and it
/// decides which programs hang; latency and bandwidth are those of the transport the limit
/// belongs to (shared memory within a node for Open MPI's 4 KiB, TCP between nodes for
/// MPICH's 128 KiB and Open MPI's TCP 64 KiB). One link per preset: every pair of ranks
/// talks through it. Per-message CPU overheads (LogGP o) are 0 in each: the published
/// one-way times include both ends' CPU time, so it is in α.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "default",
        summary: "round figures for teaching: 1 µs, 1 GB/s, eager up to 64 KiB",
        sources: &[
            "latency 1 µs and bandwidth 1 GB/s: round numbers, so that times can be worked out by hand \
             (the lessons and the closed forms of Thakur, Rabenseifner & Gropp use them)",
            "eager limit 64 KiB: SimGrid SMPI's detached threshold (smpi/send-is-detached-thresh 65536), as \
             LogGOPSim's S = 65535",
        ],
        make: Platform::default,
    },
    Preset {
        name: "smpi",
        summary: "SimGrid SMPI's default model on its classic cluster (50 µs, 125 MB/s links through a switch)",
        sources: &[
            "the machine: SimGrid's classic cluster, <cluster bw=\"125MBps\" lat=\"50us\"/>, a star of hosts with \
             one rank each (the machine of platforms/smpi-cluster.ron, which turns SMPI's factors off as the SMPI \
             benchmark runs it): a message crosses two 50 µs links of 125 MB/s, its \
             host's and the receiver's",
            "latency 201.603 µs: 2 × 50 µs times smpi/lat-factor's default for messages below 257 bytes, 2.01467 \
             (SimGrid's sg_config.cpp and its configuration docs), and 136 ns for the 16 bytes of envelope SMPI \
             sends with every message (payload + 16 in smpi::Request::start), at this bandwidth",
            "bandwidth 117.587 MB/s: 125 MB/s times smpi/bw-factor's default from 65472 bytes on, 0.940694",
            "how close one line comes: SMPI's factors are piecewise by size, so its times match these within 5% \
             up to 8 KiB, 11% at 1 MiB and 3% at 4 MiB, but are 51-127% longer from 16 KiB to 128 KiB (factors \
             3.5-11.6 on the latency there)",
            "eager limit 65535 bytes: smpi/send-is-detached-thresh 65536, and a send is detached (buffered) when \
             it is smaller",
            "overheads 0: smpi/os and smpi/or default to 0",
        ],
        make: || one_link(link(201_603, 117_586_750), 65_535),
    },
    Preset {
        name: "mpich",
        summary: "MPICH (ch3:nemesis:tcp) between two nodes on Gigabit Ethernet",
        sources: &[
            "latency 24.6 µs and bandwidth 116 MB/s: osu_latency at 8 bytes and osu_bw at 32 KiB of MPICH over \
             TCP on Gigabit Ethernet, in a published comparison of Open MPI, MPICH and MPICH with UCX \
             (gist.github.com/jfgrimm/3af692a5475bdd4ed836b5a18197a209, 2021)",
            "eager limit 128 KiB: MPIR_CVAR_CH3_EAGER_MAX_MSG_SIZE's default 131072, the threshold of ch3's \
             network modules (shared memory within a node has its own, MPIR_CVAR_NEMESIS_SHM_EAGER_MAX_SZ, a \
             cell of about 64 KiB)",
        ],
        make: || one_link(link(24_600, 116_000_000), 131_072),
    },
    Preset {
        name: "openmpi",
        summary: "Open MPI between two ranks of one node, through shared memory (the sm/vader BTL)",
        sources: &[
            "latency 350 ns: osu_latency of 0 bytes with Open MPI 3.0.0, --mca btl self,vader, the ranks on the \
             two sockets of one node (open-mpi/ompi issue 7784)",
            "bandwidth 8 GB/s: osu_bibw between the sockets of a 2-socket node through shared memory, about \
             16 GB/s both ways (Open MPI 4.1.2 with UCX's sm transport, openucx/ucx issue 8210); mpisim \
             calibrate on a 2-core VM measured 8.4 GB/s",
            "eager limit 4 KiB: btl_sm_eager_limit's default 4096 (btl_vader_eager_limit before Open MPI 5)",
        ],
        make: || one_link(link(350, 8_000_000_000), 4_096),
    },
    Preset {
        name: "openmpi-tcp",
        summary: "Open MPI's TCP BTL between two nodes on Gigabit Ethernet",
        sources: &[
            "latency 15 µs and bandwidth 118 MB/s: Open MPI 1.3.1 on Gigabit Ethernet between Sun x2200 nodes, \
             IMB PingPong over TCP with the NICs' interrupt coalescence off, 6 µs slower than Open-MX's 9 µs; the \
             most bandwidth measured there, 118.2 MB/s (NW-GRID, nw-grid.ac.uk/LivMPI); with the NICs' default \
             coalescence the latency was 35 µs",
            "eager limit 64 KiB: btl_tcp_eager_limit's default 65536",
        ],
        make: || one_link(link(15_000, 118_000_000), 65_536),
    },
    Preset {
        name: "zero",
        summary: "no buffering: every send is synchronous (exposes unsafe programs); otherwise default",
        sources: &["eager limit 0: the MPI standard's zero-buffering reading, as --strict and MUST's checks use it"],
        make: || Platform { eager_limit: 0, ..Platform::default() },
    },
    Preset {
        name: "infinite",
        summary: "unlimited buffering: every standard send completes locally; otherwise default",
        sources: &["eager limit unlimited: no standard send waits for its receiver"],
        make: || Platform { eager_limit: u64::MAX, ..Platform::default() },
    },
    Preset {
        name: IDEAL,
        summary: "ideal network: zero latency and overheads, infinite bandwidth (POP's reference)",
        sources: &["the default platform's ideal network (Platform::ideal_network): eager limit 64 KiB"],
        make: || Platform::default().ideal_network(),
    },
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
                let names: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
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
        PRESETS.iter().find(|p| p.name == name).map(Preset::platform)
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

    /// The platform as a RON file to edit: every field with its unit and meaning in a
    /// comment, and for a preset what it stands for and where each figure comes from.
    /// [`Platform::from_ron`] reads it back as this platform.
    pub fn to_template(&self) -> String {
        let mut out = String::new();
        let preset = PRESETS.iter().find(|p| p.name == self.name && p.platform() == *self);
        match preset {
            Some(p) => {
                out += &format!("// Platform `{}`: {}.\n// Where its figures come from:\n", p.name, p.summary);
                for source in p.sources {
                    out += &comment_wrapped(&format!("- {source}"), "//   ");
                }
            }
            None => out += &format!("// Platform `{}`.\n", self.name),
        }
        out += "// Edit what you need and load it with --platform FILE; a field left out takes the default\n\
                // platform's value (1 µs, 1 GB/s, eager up to 64 KiB).\n";
        let field = |out: &mut String, indent: &str, text: String, note: String| {
            let line = format!("{indent}{text},");
            *out += &format!("{line:<40} // {note}\n");
        };
        let link = |out: &mut String, which: &str, what: &str, l: &Link| {
            *out += &format!("    {which}: (  // {what}\n");
            let i = "        ";
            field(
                out,
                i,
                format!("latency_ns: {}", l.latency_ns),
                format!("ns: latency α of a message ({})", Time(l.latency_ns)),
            );
            field(
                out,
                i,
                format!("bandwidth: {}", l.bandwidth),
                format!("bytes per second ({}); β = 1/bandwidth", crate::words::bandwidth(l.bandwidth)),
            );
            field(
                out,
                i,
                format!("send_overhead_ns: {}", l.send_overhead_ns),
                "ns of the sender's CPU a send takes (LogGP o)".into(),
            );
            field(
                out,
                i,
                format!("recv_overhead_ns: {}", l.recv_overhead_ns),
                "ns of the receiver's CPU a receive takes".into(),
            );
            field(out, i, format!("gap_ns: {}", l.gap_ns), "ns at least between two sends of a rank (LogGP g)".into());
            *out += "    ),\n";
        };
        out += "Platform(\n";
        let i = "    ";
        field(&mut out, i, format!("name: {:?}", self.name), "shown in reports and traces".into());
        field(
            &mut out,
            i,
            format!("eager_limit: {}", self.eager_limit),
            format!(
                "bytes: the largest message sent eagerly ({}); 0 makes every send synchronous",
                self.eager_limit_text()
            ),
        );
        field(
            &mut out,
            i,
            format!("ranks_per_node: {}", self.ranks_per_node),
            "ranks k·r .. (k+1)·r share node k: their messages take `intra`".into(),
        );
        link(&mut out, "intra", "between two ranks of one node", &self.intra);
        link(&mut out, "inter", "between ranks of different nodes", &self.inter);
        field(
            &mut out,
            i,
            format!("handshake_ns: {}", self.handshake_ns),
            "ns a rendezvous handshake adds above the eager limit".into(),
        );
        field(
            &mut out,
            i,
            format!("poll_ns: {}", self.poll_ns),
            "ns a test or iprobe that finds nothing costs (above 0)".into(),
        );
        field(
            &mut out,
            i,
            format!("compute_speed: {:?}", self.compute_speed),
            "a rank's speed: 2.0 halves every compute duration".into(),
        );
        field(
            &mut out,
            i,
            format!("flops: {:?}", self.flops),
            "floating-point operations per second (compute_flops)".into(),
        );
        out += ")\n";
        out
    }

    /// The eager limit as people read it: `64 KiB`, `none`, `unlimited`.
    pub fn eager_limit_text(&self) -> String {
        crate::words::eager_limit(self.eager_limit)
    }
}

/// `text` as comment lines of at most about 100 characters, each starting with `prefix`
/// (the first with `//` and the text's own start).
fn comment_wrapped(text: &str, prefix: &str) -> String {
    let mut out = String::new();
    let mut line = String::from("// ");
    for word in text.split(' ') {
        if line.len() + word.len() > 100 && line.len() > prefix.len() {
            out += line.trim_end();
            out.push('\n');
            line = prefix.to_string();
        }
        line += word;
        line.push(' ');
    }
    out += line.trim_end();
    out.push('\n');
    out
}

/// The presets as `mpisim platforms` lists them: name, latency, bandwidth, eager limit and
/// what each stands for (`mpisim platform NAME` gives the sources of the figures).
pub fn presets_text() -> String {
    let mut out = String::new();
    for p in PRESETS {
        let platform = p.platform();
        let link = &platform.inter;
        out += &format!(
            "{:<12} α {:<12} {:<12} eager {:<12} {}\n",
            p.name,
            Time(link.latency_ns).to_string(),
            crate::words::bandwidth(link.bandwidth),
            platform.eager_limit_text(),
            p.summary
        );
    }
    out += "(mpisim platform NAME: the preset as a file to edit, with the source of each figure)\n";
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_resolve() {
        for preset in PRESETS {
            assert_eq!(Platform::resolve(preset.name).unwrap(), preset.platform());
            assert_eq!(preset.platform().name, preset.name);
            assert!(preset.platform().validate().is_ok(), "{}", preset.name);
            assert!(!preset.sources.is_empty(), "{} says where its figures come from", preset.name);
        }
        assert!(matches!(Platform::resolve("nosuch"), Err(PlatformError::Unknown { .. })));
    }

    #[test]
    fn presets_differ_as_the_libraries_do() {
        let p = |name| Platform::preset(name).unwrap();
        // The default keeps the figures the tests and lessons work out by hand.
        assert_eq!((p("default").inter.latency_ns, p("default").inter.bandwidth), (1_000, 1_000_000_000));
        assert_eq!(p("default").eager_limit, 64 * 1024);
        // An 8 KiB message: fastest through shared memory, slowest through SMPI's cluster.
        let time = |name| p(name).inter.transfer_time(8 * 1024).as_nanos();
        let mut order = ["smpi", "mpich", "openmpi", "openmpi-tcp"];
        order.sort_by_key(|&n| time(n));
        assert_eq!(order, ["openmpi", "openmpi-tcp", "mpich", "smpi"]);
        let limits: Vec<u64> = order.iter().map(|&n| p(n).eager_limit).collect();
        assert_eq!(limits, [4096, 65_536, 131_072, 65_535]);
    }

    #[test]
    fn templates_parse_back_and_say_their_units() {
        for preset in PRESETS {
            let platform = preset.platform();
            let template = platform.to_template();
            assert_eq!(Platform::from_ron(&template, preset.name).unwrap(), platform, "{template}");
            for words in ["latency_ns: ", "// ns", "bytes per second", "// bytes", &preset.sources[0][..30]] {
                assert!(template.contains(words), "{}: no `{words}` in\n{template}", preset.name);
            }
        }
        let lab = Platform { name: "lab".into(), ..Platform::default() };
        assert!(!lab.to_template().contains("round figures"), "a platform that is no preset has no sources");
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
