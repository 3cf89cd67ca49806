//! What must agree between the ranks that begin a collective at the same position on a
//! communicator, and the error when it does not. Both backends compare signatures with
//! this one rule and say it in these words: the simulator against the first member to
//! arrive, the real backend against the communicator's rank 0.

use super::{CallKind, ErrorClass, MpiError};
use crate::trace::Site;
use crate::Rank;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// A collective as the matching rule sees it (see [`Op::CollBegin`](super::Op)). `None`
/// fields are not compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CollSignature {
    pub kind: CallKind,
    /// In the communicator's numbering.
    pub root: Option<Rank>,
    /// The reduction's name, e.g. `MPI_SUM`.
    pub op: Option<Cow<'static, str>>,
    /// What MPI requires to be equal on every rank, e.g. a reduction's element count.
    pub count: Option<u64>,
}

impl CollSignature {
    /// The error class and the words for what differs, if anything.
    pub fn mismatch(&self, other: &CollSignature) -> Option<(ErrorClass, &'static str)> {
        fn differ<T: PartialEq>(a: &Option<T>, b: &Option<T>) -> bool {
            a.is_some() && b.is_some() && a != b
        }
        if self.kind != other.kind {
            Some((ErrorClass::Other, "the calls"))
        } else if self.root != other.root {
            Some((ErrorClass::Root, "the roots"))
        } else if differ(&self.op, &other.op) {
            Some((ErrorClass::Op, "the reduction ops"))
        } else if differ(&self.count, &other.count) {
            Some((ErrorClass::Count, "the counts"))
        } else {
            None
        }
    }

    /// The MPI error of `rank`, whose collective at `position` (0-based) on the
    /// communicator named `comm` is this one, where rank `first` began `theirs` at
    /// `their_site`; `None` if they agree. Ranks are world ranks.
    pub fn check(
        &self,
        comm: &str,
        position: u64,
        rank: Rank,
        first: Rank,
        theirs: &CollSignature,
        their_site: &Site,
    ) -> Option<MpiError> {
        let (class, what) = theirs.mismatch(self)?;
        let message = format!(
            "collective mismatch on {comm}: the {} collective of rank {rank} there is {}, but rank {first}'s was {} (at \
             {their_site}): {what} differ. Every rank of a communicator must call the same collectives in the same \
             order, with the same root, op and count",
            ordinal(position + 1),
            self.describe(),
            theirs.describe(),
        );
        Some(MpiError::new(class, message))
    }

    /// `MPI_Bcast (root 0)`, `MPI_Reduce (root 1, op MPI_SUM, count 4)`.
    pub fn describe(&self) -> String {
        let mut out = self.kind.mpi_name().to_string();
        let mut parts = Vec::new();
        if let Some(root) = self.root {
            parts.push(format!("root {root}"));
        }
        if let Some(op) = &self.op {
            parts.push(format!("op {op}"));
        }
        if let Some(count) = self.count {
            parts.push(format!("count {count}"));
        }
        if !parts.is_empty() {
            out += &format!(" ({})", parts.join(", "));
        }
        out
    }
}

/// `1st`, `2nd`, `3rd`, `4th`, … `11th`, `21st`.
fn ordinal(n: u64) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(kind: CallKind, root: Option<Rank>, op: Option<&'static str>, count: Option<u64>) -> CollSignature {
        CollSignature { kind, root, op: op.map(Cow::Borrowed), count }
    }

    #[track_caller]
    fn check(a: CollSignature, b: CollSignature, expect: Option<(ErrorClass, &str)>) {
        assert_eq!(a.mismatch(&b), expect);
        assert_eq!(b.mismatch(&a), expect, "the rule is symmetric");
    }

    #[test]
    fn signatures_differ_by_the_first_field_that_differs() {
        use CallKind::*;
        check(sig(Bcast, Some(0), None, None), sig(Bcast, Some(0), None, None), None);
        check(
            sig(Bcast, Some(0), None, None),
            sig(Reduce, Some(0), None, None),
            Some((ErrorClass::Other, "the calls")),
        );
        check(sig(Bcast, Some(0), None, None), sig(Bcast, Some(1), None, None), Some((ErrorClass::Root, "the roots")));
        let sum = sig(Allreduce, None, Some("MPI_SUM"), Some(4));
        check(sum.clone(), sig(Allreduce, None, Some("MPI_MAX"), Some(4)), Some((ErrorClass::Op, "the reduction ops")));
        check(sum.clone(), sig(Allreduce, None, Some("MPI_SUM"), Some(5)), Some((ErrorClass::Count, "the counts")));
        // What one side does not say is not compared.
        check(sum, sig(Allreduce, None, None, None), None);
    }

    #[test]
    fn the_error_names_both_ranks_both_calls_and_the_first_site() {
        let site = Site { file: "ring.rs".into(), line: 7, column: 5 };
        let mine = sig(CallKind::Bcast, Some(1), None, None);
        let theirs = sig(CallKind::Bcast, Some(0), None, None);
        let e = mine.check("COMM_WORLD", 2, 3, 0, &theirs, &site).expect("the roots differ");
        assert_eq!(e.class, ErrorClass::Root);
        assert_eq!(
            e.message,
            "collective mismatch on COMM_WORLD: the 3rd collective of rank 3 there is MPI_Bcast (root 1), but rank \
             0's was MPI_Bcast (root 0) (at ring.rs:7:5): the roots differ. Every rank of a communicator must call \
             the same collectives in the same order, with the same root, op and count"
        );
        assert!(theirs.check("COMM_WORLD", 0, 3, 0, &theirs, &site).is_none());
        assert_eq!(
            ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "102nd"],
            [1, 2, 3, 4, 11, 12, 13, 21, 102].map(ordinal)
        );
    }
}
