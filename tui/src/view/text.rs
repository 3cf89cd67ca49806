//! Words and numbers as the UI prints them.

use mpisim::timeline::Timeline;
use mpisim::{BlockedCall, CallKind, Peer, Rank, Tag, Time};

/// A time with its unit and no trailing zeros: `0`, `850 ns`, `1.5 µs`, `12 ms`.
pub fn short_time(t: Time) -> String {
    let ns = t.as_nanos();
    let scaled = |unit: u64, name: &str| {
        let whole = ns / unit;
        let frac = format!("{:03}", (ns % unit) * 1000 / unit);
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            format!("{whole} {name}")
        } else {
            format!("{whole}.{frac} {name}")
        }
    };
    match ns {
        0 => "0".into(),
        1..=999 => format!("{ns} ns"),
        1_000..=999_999 => scaled(1_000, "µs"),
        1_000_000..=999_999_999 => scaled(1_000_000, "ms"),
        _ => scaled(1_000_000_000, "s"),
    }
}

/// A byte count: `8 B`, `64 KiB`, `1.5 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    let text = format!("{value:.1}");
    format!("{} {}", text.trim_end_matches(".0"), UNITS[unit])
}

/// `r7`, padded to the width of the largest rank.
pub fn rank_label(rank: Rank, width: usize) -> String {
    format!("r{rank:<width$}")
}

/// A call in a few words: `MPI_Send → 1 tag 0 1 MiB`, `MPI_Recv ← 0 tag 0`, `MPI_Bcast root 0`.
pub fn call_text(tl: &Timeline, c: usize) -> String {
    let call = &tl.calls[c];
    call_words(call.call, call.peer.map(peer_text), call.tag, call.bytes)
}

/// A blocked call of a deadlock report in the same words as [`call_text`] (its peer a
/// world rank, or `any`).
pub fn blocked_text(b: &BlockedCall) -> String {
    let peer = match (b.call.is_collective(), b.peer) {
        (true, _) => b.root.map(peer_text),
        (false, Some(Peer::Rank(p))) => Some(peer_text(p)),
        (false, _) => None,
    };
    call_words(b.call, peer, b.tag, b.bytes)
}

/// A call, the rank it names (a root for a collective), its tag and bytes.
fn call_words(kind: CallKind, peer: Option<String>, tag: Option<Tag>, bytes_sent: Option<u64>) -> String {
    let mut out = kind.mpi_name().to_string();
    let to = matches!(
        kind,
        CallKind::Send
            | CallKind::Ssend
            | CallKind::Bsend
            | CallKind::Rsend
            | CallKind::Isend
            | CallKind::Issend
            | CallKind::Ibsend
            | CallKind::Irsend
            | CallKind::SendInit
            | CallKind::Sendrecv
    );
    let receive =
        matches!(kind, CallKind::Recv | CallKind::Irecv | CallKind::Probe | CallKind::Iprobe | CallKind::RecvInit);
    match peer {
        Some(p) if kind.is_collective() => out += &format!(" root {p}"),
        Some(p) if to => out += &format!(" → {p}"),
        Some(p) => out += &format!(" ← {p}"),
        None if receive => out += " ← any",
        None => {}
    }
    if let Some(tag) = tag {
        out += &format!(" tag {tag}");
    }
    if let Some(b) = bytes_sent {
        out += &format!(" {}", bytes(b));
    }
    out
}

fn peer_text(p: Rank) -> String {
    if p == mpisim::PROC_NULL {
        "PROC_NULL".into()
    } else {
        p.to_string()
    }
}

/// `text` in lines of at most `width` columns, the first after `first`, the others after
/// `rest`: a file:line breaks after a `/` where it can, else where the line is full. What
/// never fits (a width smaller than the prefix) still gets one character per line.
pub fn wrap_path(text: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut left: Vec<char> = text.chars().collect();
    let mut prefix = first;
    loop {
        let room = width.saturating_sub(prefix.chars().count()).max(1);
        if left.len() <= room {
            lines.push(format!("{prefix}{}", left.iter().collect::<String>()));
            return lines;
        }
        let cut = left[..room].iter().rposition(|&c| c == '/').map_or(room, |slash| slash + 1);
        let rest_chars = left.split_off(cut);
        lines.push(format!("{prefix}{}", left.iter().collect::<String>()));
        left = rest_chars;
        prefix = rest;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_sizes_read_short() {
        assert_eq!(short_time(Time(0)), "0");
        assert_eq!(short_time(Time(850)), "850 ns");
        assert_eq!(short_time(Time(1_500)), "1.5 µs");
        assert_eq!(short_time(Time(2_000_000)), "2 ms");
        assert_eq!(short_time(Time(1_250_000_000)), "1.25 s");
        assert_eq!(bytes(8), "8 B");
        assert_eq!(bytes(65_536), "64 KiB");
        assert_eq!(bytes(1_572_864), "1.5 MiB");
    }

    #[test]
    fn paths_wrap_after_a_slash() {
        let site = "sim/src/catalogue/collectives_tour.rs:31:14";
        assert_eq!(wrap_path(site, 80, "  at ", "     "), vec![format!("  at {site}")]);
        assert_eq!(
            wrap_path(site, 38, "  at ", "     "),
            vec!["  at sim/src/catalogue/".to_string(), "     collectives_tour.rs:31:14".to_string()]
        );
        // No slash to break at: the line is cut where it is full, and nothing is lost.
        assert_eq!(wrap_path("abcdefghij", 6, "> ", "  "), vec!["> abcd", "  efgh", "  ij"]);
        assert_eq!(wrap_path("abc", 1, "", ""), vec!["a", "b", "c"]);
    }
}
