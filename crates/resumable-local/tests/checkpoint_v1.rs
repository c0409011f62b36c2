//! Checkpoint files an older release (format 1) left on disk, read by
//! `FileCheckpointStore` and resumed: each goes on where it stopped, against a
//! server that holds what the emulator held when the file was written (see
//! `fixtures/README.md`), and is refused for another destination.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use bytes::Bytes;
use resumable_core::{
    Action, Body, Checkpoint, Chunking, Config, Error, FileApi, Fingerprint, Flow, Format1Flow,
    GcsInitiate, Outcome, Purpose, Request, Secret, SessionUrl, SourceError, Target, Upload,
};
use resumable_local::{CheckpointStore, FileCheckpointStore};

const SIZE: u64 = 787_432;
const UNIT: u64 = 256 * 1024;
const BASE: &str = "http://127.0.0.1:47801";
const BUCKET: &str = "resumable-emulator-uploads";

/// The file the fixtures were written for.
fn source() -> Vec<u8> {
    (0..SIZE)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

fn fingerprint() -> Fingerprint {
    Fingerprint {
        size: SIZE,
        modified: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600)),
    }
}

/// A minute after the fixtures were written: their sessions still live.
fn wall() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_179_145)
}

/// A store holding the fixture `name` under its own key, as the release
/// that wrote it left it; the key.
fn store_with(name: &str) -> (tempfile::TempDir, FileCheckpointStore, String) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read(&fixture).unwrap();
    let stored: serde_json::Value = serde_json::from_slice(&text).unwrap();
    let key = stored["key"].as_str().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let store = FileCheckpointStore::new(dir.path()).unwrap();
    std::fs::write(store.path_for(&key), &text).unwrap();
    (dir, store, key)
}

fn with_source(mut config: Config) -> Config {
    config.fingerprint = Some(fingerprint());
    config.chunking = Chunking::Fixed(UNIT);
    config
}

fn file_api(filename: &str) -> Config {
    with_source(Config::file_api(
        FileApi {
            api_base: BASE.into(),
            organization: "org_1".into(),
            api_key: Secret::new("test-key"),
            filename: filename.into(),
            mime_type: "video/mp4".into(),
        },
        SIZE,
    ))
}

fn gcs_initiate(endpoint: &str, object: &str) -> Config {
    let init = GcsInitiate {
        endpoint: endpoint.into(),
        bucket: BUCKET.into(),
        object: object.into(),
        content_type: Some("video/mp4".into()),
        bearer_token: Some(Secret::new("token")),
        ..Default::default()
    };
    with_source(Config::gcs_initiate(init, Some(SIZE)))
}

fn session(url: &str) -> Config {
    with_source(Config::gcs_session(SessionUrl::new(url), Some(SIZE)))
}

/// The server as the emulator was when the fixture was written: the
/// session holds the bytes the checkpoint says are persisted.
struct Server {
    session_url: String,
    stored: Vec<u8>,
    registered: Vec<String>,
}

fn response(status: u16, headers: &[(&str, String)], body: String) -> http::Response<Bytes> {
    let mut b = http::Response::builder().status(status);
    for (name, value) in headers {
        b = b.header(*name, value);
    }
    b.body(Bytes::from(body)).unwrap()
}

impl Server {
    fn answer(&mut self, req: &http::Request<Body>, source: &[u8]) -> http::Response<Bytes> {
        if req.uri().path().ends_with("/v1/organizations/org_1/files") {
            let Body::Json(json) = req.body() else {
                panic!("register without a body")
            };
            let json: serde_json::Value = serde_json::from_slice(json).unwrap();
            let gcs_path = json["gcs_path"].as_str().unwrap().to_owned();
            self.registered.push(gcs_path.clone());
            let file = serde_json::json!({"id": "file_1", "gcs_path": gcs_path});
            return response(201, &[], file.to_string());
        }
        assert_eq!(req.uri().to_string(), self.session_url);
        let range = req.headers()["content-range"].to_str().unwrap();
        let (span, total) = range
            .strip_prefix("bytes ")
            .and_then(|r| r.split_once('/'))
            .unwrap();
        assert_eq!(total, SIZE.to_string());
        if let Some((start, end)) = span.split_once('-') {
            let (start, end): (usize, usize) = (start.parse().unwrap(), end.parse().unwrap());
            assert!(start <= self.stored.len(), "bytes skipped");
            self.stored
                .extend_from_slice(&source[self.stored.len()..=end]);
        }
        if self.stored.len() as u64 == SIZE {
            let crc = crc32c::crc32c(&self.stored).to_be_bytes();
            let object = serde_json::json!({
                "name": "object", "bucket": BUCKET, "size": SIZE.to_string(),
                "crc32c": base64::engine::general_purpose::STANDARD.encode(crc),
            });
            return response(200, &[], object.to_string());
        }
        let persisted = format!("bytes=0-{}", self.stored.len() - 1);
        response(308, &[("range", persisted)], String::new())
    }
}

/// Resumes the checkpoint in `store` under `key` with `config` and drives it
/// to its end against `server`, saving each checkpoint it writes in `store`:
/// the purposes of its requests, in order, and how it ended.
fn resume(
    store: &mut FileCheckpointStore,
    key: &str,
    config: Config,
    server: &mut Server,
) -> (Vec<Purpose>, Result<Outcome, Error>) {
    let checkpoint = store.load(key).unwrap().unwrap();
    let data = source();
    let now = Instant::now();
    let mut up = Upload::resume(config, checkpoint, now, wall()).unwrap();
    let mut purposes = Vec::new();
    for _ in 0..50 {
        match up.poll_action(now) {
            Action::Send(Request {
                id, purpose, http, ..
            }) => {
                if let Body::Source(r) = http.body() {
                    up.feed_checksum(r.start, &data[r.start as usize..r.end as usize]);
                }
                purposes.push(purpose);
                let answer = server.answer(&http, &data);
                up.handle_response(id, answer, now).unwrap();
            }
            Action::Checksum(r) => {
                up.feed_checksum(r.start, &data[r.start as usize..r.end as usize]);
            }
            Action::Checkpoint(cp) => store.save(key, &cp).unwrap(),
            // Kept, so the test can read what the upload wrote last.
            Action::RemoveCheckpoint => {}
            Action::Done(outcome) => return (purposes, Ok(outcome)),
            Action::Failed(error) => return (purposes, Err(error)),
            other => panic!("unexpected {other:?}"),
        }
    }
    panic!("did not end")
}

fn refused(store: &mut FileCheckpointStore, key: &str, config: Config) -> &'static str {
    let checkpoint = store.load(key).unwrap().unwrap();
    match Upload::resume(config, checkpoint, Instant::now(), wall()) {
        Err(Error::Source(SourceError::CheckpointMismatch(why))) => why,
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(_) => panic!("resumed"),
    }
}

/// A fixture in a store of its own, with a server holding what it says is persisted.
struct Stopped {
    _dir: tempfile::TempDir,
    store: FileCheckpointStore,
    key: String,
    url: String,
    server: Server,
}

/// The fixture `name`, checked to be format 1's checkpoint of a `flow`
/// upload that persisted `persisted` bytes.
fn stopped(name: &str, flow: Format1Flow, persisted: u64) -> Stopped {
    let (dir, mut store, key) = store_with(name);
    let cp: Checkpoint = store.load(&key).unwrap().unwrap();
    assert_eq!((cp.format, cp.persisted), (1, persisted));
    assert!(matches!(cp.flow, Flow::Format1 { flow: f, .. } if f == flow));
    let url = cp.session.unwrap().upload_url.expose().to_owned();
    let server = Server {
        session_url: url.clone(),
        stored: source()[..persisted as usize].to_vec(),
        registered: Vec::new(),
    };
    Stopped {
        _dir: dir,
        store,
        key,
        url,
        server,
    }
}

impl Stopped {
    fn resume(&mut self, config: Config) -> (Vec<Purpose>, Result<Outcome, Error>) {
        resume(&mut self.store, &self.key, config, &mut self.server)
    }

    fn refused(&mut self, config: Config) -> &'static str {
        refused(&mut self.store, &self.key, config)
    }
}

const FILE_API_TRANSFER: &str = "checkpoint-v1-file-api-transfer.json";
const FILE_API_REGISTER: &str = "checkpoint-v1-file-api-register.json";
const GCS_INITIATE: &str = "checkpoint-v1-gcs-initiate-transfer.json";
const GCS_SESSION: &str = "checkpoint-v1-gcs-session-transfer.json";

#[test]
fn a_file_api_upload_stopped_mid_transfer_resumes_with_a_status_query() {
    let mut s = stopped(FILE_API_TRANSFER, Format1Flow::FileApi, 2 * UNIT);
    let (purposes, end) = s.resume(file_api("clip.mp4"));
    assert_eq!(
        purposes,
        [
            Purpose::Query,
            Purpose::Chunk,
            Purpose::Chunk,
            Purpose::Register
        ]
    );
    assert_eq!(end.unwrap().file.unwrap().id, "file_1");
    assert_eq!(s.server.stored, source());
    assert_eq!(
        s.server.registered,
        ["files/org_1/file_klmfai2ry2gy/clip.mp4"]
    );
    // What it wrote on the way is the current format, with typed fields.
    let last = s.store.load(&s.key).unwrap().unwrap();
    assert_eq!(last.format, resumable_core::CHECKPOINT_FORMAT);
    assert!(matches!(&last.flow, Flow::FileApi { filename, .. } if filename == "clip.mp4"));

    let mut s = stopped(FILE_API_TRANSFER, Format1Flow::FileApi, 2 * UNIT);
    assert_eq!(
        s.refused(file_api("other.mp4")),
        "written for another destination"
    );
    assert_eq!(
        s.refused(gcs_initiate(BASE, "clip.mp4")),
        "written by another kind of upload"
    );
}

#[test]
fn a_file_api_upload_waiting_to_register_resumes_with_the_register() {
    let mut s = stopped(FILE_API_REGISTER, Format1Flow::FileApi, SIZE);
    let (purposes, end) = s.resume(file_api("clip.mp4"));
    assert_eq!(purposes, [Purpose::Register]);
    let outcome = end.unwrap();
    assert_eq!(outcome.object.size, SIZE);
    assert_eq!(outcome.crc32c, Some(crc32c::crc32c(&source())));
    assert_eq!(
        s.server.registered,
        ["files/org_1/file_bmdiiurxfoju/clip.mp4"]
    );

    let mut s = stopped(FILE_API_REGISTER, Format1Flow::FileApi, SIZE);
    let mut other_type = file_api("clip.mp4");
    if let Target::FileApi(api) = &mut other_type.target {
        api.mime_type = "video/webm".into();
    }
    assert_eq!(s.refused(other_type), "written for another destination");
}

#[test]
fn an_initiated_gcs_upload_stopped_mid_transfer_resumes_with_a_status_query() {
    let mut s = stopped(GCS_INITIATE, Format1Flow::Gcs, UNIT);
    // A trailing `/` of the endpoint was never part of the destination.
    let (purposes, end) = s.resume(gcs_initiate(&format!("{BASE}/"), "backups/clip.mp4"));
    assert_eq!(
        purposes,
        [
            Purpose::Query,
            Purpose::Chunk,
            Purpose::Chunk,
            Purpose::Chunk
        ]
    );
    assert_eq!(end.unwrap().object.size, SIZE);
    assert_eq!(s.server.stored, source());

    let mut s = stopped(GCS_INITIATE, Format1Flow::Gcs, UNIT);
    assert_eq!(
        s.refused(gcs_initiate(BASE, "backups/other.mp4")),
        "written for another destination"
    );
    let url = s.url.clone();
    assert_eq!(s.refused(session(&url)), "written for another destination");
}

#[test]
fn a_bare_session_upload_stopped_mid_transfer_resumes_with_a_status_query() {
    let mut s = stopped(GCS_SESSION, Format1Flow::Gcs, 2 * UNIT);
    let url = s.url.clone();
    let (purposes, end) = s.resume(session(&url));
    assert_eq!(purposes, [Purpose::Query, Purpose::Chunk, Purpose::Chunk]);
    assert_eq!(end.unwrap().object.size, SIZE);
    assert_eq!(s.server.stored, source());

    let mut s = stopped(GCS_SESSION, Format1Flow::Gcs, 2 * UNIT);
    let other = url.replace("upload_id=", "upload_id=x");
    assert_eq!(
        s.refused(session(&other)),
        "written for another destination"
    );
}

#[test]
fn every_fixture_is_listed_by_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileCheckpointStore::new(dir.path()).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(fixtures).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            names.push(path.file_name().unwrap().to_owned());
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    assert_eq!(names.len(), 4);
    assert!(store.unreadable().unwrap().is_empty());
    let listed = store.list().unwrap();
    assert_eq!(listed.len(), 4);
    assert!(listed.iter().all(|(_, cp)| cp.format == 1));
}
