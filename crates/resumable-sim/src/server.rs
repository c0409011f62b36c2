//! One model that answers as both the application file API (`upload-url`,
//! register) and Google Cloud Storage's resumable upload host, strictly: a
//! request that breaks the protocol is logged as a [`Violations`] entry and
//! refused, never guessed at.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{Method, Response};

use crate::fault::Fault;
use crate::wire::{self, PutRange};

/// Every chunk of an upload but the last is a multiple of this (256 KiB).
pub const UNIT: u64 = 256 * 1024;
/// The file API's base URL.
pub const API: &str = "https://api.sim";
/// The only API key the file API accepts.
pub const KEY: &str = "sk-sim-key";

/// One upload session.
#[derive(Debug, Default)]
pub struct SimSession {
    /// The bytes persisted so far.
    pub data: Vec<u8>,
    /// The total, once the client declared it.
    pub total: Option<u64>,
    /// Whether the object is written.
    pub finalized: bool,
    /// Deleted, or killed by a fault.
    pub gone: bool,
    /// Where the object goes.
    pub gcs_path: String,
    /// The file's MIME type, in the file-API flow.
    pub mime: String,
    /// When the session stops taking bytes (virtual wall time).
    pub expires_at: Option<SystemTime>,
}

/// Protocol rules the server saw the client break, in order.
#[derive(Debug, Default, Clone)]
pub struct Violations(pub Vec<String>);

/// What the server answers: a response, or a connection that broke.
#[derive(Debug)]
pub enum Reply {
    /// An HTTP answer.
    Response(Response<Bytes>),
    /// The connection reset; the client gets no answer.
    Reset,
}

/// The server's whole state.
#[derive(Debug, Default)]
pub struct Server {
    /// Sessions by URL.
    pub sessions: HashMap<String, SimSession>,
    /// Finished objects by path.
    pub objects: HashMap<String, Vec<u8>>,
    /// Every successful register call's path, repeats included.
    pub registrations: Vec<String>,
    /// Registered Files' ids by path.
    pub files: HashMap<String, String>,
    /// What the client did wrong.
    pub violations: Violations,
    /// Requests served.
    pub requests: u64,
    /// Body bytes received.
    pub bytes_received: u64,
    /// Sessions opened so far.
    pub next_session: u64,
    /// How long a session lives (virtual wall time).
    pub session_lifetime: Duration,
}

fn reply(status: u16) -> http::response::Builder {
    Response::builder()
        .status(status)
        .header("x-guploader-uploadid", "sim-upload-1")
}

fn respond(builder: http::response::Builder, body: Bytes) -> Reply {
    match builder.body(body) {
        Ok(response) => Reply::Response(response),
        // Only the model's own constant headers go in: never happens.
        Err(_) => Reply::Reset,
    }
}

fn json(status: u16, body: String) -> Reply {
    respond(
        reply(status).header("content-type", "application/json"),
        Bytes::from(body),
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
    if let Some(range) = wire::persisted_range(persisted) {
        r = r.header("range", range);
    }
    respond(r, Bytes::new())
}

/// What a JSON request body holds, or why the request is refused.
fn request_json(body: &[u8]) -> Result<serde_json::Value, String> {
    serde_json::from_slice(body).map_err(|e| format!("request body is not JSON: {e}"))
}

fn field_u64(v: &serde_json::Value, name: &str) -> Result<u64, String> {
    v[name]
        .as_u64()
        .ok_or_else(|| format!("request field {name} is not a byte count"))
}

fn field_str<'a>(v: &'a serde_json::Value, name: &str) -> Result<&'a str, String> {
    v[name]
        .as_str()
        .ok_or_else(|| format!("request field {name} is not a string"))
}

impl Server {
    /// A server with no sessions; sessions live a week.
    pub fn new() -> Self {
        Self {
            session_lifetime: Duration::from_secs(7 * 24 * 3600),
            ..Self::default()
        }
    }

    /// Opens a session for a raw GCS upload; returns its URL.
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

    /// Logs a rule the client broke.
    pub fn violation(&mut self, v: String) {
        self.violations.0.push(v);
    }

    /// Serves one request. `body` is the bytes the client streamed (the
    /// request's own body type is not looked at); `wall` is the virtual
    /// wall-clock time.
    pub fn serve<T>(
        &mut self,
        req: &http::Request<T>,
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
                Fault::Status(s, ra) => return status_fault(s, ra),
                Fault::Reset => return Reply::Reset,
                _ => {}
            }
            let real = if uri.ends_with("/files/upload-url") {
                self.create_session(body, wall)
            } else if uri.ends_with("/files") {
                self.register(body)
            } else {
                Ok(json(404, "{}".into()))
            };
            let real = real.unwrap_or_else(|v| {
                self.violation(v);
                json(400, r#"{"detail":"bad request"}"#.into())
            });
            return after(real, fault);
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
            Fault::Status(s, ra) => return status_fault(s, ra),
            Fault::Reset => return Reply::Reset,
            _ => {}
        }
        let real = self
            .serve_upload(req, &uri, body, fault, wall)
            .unwrap_or_else(|v| {
                self.violation(v);
                json(400, "{}".into())
            });
        after(real, fault)
    }

    fn create_session(&mut self, body: &[u8], wall: SystemTime) -> Result<Reply, String> {
        let v = request_json(body)?;
        let size = field_u64(&v, "file_size")?;
        let name = field_str(&v, "filename")?.to_owned();
        let mime = field_str(&v, "mime_type")?.to_owned();
        let url = self.open_session(Some(size));
        let expires = wall + self.session_lifetime;
        let file_id = format!("file_{}", self.next_session);
        let gcs_path = format!("files/org/{file_id}/{name}");
        if let Some(s) = self.sessions.get_mut(&url) {
            s.gcs_path = gcs_path.clone();
            s.mime = mime;
            s.expires_at = Some(expires);
        }
        Ok(json(
            200,
            serde_json::json!({
                "upload_url": url, "gcs_path": gcs_path, "file_id": file_id,
                "expires_at": wire::rfc3339(expires), "max_file_size": 5_368_709_120u64,
                "upload_type": "resumable", "chunk_size_recommended": 5_242_880u64,
            })
            .to_string(),
        ))
    }

    fn register(&mut self, body: &[u8]) -> Result<Reply, String> {
        let v = request_json(body)?;
        let path = field_str(&v, "gcs_path")?.to_owned();
        let size = field_u64(&v, "file_size")?;
        let Some(obj) = self.objects.get(&path) else {
            return Ok(json(404, r#"{"detail":"object not found"}"#.into()));
        };
        if obj.len() as u64 != size {
            return Ok(json(409, r#"{"detail":"size mismatch"}"#.into()));
        }
        self.registrations.push(path.clone());
        let n = self.files.len() + 1;
        let id = self
            .files
            .entry(path.clone())
            .or_insert_with(|| format!("file_reg{n}"))
            .clone();
        Ok(json(
            201,
            serde_json::json!({"id": id, "gcs_path": path}).to_string(),
        ))
    }

    fn final_object(&self, uri: &str) -> Reply {
        let Some(s) = self.sessions.get(uri) else {
            return json(404, "{}".into());
        };
        let crc = wire::crc32c_base64(crc32c::crc32c(&s.data));
        let body = serde_json::json!({
            "kind": "storage#object", "name": s.gcs_path, "bucket": "sim",
            "size": s.data.len().to_string(), "crc32c": crc,
        });
        respond(
            reply(200).header("x-goog-hash", format!("crc32c={crc}")),
            Bytes::from(body.to_string()),
        )
    }

    /// Writes the session's bytes as its object.
    fn finalize(&mut self, uri: &str, total: Option<u64>) {
        if let Some(s) = self.sessions.get_mut(uri) {
            s.finalized = true;
            s.total = total;
            let (path, data) = (s.gcs_path.clone(), s.data.clone());
            self.objects.insert(path, data);
        }
    }

    fn serve_upload<T>(
        &mut self,
        req: &http::Request<T>,
        uri: &str,
        body: &[u8],
        fault: Fault,
        wall: SystemTime,
    ) -> Result<Reply, String> {
        let Some(s) = self.sessions.get_mut(uri) else {
            return Ok(json(404, "{}".into()));
        };
        if s.gone {
            return Ok(json(404, "{}".into()));
        }
        if s.expires_at.is_some_and(|t| t <= wall) {
            return Ok(json(410, "{}".into()));
        }
        if req.method() == Method::DELETE {
            s.gone = true;
            return Ok(respond(reply(499), Bytes::new()));
        }
        if req.method() != Method::PUT {
            return Err(format!("{} to the session URL", req.method()));
        }
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| format!("a PUT without a readable {name}"))
        };
        let declared: u64 = header("content-length")?
            .parse()
            .map_err(|_| "Content-Length is not a number".to_owned())?;
        if declared != body.len() as u64 {
            return Err(format!("content-length {declared} but body {}", body.len()));
        }
        let range = wire::put_range(header("content-range")?)?;
        let override308 = fault == Fault::Override308;
        if s.finalized {
            return Ok(self.final_object(uri));
        }
        let have = s.data.len() as u64;
        let (first, end, total) = match range {
            PutRange::Query { total } => {
                if total == Some(have) {
                    self.finalize(uri, total);
                    return Ok(self.final_object(uri));
                }
                return Ok(range_308(have, override308));
            }
            PutRange::Bytes { first, end, total } => (first, end, total),
        };
        if end - first != body.len() as u64 {
            return Err(format!(
                "Content-Range {first}..{end} but a body of {}",
                body.len()
            ));
        }
        if first > have {
            return Err(format!(
                "chunk starts at {first} beyond persisted {have}: bytes skipped"
            ));
        }
        let is_final = total == Some(end);
        if !is_final && (end - first) % UNIT != 0 {
            return Err(format!(
                "non-final chunk {first}..{end} not a 256 KiB multiple"
            ));
        }
        let fresh = body
            .get(usize::try_from(have - first).unwrap_or(usize::MAX)..)
            .unwrap_or_default();
        if let Some(value) = req.headers().get("x-goog-hash") {
            if !is_final {
                self.violations
                    .0
                    .push("X-Goog-Hash on a non-final chunk".into());
            }
            let text = value
                .to_str()
                .map_err(|_| "X-Goog-Hash is not text".to_owned())?;
            if let Some(claimed) = wire::goog_hash_crc32c(text)? {
                let whole = crc32c::crc32c_append(crc32c::crc32c(&s.data), fresh);
                if whole != claimed {
                    return Err("X-Goog-Hash does not match the data".into());
                }
            }
        }
        let keep = match fault {
            Fault::PersistUnits(n) if !is_final || n * UNIT < fresh.len() as u64 => {
                (n * UNIT).min(fresh.len() as u64) as usize
            }
            _ => fresh.len(),
        };
        s.data.extend_from_slice(&fresh[..keep]);
        if is_final && keep == fresh.len() {
            self.finalize(uri, total);
            return Ok(self.final_object(uri));
        }
        Ok(range_308(s.data.len() as u64, override308))
    }
}

/// A fault that lets the server do the work, then spoils the answer.
fn after(real: Reply, fault: Fault) -> Reply {
    match fault {
        Fault::LostResponse => Reply::Reset,
        Fault::StatusAfter(s) => json(s, "{}".into()),
        Fault::CutBody(n) => cut_body(real, n),
        _ => real,
    }
}

fn status_fault(status: u16, retry_after: Option<u64>) -> Reply {
    let mut r = reply(status);
    if let Some(secs) = retry_after {
        r = r.header("retry-after", secs.to_string());
    }
    respond(
        r,
        Bytes::from_static(b"{\"error\":{\"message\":\"injected\"}}"),
    )
}
