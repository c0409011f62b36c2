//! The Cloud Storage JSON API initiate call: a new resumable session in `Location`.

use std::sync::Arc;

use http::request::Parts;
use http::{HeaderValue, Request, StatusCode, header};
use hyper::body::Incoming;
use serde_json::Value;

use crate::gcs::{header_str, refuse, with_guploader};
use crate::inject;
use crate::log::RequestKind;
use crate::precondition::Preconditions;
use crate::reply::{
    Refusal, Reply, SmallBody, empty_response, error_response, read_small, refusal_response,
};
use crate::shared::{Call, Shared, bucket_name_problem};
use crate::url::{parse_query, query_value};

/// `POST /upload/storage/v1/b/{bucket}/o?uploadType=resumable&name=…`.
pub(crate) async fn initiate(shared: Arc<Shared>, bucket: String, req: Request<Incoming>) -> Reply {
    let (parts, body) = req.into_parts();
    let mut call = shared.begin(&parts, RequestKind::Initiate, None);
    let fallback_id = format!("AHxI1nP{}", shared.state().random_id(64));
    let (reply, id) = match initiate_inner(&shared, &mut call, &parts, body, &bucket).await {
        Ok((reply, id)) => (reply, id),
        Err(reply) => (reply, fallback_id),
    };
    let reply = with_guploader(inject::finish(&shared, &mut call, reply), &id);
    shared.finish(call, &reply);
    reply
}

async fn initiate_inner(
    shared: &Shared,
    call: &mut Call,
    parts: &Parts,
    body: Incoming,
    bucket: &str,
) -> Result<(Reply, String), Reply> {
    let idle = shared.config.idle_timeout;
    let body = inject::before_body(call, body, idle).await?;
    let Some(query) = parse_query(parts.uri.query()) else {
        return Err(refuse(body, shared, Refusal::bad("malformed query string")));
    };
    match query_value(&query, "uploadType") {
        Some("resumable") => {}
        Some(other) => {
            let msg = format!("uploadType={other} is not supported; use uploadType=resumable");
            return Err(refuse(body, shared, Refusal::bad(msg)));
        }
        None => {
            return Err(refuse(
                body,
                shared,
                Refusal::bad("missing uploadType=resumable"),
            ));
        }
    }
    let preconditions = match Preconditions::parse(&query) {
        Ok(p) => p,
        Err(r) => return Err(refuse(body, shared, r)),
    };
    // Buckets come into being on their first use.
    if let Some(problem) = bucket_name_problem(bucket) {
        let msg = format!("{bucket:?} is not a valid bucket name: {problem}");
        return Err(refuse(body, shared, Refusal::bad(msg)));
    }
    let declared = match header_str(&parts.headers, "x-upload-content-length") {
        None => None,
        Some(v) => match v.trim().parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => {
                let msg = format!("X-Upload-Content-Length {v:?} is not a number");
                return Err(refuse(body, shared, Refusal::bad(msg)));
            }
        },
    };
    let bytes = match read_small(body, 1 << 20, idle).await {
        Ok(b) => b,
        Err(SmallBody::TooLarge) => {
            let r = error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "object metadata is larger than 1 MiB",
            );
            return Err(r.into());
        }
        Err(SmallBody::Broken) => {
            call.outcome = Some("cut-off");
            return Err(Reply::Reset);
        }
    };
    call.record.bytes_received = bytes.len() as u64;
    if let Some(reply) = inject::after_body(call).await {
        return Err(reply);
    }
    let metadata = if bytes.iter().all(u8::is_ascii_whitespace) {
        serde_json::Map::new()
    } else {
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(m)) => m,
            _ => {
                let r = error_response(
                    StatusCode::BAD_REQUEST,
                    "invalid_argument",
                    "object metadata must be a JSON object",
                );
                return Err(r.into());
            }
        }
    };
    let meta_str = |k: &str| metadata.get(k).and_then(Value::as_str).map(str::to_owned);
    let name = query_value(&query, "name")
        .map(str::to_owned)
        .or_else(|| meta_str("name"));
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        let r = error_response(
            StatusCode::BAD_REQUEST,
            "invalid_argument",
            "the object name is missing (name= in the query or \"name\" in the metadata)",
        );
        return Err(r.into());
    };
    let content_type = header_str(&parts.headers, "x-upload-content-type")
        .map(str::to_owned)
        .or_else(|| meta_str("contentType"))
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    let live = shared.object(bucket, &name);
    if let Err(r) = preconditions.check(live.as_ref().map(|o| &o.info)) {
        return Err(refusal_response(&r).into());
    }
    shared.state().buckets.insert(bucket.to_owned());
    let (upload_id, slot) =
        shared.create_session(bucket, &name, &content_type, declared, preconditions);
    let location = shared.session_url(bucket, &name, &upload_id);
    let mut r = empty_response(StatusCode::OK);
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok((r.into(), slot.guploader_id))
}
