//! The names of MPI calls, as traces and reports show them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Every MPI call mpisim knows, as it appears in traces and reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
#[non_exhaustive]
#[repr(u8)]
pub enum CallKind {
    Send,
    Ssend,
    Bsend,
    Rsend,
    Recv,
    Sendrecv,
    Probe,
    Iprobe,
    Isend,
    Issend,
    Ibsend,
    Irsend,
    Irecv,
    SendInit,
    RecvInit,
    Start,
    Startall,
    Wait,
    Waitall,
    Waitany,
    Waitsome,
    Test,
    Testall,
    Testany,
    Testsome,
    Cancel,
    RequestFree,
    Compute,
    Wtime,
    Print,
    Abort,
    CommSplit,
    CommDup,
    CommRank,
    CommSize,
    Barrier,
    Bcast,
    Scatter,
    Scatterv,
    Gather,
    Gatherv,
    Allgather,
    Allgatherv,
    Alltoall,
    Alltoallv,
    Reduce,
    Allreduce,
    Scan,
    Exscan,
    ReduceScatter,
    ReduceScatterBlock,
    Ibarrier,
    Ibcast,
    Iscatter,
    Igather,
    Iallgather,
    Ialltoall,
    Ireduce,
    Iallreduce,
    Iscan,
    Iexscan,
}

impl CallKind {
    /// Whether this is a collective operation: every member of the communicator takes
    /// part (communicator splits and dups too). A collective's phase spans the
    /// point-to-point calls of its algorithm in the trace.
    pub fn is_collective(self) -> bool {
        use CallKind::*;
        matches!(
            self,
            Barrier
                | Bcast
                | Scatter
                | Scatterv
                | Gather
                | Gatherv
                | Allgather
                | Allgatherv
                | Alltoall
                | Alltoallv
                | Reduce
                | Allreduce
                | Scan
                | Exscan
                | ReduceScatter
                | ReduceScatterBlock
                | CommSplit
                | CommDup
        ) || self.is_nonblocking_collective()
    }

    /// Whether this starts a nonblocking collective (`MPI_Ibcast` and its kin), which
    /// returns before the other members have called it, whatever the mode.
    pub fn is_nonblocking_collective(self) -> bool {
        use CallKind::*;
        matches!(
            self,
            Ibarrier | Ibcast | Iscatter | Igather | Iallgather | Ialltoall | Ireduce | Iallreduce | Iscan | Iexscan
        )
    }

    /// The MPI name, e.g. `MPI_Send`.
    pub fn mpi_name(self) -> &'static str {
        use CallKind::*;
        match self {
            Send => "MPI_Send",
            Ssend => "MPI_Ssend",
            Bsend => "MPI_Bsend",
            Rsend => "MPI_Rsend",
            Recv => "MPI_Recv",
            Sendrecv => "MPI_Sendrecv",
            Probe => "MPI_Probe",
            Iprobe => "MPI_Iprobe",
            Isend => "MPI_Isend",
            Issend => "MPI_Issend",
            Ibsend => "MPI_Ibsend",
            Irsend => "MPI_Irsend",
            Irecv => "MPI_Irecv",
            SendInit => "MPI_Send_init",
            RecvInit => "MPI_Recv_init",
            Start => "MPI_Start",
            Startall => "MPI_Startall",
            Wait => "MPI_Wait",
            Waitall => "MPI_Waitall",
            Waitany => "MPI_Waitany",
            Waitsome => "MPI_Waitsome",
            Test => "MPI_Test",
            Testall => "MPI_Testall",
            Testany => "MPI_Testany",
            Testsome => "MPI_Testsome",
            Cancel => "MPI_Cancel",
            RequestFree => "MPI_Request_free",
            Compute => "compute",
            Wtime => "MPI_Wtime",
            Print => "print",
            Abort => "MPI_Abort",
            CommSplit => "MPI_Comm_split",
            CommDup => "MPI_Comm_dup",
            CommRank => "MPI_Comm_rank",
            CommSize => "MPI_Comm_size",
            Barrier => "MPI_Barrier",
            Bcast => "MPI_Bcast",
            Scatter => "MPI_Scatter",
            Scatterv => "MPI_Scatterv",
            Gather => "MPI_Gather",
            Gatherv => "MPI_Gatherv",
            Allgather => "MPI_Allgather",
            Allgatherv => "MPI_Allgatherv",
            Alltoall => "MPI_Alltoall",
            Alltoallv => "MPI_Alltoallv",
            Reduce => "MPI_Reduce",
            Allreduce => "MPI_Allreduce",
            Scan => "MPI_Scan",
            Exscan => "MPI_Exscan",
            ReduceScatter => "MPI_Reduce_scatter",
            ReduceScatterBlock => "MPI_Reduce_scatter_block",
            Ibarrier => "MPI_Ibarrier",
            Ibcast => "MPI_Ibcast",
            Iscatter => "MPI_Iscatter",
            Igather => "MPI_Igather",
            Iallgather => "MPI_Iallgather",
            Ialltoall => "MPI_Ialltoall",
            Ireduce => "MPI_Ireduce",
            Iallreduce => "MPI_Iallreduce",
            Iscan => "MPI_Iscan",
            Iexscan => "MPI_Iexscan",
        }
    }
}

/// Lower-case name as in the trace: `send`, `waitall`, ...
impl fmt::Display for CallKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let json = serde_json::to_value(self).expect("call kinds serialise");
        f.write_str(json.as_str().unwrap_or("?"))
    }
}
