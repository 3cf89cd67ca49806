//! What a run needs of the machine before it starts: memory, address space and the
//! kernel's memory maps, estimated from the number of ranks and what the program's
//! parameters make it hold, and checked against what the machine has, so that a run that
//! cannot fit is refused with the figures instead of being killed half-way.
//!
//! The estimate is deliberately simple and errs high: each rank costs the stack pages it
//! touches and its engine state ([`RANK_RESIDENT`]); the program declares its data (a
//! [`Footprint`]); the trace costs [`TRACE_BYTES_PER_MESSAGE`] per message when it is
//! recorded. A run is refused only when that estimate is above what is available.

use crate::words::approx_bytes;
use std::fmt;
use std::sync::Arc;

/// Memory maps each rank's stack costs: the stack and its guard page.
pub const MAPS_PER_RANK: usize = 2;

/// Resident memory per rank beyond its program's data: the stack pages a rank touches
/// (one to three 4 KiB pages for the catalogue's programs) and its engine state (about
/// 1.4 KiB). Measured at 4.7 KiB a rank for `hello` and 8.5 KiB for the 8-byte `ring`
/// with its trace at 20,000 ranks; the estimate rounds up.
pub const RANK_RESIDENT: u64 = 16 * 1024;

/// The trace's events for one message (its send, post, match, delivery and the calls
/// around them), measured at about 810 bytes for a ping-pong.
pub const TRACE_BYTES_PER_MESSAGE: u64 = 1024;

/// An event of the trace at most, for the cap the trace's limit of events puts on it
/// (`World::trace_limit`).
pub const TRACE_BYTES_PER_EVENT: u64 = 128;

/// Allocations this large or larger are maps of their own (glibc's default
/// `M_MMAP_THRESHOLD`), so each costs one of the kernel's memory maps while it lives.
pub const LARGE_BUFFER: u64 = 128 * 1024;

/// Memory maps kept free for the rest of the process (libraries, the heap, the trace).
const MAP_MARGIN: usize = 512;

/// Worlds whose estimate is below this are not checked: no machine that runs mpisim lacks
/// it, and reading `/proc` for every small run of a test suite or an exploration is waste.
const UNCHECKED_BYTES: u64 = 256 << 20;

/// What a program's data takes at its peak, over all ranks, beyond each rank's stack and
/// engine state: its buffers, messages in flight and their copies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Footprint {
    /// Bytes held at once.
    pub bytes: u64,
    /// How many of the allocations held at once are [`LARGE_BUFFER`] or larger.
    pub large_buffers: u64,
    /// Messages sent in all: each is recorded in the trace.
    pub messages: u64,
}

impl Footprint {
    /// Nothing beyond the ranks themselves.
    pub const NONE: Footprint = Footprint { bytes: 0, large_buffers: 0, messages: 0 };

    /// `count` buffers of `size` bytes each, held at once.
    pub fn buffers(count: u64, size: u64) -> Footprint {
        Footprint {
            bytes: count.saturating_mul(size),
            large_buffers: if size >= LARGE_BUFFER { count } else { 0 },
            messages: 0,
        }
    }

    /// `n` messages sent over the run.
    pub fn messages(n: u64) -> Footprint {
        Footprint { messages: n, ..Footprint::NONE }
    }
}

impl std::ops::Add for Footprint {
    type Output = Footprint;
    fn add(self, other: Footprint) -> Footprint {
        Footprint {
            bytes: self.bytes.saturating_add(other.bytes),
            large_buffers: self.large_buffers.saturating_add(other.large_buffers),
            messages: self.messages.saturating_add(other.messages),
        }
    }
}

/// What a program holds at any number of ranks, and what the user can lower to shrink
/// it: given to [`World::demand`](crate::World::demand).
#[derive(Clone)]
pub struct Demand {
    footprint: Arc<dyn Fn(usize) -> Footprint + Send + Sync>,
    knobs: Vec<String>,
    min_ranks: usize,
}

impl Demand {
    /// `footprint` gives the program's data at a number of ranks; `knobs` name what makes
    /// it smaller (`--bytes`), for the advice of a refusal.
    pub fn new(footprint: impl Fn(usize) -> Footprint + Send + Sync + 'static, knobs: Vec<String>) -> Demand {
        Demand { footprint: Arc::new(footprint), knobs, min_ranks: 1 }
    }

    /// The fewest ranks the program runs on: a refusal never advises fewer.
    pub fn min_ranks(self, min_ranks: usize) -> Demand {
        Demand { min_ranks, ..self }
    }

    /// The program's data at `ranks` ranks.
    pub fn at(&self, ranks: usize) -> Footprint {
        (self.footprint)(ranks)
    }
}

impl Default for Demand {
    fn default() -> Demand {
        Demand::new(|_| Footprint::NONE, Vec::new())
    }
}

impl fmt::Debug for Demand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Demand").field("knobs", &self.knobs).finish_non_exhaustive()
    }
}

/// A world to be checked: its ranks, their stacks and what its program holds.
#[derive(Clone, Debug)]
pub(crate) struct Plan<'a> {
    /// Ranks of the world.
    pub ranks: usize,
    /// Bytes of each rank's stack.
    pub stack_size: usize,
    /// Stacks already mapped by earlier runs of this thread, which the world reuses.
    pub pooled_stacks: usize,
    /// The trace's limit of events, if it is recorded.
    pub trace: Option<usize>,
    /// The program's data.
    pub demand: &'a Demand,
}

/// What a world of `ranks` ranks needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Needs {
    /// Resident memory: the ranks' own, the program's data, the trace.
    resident: u64,
    /// Of which the program's data and the trace.
    data: u64,
    /// Address space: the stacks as mapped (whole) and the rest.
    address_space: u64,
    /// New memory maps: stacks not in the pool, and large buffers.
    maps: usize,
}

impl Plan<'_> {
    fn needs(&self, ranks: usize) -> Needs {
        let data = self.demand.at(ranks);
        let trace = self.trace.map_or(0, |limit| {
            let cap = (limit as u64).saturating_mul(TRACE_BYTES_PER_EVENT);
            data.messages.saturating_mul(TRACE_BYTES_PER_MESSAGE).min(cap)
        });
        let data_bytes = data.bytes.saturating_add(trace);
        let resident = (ranks as u64).saturating_mul(RANK_RESIDENT).saturating_add(data_bytes);
        let new_stacks = ranks.saturating_sub(self.pooled_stacks) as u64;
        let stack_maps = (self.stack_size as u64).saturating_add(PAGE);
        let address_space = new_stacks.saturating_mul(stack_maps).saturating_add(data_bytes);
        let maps = (new_stacks as usize)
            .saturating_mul(MAPS_PER_RANK)
            .saturating_add(usize::try_from(data.large_buffers).unwrap_or(usize::MAX));
        Needs { resident, data: data_bytes, address_space, maps }
    }
}

const PAGE: u64 = 4096;

/// What the machine offers this process now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Machine {
    /// Memory that can be had without swapping, and where the figure comes from.
    pub memory: Option<(u64, MemorySource)>,
    /// Address space left under `RLIMIT_AS`, if one is set: the limit, and what is used.
    pub address_space: Option<(u64, u64)>,
    /// The kernel's memory-map limit (`vm.max_map_count`) and the maps this process has.
    pub maps: Option<(usize, usize)>,
}

/// Where the figure of available memory comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MemorySource {
    /// `MemAvailable` of `/proc/meminfo`.
    MemAvailable,
    /// The cgroup's `memory.max` less its `memory.current`.
    Cgroup,
}

impl fmt::Display for MemorySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MemorySource::MemAvailable => "MemAvailable in /proc/meminfo",
            MemorySource::Cgroup => "the memory.max of this process's cgroup",
        })
    }
}

impl Machine {
    /// Reads the figures from `/proc`, `/sys/fs/cgroup` and `getrlimit`; a figure that
    /// cannot be read is left out (and not checked).
    pub fn read() -> Machine {
        let mem_available = read_small("/proc/meminfo").and_then(|text| kib_field(&text, "MemAvailable:"));
        let cgroup = cgroup_room();
        let memory = match (mem_available, cgroup) {
            (Some(m), Some(c)) if c < m => Some((c, MemorySource::Cgroup)),
            (Some(m), _) => Some((m, MemorySource::MemAvailable)),
            (None, Some(c)) => Some((c, MemorySource::Cgroup)),
            (None, None) => None,
        };
        let address_space = address_space_limit().map(|limit| {
            let used = read_small("/proc/self/status").and_then(|text| kib_field(&text, "VmSize:")).unwrap_or(0);
            (limit, used)
        });
        let maps = read_small("/proc/sys/vm/max_map_count").and_then(|s| s.trim().parse::<usize>().ok()).map(|limit| {
            let used = read_small("/proc/self/maps").map_or(0, |s| s.lines().count());
            (limit, used)
        });
        Machine { memory, address_space, maps }
    }
}

/// Reads a small kernel file (they report a size of 0, so no cap is read from it).
fn read_small(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// A `Name:   1234 kB` line of a `/proc` file, in bytes.
fn kib_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    let kib: u64 = line[name.len()..].trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib.saturating_mul(1024))
}

/// Room left under this process's cgroup (v2) memory limit, if it has one.
fn cgroup_room() -> Option<u64> {
    let cgroup = read_small("/proc/self/cgroup")?;
    let path = cgroup.lines().find_map(|l| l.strip_prefix("0::"))?.trim();
    let dir = std::path::Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
    let max: u64 = std::fs::read_to_string(dir.join("memory.max")).ok()?.trim().parse().ok()?;
    let current: u64 = std::fs::read_to_string(dir.join("memory.current")).ok()?.trim().parse().ok()?;
    Some(max.saturating_sub(current))
}

/// The soft `RLIMIT_AS` (`ulimit -v`), if one is set.
fn address_space_limit() -> Option<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: plain call writing into the struct it is given.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) } == 0;
    (ok && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
}

/// Why a world does not fit on this machine: each shortfall with its figures, and what
/// to change.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MemoryError {
    /// Ranks of the world.
    pub ranks: usize,
    /// Each resource that is short.
    pub short: Vec<Shortfall>,
    /// The most ranks that would fit with the program's parameters as they are (0: not
    /// even as many as the program needs).
    pub fits_ranks: usize,
    /// What else makes the run smaller: the program's parameters (`--bytes`).
    pub knobs: Vec<String>,
}

/// One resource a world needs more of than the machine has.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "resource", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Shortfall {
    /// Resident memory.
    Memory {
        /// Bytes the world needs.
        needs: u64,
        /// Of which the program's data and its trace.
        data: u64,
        /// Bytes available.
        available: u64,
        /// Where that figure comes from.
        source: MemorySource,
    },
    /// Address space under `RLIMIT_AS`.
    AddressSpace {
        /// Bytes of address space the world maps: every stack whole, and the data.
        needs: u64,
        /// The limit.
        limit: u64,
        /// Bytes the process has mapped already.
        used: u64,
    },
    /// The kernel's memory maps.
    Maps {
        /// New maps the world needs.
        needs: usize,
        /// `vm.max_map_count`.
        limit: usize,
        /// Maps the process has already.
        used: usize,
    },
}

impl Shortfall {
    /// Whether `needs` fits on `machine` as far as this resource goes.
    fn check(needs: &Needs, machine: &Machine) -> Vec<Shortfall> {
        let mut short = Vec::new();
        if let Some((available, source)) = machine.memory {
            if needs.resident > available {
                short.push(Shortfall::Memory { needs: needs.resident, data: needs.data, available, source });
            }
        }
        if let Some((limit, used)) = machine.address_space {
            if needs.address_space > limit.saturating_sub(used) {
                short.push(Shortfall::AddressSpace { needs: needs.address_space, limit, used });
            }
        }
        if let Some((limit, used)) = machine.maps {
            if needs.maps.saturating_add(used).saturating_add(MAP_MARGIN) > limit {
                short.push(Shortfall::Maps { needs: needs.maps, limit, used });
            }
        }
        short
    }
}

/// Checks `plan` against the machine as it is now.
pub(crate) fn check(plan: &Plan) -> Result<(), MemoryError> {
    let needs = plan.needs(plan.ranks);
    let small_maps = needs.maps.saturating_add(MAP_MARGIN) < 4096;
    if needs.resident < UNCHECKED_BYTES && needs.address_space < UNCHECKED_BYTES && small_maps {
        return Ok(());
    }
    check_on(plan, &Machine::read())
}

/// Checks `plan` against `machine`.
pub(crate) fn check_on(plan: &Plan, machine: &Machine) -> Result<(), MemoryError> {
    let short = Shortfall::check(&plan.needs(plan.ranks), machine);
    if short.is_empty() {
        return Ok(());
    }
    // The most ranks that fit: needs grow with ranks, so a binary search between none
    // (which fits) and the world's ranks (which do not) finds it.
    let fits = |ranks: usize| Shortfall::check(&plan.needs(ranks), machine).is_empty();
    let (mut lo, mut hi) = (0, plan.ranks);
    while lo + 1 < hi {
        let mid = lo + (hi - lo) / 2;
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let fits_ranks = if lo >= plan.demand.min_ranks { lo } else { 0 };
    Err(MemoryError { ranks: plan.ranks, short, fits_ranks, knobs: plan.demand.knobs.clone() })
}

impl fmt::Display for MemoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ranks = self.ranks;
        let rank_word = crate::words::plural(ranks);
        write!(f, "the run does not fit on this machine, so it was not started:")?;
        let mut raise_maps = None;
        for s in &self.short {
            match s {
                Shortfall::Memory { needs, data, available, source } => write!(
                    f,
                    "\n  {ranks} rank{rank_word} need about {} of memory ({} for the ranks' stacks and engine state, {} \
                     for the program's data and trace), and {} is available ({source})",
                    approx_bytes(*needs),
                    approx_bytes(needs - data),
                    approx_bytes(*data),
                    approx_bytes(*available)
                )?,
                Shortfall::AddressSpace { needs, limit, used } => write!(
                    f,
                    "\n  {ranks} rank{rank_word} map about {} of address space (every stack whole, and the data), and \
                     the limit (ulimit -v) leaves {} of its {}",
                    approx_bytes(*needs),
                    approx_bytes(limit.saturating_sub(*used)),
                    approx_bytes(*limit)
                )?,
                Shortfall::Maps { needs, limit, used } => {
                    write!(
                        f,
                        "\n  {ranks} rank{rank_word} need {needs} memory maps ({MAPS_PER_RANK} per rank's stack, one \
                         per buffer of {} or more), and the kernel allows {limit} (vm.max_map_count), of which this \
                         process uses {used}",
                        approx_bytes(LARGE_BUFFER)
                    )?;
                    let wanted = needs + used + MAP_MARGIN;
                    raise_maps = Some((wanted + wanted / 4).next_multiple_of(1024));
                }
            }
        }
        let mut ways = Vec::new();
        if !self.knobs.is_empty() {
            ways.push(format!("lower {}", self.knobs.join(" or ")));
        }
        match self.fits_ranks {
            0 => {}
            n => ways.push(format!("run at most {n} rank{}", crate::words::plural(n))),
        }
        let only_maps = self.short.iter().all(|s| matches!(s, Shortfall::Maps { .. }));
        let raise = raise_maps.map(|n| format!("raise the map limit as root: sysctl -w vm.max_map_count={n}"));
        if let (true, Some(raise)) = (only_maps, &raise) {
            ways.push(raise.clone());
        }
        if ways.is_empty() {
            ways.push("run it on a machine with more memory".into());
        }
        write!(f, "\nTo run it: {}.", ways.join("; or "))?;
        match raise {
            Some(raise) if !only_maps => write!(f, " With this many ranks, also {raise}."),
            _ => Ok(()),
        }
    }
}

impl std::error::Error for MemoryError {}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    fn plan(ranks: usize, demand: &Demand) -> Plan<'_> {
        Plan { ranks, stack_size: 256 * 1024, pooled_stacks: 0, trace: Some(crate::DEFAULT_TRACE_LIMIT), demand }
    }

    /// A machine with `memory` bytes available, no `ulimit -v`, the default map limit.
    fn machine(memory: u64) -> Machine {
        Machine { memory: Some((memory, MemorySource::MemAvailable)), address_space: None, maps: Some((65530, 40)) }
    }

    #[test]
    fn a_small_world_fits() {
        let demand = Demand::default();
        assert_eq!(check_on(&plan(4, &demand), &machine(GIB)), Ok(()));
    }

    #[test]
    fn data_beyond_memory_is_refused_with_what_fits() {
        // A ring of 1 MiB messages: two buffers a rank.
        let demand = Demand::new(|n| Footprint::buffers(2 * n as u64, 1 << 20), vec!["--bytes".into()]);
        let err = check_on(&plan(32491, &demand), &machine(20 * GIB)).unwrap_err();
        assert_eq!(err.short.len(), 2, "{err}");
        let text = err.to_string();
        assert!(text.contains("32491 ranks need about 64.0 GiB of memory (507.7 MiB for the ranks' stacks"), "{text}");
        assert!(text.contains("and 20 GiB is available (MemAvailable in /proc/meminfo)"), "{text}");
        assert!(text.contains("32491 ranks need 129964 memory maps"), "{text}");
        // Memory bounds it first: 20 GiB / (2 MiB + 16 KiB); the maps would allow (65530 - 40
        // - 512) / 4 = 16244.
        assert_eq!(err.fits_ranks, 10160);
        assert!(
            text.ends_with(
                "To run it: lower --bytes; or run at most 10160 ranks. With this many ranks, also raise the map \
                 limit as root: sysctl -w vm.max_map_count=163840."
            ),
            "{text}"
        );
    }

    #[test]
    fn the_map_limit_alone_agrees_with_the_stacks() {
        // Two maps a rank: (65530 - 40 - 512) / 2 ranks fit, one more does not.
        let demand = Demand::default();
        let big = Machine { memory: None, address_space: None, maps: Some((65530, 40)) };
        assert_eq!(check_on(&plan(32489, &demand), &big), Ok(()));
        let err = check_on(&plan(32490, &demand), &big).unwrap_err();
        assert_eq!(err.fits_ranks, 32489);
        assert!(err.to_string().contains("sysctl -w vm.max_map_count="), "{err}");
    }

    #[test]
    fn address_space_counts_whole_stacks() {
        let demand = Demand::default();
        let limited = Machine { memory: None, address_space: Some((GIB, 100 << 20)), maps: None };
        // 4000 stacks of 256 KiB and a guard page: about 1 GiB.
        let err = check_on(&plan(4000, &demand), &limited).unwrap_err();
        assert!(err.to_string().contains("the limit (ulimit -v) leaves 924 MiB of its 1 GiB"), "{err}");
        assert_eq!(err.fits_ranks, 3639); // 924 MiB / 260 KiB
    }

    #[test]
    fn the_trace_costs_no_more_than_its_limit_of_events() {
        // A billion messages: their trace would be a TiB, but it keeps at most its limit.
        let demand = Demand::new(|_| Footprint::messages(1 << 30), Vec::new());
        let capped = Plan { trace: Some(1000), ..plan(4, &demand) };
        assert_eq!(capped.needs(4).data, 1000 * TRACE_BYTES_PER_EVENT);
        assert_eq!(Plan { trace: None, ..plan(4, &demand) }.needs(4).data, 0);
        assert_eq!(check_on(&capped, &machine(GIB)), Ok(()));
    }

    #[test]
    fn nothing_fits_when_one_rank_is_too_big() {
        let demand = Demand::new(|_| Footprint::buffers(1, 40 * GIB), vec!["--bytes".into()]);
        let err = check_on(&plan(2, &demand), &machine(20 * GIB)).unwrap_err();
        assert_eq!(err.fits_ranks, 0);
        assert!(err.to_string().ends_with("To run it: lower --bytes."), "{err}");
    }
}
