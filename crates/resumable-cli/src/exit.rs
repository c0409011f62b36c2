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
            Self::Interrupted => 130,
        }
    }

    /// The exit of a batch of files: interrupted wins, then all failed, then
    /// some failed.
    pub(crate) fn of_batch(done: usize, failed: usize, interrupted: usize) -> Self {
        if interrupted > 0 {
            Self::Interrupted
        } else if failed == 0 {
            Self::Done
        } else if done == 0 {
            Self::Failed
        } else {
            Self::SomeFailed
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
}

impl CliError {
    /// The exit code of this error.
    pub(crate) fn exit(&self) -> Exit {
        match self {
            Self::Usage(_) => Exit::Usage,
            Self::Failed(_) => Exit::Failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_exits_by_its_worst_result() {
        assert_eq!(Exit::of_batch(3, 0, 0), Exit::Done);
        assert_eq!(Exit::of_batch(0, 2, 0), Exit::Failed);
        assert_eq!(Exit::of_batch(2, 1, 0), Exit::SomeFailed);
        assert_eq!(Exit::of_batch(2, 1, 1), Exit::Interrupted);
        assert_eq!(Exit::Interrupted.code(), 130);
    }
}
