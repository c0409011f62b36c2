//! The application file API served over hyper: `upload-url` sessions and file
//! registration. What a request must hold and what a registration must match
//! are `resumable_sim::file_api`'s rules, the same the in-memory sim applies;
//! this file keeps the sessions, ids and records.

use std::sync::Arc;
use std::time::SystemTime;

use http::{Request, StatusCode};
use hyper::body::Incoming;
use resumable_sim::file_api::{self, MAX_JSON_BODY, RegisterRequest, UploadUrlRequest};
use serde_json::{Map, Value, json};

use crate::file_record::FileRecord;
use crate::inject;
use crate::log::RequestKind;
use crate::precondition::Preconditions;
use crate::reply::{Refusal, Reply, SmallBody, json_response, read_small, refusal_response};
use crate::shared::{Call, Issued, Shared};
use crate::time::rfc3339;

/// Faults, the API key and the JSON body: what both endpoints do first.
async fn prelude(
    shared: &Shared,
    call: &mut Call,
    req: Request<Incoming>,
) -> Result<Map<String, Value>, Reply> {
    let idle = shared.config.idle_timeout;
    let (parts, body) = req.into_parts();
    let body = inject::before_body(call, body, idle).await?;
    let key = parts.headers.get("x-api-key").map(|v| v.as_bytes());
    if let Err(r) = file_api::check_key(key, &shared.config.api_key) {
        crate::reply::drain(body, idle);
        return Err(api_error(&r));
    }
    let bytes = match read_small(body, MAX_JSON_BODY, idle).await {
        Ok(b) => b,
        Err(SmallBody::TooLarge) => return Err(api_error(&file_api::body_too_large())),
        Err(SmallBody::Broken) => {
            call.outcome = Some("cut-off");
            return Err(Reply::Reset);
        }
    };
    call.record.bytes_received = bytes.len() as u64;
    if let Some(reply) = inject::after_body(call).await {
        return Err(reply);
    }
    file_api::json_object(&bytes).map_err(|r| api_error(&r))
}

fn api_error(refusal: &Refusal) -> Reply {
    refusal_response(refusal).into()
}

/// `POST /v1/organizations/{org}/files/upload-url`.
pub(crate) async fn upload_url(shared: Arc<Shared>, org: String, req: Request<Incoming>) -> Reply {
    let (parts, body) = req.into_parts();
    let mut call = shared.begin(&parts, RequestKind::UploadUrl, None);
    shared.state().upload_url_calls += 1;
    let reply = match prelude(&shared, &mut call, Request::from_parts(parts, body)).await {
        Err(reply) => reply,
        Ok(body) => match new_upload(&shared, &org, &body) {
            Ok(v) => json_response(StatusCode::OK, &v).into(),
            Err(e) => api_error(&e),
        },
    };
    let reply = inject::finish(&shared, &mut call, reply);
    shared.finish(call, &reply);
    reply
}

fn new_upload(shared: &Shared, org: &str, body: &Map<String, Value>) -> Result<Value, Refusal> {
    let UploadUrlRequest {
        filename,
        file_size: size,
        mime_type: mime,
    } = UploadUrlRequest::parse(body, shared.config.max_file_size)?;
    let file_id = format!("file_{}", shared.state().random_id(12).to_lowercase());
    let gcs_path = file_api::gcs_path(org, &file_id, &filename);
    let (upload_id, _) = shared.create_session(
        &shared.config.bucket,
        &gcs_path,
        &mime,
        Some(size),
        Preconditions::default(),
    );
    let expires_at = crate::shared::expiry(shared.config.session_lifetime);
    shared.state().issued.insert(
        gcs_path.clone(),
        Issued {
            org: org.to_owned(),
            file_id: file_id.clone(),
        },
    );
    Ok(json!({
        "upload_url": shared.session_url(&shared.config.bucket, &gcs_path, &upload_id),
        "gcs_path": gcs_path,
        "file_id": file_id,
        "expires_at": rfc3339(expires_at),
        "max_file_size": shared.config.max_file_size,
        "upload_type": "resumable",
        "chunk_size_recommended": shared.config.chunk_size_recommended,
    }))
}

/// `POST /v1/organizations/{org}/files`.
pub(crate) async fn register(shared: Arc<Shared>, org: String, req: Request<Incoming>) -> Reply {
    let (parts, body) = req.into_parts();
    let mut call = shared.begin(&parts, RequestKind::Register, None);
    shared.state().register_calls += 1;
    let reply = match prelude(&shared, &mut call, Request::from_parts(parts, body)).await {
        Err(reply) => reply,
        Ok(body) => match register_file(&shared, &org, &body) {
            Ok((status, file)) => {
                let v = serde_json::to_value(&file).unwrap_or(Value::Null);
                json_response(status, &v).into()
            }
            Err(e) => api_error(&e),
        },
    };
    let reply = inject::finish(&shared, &mut call, reply);
    shared.finish(call, &reply);
    reply
}

fn register_file(
    shared: &Shared,
    org: &str,
    body: &Map<String, Value>,
) -> Result<(StatusCode, FileRecord), Refusal> {
    let req = RegisterRequest::parse(body, shared.config.max_file_size)?;
    let gcs_path = req.gcs_path.as_str();
    let issued = shared.state().issued.get(gcs_path).cloned();
    if issued.as_ref().is_some_and(|i| i.org != org) {
        return Err(req.not_found());
    }
    let object = shared
        .object(&shared.config.bucket, gcs_path)
        .ok_or_else(|| req.not_found())?;
    let info = &object.info;
    req.check_object(info.size, &info.content_type)?;
    let mut state = shared.state();
    if let Some(existing) = state.files.get(gcs_path) {
        return Ok((StatusCode::OK, existing.clone()));
    }
    let id = match issued {
        Some(i) => i.file_id,
        None => format!("file_{}", state.random_id(12).to_lowercase()),
    };
    let file = FileRecord {
        id,
        filename: req.filename,
        gcs_path: gcs_path.to_owned(),
        file_size: req.file_size,
        mime_type: req.mime_type,
        organization_id: org.to_owned(),
        created_at: rfc3339(SystemTime::now()),
        crc32c: info.crc32c_base64(),
        md5_hash: info.md5_base64(),
    };
    state.files.insert(gcs_path.to_owned(), file.clone());
    state.registrations += 1;
    Ok((StatusCode::CREATED, file))
}
