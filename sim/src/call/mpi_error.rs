//! MPI's error classes, and the misuse of MPI that fails a rank.

use serde::{Deserialize, Serialize};
use std::fmt;

/// MPI error classes (MPI 4.1, section 9.4), for misuse that fails a rank.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
#[non_exhaustive]
pub enum ErrorClass {
    #[serde(rename = "MPI_ERR_RANK")]
    Rank,
    #[serde(rename = "MPI_ERR_TAG")]
    Tag,
    #[serde(rename = "MPI_ERR_ROOT")]
    Root,
    #[serde(rename = "MPI_ERR_COMM")]
    Comm,
    #[serde(rename = "MPI_ERR_COUNT")]
    Count,
    #[serde(rename = "MPI_ERR_TRUNCATE")]
    Truncate,
    #[serde(rename = "MPI_ERR_TYPE")]
    Type,
    #[serde(rename = "MPI_ERR_REQUEST")]
    Request,
    #[serde(rename = "MPI_ERR_ARG")]
    Arg,
    #[serde(rename = "MPI_ERR_OP")]
    Op,
    #[serde(rename = "MPI_ERR_OTHER")]
    Other,
}

impl ErrorClass {
    /// The class's MPI name, e.g. `MPI_ERR_RANK`.
    pub fn mpi_name(self) -> &'static str {
        match self {
            ErrorClass::Rank => "MPI_ERR_RANK",
            ErrorClass::Tag => "MPI_ERR_TAG",
            ErrorClass::Root => "MPI_ERR_ROOT",
            ErrorClass::Comm => "MPI_ERR_COMM",
            ErrorClass::Count => "MPI_ERR_COUNT",
            ErrorClass::Truncate => "MPI_ERR_TRUNCATE",
            ErrorClass::Type => "MPI_ERR_TYPE",
            ErrorClass::Request => "MPI_ERR_REQUEST",
            ErrorClass::Arg => "MPI_ERR_ARG",
            ErrorClass::Op => "MPI_ERR_OP",
            ErrorClass::Other => "MPI_ERR_OTHER",
        }
    }
}

/// A misuse of MPI found by the engine: its class and a sentence for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MpiError {
    /// The MPI error class.
    pub class: ErrorClass,
    /// What happened and what to do.
    pub message: String,
}

impl MpiError {
    pub(crate) fn new(class: ErrorClass, message: impl Into<String>) -> MpiError {
        MpiError { class, message: message.into() }
    }
}

impl std::error::Error for MpiError {}

impl fmt::Display for MpiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.class.mpi_name(), self.message)
    }
}
