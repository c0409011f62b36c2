//! One model that answers as both the application file API (`upload-url`,
//! register) and Google Cloud Storage's resumable upload host, strictly: a
//! request that breaks the protocol is logged as a [`Violations`] entry and
//! refused, never guessed at. The protocol decisions are the shared rules of
//! [`gcs`](crate::gcs) and [`file_api`](crate::file_api), the emulator's too;
//! this file applies them to whole bodies in memory.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::Response;

use crate::fault::Fault;
use crate::file_api::{self, RegisterRequest, UploadUrlRequest};
use crate::gcs::{self, Digests, End, Plan, Progress, Route, Standing, UNIT};
use crate::refusal::Refusal;
use crate::wire;

/// The file API's base URL.
pub const API: &str = "https://api.sim";
/// The only API key the file API accepts.
pub const KEY: &str = "sk-sim-key";
/// The largest `file_size` the file API takes (5 GB).
pub const MAX_FILE_SIZE: u64 = 5_368_709_120;

/// One upload session.
#[derive(Debug)]
pub struct SimSession {
    /// The bytes persisted so far.
    pub data: Vec<u8>,
    /// The length promised at creation (the file API's `file_size`).
    pub declared_len: Option<u64>,
    /// The total a request named.
    pub total: Option<u64>,
    /// Where it stands.
    pub standing: Standing,
    /// Where the object goes.
    pub gcs_path: String,
    /// The file's MIME type, in the file-API flow.
    pub mime: String,
    /// When the session stops taking bytes (virtual wall time).
    pub expires_at: Option<SystemTime>,
}

impl SimSession {
    fn new(declared_len: Option<u64>, gcs_path: String) -> Self {
        Self {
            data: Vec::new(),
            declared_len,
            total: None,
            standing: Standing::Active,
            gcs_path,
            mime: String::new(),
            expires_at: None,
        }
    }

    /// What the protocol rules read of the session.
    pub fn progress(&self) -> Progress {
        Progress {
            persisted: self.data.len() as u64,
            total: self.total,
            declared_len: self.declared_len,
        }
    }

    fn digests(&self) -> Digests {
        Digests {
            crc32c: crc32c::crc32c(&self.data),
            md5: None,
        }
    }
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
    /// Finished objects' content types by path.
    pub content_types: HashMap<String, String>,
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

fn refused(refusal: &Refusal) -> Reply {
    let mut r = reply(refusal.status).header("content-type", "application/json");
    if refusal.status == 405 {
        r = r.header("allow", gcs::ALLOW);
    }
    respond(r, Bytes::from(refusal.body()))
}

impl Server {
    /// A server with no sessions; sessions live a week.
    pub fn new() -> Self {
        Self {
            session_lifetime: Duration::from_secs(7 * 24 * 3600),
            ..Self::default()
        }
    }

    /// Opens a session for a raw GCS upload that promises `total` bytes (or
    /// none); returns its URL.
    pub fn open_session(&mut self, total: Option<u64>) -> String {
        self.next_session += 1;
        let url = format!(
            "https://upload.sim/upload/o?name=obj&upload_id=sess{}",
            self.next_session
        );
        let path = format!("raw/obj{}", self.next_session);
        self.sessions
            .insert(url.clone(), SimSession::new(total, path));
        url
    }

    /// Logs a rule the client broke.
    pub fn violation(&mut self, v: String) {
        self.violations.0.push(v);
    }

    /// Answers a refusal, logging it when it says the client broke a rule.
    fn refuse(&mut self, refusal: Refusal) -> Reply {
        if refusal.is_violation() {
            self.violation(refusal.message.clone());
        }
        refused(&refusal)
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
        if let Some(path) = uri.strip_prefix(API) {
            let key = req.headers().get("x-api-key").map(|v| v.as_bytes());
            if let Err(r) = file_api::check_key(key, KEY) {
                return refused(&r);
            }
            match fault {
                Fault::Status(s, ra) => return status_fault(s, ra),
                Fault::Reset => return Reply::Reset,
                _ => {}
            }
            let real = self.serve_api(path, body, wall);
            return after(real, fault);
        }
        if req.headers().contains_key("x-api-key") {
            self.violation("X-API-Key sent to the upload host".into());
        }
        if fault == Fault::KillSession
            && let Some(s) = self.sessions.get_mut(&uri)
            && s.standing == Standing::Active
        {
            s.standing = Standing::Killed;
        }
        match fault {
            Fault::Status(s, ra) => return status_fault(s, ra),
            Fault::Reset => return Reply::Reset,
            _ => {}
        }
        let real = self.serve_upload(req, &uri, body, fault, wall);
        after(real, fault)
    }

    /// `POST {API}/v1/organizations/{org}/files[/upload-url]`.
    fn serve_api(&mut self, path: &str, body: &[u8], wall: SystemTime) -> Reply {
        let Some(rest) = path.strip_prefix("/v1/organizations/") else {
            return refused(&Refusal::new(404, "not_found", "no such endpoint"));
        };
        let (org, endpoint) = rest.split_once('/').unwrap_or((rest, ""));
        let answer = file_api::json_object(body).and_then(|json| match endpoint {
            "files/upload-url" => UploadUrlRequest::parse(&json, MAX_FILE_SIZE)
                .map(|r| self.create_session(org, r, wall)),
            "files" => RegisterRequest::parse(&json, MAX_FILE_SIZE).and_then(|r| self.register(r)),
            _ => Err(Refusal::new(404, "not_found", "no such endpoint")),
        });
        answer.unwrap_or_else(|r| self.refuse(r))
    }

    fn create_session(&mut self, org: &str, req: UploadUrlRequest, wall: SystemTime) -> Reply {
        let url = self.open_session(Some(req.file_size));
        let expires = wall + self.session_lifetime;
        let file_id = format!("file_{}", self.next_session);
        let gcs_path = file_api::gcs_path(org, &file_id, &req.filename);
        if let Some(s) = self.sessions.get_mut(&url) {
            s.gcs_path = gcs_path.clone();
            s.mime = req.mime_type;
            s.expires_at = Some(expires);
        }
        json(
            200,
            serde_json::json!({
                "upload_url": url, "gcs_path": gcs_path, "file_id": file_id,
                "expires_at": wire::rfc3339(expires), "max_file_size": MAX_FILE_SIZE,
                "upload_type": "resumable", "chunk_size_recommended": 5_242_880u64,
            })
            .to_string(),
        )
    }

    fn register(&mut self, req: RegisterRequest) -> Result<Reply, Refusal> {
        let path = &req.gcs_path;
        let Some(obj) = self.objects.get(path) else {
            return Err(req.not_found());
        };
        let content_type = self.content_types.get(path).map_or("", String::as_str);
        req.check_object(obj.len() as u64, content_type)?;
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
            return refused(&unknown_session());
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

    /// Writes the session's bytes as its object and answers with it.
    fn finalize(&mut self, uri: &str) -> Reply {
        if let Some(s) = self.sessions.get_mut(uri) {
            s.standing = Standing::Complete;
            s.total = Some(s.data.len() as u64);
            self.objects.insert(s.gcs_path.clone(), s.data.clone());
            self.content_types
                .insert(s.gcs_path.clone(), s.mime.clone());
        }
        self.final_object(uri)
    }

    fn serve_upload<T>(
        &mut self,
        req: &http::Request<T>,
        uri: &str,
        body: &[u8],
        fault: Fault,
        wall: SystemTime,
    ) -> Reply {
        let Some(s) = self.sessions.get_mut(uri) else {
            return refused(&unknown_session());
        };
        if s.standing == Standing::Active && s.expires_at.is_some_and(|t| t <= wall) {
            s.standing = Standing::Expired;
        }
        match gcs::route(req.method(), s.standing) {
            Route::Refuse(r) => return self.refuse(r),
            Route::Cancel => {
                s.standing = Standing::Cancelled;
                return respond(reply(499), Bytes::new());
            }
            Route::Object => return self.final_object(uri),
            Route::Put => {}
        }
        let mut progress = s.progress();
        let plan = gcs::plan_put(req.headers(), &mut progress);
        s.total = progress.total;
        let plan = match plan {
            Ok(p) => p,
            Err(r) => return self.refuse(r),
        };
        let override308 = fault == Fault::Override308;
        let end = match plan {
            Plan::Query { total, hash, .. } => {
                if !body.is_empty() {
                    return self.refuse(Refusal::bad(
                        "a status query (Content-Range: bytes */…) must have an empty body",
                    ));
                }
                gcs::query_end(&progress, total, &hash, || s.digests())
            }
            Plan::Data { span, hash } => {
                let len = span.len.unwrap_or(body.len() as u64);
                if len != body.len() as u64 {
                    return self.refuse(Refusal::bad(format!(
                        "the request names {len} bytes but its body has {}",
                        body.len()
                    )));
                }
                if !span.finishes && req.headers().contains_key("x-goog-hash") {
                    self.violation("X-Goog-Hash on a chunk that does not finish".into());
                }
                let Some(s) = self.sessions.get_mut(uri) else {
                    return refused(&unknown_session());
                };
                let before = s.data.len();
                let skip = usize::try_from(progress.persisted - span.first).unwrap_or(usize::MAX);
                let fresh = body.get(skip..).unwrap_or_default();
                let keep = match fault {
                    Fault::PersistUnits(n) if !span.finishes || n * UNIT < fresh.len() as u64 => {
                        (n * UNIT).min(fresh.len() as u64) as usize
                    }
                    _ => fresh.len(),
                };
                s.data.extend_from_slice(&fresh[..keep]);
                let end =
                    gcs::data_end(&span, span.first + len, s.data.len() as u64, &hash, || {
                        s.digests()
                    });
                if matches!(end, End::Refuse(_)) {
                    s.data.truncate(before);
                }
                end
            }
        };
        match end {
            End::Incomplete(n) => range_308(n, override308),
            End::Finalize => self.finalize(uri),
            End::Refuse(r) => self.refuse(r),
        }
    }
}

fn unknown_session() -> Refusal {
    Refusal::new(404, "not_found", "no upload session with this upload_id")
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
