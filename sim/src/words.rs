//! How counts, ranks and communicators read in sentences, the same in every report.

use crate::Rank;

/// `s` unless `n` is 1.
pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Ranks as a comma-separated list: `0, 1, 3`.
pub(crate) fn list(ranks: &[Rank]) -> String {
    ranks.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(", ")
}

/// `COMM_WORLD`, or `communicator N`.
pub(crate) fn comm_name(comm: u32) -> String {
    if comm == 0 {
        "COMM_WORLD".into()
    } else {
        format!("communicator {comm}")
    }
}

/// An eager limit as people read it: `64 KiB`, `none`, `unlimited`.
pub(crate) fn eager_limit(bytes: u64) -> String {
    match bytes {
        0 => "none".into(),
        u64::MAX => "unlimited".into(),
        n if n % 1024 == 0 => format!("{} KiB", n / 1024),
        n => format!("{n} B"),
    }
}

/// A byte count as people read it: `512 B`, `256 KiB`, `1.5 MiB`, `2 GiB` (binary units).
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else if value.fract() == 0.0 {
        format!("{value} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
