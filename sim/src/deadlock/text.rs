//! Reports at scale: entries that read alike but for their rank are one entry. A ring of
//! 1,000 blocked sends is `ranks r = 0–999  MPI_Send to rank (r+1) mod 1000, …`, not 3,000
//! lines; the JSON report keeps every entry.

use crate::words::list;
use crate::Rank;
use std::collections::BTreeMap;

/// One entry of a report: its rank, the rank it is about (its peer), and its lines.
pub(crate) struct Entry {
    pub rank: Rank,
    pub peer: Option<Rank>,
    pub lines: Vec<String>,
}

/// Entries that read alike are grouped when there are at least this many of them, so
/// that small runs keep one entry a rank.
const GROUP_MIN: usize = 5;

/// Marks a peer's offset from `r` in a line until its group knows how to write it.
const OFFSET: char = '\u{1}';

/// An entry or a group of them, as printed.
pub(crate) struct Group {
    /// The ranks of its entries, in order (a rank twice for two alike entries of it).
    pub ranks: Vec<Rank>,
    /// Whether its lines write each rank as `r` (and peers as offsets from it).
    pub relative: bool,
    pub lines: Vec<String>,
}

impl Group {
    /// Who it is about: `rank   3`, `ranks 0–2`, `ranks r = 0–999`.
    pub fn who(&self) -> String {
        match (&self.ranks[..], self.relative) {
            ([one], _) => format!("rank {one:>3}"),
            (many, false) => format!("ranks {}", list(many)),
            (many, true) => format!("ranks r = {}", list(many)),
        }
    }
}

/// `entries` in groups: first those whose lines are the same, then those whose lines are
/// the same once each rank is `r` and its peer an offset from `r` (modulo `size`, the
/// number of ranks); in the order of their first rank.
pub(crate) fn group(entries: &[Entry], size: usize) -> Vec<Group> {
    let mut taken = vec![false; entries.len()];
    let mut out: Vec<(Rank, Group)> = Vec::new();
    let same = |key: &dyn Fn(&Entry) -> Option<Vec<String>>, taken: &[bool]| {
        let mut by_key: BTreeMap<Vec<String>, Vec<usize>> = BTreeMap::new();
        for (i, e) in entries.iter().enumerate().filter(|(i, _)| !taken[*i]) {
            if let Some(k) = key(e) {
                by_key.entry(k).or_default().push(i);
            }
        }
        by_key.into_iter().filter(|(_, members)| members.len() >= GROUP_MIN).collect::<Vec<_>>()
    };
    for (lines, members) in same(&|e| Some(e.lines.clone()), &taken) {
        let ranks: Vec<Rank> = members.iter().map(|&i| entries[i].rank).collect();
        members.iter().for_each(|&i| taken[i] = true);
        out.push((ranks[0], Group { ranks, relative: false, lines }));
    }
    for (lines, members) in same(&|e| relative(e, size), &taken) {
        let ranks: Vec<Rank> = members.iter().map(|&i| entries[i].rank).collect();
        members.iter().for_each(|&i| taken[i] = true);
        let wraps = members.iter().any(|&i| entries[i].peer.is_some_and(|p| wraps(entries[i].rank, p, size)));
        let lines = lines.iter().map(|l| offsets_written(l, size, wraps)).collect();
        out.push((ranks[0], Group { ranks, relative: true, lines }));
    }
    for (e, _) in entries.iter().zip(&taken).filter(|(_, t)| !**t) {
        out.push((e.rank, Group { ranks: vec![e.rank], relative: false, lines: e.lines.clone() }));
    }
    out.sort_by_key(|(first, _)| *first);
    out.into_iter().map(|(_, g)| g).collect()
}

/// The peer's offset from the rank as people count it: `+1` for the next rank, `-1` for
/// the previous one, the way round the ring that is shorter.
fn offset(rank: Rank, peer: Rank, size: usize) -> i64 {
    let forward = ((peer + size - rank % size) % size) as i64;
    if forward * 2 <= size as i64 {
        forward
    } else {
        forward - size as i64
    }
}

/// Whether `rank` + its peer's offset leaves `0..size`: the group needs `mod size`.
fn wraps(rank: Rank, peer: Rank, size: usize) -> bool {
    let at = rank as i64 + offset(rank, peer, size);
    at < 0 || at >= size as i64
}

/// The entry's lines with its rank written `r` and its peer as an offset from `r`; `None`
/// if it has no peer (then only entries that read exactly alike group).
fn relative(e: &Entry, size: usize) -> Option<Vec<String>> {
    let peer = e.peer.filter(|&p| p < size && e.rank < size)?;
    let mark = format!("{OFFSET}{}{OFFSET}", offset(e.rank, peer, size));
    Some(e.lines.iter().map(|l| replace_rank(&replace_rank(l, peer, &mark), e.rank, "r")).collect())
}

/// `line` with every `rank N` (N = `rank`, a whole number) written `rank {with}`.
fn replace_rank(line: &str, rank: Rank, with: &str) -> String {
    let needle = format!("rank {rank}");
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find(&needle) {
        let after = &rest[at + needle.len()..];
        out.push_str(&rest[..at]);
        if after.starts_with(|c: char| c.is_ascii_digit()) {
            out.push_str(&needle);
        } else {
            out.push_str("rank ");
            out.push_str(with);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// A grouped line with its offset marks written out: `r+1`, `r-2`, or with `wraps`,
/// `(r+1) mod 1000`.
fn offsets_written(line: &str, size: usize, wraps: bool) -> String {
    let mut parts = line.split(OFFSET);
    let mut out = parts.next().unwrap_or_default().to_string();
    while let (Some(k), Some(rest)) = (parts.next(), parts.next()) {
        let k: i64 = k.parse().unwrap_or(0);
        let term = match k {
            0 => "r".to_string(),
            k if k > 0 => format!("r+{k}"),
            k => format!("r{k}"),
        };
        match (wraps, k) {
            (true, k) if k != 0 => out += &format!("({term}) mod {size}"),
            _ => out += &term,
        }
        out += rest;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(rank: Rank, peer: Option<Rank>, line: String) -> Entry {
        Entry { rank, peer, lines: vec![line, "at ring.rs:44:18".into()] }
    }

    fn shown(groups: &[Group]) -> Vec<String> {
        groups.iter().map(|g| format!("{}: {}", g.who(), g.lines.join(" / "))).collect()
    }

    #[test]
    fn a_ring_is_one_group_with_its_wrap() {
        let n = 1000;
        let ring: Vec<Entry> =
            (0..n).map(|r| entry(r, Some((r + 1) % n), format!("MPI_Send to rank {}, tag 0", (r + 1) % n))).collect();
        assert_eq!(
            shown(&group(&ring, n)),
            ["ranks r = 0–999: MPI_Send to rank (r+1) mod 1000, tag 0 / at ring.rs:44:18"]
        );
        let open: Vec<Entry> = (1..n).map(|r| entry(r, Some(r - 1), format!("MPI_Recv from rank {}", r - 1))).collect();
        assert_eq!(shown(&group(&open, n)), ["ranks r = 1–999: MPI_Recv from rank r-1 / at ring.rs:44:18"]);
    }

    #[test]
    fn alike_entries_group_and_few_stay_apart() {
        let n = 8;
        let on_root: Vec<Entry> = (1..n).map(|r| entry(r, Some(0), "MPI_Recv from rank 0".to_string())).collect();
        assert_eq!(shown(&group(&on_root, n)), ["ranks 1–7: MPI_Recv from rank 0 / at ring.rs:44:18"]);
        let few: Vec<Entry> = (0..4).map(|r| entry(r, Some((r + 1) % 4), format!("to rank {}", (r + 1) % 4))).collect();
        assert_eq!(
            shown(&group(&few, 4)),
            [
                "rank   0: to rank 1 / at ring.rs:44:18",
                "rank   1: to rank 2 / at ring.rs:44:18",
                "rank   2: to rank 3 / at ring.rs:44:18",
                "rank   3: to rank 0 / at ring.rs:44:18"
            ]
        );
    }

    #[test]
    fn parity_groups_and_odd_ones_out_keep_rank_order() {
        let n = 12;
        let mut entries: Vec<Entry> = (0..n)
            .map(|r| {
                let peer = if r % 2 == 0 { r + 1 } else { r - 1 };
                let what = if r % 2 == 0 { "MPI_Send to" } else { "MPI_Recv from" };
                entry(r, Some(peer), format!("{what} rank {peer}"))
            })
            .collect();
        entries[11] = entry(11, Some(10), "MPI_Probe from rank 10".into());
        assert_eq!(
            shown(&group(&entries, n)),
            [
                "ranks r = 0, 2, 4, …, 10: MPI_Send to rank r+1 / at ring.rs:44:18",
                "ranks r = 1, 3, 5, …, 9: MPI_Recv from rank r-1 / at ring.rs:44:18",
                "rank  11: MPI_Probe from rank 10 / at ring.rs:44:18"
            ]
        );
    }

    #[test]
    fn only_whole_rank_numbers_are_replaced() {
        assert_eq!(replace_rank("rank 1 and rank 12, rank 1's", 1, "r"), "rank r and rank 12, rank r's");
        assert_eq!(offsets_written(&format!("to rank {OFFSET}-3{OFFSET}."), 10, true), "to rank (r-3) mod 10.");
    }
}
