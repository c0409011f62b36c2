//! The bytes get there: whole, once, whatever the size, the faults on the
//! way and the kind of source.

use std::io::Write as _;
use std::time::Duration;

use resumable_core::{Error, GcsInitiate, Preconditions, Secret, SessionUrl};
use resumable_emulator::{Emulator, RequestKind, Storage};
use resumable_local::{FileApiTarget, UploadError};

use super::{
    KEY, UNIT, api, assert_key_stayed_home, data, emulator, gcs_path, setup, uploader, write_file,
};
use crate::{Driver, Setup, Source, Wire};

/// Timeouts short enough for a stalled request to be given up on within a
/// test: connecting, and no byte moving.
fn short_timeouts() -> Wire {
    Wire::Timeouts {
        connect: Duration::from_secs(5),
        stall: Duration::from_millis(500),
    }
}

/// Sizes around the chunk size, each registered once with its bytes, size
/// and CRC32C. Guards the resumable protocol's framing (a file that is an
/// exact multiple of the chunk size ends with a chunk naming the total,
/// every final chunk carries its `X-Goog-Hash`) and the rule that the API
/// key goes to the file API only, never to the upload host.
pub fn every_boundary_size_round_trips_and_the_key_stays_home<D: Driver>() {
    let emu = emulator("");
    let dir = tempfile::tempdir().unwrap();
    let mut up = uploader::<D>();
    let sizes = [1, UNIT - 1, UNIT, UNIT + 1, 3 * UNIT];
    for (i, &size) in sizes.iter().enumerate() {
        let bytes = data(size, i as u32);
        let name = format!("file-{size}.bin");
        let path = write_file(dir.path(), &name, &bytes);
        let outcome = up.upload_file(&api(&emu), &path).unwrap();
        let file = outcome.file.as_ref().unwrap();
        assert!(file.id.starts_with("file"), "{file:?}");
        assert_eq!(file.fields["filename"], name.as_str());
        assert_eq!(file.fields["mime_type"], "application/octet-stream");
        assert_eq!(outcome.object.size, size);
        assert_eq!(outcome.crc32c, Some(crc32c::crc32c(&bytes)));
        assert_eq!(
            emu.object_bytes(&gcs_path(&outcome)).unwrap(),
            bytes,
            "{}: size {size}",
            D::NAME
        );
    }
    assert_eq!(emu.registrations(), sizes.len() as u64);
    assert_eq!(emu.sessions_created(), sizes.len() as u64);
    assert_key_stayed_home(&emu);
    let log = emu.request_log();
    let hashed = log.iter().filter(|r| r.x_goog_hash.is_some()).count();
    assert_eq!(hashed, sizes.len(), "every final chunk carried its CRC32C");
    let last_chunk = log
        .iter()
        .rfind(|r| matches!(r.kind, RequestKind::Chunk | RequestKind::Final))
        .unwrap();
    assert_eq!(
        last_chunk.content_range.as_deref(),
        Some("bytes 524288-786431/786432")
    );
}

/// The File's MIME type is guessed from the file's extension unless the
/// target names one, and its name is the file's unless the target names
/// one.
pub fn the_mime_type_is_guessed_and_the_name_can_be_set<D: Driver>() {
    let emu = emulator("");
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "clip.mp4", &data(1000, 1));
    let outcome = uploader::<D>().upload_file(&api(&emu), &path).unwrap();
    assert_eq!(outcome.file.unwrap().fields["mime_type"], "video/mp4");
    let target = FileApiTarget {
        filename: Some("renamed.txt".into()),
        mime_type: Some("text/plain".into()),
        ..api(&emu)
    };
    let outcome = uploader::<D>().upload_file(&target, &path).unwrap();
    let file = outcome.file.unwrap();
    assert_eq!(file.fields["filename"], "renamed.txt");
    assert_eq!(file.fields["mime_type"], "text/plain");
}

/// Every fault the emulator scripts, on every kind of request, survived:
/// retried (5xx, 408, 429 with `Retry-After`), asked about with a status
/// query (resets, lost answers, short persists, a missing `Range`, a stall
/// past the timeout), or restarted in a new session (killed, expired), with
/// the bytes intact, one File registered, and the key kept from the upload
/// host. Guards the recovery rules of the GCS resumable protocol.
pub fn every_scripted_fault_is_survived_with_the_bytes_intact<D: Driver>() {
    // (fault spec, session restarts it causes)
    let cases = [
        ("chunk#2 status=503", 0),
        ("chunk#1 status=429 retry-after=1", 0),
        ("chunk#1 status=408", 0),
        ("put#3 status=500 after=256KiB", 0),
        ("put#2 reset after=100000", 0),
        ("request#4 reset after=100000", 0),
        ("chunk#2 reset after=300KiB", 0),
        ("final#1 drop-response", 0),
        ("final#1 status=503 after=1KiB", 0),
        ("final#1 status=504", 0),
        ("chunk#2 short=256KiB", 0),
        ("chunk#1 no-range", 0),
        ("chunk#1 status=503; query#1 no-range", 0),
        ("chunk#2 status=503; query#1 status=502", 0),
        ("chunk override-308", 0),
        ("chunk#2 stall=1500ms", 0),
        ("chunk#2 expire", 1),
        ("chunk#3 expire", 1),
        ("chunk#2 kill", 1),
        ("chunk#1 kill session=1; chunk#2 status=503 session=2", 1),
        ("register#1 status=503", 0),
        ("register#1 drop-response", 0),
        ("upload-url#1 status=500", 0),
        ("upload-url#1 status=502", 0),
        ("upload-url#1 reset", 0),
    ];
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(4 * UNIT + 5, 7);
    let path = write_file(dir.path(), "faults.mp4", &bytes);
    for (spec, restarts) in cases {
        let emu = emulator(spec);
        let outcome = D::build(Setup {
            wire: short_timeouts(),
            ..setup()
        })
        .upload_file(&api(&emu), &path)
        .unwrap_or_else(|e| panic!("{} {spec}: {e}", D::NAME));
        assert_eq!(outcome.restarts, restarts, "{spec}");
        let object = gcs_path(&outcome);
        assert_eq!(emu.object_bytes(&object).unwrap(), bytes, "{spec}");
        assert_eq!(emu.object(&object).unwrap().content_type, "video/mp4");
        assert_eq!(emu.registrations(), 1, "{spec}: registered once");
        assert_eq!(emu.files().len(), 1, "{spec}: one File");
        assert_key_stayed_home(&emu);
        // A stalled request is logged only when it ends, after the upload
        // gave up on it and went on with a status query.
        let log = emu.request_log();
        assert!(
            log.iter()
                .any(|r| r.fault.is_some() || r.kind == RequestKind::Query),
            "{spec}: the fault fired: {log:#?}"
        );
    }
}

/// A server that stops reading mid-chunk is given up on at the stall
/// timeout, asked what it holds, and the upload goes on in the same
/// session: a hung connection must not hang the upload.
pub fn a_stalled_server_times_out_and_the_upload_goes_on<D: Driver>() {
    let emu = emulator("chunk#1 stall=3s");
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(2 * UNIT, 3);
    let path = write_file(dir.path(), "stall.bin", &bytes);
    let outcome = D::build(Setup {
        wire: short_timeouts(),
        ..setup()
    })
    .upload_file(&api(&emu), &path)
    .unwrap();
    assert_eq!(emu.object_bytes(&gcs_path(&outcome)).unwrap(), bytes);
    assert_eq!((outcome.restarts, emu.sessions_created()), (0, 1));
    assert_eq!(emu.registrations(), 1);
    let kinds: Vec<_> = emu.request_log().iter().map(|r| r.kind).collect();
    assert!(kinds.contains(&RequestKind::Query), "{kinds:?}");
}

/// An answer cut short (a truncated body, a closed connection) on any
/// request is asked again, and the upload ends with one File: a partial
/// response is never read as a whole one.
pub fn answers_cut_short_are_asked_again_and_the_upload_ends_well<D: Driver>() {
    let specs = [
        "final#1 cut=0",
        "final#1 cut=25",
        "final#1 cut-close=25",
        "chunk#2 cut-close=0",
        "chunk#1 status=503; query#1 cut-close=3",
        "upload-url#1 cut=10",
        "upload-url#1 cut-close=10",
        "register#1 cut=0",
        "register#1 cut-close=4",
    ];
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(3 * UNIT + 1000, 19);
    let path = write_file(dir.path(), "cut.bin", &bytes);
    for spec in specs {
        let emu = emulator(spec);
        let outcome = uploader::<D>()
            .upload_file(&api(&emu), &path)
            .unwrap_or_else(|e| panic!("{} {spec}: {e}", D::NAME));
        let object = gcs_path(&outcome);
        assert_eq!(emu.object_bytes(&object).unwrap(), bytes, "{spec}");
        assert_eq!(emu.registrations(), 1, "{spec}: registered once");
        assert_eq!(emu.files().len(), 1, "{spec}: one File");
        assert!(
            emu.request_log().iter().any(|r| r.outcome == "fault-cut"),
            "{spec}: the fault fired"
        );
    }
}

/// Writes `size` pseudo-random bytes to a file, one block at a time, and
/// returns their CRC32C.
fn write_generated(path: &std::path::Path, size: u64) -> u32 {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut block = vec![0u8; 1 << 20];
    let mut crc = 0;
    let mut left = size;
    while left > 0 {
        for word in block.chunks_mut(8) {
            // xorshift64: cheap, and no two blocks are alike.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes()[..word.len()]);
        }
        let n = usize::try_from(left.min(block.len() as u64)).unwrap();
        crc = crc32c::crc32c_append(crc, &block[..n]);
        file.write_all(&block[..n]).unwrap();
        left -= n as u64;
    }
    file.flush().unwrap();
    crc
}

/// A 100 MiB file (and a ragged end) with the default chunking arrives
/// whole, in the server's recommended 5 MiB chunks, checked by the size and
/// CRC32C the emulator computed: a long upload neither drifts nor holds the
/// file in memory.
pub fn a_hundred_mebibyte_file_arrives_whole<D: Driver>() {
    const SIZE: u64 = 100 * 1024 * 1024 + 12_345;
    let emu = Emulator::builder()
        .api_key(KEY)
        .storage(Storage::Sink)
        .start_in_background()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.bin");
    let crc = write_generated(&path, SIZE);
    let outcome = D::build(Setup::default())
        .upload_file(&api(&emu), &path)
        .unwrap();
    assert_eq!(outcome.crc32c, Some(crc));
    let object = emu.object(&gcs_path(&outcome)).unwrap();
    assert_eq!((object.size, object.crc32c), (SIZE, crc));
    let chunks = emu
        .request_log()
        .iter()
        .filter(|r| r.kind.is_upload_endpoint())
        .count();
    assert_eq!(chunks, 21, "5 MiB chunks");
}

/// A transfer's start is told before its first data request goes (a
/// progress display counts from it): when `Event::TransferStarted` reaches
/// the callback, no data request has been sent yet.
pub fn the_transfer_start_is_told_before_the_first_data_request<D: Driver>() {
    let emu = emulator("");
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "start.bin", &data(3 * UNIT, 5));
    let notes = crate::Notes::default();
    // For each start told: how many data requests had gone by then.
    let starts = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (seen, noted) = (std::sync::Arc::clone(&starts), notes.clone());
    let on_event: crate::OnEvent = Box::new(move |event| {
        if let resumable_core::Event::TransferStarted { offset, .. } = event {
            let data_requests = noted
                .all()
                .iter()
                .filter(|n| {
                    n.content_range
                        .as_deref()
                        .is_some_and(|r| !r.starts_with("bytes */"))
                })
                .count();
            seen.lock().unwrap().push((*offset, data_requests));
        }
    });
    let mut up = D::build(Setup {
        on_event: Some(on_event),
        wire: Wire::Noting { to: None, notes },
        ..setup()
    });
    up.upload_file(&api(&emu), &path).unwrap();
    assert_eq!(
        *starts.lock().unwrap(),
        [(0, 0)],
        "told once, from 0, before any data request"
    );
}

/// Streams of unknown length, empty ones and exact multiples of the chunk
/// size included, each with a retried chunk, upload through an initiated
/// GCS session. Every request is sized before it is sent (the source is
/// read a chunk and a byte ahead, the total found at its end), so none is
/// `Transfer-Encoding: chunked`; the bearer token goes to the initiation
/// only.
pub fn streams_of_unknown_length_upload_through_an_initiated_session<D: Driver>() {
    let emu = emulator("");
    for (i, len) in [0, 1, UNIT, UNIT + 1, 2 * UNIT, 2 * UNIT + 1, 3 * UNIT]
        .into_iter()
        .enumerate()
    {
        let bytes = data(len, 20 + i as u32);
        let object = format!("streams/s-{len}");
        let init = GcsInitiate {
            endpoint: emu.base_url().to_owned(),
            bucket: emu.bucket().to_owned(),
            object: object.clone(),
            content_type: Some("application/x-tar".into()),
            bearer_token: Some(Secret::new("token")),
            ..Default::default()
        };
        emu.add_faults("chunk#2 status=503").unwrap();
        let outcome = uploader::<D>()
            .upload_gcs(init, Source::Stream(bytes.clone()))
            .unwrap_or_else(|e| panic!("{} size {len}: {e}", D::NAME));
        emu.clear_faults();
        assert_eq!(outcome.object.size, len);
        assert_eq!(emu.object_bytes(&object).unwrap(), bytes, "size {len}");
    }
    let log = emu.request_log();
    assert!(log.iter().all(|r| !r.x_api_key));
    let puts: Vec<_> = log.iter().filter(|r| r.method == "PUT").collect();
    assert!(!puts.is_empty());
    for r in puts {
        assert!(!r.chunked && r.content_length.is_some(), "{r:?}");
    }
    for r in &log {
        assert_eq!(
            r.authorization,
            r.kind == RequestKind::Initiate,
            "the token goes to initiate only: {r:?}"
        );
    }
}

/// A session initiated with nothing but bucket and object (no token, no
/// content type), and a session URL handed over raw (here from the file
/// API's upload-url call), each take the bytes: the drivers need nothing
/// but the URL to upload to a session.
pub fn a_bare_initiation_and_a_raw_session_url_upload_bytes<D: Driver>() {
    let emu = emulator("");
    let init = GcsInitiate {
        endpoint: emu.base_url().to_owned(),
        bucket: emu.bucket().to_owned(),
        object: "raw.bin".into(),
        content_type: None,
        bearer_token: None,
        ..Default::default()
    };
    let bytes = data(2 * UNIT + 7, 31);
    uploader::<D>()
        .upload_gcs(init, Source::Bytes(bytes.clone()))
        .unwrap();
    assert_eq!(emu.object_bytes("raw.bin").unwrap(), bytes);

    let bytes = data(3 * UNIT + 11, 32);
    let (url, gcs_path) = session_of_the_file_api(&emu, "handed.bin", bytes.len() as u64);
    let outcome = uploader::<D>()
        .upload_to_session(SessionUrl::new(url), Source::Bytes(bytes.clone()))
        .unwrap();
    assert_eq!(outcome.object.size, bytes.len() as u64);
    assert!(outcome.file.is_none(), "nothing registers a raw session");
    assert_eq!(emu.object_bytes(&gcs_path).unwrap(), bytes);
    assert_eq!(emu.registrations(), 0);
}

/// A session for `filename` of `size` bytes, asked of `emu`'s file API by
/// hand: its upload URL and `gcs_path`.
pub fn session_of_the_file_api(
    emu: &resumable_emulator::EmulatorHandle,
    filename: &str,
    size: u64,
) -> (String, String) {
    let body = serde_json::json!({
        "filename": filename,
        "file_size": size,
        "mime_type": "application/octet-stream",
    });
    let mut answer = ureq::post(format!(
        "{}/v1/organizations/org_1/files/upload-url",
        emu.base_url()
    ))
    .header("X-API-Key", emu.api_key())
    .header("Content-Type", "application/json")
    .send(body.to_string())
    .unwrap();
    let session: serde_json::Value =
        serde_json::from_str(&answer.body_mut().read_to_string().unwrap()).unwrap();
    let field = |name: &str| session[name].as_str().unwrap().to_owned();
    (field("upload_url"), field("gcs_path"))
}

/// `ifGenerationMatch=0` creates the object once and never overwrites it:
/// the second initiation's 412 is final (not retried, nothing sent after
/// it), and the object keeps the first upload's bytes and generation.
pub fn if_generation_match_0_uploads_once_and_never_overwrites<D: Driver>() {
    let emu = emulator("");
    let init = || GcsInitiate {
        endpoint: emu.base_url().to_owned(),
        bucket: emu.bucket().to_owned(),
        object: "once.bin".into(),
        preconditions: Preconditions {
            if_generation_match: Some(0),
            ..Default::default()
        },
        ..Default::default()
    };
    let first = data(2 * UNIT + 5, 41);
    let outcome = uploader::<D>()
        .upload_gcs(init(), Source::Bytes(first.clone()))
        .unwrap();
    let second = data(UNIT, 42);
    let error = uploader::<D>()
        .upload_gcs(init(), Source::Stream(second))
        .unwrap_err();
    assert!(
        matches!(error, UploadError::Upload(Error::PreconditionFailed { .. })),
        "{error}"
    );
    assert_eq!(emu.object_bytes("once.bin").unwrap(), first);
    let generation = emu.object("once.bin").unwrap().generation.to_string();
    assert_eq!(outcome.object.generation, Some(generation));
    let log = emu.request_log();
    let last = log.last().unwrap();
    assert_eq!((last.kind, last.status), (RequestKind::Initiate, Some(412)));
    let initiates = log
        .iter()
        .filter(|r| r.kind == RequestKind::Initiate)
        .count();
    assert_eq!(initiates, 2);
}

/// A wrong API key is the file API's 401, with its message, final (nothing
/// registered), and neither the error's text nor its `Debug` shows the key.
pub fn a_wrong_api_key_is_an_api_error_that_never_shows_the_key<D: Driver>() {
    let emu = emulator("");
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "a.bin", b"abc");
    let target = FileApiTarget {
        api_key: Secret::new("wrong-key-3f9a"),
        ..api(&emu)
    };
    let err = uploader::<D>().upload_file(&target, &path).unwrap_err();
    match &err {
        UploadError::Upload(Error::Api {
            status: 401,
            message,
        }) => assert!(!message.is_empty()),
        other => panic!("{}: {other:?}", D::NAME),
    }
    assert!(
        !format!("{err} {err:?}").contains("wrong-key-3f9a"),
        "the key never shows: {err:?}"
    );
    assert_eq!(emu.registrations(), 0);
}

/// A file larger than the file API accepts is refused by it (413, or the
/// session's `max_file_size`) before any byte goes to the upload host.
pub fn a_file_larger_than_the_api_accepts_is_refused_before_any_byte<D: Driver>() {
    let emu = Emulator::builder()
        .api_key(KEY)
        .storage(Storage::Memory)
        .max_file_size(2)
        .start_in_background()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "a.bin", b"abc");
    let err = uploader::<D>().upload_file(&api(&emu), &path).unwrap_err();
    assert!(
        matches!(
            err,
            UploadError::Upload(Error::Api { status: 413, .. } | Error::FileTooLarge { .. })
        ),
        "{err}"
    );
    assert!(
        emu.request_log()
            .iter()
            .all(|r| !r.kind.is_upload_endpoint()),
        "no byte was sent"
    );
    assert_eq!(emu.registrations(), 0);
}
