//! An IO-free simulated file API + GCS resumable server, with scripted faults
//! and a virtual clock, and a driver loop that pumps the core against it.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{Method, Response};
use resumable_core::header::content_range::ContentRange;
use resumable_core::header::goog_hash::{self, GoogHash};
use resumable_core::timestamp::format_rfc3339;
use resumable_core::{
    Action, Body, Checkpoint, Config, Error, Event, FileApi, Outcome, Purpose, Secret,
    TransportErrorKind, Upload,
};

pub const UNIT: u64 = 256 * 1024;
pub const API: &str = "https://api.sim";
pub const KEY: &str = "sk-sim-key";

/// What the server does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Behave.
    None,
    /// Answer this status without processing (`Retry-After` seconds if given).
    Status(u16, Option<u64>),
    /// Process the request, then answer this status instead of the real one.
    StatusAfter(u16),
    /// The connection resets before the server sees the request.
    Reset,
    /// The server processes the request, the answer is lost (reset).
    LostResponse,
    /// Persist only this many 256 KiB units of the new bytes of a chunk.
    PersistUnits(u64),
    /// Answer a 308 as `200` + `X-Http-Status-Code-Override: 308`.
    Override308,
    /// The session disappears before this request (404).
    KillSession,
    /// Process the request, then answer with the real answer's body cut to
    /// this many bytes (a whole message: its length says so).
    CutBody(usize),
}

#[derive(Debug, Default)]
pub struct SimSession {
    pub data: Vec<u8>,
    pub total: Option<u64>,
    pub finalized: bool,
    pub gone: bool,
    pub gcs_path: String,
    pub mime: String,
    pub expires_at: Option<SystemTime>,
}

/// Protocol rules the simulated server saw the client break.
#[derive(Debug, Default, Clone)]
pub struct Violations(pub Vec<String>);

#[derive(Default)]
pub struct Server {
    pub sessions: HashMap<String, SimSession>,
    pub objects: HashMap<String, Vec<u8>>,
    pub registrations: Vec<String>,
    pub files: HashMap<String, String>,
    pub violations: Violations,
    pub requests: u64,
    pub bytes_received: u64,
    pub next_session: u64,
    /// Sessions live this long (virtual wall time).
    pub session_lifetime: Duration,
}

pub enum Reply {
    Response(Response<Bytes>),
    Transport(TransportErrorKind),
}

fn reply(status: u16) -> http::response::Builder {
    Response::builder()
        .status(status)
        .header("x-guploader-uploadid", "sim-upload-1")
}

fn json(status: u16, body: String) -> Reply {
    Reply::Response(
        reply(status)
            .header("content-type", "application/json")
            .body(Bytes::from(body))
            .unwrap(),
    )
}

fn cut_body(reply: Reply, n: usize) -> Reply {
    match reply {
        Reply::Response(r) => {
            let (parts, body) = r.into_parts();
            let cut = body.slice(..n.min(body.len()));
            Reply::Response(Response::from_parts(parts, cut))
        }
        other => other,
    }
}

fn range_308(persisted: u64, override308: bool) -> Reply {
    let mut r = if override308 {
        reply(200).header("x-http-status-code-override", "308")
    } else {
        reply(308)
    };
    if persisted > 0 {
        r = r.header("range", format!("bytes=0-{}", persisted - 1));
    }
    Reply::Response(r.body(Bytes::new()).unwrap())
}

impl Server {
    pub fn new() -> Self {
        Self {
            session_lifetime: Duration::from_secs(7 * 24 * 3600),
            ..Self::default()
        }
    }

    /// A session URL for a raw GCS upload.
    pub fn open_session(&mut self, total: Option<u64>) -> String {
        self.next_session += 1;
        let url = format!(
            "https://upload.sim/upload/o?name=obj&upload_id=sess{}",
            self.next_session
        );
        self.sessions.insert(
            url.clone(),
            SimSession {
                total,
                gcs_path: format!("raw/obj{}", self.next_session),
                ..SimSession::default()
            },
        );
        url
    }

    pub fn violation(&mut self, v: String) {
        self.violations.0.push(v);
    }

    /// Serves one request. `body` is the bytes the client streamed.
    pub fn serve(
        &mut self,
        req: &http::Request<Body>,
        body: &[u8],
        fault: Fault,
        wall: SystemTime,
    ) -> Reply {
        self.requests += 1;
        self.bytes_received += body.len() as u64;
        let uri = req.uri().to_string();
        if uri.starts_with(API) {
            if req.headers().get("x-api-key").and_then(|v| v.to_str().ok()) != Some(KEY) {
                return json(401, r#"{"detail":"bad key"}"#.into());
            }
            match fault {
                Fault::Status(s, ra) => return self.status_fault(s, ra),
                Fault::Reset => return Reply::Transport(TransportErrorKind::Reset),
                _ => {}
            }
            let real = if uri.ends_with("/files/upload-url") {
                self.create_session(body, wall)
            } else if uri.ends_with("/files") {
                self.register(body)
            } else {
                json(404, "{}".into())
            };
            return match fault {
                Fault::LostResponse => Reply::Transport(TransportErrorKind::Reset),
                Fault::StatusAfter(s) => json(s, "{}".into()),
                Fault::CutBody(n) => cut_body(real, n),
                _ => real,
            };
        }
        if req.headers().contains_key("x-api-key") {
            self.violation("X-API-Key sent to the upload host".into());
        }
        if fault == Fault::KillSession
            && let Some(s) = self.sessions.get_mut(&uri)
        {
            s.gone = true;
        }
        match fault {
            Fault::Status(s, ra) => return self.status_fault(s, ra),
            Fault::Reset => return Reply::Transport(TransportErrorKind::Reset),
            _ => {}
        }
        let real = self.serve_upload(req, &uri, body, fault, wall);
        match fault {
            Fault::LostResponse => Reply::Transport(TransportErrorKind::Reset),
            Fault::StatusAfter(s) => json(s, "{}".into()),
            Fault::CutBody(n) => cut_body(real, n),
            _ => real,
        }
    }

    fn status_fault(&self, status: u16, retry_after: Option<u64>) -> Reply {
        let mut r = reply(status);
        if let Some(secs) = retry_after {
            r = r.header("retry-after", secs.to_string());
        }
        Reply::Response(
            r.body(Bytes::from_static(
                b"{\"error\":{\"message\":\"injected\"}}",
            ))
            .unwrap(),
        )
    }

    fn create_session(&mut self, body: &[u8], wall: SystemTime) -> Reply {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap();
        let size = v["file_size"].as_u64().unwrap();
        let name = v["filename"].as_str().unwrap().to_owned();
        let url = self.open_session(Some(size));
        let expires = wall + self.session_lifetime;
        let file_id = format!("file_{}", self.next_session);
        let gcs_path = format!("files/org/{file_id}/{name}");
        let s = self.sessions.get_mut(&url).unwrap();
        s.gcs_path = gcs_path.clone();
        s.mime = v["mime_type"].as_str().unwrap().to_owned();
        s.expires_at = Some(expires);
        json(
            200,
            serde_json::json!({
                "upload_url": url, "gcs_path": gcs_path, "file_id": file_id,
                "expires_at": format_rfc3339(expires), "max_file_size": 5_368_709_120u64,
                "upload_type": "resumable", "chunk_size_recommended": 5_242_880u64,
            })
            .to_string(),
        )
    }

    fn register(&mut self, body: &[u8]) -> Reply {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap();
        let path = v["gcs_path"].as_str().unwrap().to_owned();
        let Some(obj) = self.objects.get(&path) else {
            return json(404, r#"{"detail":"object not found"}"#.into());
        };
        if obj.len() as u64 != v["file_size"].as_u64().unwrap() {
            return json(409, r#"{"detail":"size mismatch"}"#.into());
        }
        self.registrations.push(path.clone());
        let n = self.files.len() + 1;
        let id = self
            .files
            .entry(path.clone())
            .or_insert_with(|| format!("file_reg{n}"))
            .clone();
        json(
            201,
            serde_json::json!({"id": id, "gcs_path": path}).to_string(),
        )
    }

    fn final_object(&mut self, uri: &str) -> Reply {
        let s = &self.sessions[uri];
        let crc = crc32c::crc32c(&s.data);
        let body = serde_json::json!({
            "kind": "storage#object", "name": s.gcs_path, "bucket": "sim",
            "size": s.data.len().to_string(), "crc32c": goog_hash::encode_crc32c(crc),
        });
        Reply::Response(
            reply(200)
                .header("x-goog-hash", goog_hash::crc32c_header(crc))
                .body(Bytes::from(body.to_string()))
                .unwrap(),
        )
    }

    fn serve_upload(
        &mut self,
        req: &http::Request<Body>,
        uri: &str,
        body: &[u8],
        fault: Fault,
        wall: SystemTime,
    ) -> Reply {
        let Some(s) = self.sessions.get(uri) else {
            return json(404, "{}".into());
        };
        if s.gone {
            return json(404, "{}".into());
        }
        if s.expires_at.is_some_and(|t| t <= wall) {
            return json(410, "{}".into());
        }
        if req.method() == Method::DELETE {
            self.sessions.get_mut(uri).unwrap().gone = true;
            return Reply::Response(reply(499).body(Bytes::new()).unwrap());
        }
        let cl: u64 = req.headers()["content-length"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        if cl != body.len() as u64 {
            self.violations
                .0
                .push(format!("content-length {cl} but body {}", body.len()));
        }
        let cr = ContentRange::parse(req.headers()["content-range"].as_bytes()).unwrap();
        let s = self.sessions.get_mut(uri).unwrap();
        let override308 = fault == Fault::Override308;
        match cr {
            ContentRange::Query { total } => {
                if s.finalized {
                    return self.final_object(uri);
                }
                if let Some(t) = total
                    && t == s.data.len() as u64
                {
                    s.finalized = true;
                    s.total = Some(t);
                    let (p, d) = (s.gcs_path.clone(), s.data.clone());
                    self.objects.insert(p, d);
                    return self.final_object(uri);
                }
                range_308(s.data.len() as u64, override308)
            }
            ContentRange::Bytes { start, end, total } => {
                if s.finalized {
                    return self.final_object(uri);
                }
                let have = s.data.len() as u64;
                if start > have {
                    let v =
                        format!("chunk starts at {start} beyond persisted {have}: bytes skipped");
                    self.violations.0.push(v);
                    return json(400, "{}".into());
                }
                let is_final = total == Some(end);
                if !is_final && (end - start) % UNIT != 0 {
                    self.violations.0.push(format!(
                        "non-final chunk {start}..{end} not a 256 KiB multiple"
                    ));
                    return json(400, "{}".into());
                }
                if let Some(h) = req.headers().get("x-goog-hash") {
                    if !is_final {
                        self.violations
                            .0
                            .push("X-Goog-Hash on a non-final chunk".into());
                    }
                    let claimed = GoogHash::parse([h]).unwrap().crc32c.unwrap();
                    let mut whole = s.data.clone();
                    whole.extend_from_slice(&body[(have - start) as usize..]);
                    if crc32c::crc32c(&whole) != claimed {
                        self.violations
                            .0
                            .push("X-Goog-Hash does not match the data".into());
                        return json(400, "{}".into());
                    }
                }
                let fresh = &body[(have - start) as usize..];
                let keep = match fault {
                    Fault::PersistUnits(n) if !is_final || n * UNIT < fresh.len() as u64 => {
                        (n * UNIT).min(fresh.len() as u64) as usize
                    }
                    _ => fresh.len(),
                };
                // A 308 with no Range only when nothing is persisted.
                s.data.extend_from_slice(&fresh[..keep]);
                if is_final && keep == fresh.len() {
                    s.finalized = true;
                    s.total = total;
                    let (p, d) = (s.gcs_path.clone(), s.data.clone());
                    self.objects.insert(p, d);
                    return self.final_object(uri);
                }
                range_308(s.data.len() as u64, override308)
            }
        }
    }
}

/// The file-API configuration the simulations use.
pub fn file_api_config(size: u64) -> Config {
    let mut cfg = Config::file_api(
        FileApi {
            api_base: API.into(),
            organization: "org".into(),
            api_key: Secret::new(KEY),
            filename: "data.bin".into(),
            mime_type: "application/octet-stream".into(),
        },
        size,
    );
    cfg.jitter_seed = 42;
    cfg
}

pub fn source(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u64)
                .wrapping_mul(2_654_435_761)
                .wrapping_add(seed as u64) as u8
        })
        .collect()
}

/// What one simulated run saw.
#[derive(Debug, Default)]
pub struct Run {
    pub result: Option<Result<Outcome, Error>>,
    pub transcript: Vec<String>,
    pub events: Vec<Event>,
    pub checkpoints: Vec<Checkpoint>,
    /// How often the core said to remove the stored checkpoint.
    pub removals: u32,
    /// The offsets the core asked to read ahead to.
    pub read_aheads: Vec<u64>,
    pub crashes: u32,
}

/// The driver: pumps the core against the server with a virtual clock.
/// `faults(n)` gives the fault of the n-th request; `crash_at(n)` says
/// whether the process "dies" before polling step n (the upload is then
/// rebuilt from its last checkpoint).
pub fn drive(
    server: &mut Server,
    cfg: Config,
    data: &[u8],
    mut faults: impl FnMut(u64, Purpose) -> Fault,
    mut crash_at: impl FnMut(u64) -> bool,
    max_steps: u64,
) -> Run {
    let t0 = Instant::now();
    let wall0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let mut now = t0;
    let wall = |now: Instant| wall0 + (now - t0);
    let mut up = Upload::new(cfg.clone(), now, wall(now)).expect("valid config");
    let mut run = Run::default();
    let mut n = 0u64;
    for step in 0..max_steps {
        if step > 0
            && crash_at(step)
            && let Some(cp) = run.checkpoints.last().cloned()
        {
            run.crashes += 1;
            run.transcript.push("crash".into());
            up = Upload::resume(cfg.clone(), cp, now, wall(now)).expect("resume");
        }
        let action = up.poll_action(now);
        match action {
            Action::Send(req) => {
                let mut body = Vec::new();
                if let Body::Source(r) = req.http.body() {
                    let bytes = &data[r.start as usize..r.end as usize];
                    up.feed_checksum(r.start, bytes);
                    body.extend_from_slice(bytes);
                }
                if let Body::Json(j) = req.http.body() {
                    body.extend_from_slice(j);
                }
                let fault = faults(n, req.purpose);
                n += 1;
                let mut line = describe(&req.http);
                if fault != Fault::None {
                    line.push_str(&format!(" [{fault:?}]"));
                }
                let reply = server.serve(&req.http, &body, fault, wall(now));
                now += Duration::from_millis(10);
                match reply {
                    Reply::Response(resp) => {
                        line.push_str(&format!(" -> {}", describe_response(&resp)));
                        run.transcript.push(line);
                        up.handle_response(req.id, resp, now).expect("in flight");
                    }
                    Reply::Transport(kind) => {
                        line.push_str(&format!(" -> {kind:?}"));
                        run.transcript.push(line);
                        up.handle_transport_error(req.id, kind, now)
                            .expect("in flight");
                    }
                }
            }
            Action::Checksum(r) => {
                run.transcript
                    .push(format!("checksum {}..{}", r.start, r.end));
                up.feed_checksum(r.start, &data[r.start as usize..r.end as usize]);
            }
            Action::Checkpoint(cp) => {
                run.transcript.push(format!(
                    "checkpoint persisted={}{}",
                    cp.persisted,
                    if cp.object.is_some() { " uploaded" } else { "" }
                ));
                run.checkpoints.push(cp);
            }
            // Neither touches the wire, so neither is in the transcript.
            Action::ReadAhead { to } => {
                run.read_aheads.push(to);
                let len = data.len() as u64;
                up.handle_read_ahead((len < to).then_some(len))
                    .expect("one total");
            }
            Action::RemoveCheckpoint => run.removals += 1,
            Action::Wait(until) => {
                run.transcript
                    .push(format!("wait {}ms", (until - now).as_millis()));
                now = until;
            }
            Action::AwaitResponse(_) => panic!("the driver answers every request"),
            Action::Done(outcome) => {
                run.transcript.push("done".into());
                run.result = Some(Ok(outcome));
                break;
            }
            Action::Failed(error) => {
                run.transcript.push(format!("failed: {error}"));
                run.result = Some(Err(error));
                break;
            }
            other => panic!("unexpected action {other:?}"),
        }
        while let Some(e) = up.poll_event() {
            run.events.push(e);
        }
    }
    while let Some(e) = up.poll_event() {
        run.events.push(e);
    }
    run
}

fn describe(req: &http::Request<Body>) -> String {
    let path = req.uri().path();
    match req.headers().get("content-range") {
        Some(cr) => format!("{} {}", req.method(), cr.to_str().unwrap()),
        None => format!("{} {path}", req.method()),
    }
}

fn describe_response(resp: &Response<Bytes>) -> String {
    let mut s = resp.status().as_u16().to_string();
    if let Some(r) = resp.headers().get("range") {
        s.push_str(&format!(" {}", r.to_str().unwrap()));
    }
    if resp.headers().contains_key("x-http-status-code-override") {
        s.push_str(" override=308");
    }
    s
}
