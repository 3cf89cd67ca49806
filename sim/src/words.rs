//! How counts, ranks, sizes and communicators read in sentences, the same in every report:
//! the one place that decides "1 byte", "2 MiB", "ranks 0–999".

use crate::Rank;

/// `s` unless `n` is 1.
pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Lists longer than this are elided in sentences (reports in JSON keep them whole).
const LIST_PARTS: usize = 10;

/// Ranks as people read a list of them: `0, 1, 3`; runs of three or more as ranges
/// (`0–999, 1002`), an evenly spaced list as its first terms (`0, 2, 4, …, 998`), and a
/// long irregular list elided in the middle with its length (`…, 4093 (600 ranks)`).
pub(crate) fn list(ranks: &[Rank]) -> String {
    if let Some(text) = progression(ranks) {
        return text;
    }
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < ranks.len() {
        let mut j = i;
        while j + 1 < ranks.len() && ranks[j + 1] == ranks[j] + 1 {
            j += 1;
        }
        if j >= i + 2 {
            parts.push(format!("{}–{}", ranks[i], ranks[j]));
        } else {
            parts.extend(ranks[i..=j].iter().map(|r| r.to_string()));
        }
        i = j + 1;
    }
    if parts.len() > LIST_PARTS {
        let tail = parts.split_off(parts.len() - 2);
        parts.truncate(LIST_PARTS - 3);
        parts.push("…".into());
        parts.extend(tail);
        return format!("{} ({} ranks)", parts.join(", "), ranks.len());
    }
    parts.join(", ")
}

/// `0, 2, 4, …, 998` for five or more ranks a constant step (above 1) apart.
fn progression(ranks: &[Rank]) -> Option<String> {
    let [first, second, ..] = ranks[..] else { return None };
    let step = second.checked_sub(first).filter(|&s| s > 1)?;
    let even = ranks.windows(2).all(|w| w[1].checked_sub(w[0]) == Some(step));
    (ranks.len() >= 5 && even).then(|| {
        let last = ranks[ranks.len() - 1];
        format!("{first}, {second}, {}, …, {last}", second + step)
    })
}

/// `rank 3` or `ranks 0–2, 5`.
pub(crate) fn ranks(ranks: &[Rank]) -> String {
    format!("rank{} {}", plural(ranks.len()), list(ranks))
}

/// The name of a communicator known only by its id: `COMM_WORLD`, or `communicator N`.
/// Reports name the others by how they were made (the engine's table of communicators).
pub(crate) fn comm_name(comm: u32) -> String {
    if comm == 0 {
        "COMM_WORLD".into()
    } else {
        format!("communicator {comm}")
    }
}

/// An eager limit as people read it: `64 KiB`, `65535 bytes`, `none`, `unlimited`.
pub(crate) fn eager_limit(bytes: u64) -> String {
    match bytes {
        0 => "none".into(),
        u64::MAX => "unlimited".into(),
        n => self::bytes(n),
    }
}

/// Why messages below the eager limit complete on their own, for a sentence about a run
/// that relies on it: `messages below the eager limit (64 KiB) are buffered`.
pub(crate) fn buffered_below(limit: u64) -> String {
    match limit {
        u64::MAX => "every standard send is buffered, whatever its size (the eager limit is unlimited)".into(),
        n => format!("messages below the eager limit ({}) are buffered", self::bytes(n)),
    }
}

/// Why a send above the eager limit waits for its receiver, for a sentence:
/// `messages above the eager limit (64 KiB) are not buffered`.
pub(crate) fn unbuffered_above(limit: u64) -> String {
    match limit {
        0 => "no message is buffered (the eager limit is 0)".into(),
        n => format!("messages above the eager limit ({}) are not buffered", self::bytes(n)),
    }
}

/// A byte count as people read it: `1 byte`, `21 bytes`, `64 KiB`, `2 MiB` (binary units,
/// when the count is a whole number of them), else the exact count: `65535 bytes`.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [(u32, &str); 4] = [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")];
    match UNITS.iter().find(|(shift, _)| n >= 1 << shift && n % (1 << shift) == 0) {
        Some((shift, unit)) => format!("{} {unit}", n >> shift),
        None => format!("{n} byte{}", plural(n as usize)),
    }
}

/// A byte count as an estimate reads, to three figures or so: `512 bytes`, `1.5 MiB`,
/// `64.0 GiB` (an estimate's exact count, `67061424 KiB`, says more than is known).
pub(crate) fn approx_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    match unit {
        0 => bytes(n),
        _ if value.fract() == 0.0 => format!("{value} {}", UNITS[unit]),
        _ => format!("{value:.1} {}", UNITS[unit]),
    }
}

/// A bandwidth in bytes per second as networks are quoted (SI): `1 GB/s`, `117.587 MB/s`,
/// `infinite`.
pub(crate) fn bandwidth(bytes_per_second: u64) -> String {
    const UNITS: [(f64, &str); 4] = [(1e12, "TB/s"), (1e9, "GB/s"), (1e6, "MB/s"), (1e3, "kB/s")];
    if bytes_per_second == crate::platform::INFINITE_BANDWIDTH {
        return "infinite".into();
    }
    let b = bytes_per_second as f64;
    match UNITS.iter().find(|(scale, _)| b >= *scale) {
        Some((scale, unit)) => {
            let text = format!("{:.3}", b / scale);
            format!("{} {unit}", text.trim_end_matches('0').trim_end_matches('.'))
        }
        None => format!("{bytes_per_second} B/s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_read_as_people_write_them() {
        let cases: &[(u64, &str)] = &[
            (0, "0 bytes"),
            (1, "1 byte"),
            (21, "21 bytes"),
            (1023, "1023 bytes"),
            (1024, "1 KiB"),
            (65_536, "64 KiB"),
            (65_535, "65535 bytes"),
            (2 << 20, "2 MiB"),
            (2048 << 10, "2 MiB"),
            (1_000_000, "1000000 bytes"),
            (3 << 30, "3 GiB"),
            (1 << 40, "1 TiB"),
        ];
        for &(n, text) in cases {
            assert_eq!(bytes(n), text, "{n}");
        }
        for n in [0, 1, 1023, 1 << 20, 3 << 30] {
            let flag = bytes(n).replace(' ', "");
            assert_eq!(crate::catalogue::parse_bytes(flag.trim_end_matches("bytes").trim_end_matches("byte")), Some(n));
        }
    }

    #[test]
    fn estimates_read_to_a_tenth_of_their_unit() {
        let cases: &[(u64, &str)] = &[
            (1, "1 byte"),
            (1023, "1023 bytes"),
            (1536, "1.5 KiB"),
            (2 << 20, "2 MiB"),
            (67_061_424 << 10, "64.0 GiB"),
            (519_856 << 10, "507.7 MiB"),
        ];
        for &(n, text) in cases {
            assert_eq!(approx_bytes(n), text, "{n}");
        }
    }

    #[test]
    fn bandwidths_in_si_units() {
        assert_eq!(bandwidth(1_000_000_000), "1 GB/s");
        assert_eq!(bandwidth(117_586_750), "117.587 MB/s");
        assert_eq!(bandwidth(8_400_000_000), "8.4 GB/s");
        assert_eq!(bandwidth(500), "500 B/s");
        assert_eq!(bandwidth(u64::MAX), "infinite");
    }

    #[test]
    fn eager_limits_in_sentences() {
        assert_eq!(eager_limit(65_536), "64 KiB");
        assert_eq!(eager_limit(2 << 20), "2 MiB");
        assert_eq!(eager_limit(0), "none");
        assert_eq!(eager_limit(u64::MAX), "unlimited");
        assert_eq!(buffered_below(4096), "messages below the eager limit (4 KiB) are buffered");
        assert!(!buffered_below(u64::MAX).contains("(unlimited)"), "{}", buffered_below(u64::MAX));
        assert!(!unbuffered_above(0).contains("(none)"), "{}", unbuffered_above(0));
    }

    #[test]
    fn rank_lists_are_compact() {
        let cases: &[(&[Rank], &str)] = &[
            (&[], ""),
            (&[3], "3"),
            (&[1, 3], "1, 3"),
            (&[0, 1], "0, 1"),
            (&[0, 1, 2], "0–2"),
            (&[0, 1, 2, 3, 7, 9, 10, 11], "0–3, 7, 9–11"),
            (&[1, 3, 5, 7, 9], "1, 3, 5, …, 9"),
            (&[1, 3, 5, 7], "1, 3, 5, 7"),
            (&[2, 1, 0], "2, 1, 0"),
        ];
        for &(ranks, text) in cases {
            assert_eq!(list(ranks), text, "{ranks:?}");
        }
        let all: Vec<Rank> = (0..1000).collect();
        assert_eq!(list(&all), "0–999");
        let squares: Vec<Rank> = (0..40).map(|i| i * i).collect();
        assert_eq!(list(&squares), "0, 1, 4, 9, 16, 25, 36, …, 1444, 1521 (40 ranks)");
        assert_eq!(ranks(&[4]), "rank 4");
        assert_eq!(ranks(&[0, 1, 2]), "ranks 0–2");
    }
}
