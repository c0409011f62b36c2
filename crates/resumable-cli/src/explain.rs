//! Upload errors as one line each: what failed, and what to do about it.

use std::time::Duration;

use resumable_blocking::UploadError;
use resumable_core::{
    Error, IntegrityError, SourceError, TransportErrorKind, TransportFailure, UploadProblem,
};

/// What an error message needs to know beyond the error.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    /// The file, as the user named it.
    pub(crate) file: String,
    /// Where the API key came from: `FREDDY_API_KEY`, or `the key file PATH`.
    pub(crate) key_source: String,
    /// How to start the upload over, e.g. `` `resumable upload --restart FILE …` ``.
    pub(crate) restart: String,
    /// The preconditions given, as typed (`--if-generation-match 0`), to name
    /// them when one fails.
    pub(crate) preconditions: Vec<String>,
    /// The checkpoint directory, to name when it cannot be written.
    pub(crate) state_dir: String,
    /// What the upload left behind, as far as the error's advice depends
    /// on it.
    pub(crate) left: Left,
}

/// What a failed upload left in the checkpoint store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Left {
    /// Nothing: the next run starts anew.
    Nothing,
    /// A checkpoint of a transfer in progress: the next run resumes it.
    Checkpoint,
    /// A checkpoint of an object that is complete but not registered: the
    /// next run registers it without sending its bytes again.
    Unregistered,
}

impl Left {
    /// What the stored checkpoint (if any) leaves.
    pub(crate) fn of(checkpoint: Option<&resumable_core::Checkpoint>) -> Self {
        match checkpoint {
            None => Left::Nothing,
            Some(c) if c.object.is_some() => Left::Unregistered,
            Some(_) => Left::Checkpoint,
        }
    }

    /// The advice for an error the same command may get past, as the rest
    /// of a sentence: what the next run of it does.
    fn next_run(self) -> &'static str {
        match self {
            Left::Nothing => "run the same command again to start anew",
            Left::Checkpoint => "the checkpoint is kept: run the same command again to resume",
            Left::Unregistered => {
                "the bytes are stored in full but not registered: run the same command again \
                 to register them without sending them again"
            }
        }
    }
}

/// The one-line message for `error`, starting with the file's name.
pub(crate) fn explain(error: &UploadError, cx: &Context) -> String {
    let what = match error {
        UploadError::Upload(e) => upload(e, cx),
        UploadError::Changed => format!(
            "the file changed since its interrupted upload began, so that upload cannot \
             resume; start over with {} (or drop it with `resumable cancel {}`)",
            cx.restart, cx.file
        ),
        UploadError::ChangedDuringUpload => format!(
            "the file changed while it was uploaded, so nothing was registered; start over \
             with {} once it stays put",
            cx.restart
        ),
        // Also before any checkpoint exists (a missing file, a directory).
        UploadError::Source(e) => source(e, cx),
        UploadError::Checkpoint(e) if e.kind() == std::io::ErrorKind::InvalidData => format!(
            "its checkpoint cannot be read ({e}); start over with {} (the old session \
             expires on its own)",
            cx.restart
        ),
        UploadError::Checkpoint(e) => format!(
            "cannot write its checkpoint in {}: {e}; make it writable or pick another with \
             --state-dir",
            cx.state_dir
        ),
        UploadError::Insecure { host } => format!(
            "refusing plain http to {host}: the key or session would travel in clear text; \
             use https (or --allow-insecure-http)"
        ),
        UploadError::Busy { pid } => busy(*pid, cx),
        UploadError::Interrupted => format!("interrupted; {}", cx.left.next_run()),
        other => format!("{other}"),
    };
    format!("{}: {what}", cx.file)
}

/// A file that cannot be read: what it is, and what to do instead. Nothing
/// was uploaded, so there is nothing to start over.
fn source(e: &std::io::Error, cx: &Context) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => format!("no such file ({e}); check the path"),
        std::io::ErrorKind::IsADirectory => format!(
            "is a directory; upload the files under it with -r, or name them ({}/*)",
            cx.file.trim_end_matches('/')
        ),
        std::io::ErrorKind::PermissionDenied => {
            format!("cannot be read ({e}); check its permissions, then run the command again")
        }
        _ => match cx.left {
            Left::Nothing => format!("cannot read the file: {e}; fix it and run the command again"),
            _ => format!(
                "cannot read the file: {e}; fix it and run the same command again to resume, \
                 or start over with {}",
                cx.restart
            ),
        },
    }
}

/// Another process holds the file's checkpoint: what it is, and that this
/// run left it alone.
fn busy(pid: Option<u32>, cx: &Context) -> String {
    format!(
        "another process{} is uploading {}; it was left alone: wait for it to finish (or stop \
         it), then run this command again",
        pid.map(|p| format!(" (pid {p})")).unwrap_or_default(),
        cx.file
    )
}

fn upload(error: &Error, cx: &Context) -> String {
    match error {
        Error::Api { status: 401, .. } => {
            format!("the API refused the key (401): check {}", cx.key_source)
        }
        Error::Api {
            status: 403,
            message,
        } => format!(
            "the API refused access (403: {message}): check --org and the key's permissions"
        ),
        Error::Api {
            status: 404,
            message,
        } => format!("the API answered 404 ({message}): check --org and --api-url"),
        Error::Api {
            status: 413,
            message,
        } => format!(
            "the file is too large for the file API (413: {message}); its max_file_size \
             is the largest file it accepts"
        ),
        Error::FileTooLarge { size, max } => format!(
            "the file is too large for the file API: {size} bytes, more than its \
             max_file_size of {max}; nothing was sent"
        ),
        Error::Api { status, message } if *status >= 500 => format!(
            "the file API kept failing ({status}: {message}); run the same command again later"
        ),
        Error::Api { status, message } => format!("the file API refused ({status}: {message})"),
        // Only an initiation can be refused 404: a session's 404 is gone.
        Error::Rejected {
            status: 404,
            message,
        } => format!(
            "the upload host answered 404 ({message}): the bucket does not exist (or the \
             endpoint is wrong); check --bucket and the URL; nothing was uploaded"
        ),
        Error::Rejected { status, message } => match cx.left {
            Left::Nothing => format!("the upload host refused ({status}: {message})"),
            left => format!(
                "the upload host refused ({status}: {message}); {}, or start over with {}",
                left.next_run(),
                cx.restart
            ),
        },
        // A complete upload of the IETF draft: there is no registering,
        // and the server holds (and may have processed) the wrong bytes.
        Error::Integrity(e @ IntegrityError::Sha256) => format!(
            "checksum mismatch: the completed upload is not the file ({e}); \
             start over with {}",
            cx.restart
        ),
        Error::Integrity(e) => format!(
            "checksum mismatch: the stored object is not the file ({e}); nothing registered; \
             start over with {}",
            cx.restart
        ),
        Error::GaveUp {
            attempts,
            elapsed,
            last,
        } => format!(
            "gave up after {attempts} failed attempts in {} (last: {last}); {}",
            seconds(*elapsed),
            cx.left.next_run()
        ),
        Error::Unreachable(failure) => unreachable(failure),
        Error::SessionGone => "the upload session is gone (expired or cancelled) and could \
                               not be replaced; run the same command again to start anew"
            .into(),
        Error::Cancelled => "the upload was cancelled".into(),
        // Resuming or retrying meets the same object, so no advice to.
        Error::PreconditionFailed { message } => {
            let which = match cx.preconditions.as_slice() {
                [] => "a precondition of the upload session".to_owned(),
                [one] => format!("the precondition {one}"),
                many => format!("one of the preconditions {}", many.join(", ")),
            };
            format!("{which} does not hold for the object (412: {message}); nothing was written")
        }
        Error::Source(SourceError::Changed) => format!(
            "the file changed since its interrupted upload began; start over with {}",
            cx.restart
        ),
        Error::Source(e) => format!(
            "{e}; drop the checkpoint with `resumable cancel {}`",
            cx.file
        ),
        Error::Config(e) => format!("{e}"),
        Error::Protocol(e) => format!(
            "the server broke the upload protocol ({e}); {} (-v for detail)",
            cx.left.next_run()
        ),
        Error::ProcessingFailed { status, message } => format!(
            "every byte arrived, and the server failed to process the completed upload \
             ({status}: {message}); resuming cannot help; once its reason is dealt with, {}",
            start_over(cx)
        ),
        Error::UploadProblem { status, problem } => upload_problem(*status, problem, cx),
        other => format!("{other}"),
    }
}

/// An IETF draft problem the upload cannot go on from: what the server
/// holds, and that only a new upload gets past it.
fn upload_problem(status: u16, problem: &UploadProblem, cx: &Context) -> String {
    let what = match problem {
        UploadProblem::InconsistentLength => {
            "the server holds another length for this upload than the file's"
        }
        UploadProblem::CompletedUpload => {
            "the server says this upload is already complete and takes no more bytes"
        }
        UploadProblem::MismatchingOffset { .. } => {
            "the server and this upload disagree about the upload's offset"
        }
        _ => "the upload resource refused the upload",
    };
    format!("{what} ({status}: {problem}); {}", start_over(cx))
}

/// How to upload the file anew, as the rest of a sentence: the same
/// command when nothing is left to resume, else after dropping what is.
fn start_over(cx: &Context) -> String {
    match cx.left {
        Left::Nothing => "run the same command again to upload it anew".into(),
        _ => format!("start over with {}", cx.restart),
    }
}

/// A transport failure that ended the run before any server answered: what
/// failed, with which host, and the fix that kind calls for.
fn unreachable(failure: &TransportFailure) -> String {
    let fix = match failure.kind {
        TransportErrorKind::NoSuchHost => "check the host name in the URL",
        TransportErrorKind::ConnectRefused => {
            "nothing listens there: check the URL's port, or start the server"
        }
        TransportErrorKind::TlsCertificate => {
            "the server's certificate is not one the trusted roots vouch for (self-signed, a \
             private CA, expired, or for another name); to trust its CA, pass --ca-cert FILE \
             (PEM) or set SSL_CERT_FILE"
        }
        TransportErrorKind::TlsHandshake => {
            "the server does not speak TLS there: is it http:// rather than https://?"
        }
        _ => "check the URL",
    };
    format!("{failure}; {fix}; nothing was sent, so run the same command again once fixed")
}

fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx() -> Context {
        Context {
            file: "a.bin".into(),
            key_source: "FREDDY_API_KEY".into(),
            restart: "`resumable upload --restart a.bin`".into(),
            preconditions: Vec::new(),
            state_dir: "/state".into(),
            left: Left::Checkpoint,
        }
    }

    #[test]
    fn advice_fits_what_the_upload_left() {
        let gave_up = UploadError::Upload(Error::GaveUp {
            attempts: 6,
            elapsed: Duration::from_secs(3),
            last: resumable_core::RetryCause::Status(503),
        });
        let mut cx = cx();
        for (left, expected, not) in [
            (Left::Nothing, "to start anew", "checkpoint is kept"),
            (Left::Checkpoint, "checkpoint is kept", "start anew"),
            (Left::Unregistered, "without sending them again", "resume"),
        ] {
            cx.left = left;
            let line = explain(&gave_up, &cx);
            assert!(line.contains(expected) && !line.contains(not), "{line}");
        }
        cx.left = Left::Nothing;
        let io = |kind| UploadError::Source(std::io::Error::from(kind));
        for (error, expected) in [
            (io(std::io::ErrorKind::NotFound), "no such file"),
            (io(std::io::ErrorKind::IsADirectory), "a.bin/*"),
            (io(std::io::ErrorKind::PermissionDenied), "permissions"),
        ] {
            let line = explain(&error, &cx);
            assert!(
                line.contains(expected) && !line.contains("--restart"),
                "{line}"
            );
        }
        let missing_bucket = UploadError::Upload(Error::Rejected {
            status: 404,
            message: "bucket not found".into(),
        });
        let line = explain(&missing_bucket, &cx);
        assert!(
            line.contains("--bucket") && !line.contains("resume"),
            "{line}"
        );
        let line = explain(
            &UploadError::Checkpoint(std::io::Error::from(std::io::ErrorKind::PermissionDenied)),
            &cx,
        );
        assert!(line.contains("/state"), "{line}");
    }

    #[test]
    fn messages_say_what_to_do_in_one_line() {
        let cases = [
            (
                UploadError::Upload(Error::Api {
                    status: 401,
                    message: "invalid API key".into(),
                }),
                "a.bin: the API refused the key (401): check FREDDY_API_KEY",
            ),
            (
                UploadError::Upload(Error::Api {
                    status: 413,
                    message: "too big".into(),
                }),
                "max_file_size",
            ),
            (
                UploadError::Upload(Error::Integrity(
                    resumable_core::IntegrityError::SourceNotHashed,
                )),
                "nothing registered",
            ),
            (
                UploadError::Upload(Error::Integrity(resumable_core::IntegrityError::Sha256)),
                "the completed upload is not the file",
            ),
            (
                UploadError::Upload(Error::FileTooLarge { size: 9, max: 5 }),
                "max_file_size of 5",
            ),
            (UploadError::Changed, "resumable cancel a.bin"),
            (UploadError::ChangedDuringUpload, "nothing was registered"),
            (
                UploadError::Checkpoint(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "expected value",
                )),
                "checkpoint cannot be read (expected value); start over with",
            ),
            (UploadError::Interrupted, "run the same command again"),
            (
                UploadError::Busy { pid: Some(42) },
                "a.bin: another process (pid 42) is uploading a.bin; it was left alone: wait",
            ),
            (
                UploadError::Busy { pid: None },
                "a.bin: another process is uploading a.bin;",
            ),
        ];
        for (error, expected) in cases {
            let line = explain(&error, &cx());
            assert!(line.contains(expected), "{line}");
            assert!(!line.contains('\n'), "{line}");
        }
    }

    #[test]
    fn the_drafts_refusals_say_what_the_server_holds() {
        let mut cx = cx();
        let failed = UploadError::Upload(Error::ProcessingFailed {
            status: 422,
            message: "not a video".into(),
        });
        let line = explain(&failed, &cx);
        assert!(
            line.contains("every byte arrived")
                && line.contains("(422: not a video)")
                && line.contains("start over with `resumable upload --restart a.bin`")
                && !line.contains("resume;"),
            "{line}"
        );
        cx.left = Left::Nothing;
        let line = explain(&failed, &cx);
        assert!(
            line.contains("run the same command again to upload it anew"),
            "{line}"
        );
        let problem = |problem| {
            UploadError::Upload(Error::UploadProblem {
                status: 400,
                problem,
            })
        };
        for (p, expected) in [
            (UploadProblem::InconsistentLength, "another length"),
            (UploadProblem::CompletedUpload, "already complete"),
            (
                UploadProblem::MismatchingOffset {
                    expected: Some(5),
                    provided: Some(9),
                },
                "disagree about the upload's offset",
            ),
        ] {
            let line = explain(&problem(p), &cx);
            assert!(line.contains(expected) && line.contains("400"), "{line}");
            assert!(!line.contains('\n'), "{line}");
        }
    }

    #[test]
    fn a_failed_precondition_is_named_without_resume_advice() {
        let error = UploadError::Upload(Error::PreconditionFailed {
            message: "conditionNotMet".into(),
        });
        let mut cx = cx();
        for (given, expected) in [
            (
                vec![],
                "a.bin: a precondition of the upload session does not hold",
            ),
            (
                vec!["--if-generation-match 0".to_owned()],
                "a.bin: the precondition --if-generation-match 0 does not hold for the object \
                 (412: conditionNotMet); nothing was written",
            ),
            (
                vec![
                    "--if-generation-match 5".to_owned(),
                    "--if-metageneration-match 1".to_owned(),
                ],
                "one of the preconditions --if-generation-match 5, --if-metageneration-match 1",
            ),
        ] {
            cx.preconditions = given;
            let line = explain(&error, &cx);
            assert!(line.contains(expected), "{line}");
            assert!(!line.contains('\n') && !line.contains("again"), "{line}");
        }
    }
}
