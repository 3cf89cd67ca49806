//! What a receive tells of its message, and the constants of MPI's point-to-point calls.

use crate::{Rank, Tag};
use serde::{Deserialize, Serialize};

/// Receive from any source (`MPI_ANY_SOURCE`).
pub const ANY_SOURCE: Rank = Rank::MAX;
/// The null process (`MPI_PROC_NULL`): sends to it and receives from it complete at once.
pub const PROC_NULL: Rank = Rank::MAX - 1;
/// Receive any tag (`MPI_ANY_TAG`).
pub const ANY_TAG: Tag = -1;
/// The largest valid tag (`MPI_TAG_UB`).
pub const TAG_UB: Tag = i32::MAX;

/// What a completed receive (or a probe) tells about its message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The sender's rank ([`PROC_NULL`] for a receive from it).
    pub source: Rank,
    /// The message's tag ([`ANY_TAG`] for a receive from `PROC_NULL`).
    pub tag: Tag,
    /// The message size in bytes (a count of `MPI_BYTE`); 0 for sends.
    pub count: u64,
    /// Whether the request was cancelled.
    pub cancelled: bool,
}

impl Status {
    /// The status of a request that moved no message (sends, `PROC_NULL`, null requests).
    pub(crate) const EMPTY: Status = Status { source: PROC_NULL, tag: ANY_TAG, count: 0, cancelled: false };
}

/// The color of a rank that joins no communicator in [`Comm::split`] (`MPI_UNDEFINED`).
pub const UNDEFINED: u32 = u32::MAX;

/// The id of `COMM_WORLD` in the table of communicators (both backends).
pub(crate) const WORLD_COMM: u32 = 0;
