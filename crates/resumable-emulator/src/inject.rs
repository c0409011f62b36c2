//! Applying a picked fault at the points of a request where it can strike.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use hyper::body::Incoming;
use serde_json::Value;

use crate::faults::{Fault, JsonEdit, RangeLie, Respond};
use crate::reply::{Bloat, Body, CutClose, Reply, drain, error_response};
use crate::shared::{Call, Shared};
use resumable_sim::wire::persisted_range;

/// The response of a `status=` fault.
pub(crate) fn fault_status(code: u16, retry_after: Option<u64>) -> http::Response<Body> {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let mut r = error_response(
        status,
        "injected_fault",
        &format!("scripted fault: the server answers {code}"),
    );
    if let Some(secs) = retry_after {
        r.headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from(secs));
    }
    r
}

/// How many of the `available` bytes of a body's next frame to take, so
/// that an `after=` threshold at offset `trigger` of the body (`received`
/// read so far) is met exactly.
pub(crate) fn take_before(trigger: Option<u64>, received: u64, available: usize) -> usize {
    match trigger {
        Some(at) => usize::try_from(at - received)
            .unwrap_or(usize::MAX)
            .min(available),
        None => available,
    }
}

/// What the fault does before any body byte is read: stall, then answer or reset.
/// `Err` carries the reply that ends the request (the body is drained).
pub(crate) async fn before_body(
    call: &mut Call,
    body: Incoming,
    idle: Duration,
) -> Result<Incoming, Reply> {
    let Some(fault) = call.fault.clone() else {
        return Ok(body);
    };
    if fault.after > 0 {
        return Ok(body);
    }
    if let Some(d) = fault.stall {
        call.stall(d).await;
    }
    match fault.respond {
        Some(Respond::Status { code, retry_after }) => {
            drain(body, idle);
            call.outcome = Some("fault");
            Err(fault_status(code, retry_after).into())
        }
        Some(Respond::Reset) => {
            call.outcome = Some("fault-reset");
            Err(Reply::Reset)
        }
        _ => Ok(body),
    }
}

/// What the fault does once the threshold `after` (> 0) is reached on a request
/// whose body is already read (file API requests, bodiless upload requests).
pub(crate) async fn after_body(call: &mut Call) -> Option<Reply> {
    let fault = call.fault.clone()?;
    if fault.after == 0 {
        return None;
    }
    if let Some(d) = fault.stall {
        call.stall(d).await;
    }
    match fault.respond {
        Some(Respond::Status { code, retry_after }) => {
            call.outcome = Some("fault");
            Some(fault_status(code, retry_after).into())
        }
        Some(Respond::Reset) => {
            call.outcome = Some("fault-reset");
            Some(Reply::Reset)
        }
        _ => None,
    }
}

/// Turns the final answer into a dropped one when the fault says so, or into a
/// lie: a false `Range`, edited JSON, a bloated or cut body.
pub(crate) fn finish(shared: &Shared, call: &mut Call, reply: Reply) -> Reply {
    if call.drops_response() {
        call.outcome = Some("fault-dropped-response");
        return Reply::Reset;
    }
    match (reply, &call.fault) {
        (Reply::Respond(r), Some(fault)) => {
            if fault.cut.is_some() {
                call.outcome = Some("fault-cut");
            }
            Reply::Respond(lie(shared, fault, r))
        }
        (reply, _) => reply,
    }
}

fn lie(shared: &Shared, fault: &Fault, mut r: Response<Body>) -> Response<Body> {
    let incomplete = r.status() == StatusCode::PERMANENT_REDIRECT
        || r.headers()
            .get("x-http-status-code-override")
            .is_some_and(|v| v == "308");
    if let (Some(range), true) = (&fault.range, incomplete) {
        let value = match range {
            RangeLie::Text(text) => HeaderValue::from_str(text).ok(),
            RangeLie::Persisted(n) => {
                persisted_range(*n).and_then(|v| HeaderValue::from_str(&v).ok())
            }
        };
        match value {
            Some(v) => r.headers_mut().insert(header::RANGE, v),
            None => r.headers_mut().remove(header::RANGE),
        };
    }
    if fault.edits.is_empty() && fault.bloat.is_none() && fault.cut.is_none() {
        return r;
    }
    let (mut parts, body) = r.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let mut bytes = match body {
        Body::Full(b) => b,
        // A streamed download is not a JSON answer: left as it is.
        other => return Response::from_parts(parts, other),
    };
    if !fault.edits.is_empty()
        && let Some(Ok(Value::Object(mut map))) =
            bytes.as_ref().map(|b| serde_json::from_slice::<Value>(b))
    {
        for edit in &fault.edits {
            let field = match edit {
                JsonEdit::Set(field, value) => {
                    map.insert(field.clone(), value.clone());
                    field
                }
                JsonEdit::Unset(field) => {
                    map.remove(field);
                    field
                }
            };
            // The header must not contradict a lie about the hashes.
            if field == "crc32c" || field == "md5Hash" {
                parts.headers.remove("x-goog-hash");
            }
        }
        bytes = Some(Bytes::from(Value::Object(map).to_string()));
    }
    let body = match (fault.bloat, fault.cut) {
        (Some(size), _) => Body::Bloat(Bloat::new(bytes, size, shared.bloat.clone())),
        (None, Some(cut)) => {
            let whole = bytes.unwrap_or_default();
            let keep = usize::try_from(cut.keep).unwrap_or(usize::MAX);
            let head = whole.slice(..keep.min(whole.len()));
            if cut.close {
                parts
                    .headers
                    .insert(header::CONTENT_LENGTH, HeaderValue::from(whole.len()));
                Body::CutClose(CutClose::new(head))
            } else {
                Body::Full(Some(head))
            }
        }
        (None, None) => Body::Full(bytes),
    };
    Response::from_parts(parts, body)
}
