//! The Cloud Storage resumable session: chunks, status queries, cancel, and the
//! finished object; plus the helpers the other Cloud Storage endpoints share.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;

use crate::faults::{Respond, SessionEffect};
use crate::headers::{CHUNK_GRANULARITY, ContentRange, GoogHash, is_chunked, range_header};
use crate::inject;
use crate::log::RequestKind;
use crate::object::{Object, ObjectInfo, object_json};
pub(crate) use crate::reply::Refusal;
use crate::reply::{
    Body, Reply, SmallBody, drain, empty_response, error_response, json_response, read_small,
};
use crate::session::{Session, SessionState};
use crate::shared::{Call, SessionSlot, Shared};
use crate::storage::{Appender, Digest, Keep};
use crate::url::{parse_query, query_value};

const GUPLOADER: &str = "x-guploader-uploadid";
const OVERRIDE: &str = "x-http-status-code-override";

pub(crate) fn refusal(
    status: StatusCode,
    reason: &'static str,
    message: impl Into<String>,
) -> Refusal {
    (status, reason, message.into())
}

pub(crate) fn bad(message: impl Into<String>) -> Refusal {
    refusal(StatusCode::BAD_REQUEST, "invalid_argument", message)
}

pub(crate) fn refuse(body: Incoming, shared: &Shared, (status, reason, message): Refusal) -> Reply {
    drain(body, shared.config.idle_timeout);
    error_response(status, reason, &message).into()
}

pub(crate) fn with_guploader(mut reply: Reply, id: &str) -> Reply {
    if let (Reply::Respond(r), Ok(v)) = (&mut reply, HeaderValue::from_str(id)) {
        r.headers_mut().insert(GUPLOADER, v);
    }
    reply
}

/// The JSON and `x-goog-hash` answer for a finished object.
pub(crate) fn object_response(shared: &Shared, info: &ObjectInfo) -> Response<Body> {
    let mut r = json_response(StatusCode::OK, &object_json(info, &shared.base_url));
    if let Ok(v) = HeaderValue::from_str(&info.goog_hash()) {
        r.headers_mut().insert("x-goog-hash", v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("\"CL{}EAE=\"", info.generation)) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

/// `308 Resume Incomplete`, with `Range` unless nothing is persisted or `no_range`.
fn incomplete(persisted: u64, no_range: bool) -> Response<Body> {
    let mut r = empty_response(StatusCode::PERMANENT_REDIRECT);
    if let Some(range) = range_header(persisted).filter(|_| !no_range)
        && let Ok(v) = HeaderValue::from_str(&range)
    {
        r.headers_mut().insert(header::RANGE, v);
    }
    r
}

pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// What a `PUT` is, from its headers alone (fault rules are matched on this).
fn classify(headers: &HeaderMap) -> RequestKind {
    match header_str(headers, "content-range") {
        None => RequestKind::Final,
        Some(v) => match ContentRange::parse(v) {
            Ok(ContentRange::Query { .. }) => RequestKind::Query,
            Ok(ContentRange::Data {
                last,
                total: Some(t),
                ..
            }) if last + 1 == t => RequestKind::Final,
            Ok(ContentRange::Data { .. }) => RequestKind::Chunk,
            Err(_) => RequestKind::Put,
        },
    }
}

/// `PUT`, `DELETE` (or anything else) on a session URL.
pub(crate) async fn session_request(shared: Arc<Shared>, req: Request<Incoming>) -> Reply {
    let (parts, body) = req.into_parts();
    let query = parse_query(parts.uri.query());
    let upload_id = query.as_deref().and_then(|q| query_value(q, "upload_id"));
    let slot = upload_id.and_then(|id| shared.session(id));
    let kind = match parts.method {
        Method::PUT => classify(&parts.headers),
        Method::DELETE => RequestKind::Delete,
        _ => RequestKind::Upload,
    };
    let mut call = shared.begin(&parts, kind, slot.as_ref().map(|s| s.number));
    let id = match &slot {
        Some(s) => s.guploader_id.clone(),
        None => format!("AHxI1nP{}", shared.state().random_id(64)),
    };
    let reply = match inject::before_body(&mut call, body, shared.config.idle_timeout).await {
        Err(reply) => reply,
        Ok(body) => match (slot, upload_id) {
            (_, None) => refuse(body, &shared, bad("the session URL has no upload_id")),
            (None, Some(_)) => refuse(
                body,
                &shared,
                refusal(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "no upload session with this upload_id",
                ),
            ),
            (Some(slot), Some(_)) => on_session(&shared, &mut call, &parts, body, &slot).await,
        },
    };
    let reply = with_guploader(inject::finish(&shared, &mut call, reply), &id);
    shared.finish(call, &reply);
    reply
}

async fn on_session(
    shared: &Shared,
    call: &mut Call,
    parts: &Parts,
    body: Incoming,
    slot: &SessionSlot,
) -> Reply {
    let mut session = slot.session.lock().await;
    session.requests += 1;
    if matches!(session.state, SessionState::Active) {
        match call.fault.as_ref().and_then(|f| f.session) {
            Some(SessionEffect::Expire) => session.state = SessionState::Expired,
            Some(SessionEffect::Kill) => session.state = SessionState::Killed,
            None => {}
        }
    }
    session.check_expiry(SystemTime::now());
    let reply = match (&parts.method, &session.state) {
        (_, SessionState::Cancelled | SessionState::Killed) => {
            let msg = "the upload session does not exist (cancelled or killed)";
            refuse(
                body,
                shared,
                refusal(StatusCode::NOT_FOUND, "not_found", msg),
            )
        }
        (_, SessionState::Expired) => {
            let msg = "the upload session has expired; start a new one";
            refuse(body, shared, refusal(StatusCode::GONE, "gone", msg))
        }
        (&Method::DELETE, _) => {
            drain(body, shared.config.idle_timeout);
            session.part.discard().await;
            session.state = SessionState::Cancelled;
            empty_response(StatusCode::from_u16(499).unwrap_or(StatusCode::OK)).into()
        }
        (&Method::PUT, SessionState::Complete(object)) => {
            drain(body, shared.config.idle_timeout);
            object_response(shared, &object.info).into()
        }
        (&Method::PUT, SessionState::Active) => put(shared, call, parts, body, &mut session).await,
        _ => {
            let msg = format!(
                "{} is not allowed on an upload session; use PUT or DELETE",
                parts.method
            );
            let mut r = refuse(
                body,
                shared,
                refusal(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", msg),
            );
            if let Reply::Respond(r) = &mut r {
                r.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("PUT, DELETE"));
            }
            r
        }
    };
    call.record.persisted = Some(session.persisted);
    shared.update_session_info(&session);
    reply
}

fn content_length(headers: &HeaderMap) -> Result<Option<u64>, String> {
    match headers.get(header::CONTENT_LENGTH) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .map(Some)
            .ok_or_else(|| "Content-Length is not a number".to_owned()),
    }
}

/// Checks a total a request names against what the session knows.
fn check_total(session: &Session, total: u64) -> Result<(), Refusal> {
    if let Some(d) = session.declared_len.filter(|d| *d != total) {
        return Err(bad(format!(
            "the total {total} differs from the declared upload length {d}"
        )));
    }
    if let Some(k) = session.total.filter(|k| *k != total) {
        return Err(bad(format!(
            "the total {total} differs from the total {k} named earlier"
        )));
    }
    if total < session.persisted {
        return Err(bad(format!(
            "the total {total} is less than the {} bytes already persisted",
            session.persisted
        )));
    }
    Ok(())
}

/// `X-Goog-Hash` of a request that may finalize.
fn declared_hash(headers: &HeaderMap) -> Result<GoogHash, Refusal> {
    GoogHash::parse(
        headers
            .get_all("x-goog-hash")
            .iter()
            .filter_map(|v| v.to_str().ok()),
    )
    .map_err(bad)
}

/// Compares a declared hash with the data; the message says what differs.
fn hash_mismatch(declared: &GoogHash, digest: &Digest) -> Option<String> {
    use crate::headers::{crc32c_b64, md5_b64};
    if let Some(c) = declared.crc32c.filter(|c| *c != digest.crc32c()) {
        return Some(format!(
            "X-Goog-Hash crc32c={} does not match the data received (crc32c={}); the object \
             was not finalized",
            crc32c_b64(c),
            crc32c_b64(digest.crc32c())
        ));
    }
    if let Some(m) = declared.md5.filter(|m| *m != digest.md5()) {
        return Some(format!(
            "X-Goog-Hash md5={} does not match the data received (md5={}); the object was \
             not finalized",
            md5_b64(&m),
            md5_b64(&digest.md5())
        ));
    }
    None
}

pub(crate) fn storage_error(e: &std::io::Error) -> Reply {
    tracing::error!(error = %e, "storage failed");
    error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "storage_error",
        &format!("storage failed: {e}"),
    )
    .into()
}

/// How a request body is framed: the two forms Cloud Storage accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// `Content-Length: N`.
    Length(u64),
    /// `Transfer-Encoding: chunked`: the length is known at the body's end.
    Chunked,
}

/// The body's framing; 411 when it has neither (as Cloud Storage answers).
fn framing(headers: &HeaderMap) -> Result<Framing, Refusal> {
    let chunked = is_chunked(headers);
    if chunked {
        return Ok(Framing::Chunked);
    }
    match content_length(headers).map_err(bad)? {
        Some(n) => Ok(Framing::Length(n)),
        None => Err(refusal(
            StatusCode::LENGTH_REQUIRED,
            "length_required",
            "an upload request needs Content-Length (0 for a status query) or \
             Transfer-Encoding: chunked",
        )),
    }
}

/// What a valid `PUT` asks for.
enum Plan {
    /// `bytes */T` or `bytes */*`: report, or finish when exactly `T` are persisted.
    /// A chunked query's body is read to check it is empty.
    Query {
        total: Option<u64>,
        hash: GoogHash,
        chunked: bool,
    },
    /// Data: the bytes `span` names, and the hash a finalizing request declares.
    Data { span: Span, hash: GoogHash },
}

/// Checks a `PUT`'s headers against the session; nothing is read or stored yet.
fn plan(parts: &Parts, session: &mut Session) -> Result<Plan, Refusal> {
    let framing = framing(&parts.headers)?;
    let range = match (header_str(&parts.headers, "content-range"), framing) {
        (None, Framing::Length(0)) => ContentRange::Query { total: Some(0) },
        (None, Framing::Length(cl)) => ContentRange::Data {
            first: 0,
            last: cl - 1,
            total: Some(cl),
        },
        // The whole object, its length known at the body's end.
        (None, Framing::Chunked) => {
            return Ok(Plan::Data {
                span: Span {
                    first: 0,
                    len: session.known_total(),
                    chunked: true,
                    finishes: true,
                },
                hash: declared_hash(&parts.headers)?,
            });
        }
        (Some(v), _) => ContentRange::parse(v).map_err(bad)?,
    };
    match range {
        ContentRange::Query { total } => {
            if let Framing::Length(cl) = framing
                && cl != 0
            {
                return Err(bad(format!(
                    "a status query (Content-Range: bytes */…) must have Content-Length: 0, \
                     not {cl}"
                )));
            }
            let mut hash = GoogHash::default();
            if let Some(t) = total {
                check_total(session, t)?;
                hash = declared_hash(&parts.headers)?;
                session.total = Some(t);
            }
            Ok(Plan::Query {
                total,
                hash,
                chunked: framing == Framing::Chunked,
            })
        }
        ContentRange::Data { first, last, total } => {
            let len = last - first + 1;
            if let Framing::Length(cl) = framing
                && cl != len
            {
                return Err(bad(format!(
                    "Content-Length {cl} does not match Content-Range bytes {first}-{last} \
                     ({len} bytes)"
                )));
            }
            if let Some(t) = total {
                check_total(session, t)?;
            }
            let known = total.or(session.known_total());
            if let Some(t) = known.filter(|t| last >= *t) {
                return Err(bad(format!(
                    "bytes {first}-{last} go past the total of {t} bytes"
                )));
            }
            let finishes = known == Some(last + 1);
            if !finishes && len % CHUNK_GRANULARITY != 0 {
                return Err(bad(format!(
                    "a chunk that does not end the upload must be a multiple of 262144 bytes \
                     (256 KiB); this one has {len}"
                )));
            }
            if !finishes && first % CHUNK_GRANULARITY != 0 {
                return Err(bad(format!(
                    "a chunk that does not end the upload must start on a 262144-byte \
                     boundary; this one starts at {first}"
                )));
            }
            if first > session.persisted {
                return Err(bad(format!(
                    "the chunk starts at byte {first} but only {} bytes are persisted; \
                     resume from the persisted offset (nothing was stored)",
                    session.persisted
                )));
            }
            let hash = if finishes {
                declared_hash(&parts.headers)?
            } else {
                GoogHash::default()
            };
            if total.is_some() {
                session.total = total;
            }
            Ok(Plan::Data {
                span: Span {
                    first,
                    len: Some(len),
                    chunked: framing == Framing::Chunked,
                    finishes,
                },
                hash,
            })
        }
    }
}

/// A `PUT` on an active session.
async fn put(
    shared: &Shared,
    call: &mut Call,
    parts: &Parts,
    body: Incoming,
    session: &mut Session,
) -> Reply {
    let plan = match plan(parts, session) {
        Ok(p) => p,
        Err(r) => return refuse(body, shared, r),
    };
    let reply = match plan {
        Plan::Query {
            total,
            hash,
            chunked,
        } => {
            let idle = shared.config.idle_timeout;
            if chunked {
                match read_small(body, 0, idle).await {
                    Ok(_) => {}
                    Err(SmallBody::TooLarge) => {
                        let msg = "a status query (Content-Range: bytes */…) must have an \
                                   empty body";
                        return error_response(StatusCode::BAD_REQUEST, "invalid_argument", msg)
                            .into();
                    }
                    Err(SmallBody::Broken) => {
                        call.outcome = Some("cut-off");
                        return Reply::Reset;
                    }
                }
            } else {
                drain(body, idle);
            }
            if let Some(reply) = inject::after_body(call).await {
                return reply;
            }
            query(shared, call, session, total, &hash).await
        }
        Plan::Data { span, hash } => data(shared, call, body, session, span, &hash).await,
    };
    match reply {
        Reply::Respond(r)
            if r.status() == StatusCode::PERMANENT_REDIRECT
                && call
                    .fault
                    .as_ref()
                    .is_some_and(|f| f.respond == Some(Respond::Override308)) =>
        {
            let (mut parts, body) = r.into_parts();
            parts.status = StatusCode::OK;
            parts
                .headers
                .insert(OVERRIDE, HeaderValue::from_static("308"));
            Reply::Respond(Response::from_parts(parts, body))
        }
        other => other,
    }
}

/// Drops everything persisted, so that a 308 without `Range` is true.
async fn forget(session: &mut Session) {
    session.part.discard().await;
    session.persisted = 0;
    session.digest = Digest::new();
}

/// A status query: 308, or the object once exactly the total is persisted.
async fn query(
    shared: &Shared,
    call: &mut Call,
    session: &mut Session,
    total: Option<u64>,
    hash: &GoogHash,
) -> Reply {
    let no_range = call.fault.as_ref().is_some_and(|f| f.no_range);
    if no_range {
        forget(session).await;
    }
    if total == Some(session.persisted) {
        if let Some(msg) = hash_mismatch(hash, &session.digest) {
            return error_response(StatusCode::BAD_REQUEST, "invalid_argument", &msg).into();
        }
        let _finalizing = shared.finalizing.lock().await;
        if let Err((status, reason, msg)) = shared.check_preconditions(session) {
            return error_response(status, reason, &msg).into();
        }
        let digest = session.digest.clone();
        return finalize(shared, session, digest).await;
    }
    incomplete(session.persisted, no_range).into()
}

/// How reading a request body ended.
enum BodyEnd {
    /// The body ended with the bytes its request named (`Content-Length`, or
    /// a chunked body's `Content-Range`).
    Complete,
    /// The connection failed, went idle, or ended early.
    CutOff,
    /// A chunked body ended with fewer bytes than its `Content-Range` names
    /// (`more: false`), or went past them (`more: true`).
    Mismatch { more: bool },
    /// A fault's `after=` threshold was reached and it answers or resets.
    Fault,
}

/// The bytes a data `PUT` carries, as its headers say.
#[derive(Debug, Clone, Copy)]
struct Span {
    /// The offset of its first byte.
    first: u64,
    /// How many bytes; `None`: as many as its chunked body has.
    len: Option<u64>,
    /// Framed by `Transfer-Encoding: chunked`: the length is checked at the end.
    chunked: bool,
    /// It ends at the upload's total.
    finishes: bool,
}

/// A data `PUT`: streams the body into the session's part.
async fn data(
    shared: &Shared,
    call: &mut Call,
    mut body: Incoming,
    session: &mut Session,
    span: Span,
    hash: &GoogHash,
) -> Reply {
    let idle = shared.config.idle_timeout;
    let fault = call.fault.clone().unwrap_or_default();
    let first = span.first;
    let limit = match (fault.short, span.len) {
        (Some(short), Some(len)) => {
            let kept = (first + len).saturating_sub(short);
            (kept - kept % CHUNK_GRANULARITY).max(session.persisted)
        }
        (None, Some(len)) => first + len,
        (_, None) => u64::MAX,
    };
    let mut trigger =
        (fault.after > 0).then_some(span.len.map_or(fault.after, |l| fault.after.min(l)));
    let mut app =
        match Appender::open(&mut session.part, session.persisted, &session.digest, limit).await {
            Ok(a) => a,
            Err(e) => {
                drain(body, idle);
                return storage_error(&e);
            }
        };
    let mut received = 0u64;
    let all_in = |received: u64| span.len.is_none_or(|l| received == l);
    let result: std::io::Result<BodyEnd> = async {
        loop {
            let frame = match tokio::time::timeout(idle, body.frame()).await {
                Ok(Some(Ok(frame))) => frame,
                Ok(None) if all_in(received) => return Ok(BodyEnd::Complete),
                // Only a chunked body can end cleanly short of its length.
                Ok(None) if span.chunked => return Ok(BodyEnd::Mismatch { more: false }),
                Ok(None) | Ok(Some(Err(_))) | Err(_) => return Ok(BodyEnd::CutOff),
            };
            let Ok(mut chunk) = frame.into_data() else {
                continue;
            };
            while !chunk.is_empty() {
                let take = match trigger {
                    Some(at) => usize::try_from(at - received)
                        .unwrap_or(usize::MAX)
                        .min(chunk.len()),
                    None => chunk.len(),
                };
                let piece: Bytes = chunk.split_to(take);
                // The appender stores nothing past the range's end.
                app.write(first + received, &piece).await?;
                received += piece.len() as u64;
                if span.len.is_some_and(|l| received > l) {
                    return Ok(BodyEnd::Mismatch { more: true });
                }
                if trigger == Some(received) {
                    trigger = None;
                    if let Some(d) = fault.stall {
                        call.stall(d).await;
                    }
                    if matches!(fault.respond, Some(Respond::Status { .. } | Respond::Reset)) {
                        return Ok(BodyEnd::Fault);
                    }
                }
            }
            // A chunked body is read to its end, to see that no byte follows.
            if !span.chunked && all_in(received) {
                return Ok(BodyEnd::Complete);
            }
        }
    }
    .await;
    session.bytes_received += received;
    call.record.bytes_received = received;
    let end_state = match result {
        Ok(e) => e,
        Err(e) => {
            drain(body, idle);
            // Whatever the failed write left is cut back when the part is next opened.
            return storage_error(&e);
        }
    };
    // A whole-object request of unknown length names its total by its end.
    let total_at_end = match (&end_state, span.len) {
        (BodyEnd::Complete, None) => Some(first + received),
        _ => None,
    };
    let refused_total = total_at_end.and_then(|t| check_total(session, t).err());
    match end_state {
        BodyEnd::CutOff | BodyEnd::Fault | BodyEnd::Mismatch { .. } => {
            match app.close(&mut session.part, Keep::WholeUnits).await {
                Ok((n, d)) => {
                    session.persisted = n;
                    session.digest = d;
                }
                Err(e) => return storage_error(&e),
            }
            if let BodyEnd::Mismatch { more } = end_state {
                drain(body, idle);
                let msg = format!(
                    "the chunked body has {} the {} bytes (from offset {first}) its request \
                     names; only whole 256 KiB units of it were kept ({} bytes persisted) and \
                     nothing was finalized",
                    if more { "more than" } else { "fewer than" },
                    span.len.unwrap_or(0),
                    session.persisted
                );
                return error_response(StatusCode::BAD_REQUEST, "invalid_argument", &msg).into();
            }
            if let (BodyEnd::Fault, Some(Respond::Status { code, retry_after })) =
                (&end_state, fault.respond)
            {
                drain(body, idle);
                call.outcome = Some("fault");
                return inject::fault_status(code, retry_after).into();
            }
            call.outcome = Some(if matches!(end_state, BodyEnd::CutOff) {
                "cut-off"
            } else {
                "fault-reset"
            });
            Reply::Reset
        }
        BodyEnd::Complete => {
            if let Some((status, reason, msg)) = refused_total {
                return match app.close(&mut session.part, Keep::WholeUnits).await {
                    Ok((n, d)) => {
                        session.persisted = n;
                        session.digest = d;
                        error_response(status, reason, &msg).into()
                    }
                    Err(e) => storage_error(&e),
                };
            }
            if total_at_end.is_some() {
                session.total = total_at_end;
            }
            let end = first + span.len.unwrap_or(received);
            if fault.no_range {
                let _ = app.close(&mut session.part, Keep::Nothing).await;
                forget(session).await;
                return incomplete(0, true).into();
            }
            let reaches_end = span.finishes && app.pos() == end;
            if reaches_end && let Some(msg) = hash_mismatch(hash, app.digest()) {
                if let Err(e) = app.close(&mut session.part, Keep::Nothing).await {
                    return storage_error(&e);
                }
                return error_response(StatusCode::BAD_REQUEST, "invalid_argument", &msg).into();
            }
            let _finalizing = match reaches_end {
                true => Some(shared.finalizing.lock().await),
                false => None,
            };
            // Checked again as the object is written: nothing of this request is
            // kept, and the session stays active at its earlier offset.
            if reaches_end && let Err((status, reason, msg)) = shared.check_preconditions(session) {
                if let Err(e) = app.close(&mut session.part, Keep::Nothing).await {
                    return storage_error(&e);
                }
                return error_response(status, reason, &msg).into();
            }
            match app.close(&mut session.part, Keep::All).await {
                Ok((n, d)) => {
                    session.persisted = n;
                    session.digest = d;
                }
                Err(e) => return storage_error(&e),
            }
            if reaches_end {
                let digest = session.digest.clone();
                finalize(shared, session, digest).await
            } else {
                incomplete(session.persisted, false).into()
            }
        }
    }
}

/// Turns the session's part into the object and answers with it.
async fn finalize(shared: &Shared, session: &mut Session, digest: Digest) -> Reply {
    let generation = shared.next_generation();
    let data = match shared.store.finish(&mut session.part, generation).await {
        Ok(d) => d,
        Err(e) => return storage_error(&e),
    };
    let info = ObjectInfo {
        bucket: session.bucket.clone(),
        name: session.name.clone(),
        size: session.persisted,
        crc32c: digest.crc32c(),
        md5: digest.md5(),
        content_type: session.content_type.clone(),
        generation,
        metageneration: 1,
        time_created: crate::time::rfc3339_millis(SystemTime::now()),
    };
    let object = Arc::new(Object { info, data });
    shared.put_object(Arc::clone(&object));
    let reply = object_response(shared, &object.info).into();
    session.state = SessionState::Complete(object);
    reply
}
