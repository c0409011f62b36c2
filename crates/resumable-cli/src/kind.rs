//! The stable `kind` of a failed upload in `--json` results, beside its
//! message: a word a script can match on while the message is for people
//! and may be reworded.
//!
//! The words, and what each means (the README's list is the same):
//!
//! | kind | what failed |
//! |---|---|
//! | `auth` | the API key (or token) was refused (401) |
//! | `forbidden` | the key may not do this (403) |
//! | `not_found` | the organization, API path or bucket does not exist (404) |
//! | `too_large` | the file is larger than the server accepts |
//! | `refused` | the file API or upload host refused for another reason (4xx) |
//! | `server` | the file API kept failing (5xx) |
//! | `network` | the host could not be reached (no such host, refused, timed out) |
//! | `tls` | the TLS certificate was rejected, or the host does not speak TLS |
//! | `gave_up` | failures went on past the retry budget (`--retries`, `--retry-for`) |
//! | `changed` | the file changed since its upload began, or while it was uploaded |
//! | `integrity` | the stored object is not the file (size or checksum) |
//! | `precondition` | a `--if-…` precondition does not hold (412) |
//! | `session_gone` | the upload session is gone and could not be replaced |
//! | `protocol` | a server broke the upload protocol |
//! | `processing_failed` | every byte arrived, and the server failed to process the completed upload (IETF draft) |
//! | `upload_problem` | the upload resource refused with a problem the upload cannot go on from (IETF draft: `inconsistent-upload-length`, `completed-upload`) |
//! | `source` | the file cannot be read (missing, a directory, no permission) |
//! | `checkpoint` | the checkpoint store cannot be read or written |
//! | `insecure` | plain http to a host that is not loopback was refused |
//! | `config` | the upload cannot work as configured (an empty file, a bad URL) |
//! | `busy` | another process is uploading the file (the result's `status` is `busy`) |
//! | `cancelled` | the upload was cancelled |
//! | `interrupted` | the upload was stopped (Ctrl-C) |
//! | `internal` | a bug in this tool (please report it) |
//!
//! New kinds may be added; a kind's word, once given, does not change.

use resumable_blocking::UploadError;
use resumable_core::{Error, SourceError, TransportErrorKind};

/// What kind of failure ended an upload, as `--json` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// The key or token was refused (401).
    Auth,
    /// The key may not do this (403).
    Forbidden,
    /// The organization, API path or bucket does not exist (404).
    NotFound,
    /// The file is larger than the server accepts.
    TooLarge,
    /// Refused for another reason (another 4xx).
    Refused,
    /// The file API kept failing (5xx).
    Server,
    /// The host could not be reached.
    Network,
    /// The certificate was rejected, or the host does not speak TLS.
    Tls,
    /// Failures went on past the retry budget.
    GaveUp,
    /// The file changed.
    Changed,
    /// The stored object is not the file.
    Integrity,
    /// A precondition does not hold (412).
    Precondition,
    /// The session is gone and could not be replaced.
    SessionGone,
    /// A server broke the protocol, or does not speak the version or the
    /// extension the upload needs.
    Protocol,
    /// The bytes arrived; processing the completed upload failed.
    ProcessingFailed,
    /// The upload resource reported a problem the upload cannot go on from.
    UploadProblem,
    /// The file cannot be read.
    Source,
    /// The checkpoint store failed.
    Checkpoint,
    /// Plain http off loopback was refused.
    Insecure,
    /// The configuration cannot work.
    Config,
    /// Another process is uploading the file.
    Busy,
    /// The upload was cancelled.
    Cancelled,
    /// The upload was stopped.
    Interrupted,
    /// A bug in this tool.
    Internal,
}

impl ErrorKind {
    /// The kind of `error`.
    pub(crate) fn of(error: &UploadError) -> Self {
        match error {
            UploadError::Upload(e) => Self::of_engine(e),
            UploadError::Source(_) => Self::Source,
            UploadError::Changed | UploadError::ChangedDuringUpload => Self::Changed,
            UploadError::Checkpoint(_) => Self::Checkpoint,
            UploadError::Busy { .. } => Self::Busy,
            UploadError::Insecure { .. } => Self::Insecure,
            UploadError::Interrupted => Self::Interrupted,
            UploadError::DriverBug(_) | UploadError::TransportSetup(_) => Self::Internal,
            _ => Self::Internal,
        }
    }

    /// The kind of an error the engine ended the upload with.
    fn of_engine(error: &Error) -> Self {
        match error {
            Error::Api { status, .. } | Error::Rejected { status, .. } => match status {
                401 => Self::Auth,
                403 => Self::Forbidden,
                404 => Self::NotFound,
                413 => Self::TooLarge,
                500.. => Self::Server,
                _ => Self::Refused,
            },
            Error::FileTooLarge { .. } | Error::TooLarge { .. } => Self::TooLarge,
            Error::Unreachable(failure) => match failure.kind {
                TransportErrorKind::TlsCertificate | TransportErrorKind::TlsHandshake => Self::Tls,
                _ => Self::Network,
            },
            Error::GaveUp { .. } => Self::GaveUp,
            Error::Integrity(_) => Self::Integrity,
            Error::PreconditionFailed { .. } => Self::Precondition,
            Error::SessionGone => Self::SessionGone,
            Error::Protocol(_)
            | Error::UnsupportedVersion { .. }
            | Error::UnsupportedExtension { .. } => Self::Protocol,
            Error::ProcessingFailed { .. } => Self::ProcessingFailed,
            Error::UploadProblem { .. } => Self::UploadProblem,
            Error::Source(SourceError::Changed) => Self::Changed,
            Error::Source(_) => Self::Source,
            Error::Config(_) => Self::Config,
            Error::Insecure { .. } => Self::Insecure,
            Error::Cancelled => Self::Cancelled,
            Error::Interrupted => Self::Interrupted,
            _ => Self::Internal,
        }
    }

    /// Its word in `--json` results: stable across releases.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::TooLarge => "too_large",
            Self::Refused => "refused",
            Self::Server => "server",
            Self::Network => "network",
            Self::Tls => "tls",
            Self::GaveUp => "gave_up",
            Self::Changed => "changed",
            Self::Integrity => "integrity",
            Self::Precondition => "precondition",
            Self::SessionGone => "session_gone",
            Self::Protocol => "protocol",
            Self::ProcessingFailed => "processing_failed",
            Self::UploadProblem => "upload_problem",
            Self::Source => "source",
            Self::Checkpoint => "checkpoint",
            Self::Insecure => "insecure",
            Self::Config => "config",
            Self::Busy => "busy",
            Self::Cancelled => "cancelled",
            Self::Interrupted => "interrupted",
            Self::Internal => "internal",
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use resumable_core::{IntegrityError, RetryCause, TransportFailure, UploadProblem};

    use super::*;

    fn engine(e: Error) -> UploadError {
        UploadError::Upload(e)
    }

    #[test]
    fn each_error_has_its_kind() {
        let api = |status| {
            engine(Error::Api {
                status,
                message: String::new(),
            })
        };
        let unreachable = |kind| {
            engine(Error::Unreachable(TransportFailure {
                kind,
                host: "h:1".into(),
                detail: String::new(),
            }))
        };
        let cases = [
            (api(401), "auth"),
            (api(403), "forbidden"),
            (api(404), "not_found"),
            (api(413), "too_large"),
            (api(422), "refused"),
            (api(503), "server"),
            (
                engine(Error::Rejected {
                    status: 404,
                    message: String::new(),
                }),
                "not_found",
            ),
            (engine(Error::FileTooLarge { size: 2, max: 1 }), "too_large"),
            (unreachable(TransportErrorKind::ConnectRefused), "network"),
            (unreachable(TransportErrorKind::NoSuchHost), "network"),
            (unreachable(TransportErrorKind::TlsCertificate), "tls"),
            (unreachable(TransportErrorKind::TlsHandshake), "tls"),
            (
                engine(Error::GaveUp {
                    attempts: 1,
                    elapsed: Duration::ZERO,
                    last: RetryCause::Status(503),
                }),
                "gave_up",
            ),
            (UploadError::Changed, "changed"),
            (UploadError::ChangedDuringUpload, "changed"),
            (
                engine(Error::Integrity(IntegrityError::SourceNotHashed)),
                "integrity",
            ),
            (
                engine(Error::PreconditionFailed {
                    message: String::new(),
                }),
                "precondition",
            ),
            (engine(Error::SessionGone), "session_gone"),
            (
                engine(Error::ProcessingFailed {
                    status: 422,
                    message: String::new(),
                }),
                "processing_failed",
            ),
            (
                engine(Error::UploadProblem {
                    status: 400,
                    problem: UploadProblem::InconsistentLength,
                }),
                "upload_problem",
            ),
            (
                UploadError::Source(std::io::Error::from(std::io::ErrorKind::NotFound)),
                "source",
            ),
            (
                UploadError::Checkpoint(std::io::Error::from(std::io::ErrorKind::Other)),
                "checkpoint",
            ),
            (
                UploadError::Insecure {
                    host: "example.com".into(),
                },
                "insecure",
            ),
            (UploadError::Busy { pid: None }, "busy"),
            (UploadError::Interrupted, "interrupted"),
            (
                UploadError::Upload(Error::UnsupportedExtension {
                    extension: "creation",
                }),
                "protocol",
            ),
            (UploadError::DriverBug(String::new()), "internal"),
        ];
        for (error, kind) in cases {
            assert_eq!(ErrorKind::of(&error).as_str(), kind, "{error}");
        }
    }
}
