//! Object metadata and downloads, for verification.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use tokio::io::AsyncReadExt as _;
use tokio::sync::mpsc;

use crate::gcs::{object_response, storage_error};
use crate::inject;
use crate::log::RequestKind;
use crate::object::Object;
use crate::reply::{Body, Reply, drain, error_response};
use crate::shared::Shared;
use crate::storage::ObjectData;
use crate::url::{parse_query, query_value};

/// `GET /storage/v1/b/{bucket}/o/{object}` (metadata, or `alt=media`) and
/// `GET /download/storage/v1/b/{bucket}/o/{object}` (download).
pub(crate) async fn object_get(
    shared: Arc<Shared>,
    bucket: String,
    name: String,
    download: bool,
    req: Request<Incoming>,
) -> Reply {
    let (parts, body) = req.into_parts();
    let mut call = shared.begin(&parts, RequestKind::Object, None);
    let reply = match inject::before_body(&mut call, body, shared.config.idle_timeout).await {
        Err(reply) => reply,
        Ok(body) => {
            drain(body, shared.config.idle_timeout);
            let query = parse_query(parts.uri.query()).unwrap_or_default();
            let media = download || query_value(&query, "alt") == Some("media");
            match shared.object(&bucket, &name) {
                None => error_response(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    &format!("no object {name:?} in bucket {bucket:?}"),
                )
                .into(),
                Some(object) if !media => object_response(&shared, &object.info).into(),
                Some(object) => download_response(&object).await,
            }
        }
    };
    let reply = inject::finish(&shared, &mut call, reply);
    shared.finish(call, &reply);
    reply
}

async fn download_response(object: &Object) -> Reply {
    let info = &object.info;
    let body = match &object.data {
        ObjectData::Memory(b) => Body::Full(Some(b.clone())),
        ObjectData::Sink => {
            return error_response(
                StatusCode::NOT_IMPLEMENTED,
                "not_stored",
                "the sink storage keeps no object data, only sizes and checksums",
            )
            .into();
        }
        ObjectData::Disk(path) => match tokio::fs::File::open(path).await {
            Ok(file) => stream_file(file, info.size),
            Err(e) => return storage_error(&e),
        },
    };
    let mut r = Response::new(body);
    let headers = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&info.content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(info.size));
    if let Ok(v) = HeaderValue::from_str(&info.goog_hash()) {
        headers.insert("x-goog-hash", v);
    }
    headers.insert("x-goog-generation", HeaderValue::from(info.generation));
    headers.insert("x-goog-stored-content-length", HeaderValue::from(info.size));
    Reply::Respond(r)
}

/// Streams a file in 256 KiB pieces through a small channel: flat memory.
fn stream_file(mut file: tokio::fs::File, size: u64) -> Body {
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        loop {
            let mut buf = vec![0u8; 256 * 1024];
            match file.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.send(Ok(Bytes::from(buf))).await.is_err() {
                        break;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    break;
                }
            }
        }
    });
    Body::Stream {
        rx,
        remaining: size,
    }
}
