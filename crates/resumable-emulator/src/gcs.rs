//! The Cloud Storage resumable session served over hyper: chunks streamed to
//! storage, status queries, cancel, and the finished object; plus the helpers
//! the other Cloud Storage endpoints share. Every protocol decision (which
//! requests a session takes, what a `PUT` asks for, how it ends) is
//! `resumable_sim::gcs`'s, the same rules the in-memory sim applies; this
//! file does the IO around them.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use resumable_sim::gcs::{self, Digests, End, Plan, Route, Span, UNIT};
use resumable_sim::wire::{self, GoogHash, PutRange};

use crate::faults::{Respond, SessionEffect};
use crate::inject;
use crate::log::RequestKind;
use crate::object::{Object, ObjectInfo, object_json};
pub(crate) use crate::reply::Refusal;
use crate::reply::{
    Body, Reply, SmallBody, drain, empty_response, error_response, json_response, read_small,
    refusal_response,
};
use crate::session::{Session, SessionState};
use crate::shared::{Call, SessionSlot, Shared};
use crate::storage::{Appender, Digest, Keep};
use crate::url::{parse_query, query_value};

const GUPLOADER: &str = "x-guploader-uploadid";
const OVERRIDE: &str = "x-http-status-code-override";

pub(crate) fn refuse(body: Incoming, shared: &Shared, refusal: Refusal) -> Reply {
    drain(body, shared.config.idle_timeout);
    refusal_response(&refusal).into()
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
    if let Some(range) = wire::persisted_range(persisted).filter(|_| !no_range)
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
        Some(v) => match wire::put_range(v) {
            Ok(PutRange::Query { .. }) => RequestKind::Query,
            Ok(PutRange::Bytes {
                end,
                total: Some(t),
                ..
            }) if end == t => RequestKind::Final,
            Ok(PutRange::Bytes { .. }) => RequestKind::Chunk,
            Err(_) => RequestKind::Put,
        },
    }
}

/// The digests `digest` holds, as the shared rules compare them.
fn digests(digest: &Digest) -> Digests {
    Digests {
        crc32c: digest.crc32c(),
        md5: Some(digest.md5()),
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
            (_, None) => refuse(
                body,
                &shared,
                Refusal::bad("the session URL has no upload_id"),
            ),
            (None, Some(_)) => refuse(
                body,
                &shared,
                Refusal::new(404, "not_found", "no upload session with this upload_id"),
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
    let reply = match gcs::route(&parts.method, session.state.standing()) {
        Route::Refuse(r) => refuse(body, shared, r),
        Route::Cancel => {
            drain(body, shared.config.idle_timeout);
            session.part.discard().await;
            session.state = SessionState::Cancelled;
            empty_response(StatusCode::from_u16(499).unwrap_or(StatusCode::OK)).into()
        }
        Route::Object => {
            drain(body, shared.config.idle_timeout);
            match &session.state {
                SessionState::Complete(object) => object_response(shared, &object.info).into(),
                _ => refusal_response(&Refusal::new(404, "not_found", "no object")).into(),
            }
        }
        Route::Put => put(shared, call, parts, body, &mut session).await,
    };
    call.record.persisted = Some(session.progress.persisted);
    shared.update_session_info(&session);
    reply
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

/// A `PUT` on an active session.
async fn put(
    shared: &Shared,
    call: &mut Call,
    parts: &Parts,
    body: Incoming,
    session: &mut Session,
) -> Reply {
    let plan = match gcs::plan_put(&parts.headers, &mut session.progress) {
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
    session.progress.persisted = 0;
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
    match gcs::query_end(&session.progress, total, hash, || digests(&session.digest)) {
        End::Incomplete(persisted) => incomplete(persisted, no_range).into(),
        End::Refuse(r) => refusal_response(&r).into(),
        End::Finalize => {
            let _finalizing = shared.finalizing.lock().await;
            if let Err(r) = shared.check_preconditions(session) {
                return refusal_response(&r).into();
            }
            let digest = session.digest.clone();
            finalize(shared, session, digest).await
        }
    }
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
            (kept - kept % UNIT).max(session.progress.persisted)
        }
        (None, Some(len)) => first + len,
        (_, None) => u64::MAX,
    };
    let mut trigger =
        (fault.after > 0).then_some(span.len.map_or(fault.after, |l| fault.after.min(l)));
    let mut app = match Appender::open(
        &mut session.part,
        session.progress.persisted,
        &session.digest,
        limit,
    )
    .await
    {
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
                let take = inject::take_before(trigger, received, chunk.len());
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
    let refused_total = total_at_end.and_then(|t| session.progress.check_total(t).err());
    match end_state {
        BodyEnd::CutOff | BodyEnd::Fault | BodyEnd::Mismatch { .. } => {
            match app.close(&mut session.part, Keep::WholeUnits).await {
                Ok((n, d)) => {
                    session.progress.persisted = n;
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
                    session.progress.persisted
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
            if let Some(refusal) = refused_total {
                return match app.close(&mut session.part, Keep::WholeUnits).await {
                    Ok((n, d)) => {
                        session.progress.persisted = n;
                        session.digest = d;
                        refusal_response(&refusal).into()
                    }
                    Err(e) => storage_error(&e),
                };
            }
            if total_at_end.is_some() {
                session.progress.total = total_at_end;
            }
            let end = first + span.len.unwrap_or(received);
            if fault.no_range {
                let _ = app.close(&mut session.part, Keep::Nothing).await;
                forget(session).await;
                return incomplete(0, true).into();
            }
            let reaches_end =
                match gcs::data_end(&span, end, app.pos(), hash, || digests(app.digest())) {
                    End::Incomplete(_) => false,
                    End::Finalize => true,
                    End::Refuse(r) => {
                        if let Err(e) = app.close(&mut session.part, Keep::Nothing).await {
                            return storage_error(&e);
                        }
                        return refusal_response(&r).into();
                    }
                };
            let _finalizing = match reaches_end {
                true => Some(shared.finalizing.lock().await),
                false => None,
            };
            // Checked again as the object is written: nothing of this request is
            // kept, and the session stays active at its earlier offset.
            if reaches_end && let Err(r) = shared.check_preconditions(session) {
                if let Err(e) = app.close(&mut session.part, Keep::Nothing).await {
                    return storage_error(&e);
                }
                return refusal_response(&r).into();
            }
            match app.close(&mut session.part, Keep::All).await {
                Ok((n, d)) => {
                    session.progress.persisted = n;
                    session.digest = d;
                }
                Err(e) => return storage_error(&e),
            }
            if reaches_end {
                let digest = session.digest.clone();
                finalize(shared, session, digest).await
            } else {
                incomplete(session.progress.persisted, false).into()
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
        size: session.progress.persisted,
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
