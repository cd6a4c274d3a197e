//! The error kinds a run can end in, each tied to the process exit code the
//! CLI contract promises (design.md): 2 bad input, 3 numerical failure.

use std::path::Path;

/// Everything a library call can fail with. The CLI maps each variant to
/// its exit code; the message is always one line that names the file, key
/// or quantity at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A spec, a data file or an argument is wrong (exit 2).
    #[error("{0}")]
    BadInput(String),
    /// A NaN or inf appeared in training (exit 3).
    #[error("{0}")]
    Numerical(String),
    /// A shard finished its share of the jobs (not a failure: `overfit merge` completes the run).
    #[error("{0}")]
    ShardDone(String),
    /// Writing results failed (exit 2: the output location is bad input).
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The process exit code this error maps to (design.md contract).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::BadInput(_) | Error::Io { .. } => 2,
            Error::Numerical(_) => 3,
            Error::ShardDone(_) => 0,
        }
    }

    pub fn bad(msg: impl Into<String>) -> Self {
        Error::BadInput(msg.into())
    }

    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
