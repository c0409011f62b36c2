//! The bad-input catalogue both drivers run: a lying or hostile server,
//! scripted with the emulator's fault spec, and the typed error each lie
//! must end the upload with. Nothing may be registered, and nothing panics.
//!
//! Every case uploads one file of [`SIZE`] bytes in chunks of [`UNIT`]
//! (five requests: four chunks and the final one).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::FileExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use resumable_core::RangeError;
use resumable_core::{Config, Error, FileApi, IntegrityError, ProtocolError, RetryPolicy, Secret};
use resumable_emulator::{Emulator, EmulatorHandle, Storage};
use resumable_local::{FileApiTarget, UploadError};

/// The API key of every emulator here.
pub const KEY: &str = "bad-input-key";
/// The chunk size the uploads use.
pub const UNIT: u64 = 256 * 1024;
/// The file's size: four whole chunks and a short final one.
pub const SIZE: u64 = 4 * UNIT + 1000;
/// A bloated answer: far past any sane body and the drivers' cap.
pub const BLOAT: &str = "1GiB";
/// The most a bloated body may have been sent before the client hung up:
/// the 1 MiB cap plus what socket buffers on loopback hold, far below 1 GiB.
pub const BLOAT_SENT_BOUND: u64 = 64 << 20;

/// One lie and the error it must give.
pub struct Case {
    /// What the server does wrong.
    pub name: &'static str,
    /// The emulator's fault spec for it.
    pub faults: String,
    /// The expected error, as written in the table.
    pub expected: &'static str,
    /// Whether an error is the expected one.
    pub matches: fn(&Error) -> bool,
    /// Whether the case bloats a body, so that its cut-off is checked.
    pub bloats: bool,
}

macro_rules! case {
    ($name:expr, $faults:expr, $pat:pat) => {
        Case {
            name: $name,
            faults: String::from($faults),
            expected: stringify!($pat),
            matches: |e| matches!(e, $pat),
            bloats: $faults.contains("bloat="),
        }
    };
}

/// The server-side catalogue.
pub fn cases() -> Vec<Case> {
    use Error::{Api, FileTooLarge, Integrity, Protocol};
    use ProtocolError as P;
    const HALF: u64 = UNIT / 2;
    const THREE: u64 = 3 * UNIT;
    vec![
        // A 308's Range header, malformed.
        case!(
            "308 Range not from byte 0",
            "chunk#1 range=bytes=5-10",
            Protocol(P::Range(RangeError::NotFromZero))
        ),
        case!(
            "308 Range not a number",
            "chunk#1 range=bytes=0-x",
            Protocol(P::Range(RangeError::Malformed))
        ),
        case!(
            "308 Range past 64 bits",
            "chunk#1 range=bytes=0-99999999999999999999",
            Protocol(P::Range(RangeError::Overflow))
        ),
        case!(
            "308 Range with several ranges",
            "chunk#1 range=bytes=0-1,5-9",
            Protocol(P::Range(RangeError::MultipleRanges))
        ),
        case!(
            "308 Range empty",
            "chunk#1 range=",
            Protocol(P::Range(RangeError::Malformed))
        ),
        case!(
            "status query Range malformed",
            "chunk#1 status=503; query#1 range=bytes=0-x",
            Protocol(P::Range(RangeError::Malformed))
        ),
        // The persisted offset, lied about.
        case!(
            "persisted goes backwards",
            "chunk#2 persisted=128KiB",
            Protocol(P::OffsetBackwards {
                before: UNIT,
                after: HALF
            })
        ),
        case!(
            "persisted drops to nothing (no Range)",
            "chunk#2 persisted=0",
            Protocol(P::OffsetBackwards {
                before: UNIT,
                after: 0
            })
        ),
        case!(
            "status query drops the persisted offset to nothing (no Range)",
            "chunk#2 status=503; query#1 no-range",
            Protocol(P::OffsetBackwards {
                before: UNIT,
                after: 0
            })
        ),
        case!(
            "persisted beyond what was sent",
            "chunk#1 persisted=768KiB",
            Protocol(P::OffsetBeyondSent {
                persisted: THREE,
                sent: UNIT
            })
        ),
        case!(
            "status query claims more than was sent",
            "chunk#1 status=503; query#1 persisted=768KiB",
            Protocol(P::OffsetBeyondSent {
                persisted: THREE,
                sent: UNIT
            })
        ),
        // The final object, not the source.
        case!(
            "final object of another size",
            r#"final#1 set=size:"1""#,
            Integrity(IntegrityError::Size {
                expected: SIZE,
                stored: 1
            })
        ),
        case!(
            "final object with another CRC32C",
            r#"final#1 set=crc32c:"AAAAAA==""#,
            Integrity(IntegrityError::Crc32c { stored: 0, .. })
        ),
        case!(
            "final object CRC32C not base64",
            r#"final#1 set=crc32c:"%%%%""#,
            Protocol(P::Hash(_))
        ),
        case!(
            "final object without size",
            "final#1 unset=size",
            Protocol(P::Json {
                what: "final object",
                ..
            })
        ),
        case!(
            "final object size of the wrong type",
            "final#1 set=size:true",
            Protocol(P::Json {
                what: "final object",
                ..
            })
        ),
        // The upload session JSON, broken.
        case!(
            "session without upload_url",
            "upload-url#1 unset=upload_url",
            Protocol(P::Json {
                what: "upload session",
                ..
            })
        ),
        case!(
            "session without gcs_path",
            "upload-url#1 unset=gcs_path",
            Protocol(P::Json {
                what: "upload session",
                ..
            })
        ),
        case!(
            "session without expires_at",
            "upload-url#1 unset=expires_at",
            Protocol(P::Json {
                what: "upload session",
                ..
            })
        ),
        case!(
            "session file_id of the wrong type",
            "upload-url#1 set=file_id:7",
            Protocol(P::Json {
                what: "upload session",
                ..
            })
        ),
        case!(
            "session max_file_size of the wrong type",
            r#"upload-url#1 set=max_file_size:"5GB""#,
            Protocol(P::Json {
                what: "upload session",
                ..
            })
        ),
        case!(
            "session upload_url relative",
            r#"upload-url#1 set=upload_url:"/upload/storage/v1/b/b/o?upload_id=x""#,
            Protocol(P::BadSession(_))
        ),
        case!(
            "session upload_url not http",
            r#"upload-url#1 set=upload_url:"ftp://127.0.0.1/upload?upload_id=x""#,
            Protocol(P::BadSession(_))
        ),
        case!(
            "session expires_at in the past",
            r#"upload-url#1 set=expires_at:"2020-01-01T00:00:00Z""#,
            Protocol(P::BadSession("expires_at is in the past"))
        ),
        case!(
            "session expires_at not a time",
            r#"upload-url#1 set=expires_at:"tomorrow""#,
            Protocol(P::Timestamp {
                field: "expires_at",
                ..
            })
        ),
        case!(
            "session max_file_size below the file size",
            "upload-url#1 set=max_file_size:1000",
            FileTooLarge {
                size: SIZE,
                max: 1000
            }
        ),
        // The file API refuses.
        case!(
            "upload-url 401",
            "upload-url#1 status=401",
            Api { status: 401, .. }
        ),
        case!(
            "upload-url 403",
            "upload-url#1 status=403",
            Api { status: 403, .. }
        ),
        case!(
            "upload-url 404",
            "upload-url#1 status=404",
            Api { status: 404, .. }
        ),
        case!(
            "upload-url 413",
            "upload-url#1 status=413",
            Api { status: 413, .. }
        ),
        case!(
            "register 403",
            "register#1 status=403",
            Api { status: 403, .. }
        ),
        // Bodies far larger than any sane answer: cut off, not buffered.
        case!(
            "session body of 1 GiB",
            format!("upload-url#1 bloat={BLOAT}"),
            Protocol(P::BodyTooLarge(_))
        ),
        case!(
            "308 body of 1 GiB",
            format!("chunk#1 bloat={BLOAT}"),
            Protocol(P::BodyTooLarge(_))
        ),
        case!(
            "error body of 1 GiB",
            format!("chunk#2 status=503 bloat={BLOAT}"),
            Protocol(P::BodyTooLarge(_))
        ),
        case!(
            "final object body of 1 GiB",
            format!("final#1 bloat={BLOAT}"),
            Protocol(P::BodyTooLarge(_))
        ),
    ]
}

/// An emulator for one case, with its faults.
pub fn emulator(faults: &str) -> EmulatorHandle {
    Emulator::builder()
        .api_key(KEY)
        .storage(Storage::Memory)
        .faults(faults)
        .seed(11)
        .start_in_background()
        .expect("emulator starts")
}

/// The file's bytes.
pub fn data(salt: u8) -> Vec<u8> {
    (0..SIZE)
        .map(|i| ((i.wrapping_mul(2_654_435_761) >> 13) as u8) ^ salt)
        .collect()
}

/// Checks what every case must leave behind: nothing registered, and for a
/// bloated body, that the emulator saw the client hang up after a bounded
/// number of bytes. Returns what is wrong, if anything.
pub fn check_aftermath(case: &Case, emu: &EmulatorHandle) -> Result<(), String> {
    if emu.registrations() != 0 {
        return Err(format!("{}: registered {}", case.name, emu.registrations()));
    }
    if !case.bloats {
        return Ok(());
    }
    // The server learns of the hang-up when its next write fails.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stats = emu.stats();
        if stats.bloated_bodies >= 1 && stats.bloated_cut_off == stats.bloated_bodies {
            if stats.bloated_bytes_sent > BLOAT_SENT_BOUND {
                return Err(format!(
                    "{}: {} bytes of the bloated body were sent before the client hung up",
                    case.name, stats.bloated_bytes_sent
                ));
            }
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{}: the client never hung up on the bloated body: {} of {} bodies cut off, \
                 {} bytes sent",
                case.name, stats.bloated_cut_off, stats.bloated_bodies, stats.bloated_bytes_sent
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The file API of the emulator at `api_base`.
pub fn api_at(api_base: &str) -> FileApiTarget {
    FileApiTarget::new(api_base, "org_1", Secret::new(KEY))
}

/// The file API of `emu`.
pub fn api(emu: &EmulatorHandle) -> FileApiTarget {
    api_at(emu.base_url())
}

/// Retries enough for the cases' transient faults, quickly.
pub fn retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        max_elapsed: Duration::from_secs(30),
        initial_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
    }
}

/// Writes `bytes` to `video.bin` in `dir`.
pub fn file_in(dir: &Path, bytes: &[u8]) -> PathBuf {
    let path = dir.join("video.bin");
    fs::write(&path, bytes).unwrap();
    path
}

/// The upload of [`SIZE`] bytes named `disk.bin` to the file API of `emu`.
pub fn disk_config(emu: &EmulatorHandle) -> Config {
    Config::file_api(
        FileApi {
            api_base: emu.base_url().to_owned(),
            organization: "org_1".into(),
            api_key: Secret::new(KEY),
            filename: "disk.bin".into(),
            mime_type: "application/octet-stream".into(),
        },
        SIZE,
    )
}

/// The name of the test that [`unreadable_as_nobody`] runs.
pub const CHILD_TEST: &str = "unreadable_file_child";
const CHILD_API: &str = "BAD_INPUT_CHILD_API";
const CHILD_FILE: &str = "BAD_INPUT_CHILD_FILE";

/// Whether this process runs as root, which reads a mode-000 file anyway.
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    fs::metadata("/proc/self").unwrap().uid() == 0
}

/// Runs the test [`CHILD_TEST`] of this binary as `nobody`, on the file at
/// `path` (in a directory `nobody` can enter) and the API of `emu`, and
/// checks it found the file unreadable.
pub fn unreadable_as_nobody(emu: &EmulatorHandle, path: &Path) {
    // A copy beside the file: `nobody` may not reach the build directory.
    let exe = path.with_file_name("bad-input-child");
    fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
    let out = std::process::Command::new(&exe)
        .args(["--exact", CHILD_TEST, "--ignored", "--nocapture"])
        .env(CHILD_API, emu.base_url())
        .env(CHILD_FILE, path)
        .uid(65534)
        .gid(65534)
        .output()
        .expect("the test binary runs as nobody");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("unreadable: PermissionDenied"),
        "child failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// In the child [`unreadable_as_nobody`] runs: the API and the file to
/// upload; `None` in a test run of its own.
pub fn child_upload() -> Option<(FileApiTarget, PathBuf)> {
    let (Some(base), Some(path)) = (std::env::var_os(CHILD_API), std::env::var_os(CHILD_FILE))
    else {
        return None;
    };
    Some((api_at(&base.into_string().unwrap()), PathBuf::from(path)))
}

/// Reports, as [`unreadable_as_nobody`] expects, the kind of the error the
/// child's upload ended with.
pub fn child_report(error: &std::io::Error) {
    println!("unreadable: {:?}", error.kind());
}

/// How the file changes while it is uploaded.
#[derive(Debug, Clone, Copy)]
pub enum Change {
    /// Bytes appended.
    Grow,
    /// Cut short.
    Shrink,
    /// Same size, other bytes, a later modification time.
    Rewrite,
}

/// Every [`Change`].
pub const CHANGES: [Change; 3] = [Change::Grow, Change::Shrink, Change::Rewrite];

/// Changes the file at `path` as `how` says.
pub fn change(path: &Path, how: Change) {
    let file = OpenOptions::new().write(true).open(path).unwrap();
    let modified = file.metadata().unwrap().modified().unwrap();
    match how {
        Change::Grow => {
            let mut f = OpenOptions::new().append(true).open(path).unwrap();
            f.write_all(b"more bytes").unwrap();
        }
        Change::Shrink => file.set_len(SIZE - 1000).unwrap(),
        Change::Rewrite => file.write_all_at(&data(0xA5), 0).unwrap(),
    }
    file.set_modified(modified + Duration::from_secs(2))
        .unwrap();
}

/// Checks what the control for the bloated cases leaves: the object whole,
/// registered once, and the three bodies sent in full.
pub fn check_bloated_read(size: u64, emu: &EmulatorHandle) {
    assert_eq!(size, SIZE);
    assert_eq!(emu.registrations(), 1);
    let stats = emu.stats();
    assert_eq!((stats.bloated_bodies, stats.bloated_cut_off), (3, 0));
    assert_eq!(stats.bloated_bytes_sent, 3 * 900 * 1024);
}

/// The faults of the control for the bloated cases: bodies padded to just
/// under the cap.
pub const BLOATED_UNDER_CAP: &str =
    "upload-url#1 bloat=900KiB; chunk#1 bloat=900KiB; final#1 bloat=900KiB";

/// Checks the errors for a missing file and a directory: before any
/// request, each of its kind.
pub fn check_missing_and_directory(
    missing: &std::io::Error,
    directory: &std::io::Error,
    emu: &EmulatorHandle,
) {
    assert_eq!(missing.kind(), std::io::ErrorKind::NotFound, "{missing}");
    assert!(missing.to_string().contains("nope.bin"), "{missing}");
    assert_eq!(
        directory.kind(),
        std::io::ErrorKind::IsADirectory,
        "{directory}"
    );
    assert!(emu.request_log().is_empty(), "{:?}", emu.request_log());
}

// --- the cases every driver runs, through [`crate::Driver`] ---------------

/// The catalogue's uploader: `UNIT` chunks, [`retry`], and no store unless
/// asked.
fn uploader<D: crate::Driver>(checkpoints: bool, on_event: Option<crate::OnEvent>) -> D {
    let store: Option<Box<dyn resumable_local::CheckpointStore + Send>> = match checkpoints {
        true => Some(Box::new(resumable_testkit::MemoryCheckpointStore::new())),
        false => None,
    };
    D::build(crate::Setup {
        chunking: resumable_core::Chunking::Fixed(UNIT),
        retry: retry(),
        store,
        on_event,
        ..crate::Setup::default()
    })
}

/// The source error an upload ended with; any other end fails the test.
pub fn source_error(result: Result<resumable_core::Outcome, UploadError>) -> std::io::Error {
    match result {
        Err(UploadError::Source(e)) => e,
        other => panic!("expected a source error, got {other:?}"),
    }
}

/// Every lie of [`cases`] ends the upload with its typed error, and leaves
/// nothing registered: what a server says of offsets, objects and sessions
/// is checked against what the protocol allows, never trusted.
pub fn a_lying_server_ends_the_upload_with_its_typed_error<D: crate::Driver>() {
    let dir = tempfile::tempdir().unwrap();
    let path = file_in(dir.path(), &data(0));
    let mut wrong = Vec::new();
    for case in cases() {
        let emu = emulator(&case.faults);
        let result = uploader::<D>(false, None).upload_file(&api(&emu), &path);
        wrong.extend(mismatch::<D>(&case, &result));
        if let Err(e) = check_aftermath(&case, &emu) {
            wrong.push(e);
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// What is wrong with `result` as the end of `case`, if anything.
fn mismatch<D: crate::Driver>(
    case: &Case,
    result: &Result<resumable_core::Outcome, UploadError>,
) -> Option<String> {
    match result {
        Err(UploadError::Upload(e)) if (case.matches)(e) => None,
        other => Some(format!(
            "{} ({}): expected {}, got {other:?}",
            case.name,
            D::NAME,
            case.expected
        )),
    }
}

/// The tus lies: the offsets and answers a lying tus server (the
/// emulator's tus mode) gives, each ending the upload with its typed error
/// and no upload reported done. The file is [`SIZE`] bytes in `PATCH`es of
/// [`UNIT`].
pub fn tus_cases() -> Vec<Case> {
    use Error::Protocol;
    use ProtocolError as P;
    vec![
        case!(
            "204 Upload-Offset goes backwards",
            "patch#2 persisted=100KiB",
            Protocol(P::OffsetBackwards { .. })
        ),
        case!(
            "204 Upload-Offset past the bytes sent",
            "patch#1 persisted=900KiB",
            Protocol(P::OffsetBeyondSent { .. })
        ),
        case!(
            "HEAD Upload-Offset past the length",
            "patch#2 status=503; head#1 persisted=2MiB",
            Protocol(P::OffsetBeyondLength { .. })
        ),
    ]
}

/// Every tus lie of [`tus_cases`] ends the upload with its typed error.
pub fn a_lying_tus_server_ends_the_upload_with_its_typed_error<D: crate::Driver>() {
    let bytes = data(3);
    let mut wrong = Vec::new();
    for case in tus_cases() {
        let emu = emulator(&case.faults);
        let config = Config::tus_create(
            resumable_core::TusCreate::new(emu.tus_endpoint()),
            Some(bytes.len() as u64),
        );
        let result = uploader::<D>(false, None).call(crate::Call::Run {
            config,
            source: crate::Source::Bytes(bytes.clone()),
            key: None,
        });
        wrong.extend(mismatch::<D>(&case, &result));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The lies of a server of the IETF draft (the emulator's draft mode):
/// the offsets its answers give, each ending the upload with its typed
/// error and no upload reported done. The file is [`SIZE`] bytes in
/// appends of [`UNIT`] after a careful creation.
pub fn ietf_cases() -> Vec<Case> {
    use Error::Protocol;
    use ProtocolError as P;
    vec![
        case!(
            "append's Upload-Offset goes backwards",
            "ietf-patch#2 persisted=100KiB",
            Protocol(P::OffsetBackwards { .. })
        ),
        case!(
            "append's Upload-Offset past the bytes sent",
            "ietf-patch#1 persisted=900KiB",
            Protocol(P::OffsetBeyondSent { .. })
        ),
        case!(
            "HEAD Upload-Offset past the length",
            "ietf-patch#2 status=503; ietf-head#1 persisted=2MiB",
            Protocol(P::OffsetBeyondLength { .. })
        ),
    ]
}

/// Every lie of [`ietf_cases`] ends the upload with its typed error.
pub fn a_lying_ietf_server_ends_the_upload_with_its_typed_error<D: crate::Driver>() {
    let bytes = data(3);
    let mut wrong = Vec::new();
    for case in ietf_cases() {
        let emu = emulator(&case.faults);
        let config = Config::ietf_create(
            resumable_core::IetfCreate::new(emu.ietf_endpoint()),
            Some(bytes.len() as u64),
        );
        let result = uploader::<D>(false, None).call(crate::Call::Run {
            config,
            source: crate::Source::Bytes(bytes.clone()),
            key: None,
        });
        wrong.extend(mismatch::<D>(&case, &result));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The control for the 1 GiB cases: space-padded JSON below the cap is a
/// valid answer, so the cap, not the padding, is what refuses them.
pub fn bloated_bodies_under_the_cap_are_read<D: crate::Driver>() {
    let emu = emulator(BLOATED_UNDER_CAP);
    let dir = tempfile::tempdir().unwrap();
    let path = file_in(dir.path(), &data(0));
    let outcome = uploader::<D>(false, None)
        .upload_file(&api(&emu), &path)
        .unwrap();
    check_bloated_read(outcome.object.size, &emu);
}

/// A missing file and a directory are source errors, of their own kinds and
/// naming the path, before any request: no session is opened for a file
/// that cannot be read.
pub fn a_missing_file_or_a_directory_is_a_source_error_before_any_request<D: crate::Driver>() {
    let emu = emulator("");
    let dir = tempfile::tempdir().unwrap();
    let mut up = uploader::<D>(false, None);
    let missing = source_error(up.upload_file(&api(&emu), &dir.path().join("nope.bin")));
    let directory = source_error(up.upload_file(&api(&emu), dir.path()));
    check_missing_and_directory(&missing, &directory, &emu);
}

/// An empty file is refused by the engine's configuration check before any
/// request: the file API has no use for an empty File.
pub fn an_empty_file_is_refused_before_any_request<D: crate::Driver>() {
    let emu = emulator("");
    let dir = tempfile::tempdir().unwrap();
    let path = file_in(dir.path(), b"");
    let err = uploader::<D>(false, None)
        .upload_file(&api(&emu), &path)
        .unwrap_err();
    assert!(
        matches!(err, UploadError::Upload(Error::Config(_))),
        "{}: {err:?}",
        D::NAME
    );
    assert!(err.to_string().contains("empty"), "{err}");
    assert!(emu.request_log().is_empty(), "{:?}", emu.request_log());
}

/// A file its owner may not read is a source error (permission denied)
/// before any request. Root reads a mode-000 file anyway: then the check
/// runs as `nobody`, in the test binary run again ([`unreadable_as_nobody`]
/// runs its [`CHILD_TEST`], [`unreadable_file_child`]).
pub fn an_unreadable_file_is_a_source_error_before_any_request<D: crate::Driver>() {
    use std::os::unix::fs::PermissionsExt as _;
    let emu = emulator("");
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let path = file_in(dir.path(), &data(0));
    fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
    if is_root() {
        unreadable_as_nobody(&emu, &path);
    } else {
        let e = source_error(uploader::<D>(false, None).upload_file(&api(&emu), &path));
        assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{e}");
    }
    assert!(emu.request_log().is_empty(), "{:?}", emu.request_log());
    assert_eq!(emu.registrations(), 0);
}

/// The upload [`unreadable_as_nobody`] runs as another user; does nothing
/// in a test run of its own.
pub fn unreadable_file_child<D: crate::Driver>() {
    let Some((api, path)) = child_upload() else {
        return;
    };
    let e = source_error(uploader::<D>(false, None).upload_file(&api, &path));
    child_report(&e);
}

/// A read that fails mid-upload (EIO, as a dying disk's) ends the upload
/// with that OS error as its source error, and nothing is registered or
/// stored.
pub fn a_read_error_mid_upload_is_a_source_error<D: crate::Driver>() {
    let emu = emulator("");
    let source = crate::Source::FailingPast {
        bytes: data(0),
        fail_at: 2 * UNIT + 100,
    };
    let call = crate::Call::Run {
        config: disk_config(&emu),
        source,
        key: None,
    };
    let e = source_error(uploader::<D>(false, None).call(call));
    assert_eq!(e.raw_os_error(), Some(5), "the OS error itself: {e}");
    assert_eq!(emu.registrations(), 0);
    assert!(emu.object_names().is_empty());
}

/// A stream that ends below what its session already holds (a stream
/// resumed into a session that is shorter this time) is found where the
/// engine reads ahead, after the status query and before any byte is sent,
/// and is a typed source error naming both lengths.
pub fn a_stream_shorter_than_the_session_holds_is_a_typed_source_error<D: crate::Driver>() {
    use resumable_core::SourceError;
    let emu = emulator("query#1 persisted=512KiB");
    let (url, _) = crate::emulator::session_of_the_file_api(&emu, "stream.bin", SIZE);
    let stream = vec![7u8; (UNIT + UNIT / 4) as usize];
    let result = uploader::<D>(false, None).upload_to_session(
        resumable_core::SessionUrl::new(url),
        crate::Source::Stream(stream.clone()),
    );
    let Err(UploadError::Upload(Error::Source(SourceError::EndedEarly { total, held }))) = result
    else {
        panic!("{}: {result:?}", D::NAME)
    };
    assert_eq!((total, held), (stream.len() as u64, 2 * UNIT));
    let sent: Vec<_> = emu
        .request_log()
        .into_iter()
        .filter(|r| r.kind.is_upload_endpoint())
        .map(|r| r.content_range)
        .collect();
    assert_eq!(sent, [Some("bytes */*".to_owned())], "no byte was sent");
}

/// Uploads the file, changing it as `how` says at the first event `when`
/// picks; returns the uploader (with its checkpoint store) and the result.
fn upload_changing<D: crate::Driver>(
    emu: &EmulatorHandle,
    path: &Path,
    how: Change,
    when: fn(&resumable_core::Event) -> bool,
) -> (D, Result<resumable_core::Outcome, UploadError>) {
    let fired = std::sync::Arc::new(std::sync::Mutex::new(false));
    let (target, seen) = (path.to_owned(), std::sync::Arc::clone(&fired));
    let mut up = uploader::<D>(
        true,
        Some(Box::new(move |event| {
            let mut done = seen.lock().unwrap();
            if !*done && when(event) {
                *done = true;
                change(&target, how);
            }
        })),
    );
    let result = up.upload_file(&api(emu), path);
    assert!(*fired.lock().unwrap(), "the file was never changed");
    (up, result)
}

fn assert_changed(result: Result<resumable_core::Outcome, UploadError>) {
    assert!(
        matches!(result, Err(UploadError::ChangedDuringUpload)),
        "not a change: {result:?}"
    );
}

/// A file that grows, shrinks or is rewritten mid-upload ends the upload
/// unregistered; its checkpoint stays and names the file as it was, so
/// running again says it changed rather than mixing old and new bytes.
pub fn a_file_that_changes_mid_upload_ends_changed_and_unregistered<D: crate::Driver>() {
    for how in CHANGES {
        let emu = emulator("");
        let dir = tempfile::tempdir().unwrap();
        let path = file_in(dir.path(), &data(0));
        let (mut up, result) = upload_changing::<D>(
            &emu,
            &path,
            how,
            |e| matches!(e, resumable_core::Event::Persisted { offset, .. } if *offset == UNIT),
        );
        assert_changed(result);
        assert_eq!(emu.registrations(), 0, "{how:?}");
        assert!(emu.object_names().is_empty(), "{how:?}");
        let key = resumable_local::checkpoint_key(&api(&emu), &path);
        let kept = up.load_checkpoint(&key).unwrap().expect("checkpoint kept");
        assert_eq!(kept.persisted, UNIT, "{how:?}");
        assert!(
            matches!(up.upload_file(&api(&emu), &path), Err(UploadError::Changed)),
            "{how:?}"
        );
        assert_eq!(emu.registrations(), 0, "{how:?}");
    }
}

/// A file rewritten while its last chunk is on the way reaches the server
/// whole, but is no longer the file: it is not registered.
pub fn a_file_rewritten_during_its_last_chunk_is_not_registered<D: crate::Driver>() {
    let emu = emulator("");
    let dir = tempfile::tempdir().unwrap();
    let path = file_in(dir.path(), &data(0));
    let (_, result) = upload_changing::<D>(&emu, &path, Change::Rewrite, |e| {
        matches!(e, resumable_core::Event::Finalized { .. })
    });
    assert_changed(result);
    assert_eq!(emu.object_names().len(), 1);
    assert_eq!(emu.registrations(), 0);
}

/// One `#[test]` per case of this catalogue, run with `$driver`; the
/// unreadable file's child is among them, ignored unless run by its parent.
#[macro_export]
macro_rules! bad_input_tests {
    ($driver:ty) => {
        $crate::tests_of!($driver, bad_input:
            a_lying_server_ends_the_upload_with_its_typed_error,
            a_lying_tus_server_ends_the_upload_with_its_typed_error,
            a_lying_ietf_server_ends_the_upload_with_its_typed_error,
            bloated_bodies_under_the_cap_are_read,
            a_missing_file_or_a_directory_is_a_source_error_before_any_request,
            an_empty_file_is_refused_before_any_request,
            an_unreadable_file_is_a_source_error_before_any_request,
            #[ignore = "run as another user by an_unreadable_file_is_a_source_error_before_any_request"]
            unreadable_file_child,
            a_read_error_mid_upload_is_a_source_error,
            a_stream_shorter_than_the_session_holds_is_a_typed_source_error,
            a_file_that_changes_mid_upload_ends_changed_and_unregistered,
            a_file_rewritten_during_its_last_chunk_is_not_registered,
        );
    };
}
