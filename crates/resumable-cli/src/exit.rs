//! Exit codes, and the errors that end a command as a whole.

use std::process::ExitCode;

/// How a command ended, as its exit code says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// 0: everything done.
    Done,
    /// 1: failed.
    Failed,
    /// 2: the command line was wrong (clap uses 2 as well).
    Usage,
    /// 3: some files failed, others were done.
    SomeFailed,
    /// 75 (`EX_TEMPFAIL`): nothing failed, but another process is uploading
    /// a file, so it was left alone; the same command works once it ends.
    Busy,
    /// 130: interrupted (Ctrl-C); checkpoints are kept.
    Interrupted,
}

impl Exit {
    /// The process exit code.
    pub(crate) fn code(self) -> u8 {
        match self {
            Self::Done => 0,
            Self::Failed => 1,
            Self::Usage => 2,
            Self::SomeFailed => 3,
            Self::Busy => 75,
            Self::Interrupted => 130,
        }
    }

    /// The exit of a batch of files: interrupted wins, then all failed, then
    /// some failed, then some busy (being uploaded by another process).
    /// Busy comes last because running again fixes it, and cannot fix a
    /// failure.
    pub(crate) fn of_batch(done: usize, failed: usize, busy: usize, interrupted: usize) -> Self {
        if interrupted > 0 {
            Self::Interrupted
        } else if failed > 0 && done == 0 {
            Self::Failed
        } else if failed > 0 {
            Self::SomeFailed
        } else if busy > 0 {
            Self::Busy
        } else {
            Self::Done
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

/// An error that ends a command before or outside its per-file results.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The command line cannot work (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The command failed (exit 1).
    #[error("{0}")]
    Failed(String),
    /// Another process is uploading the file; it was left alone (exit 75).
    #[error("{0}")]
    Busy(String),
}

impl CliError {
    /// The exit code of this error.
    pub(crate) fn exit(&self) -> Exit {
        match self {
            Self::Usage(_) => Exit::Usage,
            Self::Failed(_) => Exit::Failed,
            Self::Busy(_) => Exit::Busy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_exits_by_its_worst_result() {
        assert_eq!(Exit::of_batch(3, 0, 0, 0), Exit::Done);
        assert_eq!(Exit::of_batch(0, 0, 0, 0), Exit::Done);
        assert_eq!(Exit::of_batch(0, 2, 0, 0), Exit::Failed);
        assert_eq!(Exit::of_batch(2, 1, 0, 0), Exit::SomeFailed);
        assert_eq!(Exit::of_batch(2, 1, 1, 1), Exit::Interrupted);
        assert_eq!(Exit::of_batch(0, 0, 1, 0), Exit::Busy);
        assert_eq!(Exit::of_batch(2, 0, 1, 0), Exit::Busy);
        assert_eq!(Exit::of_batch(0, 1, 1, 0), Exit::Failed);
        assert_eq!(Exit::of_batch(1, 1, 1, 0), Exit::SomeFailed);
        assert_eq!(Exit::of_batch(0, 0, 1, 1), Exit::Interrupted);
        assert_eq!(Exit::Interrupted.code(), 130);
        assert_eq!(Exit::Busy.code(), 75);
    }
}
