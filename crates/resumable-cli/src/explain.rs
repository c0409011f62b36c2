//! Upload errors as one line each: what failed, and what to do about it.

use std::time::Duration;

use resumable_blocking::UploadError;
use resumable_core::{Error, SourceError, TransportErrorKind, TransportFailure};

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
        UploadError::Source(e) => format!(
            "cannot read the file: {e}; fix it and run the same command again, or start \
             over with {}",
            cx.restart
        ),
        UploadError::Checkpoint(e) if e.kind() == std::io::ErrorKind::InvalidData => format!(
            "its checkpoint cannot be read ({e}); start over with {} (the old session \
             expires on its own)",
            cx.restart
        ),
        UploadError::Checkpoint(e) => {
            format!("cannot write its checkpoint: {e}; pick a writable --state-dir")
        }
        UploadError::Insecure { host } => format!(
            "refusing plain http to {host}: the key or session would travel in clear text; \
             use https (or --allow-insecure-http)"
        ),
        UploadError::Busy { pid } => busy(*pid, cx),
        UploadError::Interrupted => {
            "interrupted; the checkpoint is kept: run the same command again to resume".into()
        }
        other => format!("{other}"),
    };
    format!("{}: {what}", cx.file)
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
        Error::Rejected { status, message } => format!(
            "the upload host refused ({status}: {message}); run the same command again to \
             resume, or start over with {}",
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
            "gave up after {attempts} failed attempts in {} (last: {last}); the checkpoint \
             is kept: run the same command again to resume",
            seconds(*elapsed)
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
            "the server broke the upload protocol ({e}); the checkpoint is kept: run again \
             to resume, with -v for detail"
        ),
        other => format!("{other}"),
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
            "the server's certificate is not one the public web roots vouch for (self-signed, \
             a private CA, expired, or for another name)"
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
        }
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
