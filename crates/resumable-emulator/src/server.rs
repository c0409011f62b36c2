//! The HTTP/1.1 server: accepting connections, routing, and resetting a connection
//! when a fault says so.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
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
use crate::{api, control, download, gcs, ietf, initiate, tus};

/// The error that makes hyper drop a connection without answering.
#[derive(Debug, thiserror::Error)]
#[error("connection reset by a scripted fault or a broken request")]
struct ResetConnection;

/// A connection's socket, shared by hyper and by the handlers that write
/// interim heads on it ([`Interim`]).
type Socket = Arc<Mutex<TcpStream>>;

fn lock(socket: &Mutex<TcpStream>) -> MutexGuard<'_, TcpStream> {
    socket.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A TCP stream that, once `reset` is set, fails all IO and closes with `RST`
/// (zero linger) rather than `FIN`.
struct Conn {
    stream: Socket,
    reset: Arc<AtomicBool>,
}

fn check(reset: &AtomicBool) -> io::Result<()> {
    if reset.load(Ordering::Relaxed) {
        Err(io::Error::from(io::ErrorKind::ConnectionReset))
    } else {
        Ok(())
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if self.reset.load(Ordering::Relaxed) {
            // Best effort: without it the close is a plain FIN.
            let _ = lock(&self.stream).set_zero_linger();
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        check(&self.reset)?;
        Pin::new(&mut *lock(&self.stream)).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        check(&self.reset)?;
        Pin::new(&mut *lock(&self.stream)).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        check(&self.reset)?;
        Pin::new(&mut *lock(&self.stream)).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        check(&self.reset)?;
        Pin::new(&mut *lock(&self.stream)).poll_shutdown(cx)
    }
}

/// Writes `1xx` interim heads on a request's connection, which hyper's
/// server cannot send (it answers a `1xx` response with a 500 and sends
/// `100 Continue` alone). A handler finds it in the request's extensions.
///
/// Hyper writes nothing on an HTTP/1.1 connection while a request is being
/// served, but `100 Continue` (written, whole, when the body is first read)
/// and the final response (after the handler returns), so a head written
/// whole from the handler lands between them, where a `1xx` belongs.
#[derive(Debug, Clone)]
pub(crate) struct Interim {
    stream: Weak<Mutex<TcpStream>>,
    reset: Arc<AtomicBool>,
}

impl Interim {
    /// Writes the head of `status` with `headers` on the connection;
    /// headers that cannot go on the wire are left out.
    pub(crate) async fn send(
        &self,
        status: u16,
        reason: &str,
        headers: &[(&'static str, String)],
    ) -> io::Result<()> {
        let mut head = format!("HTTP/1.1 {status} {reason}\r\n");
        for (name, value) in headers {
            if http::HeaderValue::from_str(value).is_ok() {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        head.push_str("\r\n");
        let bytes = head.into_bytes();
        let mut sent = 0;
        std::future::poll_fn(|cx| {
            loop {
                check(&self.reset)?;
                let Some(stream) = self.stream.upgrade() else {
                    return Poll::Ready(Err(io::Error::from(io::ErrorKind::BrokenPipe)));
                };
                let polled = Pin::new(&mut *lock(&stream)).poll_write(cx, &bytes[sent..]);
                match polled {
                    Poll::Ready(Ok(0)) => {
                        return Poll::Ready(Err(io::Error::from(io::ErrorKind::WriteZero)));
                    }
                    Poll::Ready(Ok(n)) => {
                        sent += n;
                        if sent == bytes.len() {
                            return Poll::Ready(Ok(()));
                        }
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return Poll::Pending,
                }
            }
        })
        .await
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
    let stream = Arc::new(Mutex::new(stream));
    let interim = Interim {
        stream: Arc::downgrade(&stream),
        reset: Arc::clone(&reset),
    };
    let conn = Conn {
        stream,
        reset: Arc::clone(&reset),
    };
    let service = service_fn(move |mut req: Request<Incoming>| {
        let shared = Arc::clone(&shared);
        let reset = Arc::clone(&reset);
        req.extensions_mut().insert(interim.clone());
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
        ["ietf", "files"] | ["ietf", "files", ""] => ietf::request(shared, None, req).await,
        ["ietf", "files", id] => {
            let id = (*id).to_owned();
            ietf::request(shared, Some(&id), req).await
        }
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
