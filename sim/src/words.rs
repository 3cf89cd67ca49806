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
