//! The HTTP/1.1 server: accepting connections, routing, and resetting a connection
//! when a fault says so.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::log::RequestKind;
use crate::reply::{Body, Reply, drain, error_response};
use crate::shared::Shared;
use crate::url::{decode, parse_query, query_value};
use crate::{api, control, download, gcs, initiate, tus};

/// The error that makes hyper drop a connection without answering.
#[derive(Debug, thiserror::Error)]
#[error("connection reset by a scripted fault or a broken request")]
struct ResetConnection;

/// A TCP stream that, once `reset` is set, fails all IO and closes with `RST`
/// (zero linger) rather than `FIN`.
struct Conn {
    stream: TcpStream,
    reset: Arc<AtomicBool>,
}

impl Conn {
    fn check(&self) -> io::Result<()> {
        if self.reset.load(Ordering::Relaxed) {
            Err(io::Error::from(io::ErrorKind::ConnectionReset))
        } else {
            Ok(())
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if self.reset.load(Ordering::Relaxed) {
            // Best effort: without it the close is a plain FIN.
            let _ = self.stream.set_zero_linger();
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}

/// Accepts connections until `stop` changes; then drops them all.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    conns.spawn(connection(stream, Arc::clone(&shared)));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            },
            _ = stop.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.abort_all();
}

async fn connection(stream: TcpStream, shared: Arc<Shared>) {
    let reset = Arc::new(AtomicBool::new(false));
    let conn = Conn {
        stream,
        reset: Arc::clone(&reset),
    };
    let service = service_fn(move |req| {
        let shared = Arc::clone(&shared);
        let reset = Arc::clone(&reset);
        async move {
            // A task of its own: the request is processed (and logged, and its
            // persisted bytes kept) even when hyper drops a dead connection.
            match tokio::spawn(route(shared, req)).await {
                Ok(Reply::Respond(r)) => Ok::<Response<Body>, ResetConnection>(r),
                Ok(Reply::Reset) | Err(_) => {
                    reset.store(true, Ordering::Relaxed);
                    Err(ResetConnection)
                }
            }
        }
    });
    if let Err(e) = http1::Builder::new()
        .serve_connection(TokioIo::new(conn), service)
        .await
    {
        tracing::trace!(error = %e, "connection ended");
    }
}

/// Sends a request to its handler.
async fn route(shared: Arc<Shared>, req: Request<Incoming>) -> Reply {
    let path = req.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let method = req.method().clone();
    match segments.as_slice() {
        ["_emulator", rest @ ..] => control::handle(shared, &rest.join("/"), req).await,
        ["v1", "organizations", org, "files", "upload-url"] if method == Method::POST => {
            match decode(org, false) {
                Some(org) if !org.is_empty() => api::upload_url(shared, org, req).await,
                _ => not_found(&shared, req),
            }
        }
        ["v1", "organizations", org, "files"] if method == Method::POST => match decode(org, false)
        {
            Some(org) if !org.is_empty() => api::register(shared, org, req).await,
            _ => not_found(&shared, req),
        },
        ["upload", "storage", "v1", "b", bucket, "o"] => {
            let Some(bucket) = decode(bucket, false) else {
                return not_found(&shared, req);
            };
            // Read as the session handler reads it (`upload%5Fid` too); a
            // query that does not decode is that handler's to refuse.
            let has_session = parse_query(req.uri().query())
                .is_none_or(|q| query_value(&q, "upload_id").is_some());
            if method == Method::POST && !has_session {
                initiate::initiate(shared, bucket, req).await
            } else {
                gcs::session_request(shared, req).await
            }
        }
        ["tus", "files"] | ["tus", "files", ""] => tus::request(shared, None, req).await,
        ["tus", "files", id] => {
            let id = (*id).to_owned();
            tus::request(shared, Some(&id), req).await
        }
        ["storage", "v1", "b", bucket, "o", object @ ..]
        | ["download", "storage", "v1", "b", bucket, "o", object @ ..]
            if method == Method::GET && !object.is_empty() =>
        {
            let download = path.starts_with("/download/");
            match (decode(bucket, false), decode(&object.join("/"), false)) {
                (Some(bucket), Some(name)) if !name.is_empty() => {
                    download::object_get(shared, bucket, name, download, req).await
                }
                _ => not_found(&shared, req),
            }
        }
        _ => not_found(&shared, req),
    }
}

fn not_found(shared: &Shared, req: Request<Incoming>) -> Reply {
    let (parts, body) = req.into_parts();
    let call = shared.begin(&parts, RequestKind::Other, None);
    drain(body, shared.config.idle_timeout);
    let reply: Reply = error_response(
        StatusCode::NOT_FOUND,
        "not_found",
        &format!("no route for {} {}", parts.method, parts.uri.path()),
    )
    .into();
    shared.finish(call, &reply);
    reply
}
