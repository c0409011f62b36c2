//! An in-memory GCS resumable server with scripted faults, spoken through
//! `AsyncTransport`: the custom transport the tests plug in instead of hyper.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt as _;
use resumable_core::crc32c_base64;
use resumable_core::{Chunking, RetryPolicy, TransportErrorKind};
use resumable_tokio::{AsyncTransport, RequestBody, TransportError, Uploader};

pub(crate) const K256: usize = 256 * 1024;
pub(crate) const SESSION: &str =
    "https://storage.example/upload/storage/v1/b/b/o?uploadType=resumable&upload_id=SECRETID";

/// What the server does with the nth `PUT` (1-based).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Fault {
    /// Answer this status, persisting nothing.
    Status(u16),
    /// Persist this many whole 256 KiB units fewer than sent.
    Short(usize),
    /// Persist everything, then lose the answer (a reset).
    LoseAnswer,
    /// Never read the body: the stall timeout must fire.
    Stall,
}

#[derive(Debug, Default)]
pub(crate) struct Server {
    pub(crate) stored: Vec<u8>,
    pub(crate) total: Option<u64>,
    pub(crate) finalized: bool,
    pub(crate) deleted: bool,
    pub(crate) puts: usize,
    pub(crate) faults: HashMap<usize, Fault>,
    /// `Content-Range` of every request, in order.
    pub(crate) ranges: Vec<String>,
    /// The largest body frame seen.
    pub(crate) largest_frame: usize,
    pub(crate) frames: usize,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Mock(pub(crate) Arc<Mutex<Server>>);

impl Mock {
    pub(crate) fn with_faults(faults: &[(usize, Fault)]) -> Self {
        let mock = Self::default();
        mock.0.lock().unwrap().faults = faults.iter().copied().collect();
        mock
    }

    pub(crate) fn server(&self) -> std::sync::MutexGuard<'_, Server> {
        self.0.lock().unwrap()
    }
}

/// Every answer carries the session's `upload_id` as its upload id, as
/// Cloud Storage does.
fn response(status: u16) -> http::response::Builder {
    http::Response::builder()
        .status(status)
        .header("x-guploader-uploadid", "SECRETID")
}

impl Server {
    fn incomplete(&self) -> http::Response<Bytes> {
        let mut r = response(308);
        if !self.stored.is_empty() {
            r = r.header("range", format!("bytes=0-{}", self.stored.len() - 1));
        }
        r.body(Bytes::new()).unwrap()
    }

    fn object(&mut self) -> http::Response<Bytes> {
        self.finalized = true;
        let crc = crc32c_base64(crc32c::crc32c(&self.stored));
        let json = format!(r#"{{"size":"{}","crc32c":"{crc}"}}"#, self.stored.len());
        response(200).body(Bytes::from(json)).unwrap()
    }

    fn handle(
        &mut self,
        parts: &http::request::Parts,
        data: &[u8],
        fault: Option<Fault>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        assert!(!parts.headers.contains_key("x-api-key"));
        if parts.method == http::Method::DELETE {
            self.deleted = true;
            return Ok(response(499).body(Bytes::new()).unwrap());
        }
        let range = parts.headers["content-range"].to_str().unwrap().to_owned();
        self.ranges.push(range.clone());
        let length: usize = parts.headers["content-length"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(length, data.len(), "Content-Length matches the body");
        if let Some(Fault::Status(status)) = fault {
            return Ok(response(status).body(Bytes::new()).unwrap());
        }
        let spec = range.strip_prefix("bytes ").unwrap();
        let (span, total) = spec.split_once('/').unwrap();
        if total != "*" {
            let total: u64 = total.parse().unwrap();
            assert!(
                self.total.is_none_or(|t| t == total),
                "the total never changes"
            );
            self.total = Some(total);
        }
        if self.finalized {
            return Ok(self.object());
        }
        if span != "*" {
            let (a, b) = span.split_once('-').unwrap();
            let (a, b): (usize, usize) = (a.parse().unwrap(), b.parse().unwrap());
            assert_eq!(b + 1 - a, data.len());
            assert!(a <= self.stored.len(), "a chunk never skips bytes");
            let is_final = self.total == Some(b as u64 + 1);
            if !is_final {
                assert_eq!(data.len() % K256, 0, "non-final chunks are whole units");
            }
            let mut new = &data[self.stored.len() - a..];
            if let Some(Fault::Short(units)) = fault {
                let keep = new.len().saturating_sub(units * K256) / K256 * K256;
                new = &new[..keep];
            }
            self.stored.extend_from_slice(new);
        }
        if self.total == Some(self.stored.len() as u64) {
            return Ok(self.object());
        }
        Ok(self.incomplete())
    }
}

impl AsyncTransport for Mock {
    fn send(
        &mut self,
        request: http::Request<RequestBody>,
    ) -> impl Future<Output = Result<http::Response<Bytes>, TransportError>> + Send {
        let mock = self.clone();
        async move {
            let (parts, mut body) = request.into_parts();
            let fault = {
                let mut server = mock.server();
                server.puts += 1;
                let n = server.puts;
                server.faults.get(&n).copied()
            };
            if let Some(Fault::Stall) = fault {
                std::future::pending::<()>().await;
            }
            let mut data = Vec::new();
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| TransportError::new(TransportErrorKind::Reset, e))?;
                if let Ok(bytes) = frame.into_data() {
                    let mut server = mock.server();
                    server.frames += 1;
                    server.largest_frame = server.largest_frame.max(bytes.len());
                    data.extend_from_slice(&bytes);
                }
            }
            let answer = mock.server().handle(&parts, &data, fault);
            match fault {
                Some(Fault::LoseAnswer) => Err(TransportError::new(
                    TransportErrorKind::Reset,
                    "connection reset after the request was processed",
                )),
                _ => answer,
            }
        }
    }
}

pub(crate) fn data(len: usize) -> Bytes {
    (0..len)
        .map(|i| (i * 7 + i / 1000) as u8)
        .collect::<Vec<_>>()
        .into()
}

pub(crate) fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        initial_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        ..RetryPolicy::default()
    }
}

pub(crate) fn uploader(mock: &Mock) -> Uploader<Mock> {
    Uploader::with_transport(mock.clone())
        .chunking(Chunking::Fixed(K256 as u64))
        .retry(fast_retry())
}
