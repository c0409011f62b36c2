//! The core driven against the independent server model of
//! `resumable-sim`, with a virtual clock: a driver loop that pumps the core.
#![allow(
    dead_code,
    unused_imports,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::Response;
use resumable_core::{
    Action, Body, Checkpoint, Config, Error, Event, FileApi, Outcome, Purpose, Secret,
    TransportError, TransportErrorKind, Upload,
};
pub use resumable_sim::{
    API, Exchange, Fault, IetfFault, IetfServer, KEY, Reply, Server, TusFault, TusServer, UNIT,
};

/// A server model the driver pumps the core against, with its own faults.
pub trait Model {
    /// What the model can be told to do wrong with one request.
    type Fault: Copy + PartialEq + std::fmt::Debug;
    /// The fault that is none.
    const BEHAVE: Self::Fault;
    /// Serves one request with the body bytes the driver streamed: the
    /// interim heads sent before the final reply, and that reply.
    fn serve_one(
        &mut self,
        req: &http::Request<Body>,
        body: &[u8],
        fault: Self::Fault,
        wall: SystemTime,
    ) -> Exchange;
}

/// A final reply with no interim response before it.
fn alone(reply: Reply) -> Exchange {
    Exchange {
        interim: Vec::new(),
        reply,
    }
}

impl Model for Server {
    type Fault = Fault;
    const BEHAVE: Fault = Fault::None;
    fn serve_one(
        &mut self,
        req: &http::Request<Body>,
        body: &[u8],
        fault: Fault,
        wall: SystemTime,
    ) -> Exchange {
        alone(self.serve(req, body, fault, wall))
    }
}

impl Model for TusServer {
    type Fault = TusFault;
    const BEHAVE: TusFault = TusFault::None;
    fn serve_one(
        &mut self,
        req: &http::Request<Body>,
        body: &[u8],
        fault: TusFault,
        wall: SystemTime,
    ) -> Exchange {
        alone(self.serve(req, body, fault, wall))
    }
}

impl Model for IetfServer {
    type Fault = IetfFault;
    const BEHAVE: IetfFault = IetfFault::None;
    fn serve_one(
        &mut self,
        req: &http::Request<Body>,
        body: &[u8],
        fault: IetfFault,
        wall: SystemTime,
    ) -> Exchange {
        self.serve(req, body, fault, wall)
    }
}

/// The file-API configuration the simulations use.
pub fn file_api_config(size: u64) -> Config {
    let mut cfg = Config::file_api(
        FileApi {
            api_base: API.into(),
            organization: "org".into(),
            api_key: Secret::new(KEY),
            filename: "data.bin".into(),
            mime_type: "application/octet-stream".into(),
        },
        size,
    );
    cfg.jitter_seed = 42;
    cfg
}

/// The non-blank lines of `s`, trimmed: an expected transcript written as
/// an indented block.
pub fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// The first progress report lower than the one before it within a
/// session (`(before, after)`), if any: progress is what the server
/// persisted, which never goes backwards but when a session restarts, or
/// when the process dies before saving it (a resumed process goes on from
/// its checkpoint).
pub fn progress_backwards(run: &Run) -> Option<(u64, u64)> {
    let mut last = 0;
    let mut resumes = run.resumes.iter().peekable();
    for (i, e) in run.events.iter().enumerate() {
        while let Some((_, persisted)) = resumes.next_if(|(at, _)| *at <= i) {
            last = *persisted;
        }
        match e {
            resumable_core::Event::Persisted { offset, .. } if *offset < last => {
                return Some((last, *offset));
            }
            resumable_core::Event::Persisted { offset, .. } => last = *offset,
            resumable_core::Event::SessionRestarted { .. } => last = 0,
            _ => {}
        }
    }
    None
}

/// A source of `len` bytes, different for each `seed`.
pub fn source(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u64)
                .wrapping_mul(2_654_435_761)
                .wrapping_add(seed as u64) as u8
        })
        .collect()
}

/// What one simulated run saw.
#[derive(Debug, Default)]
pub struct Run {
    pub result: Option<Result<Outcome, Error>>,
    pub transcript: Vec<String>,
    pub events: Vec<Event>,
    pub checkpoints: Vec<Checkpoint>,
    /// How often the core said to remove the stored checkpoint.
    pub removals: u32,
    /// The offsets the core asked to read ahead to.
    pub read_aheads: Vec<u64>,
    pub crashes: u32,
    /// Where in `events` each crash's resumed process starts, and the
    /// persisted offset of the checkpoint it resumed from.
    pub resumes: Vec<(usize, u64)>,
}

/// The driver: pumps the core against the server with a virtual clock.
/// `faults(n)` gives the fault of the n-th request; `crash_at(n)` says
/// whether the process "dies" before polling step n (the upload is then
/// rebuilt from its last checkpoint).
pub fn drive<M: Model>(
    server: &mut M,
    cfg: Config,
    data: &[u8],
    mut faults: impl FnMut(u64, Purpose) -> M::Fault,
    mut crash_at: impl FnMut(u64) -> bool,
    max_steps: u64,
) -> Run {
    let t0 = Instant::now();
    let wall0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let mut now = t0;
    let wall = |now: Instant| wall0 + (now - t0);
    let mut up = Upload::new(cfg.clone(), now, wall(now)).expect("valid config");
    let mut run = Run::default();
    let mut n = 0u64;
    for step in 0..max_steps {
        if step > 0
            && crash_at(step)
            && let Some(cp) = run.checkpoints.last().cloned()
        {
            run.crashes += 1;
            run.transcript.push("crash".into());
            run.resumes.push((run.events.len(), cp.persisted));
            up = Upload::resume(cfg.clone(), cp, now, wall(now)).expect("resume");
        }
        let action = up.poll_action(now);
        match action {
            Action::Send(req) => {
                let mut body = Vec::new();
                if let Body::Source(r) = req.http.body() {
                    let bytes = &data[r.start as usize..r.end as usize];
                    up.feed_checksum(r.start, bytes);
                    body.extend_from_slice(bytes);
                }
                if let Body::Json(j) = req.http.body() {
                    body.extend_from_slice(j);
                }
                let fault = faults(n, req.purpose);
                n += 1;
                let mut line = describe(&req.http);
                if fault != M::BEHAVE {
                    line.push_str(&format!(" [{fault:?}]"));
                }
                let exchange = server.serve_one(&req.http, &body, fault, wall(now));
                for head in &exchange.interim {
                    line.push_str(&format!(" -> {}", describe_response(head)));
                    up.handle_informational(req.id, head.status(), head.headers(), now)
                        .expect("in flight");
                }
                now += Duration::from_millis(10);
                let answered = match exchange.reply {
                    Reply::Response(resp) => {
                        line.push_str(&format!(" -> {}", describe_response(&resp)));
                        run.transcript.push(line);
                        up.handle_response(req.id, resp, now)
                    }
                    Reply::Reset => {
                        let kind = TransportErrorKind::Reset;
                        line.push_str(&format!(" -> {kind:?}"));
                        run.transcript.push(line);
                        let error = TransportError::new(kind, "connection reset by peer");
                        up.handle_transport_error(req.id, &error, now)
                    }
                };
                // An interim response can make the engine abandon the
                // request (and cancel the upload); its answer is then taken
                // and ignored.
                answered.expect("the request in flight, or the one abandoned");
            }
            Action::Checksum(r) => {
                run.transcript
                    .push(format!("checksum {}..{}", r.start, r.end));
                up.feed_checksum(r.start, &data[r.start as usize..r.end as usize]);
            }
            Action::Checkpoint(cp) => {
                run.transcript.push(format!(
                    "checkpoint persisted={}{}",
                    cp.persisted,
                    if cp.object.is_some() { " uploaded" } else { "" }
                ));
                run.checkpoints.push(cp);
            }
            // Neither touches the wire, so neither is in the transcript.
            Action::ReadAhead { to } => {
                run.read_aheads.push(to);
                let len = data.len() as u64;
                up.handle_read_ahead((len < to).then_some(len))
                    .expect("one total");
            }
            Action::RemoveCheckpoint => run.removals += 1,
            Action::Wait(until) => {
                run.transcript
                    .push(format!("wait {}ms", (until - now).as_millis()));
                now = until;
            }
            Action::AwaitResponse(_) => panic!("the driver answers every request"),
            Action::Done(outcome) => {
                run.transcript.push("done".into());
                run.result = Some(Ok(outcome));
                break;
            }
            Action::Failed(error) => {
                run.transcript.push(format!("failed: {error}"));
                run.result = Some(Err(error));
                break;
            }
            other => panic!("unexpected action {other:?}"),
        }
        while let Some(e) = up.poll_event() {
            run.events.push(e);
        }
    }
    while let Some(e) = up.poll_event() {
        run.events.push(e);
    }
    run
}

fn describe(req: &http::Request<Body>) -> String {
    let path = req.uri().path();
    let mut line = match req.headers().get("content-range") {
        Some(cr) => format!("{} {}", req.method(), cr.to_str().unwrap()),
        None => format!("{} {path}", req.method()),
    };
    // tus: where a PATCH appends, and how many bytes it carries.
    if let Some(offset) = req.headers().get("upload-offset") {
        let len = req
            .headers()
            .get("content-length")
            .map_or("?", |l| l.to_str().unwrap());
        line.push_str(&format!(" @{} +{len}", offset.to_str().unwrap()));
    } else if req.method() == http::Method::POST
        && req
            .headers()
            .get("content-type")
            .is_some_and(|t| t == "application/offset+octet-stream")
    {
        // tus creation-with-upload: the bytes a creation carries.
        let len = req.headers()["content-length"].to_str().unwrap();
        line.push_str(&format!(" +{len}"));
    }
    line
}

fn describe_response<T>(resp: &Response<T>) -> String {
    let mut s = resp.status().as_u16().to_string();
    if let Some(r) = resp.headers().get("range") {
        s.push_str(&format!(" {}", r.to_str().unwrap()));
    }
    if resp.headers().contains_key("x-http-status-code-override") {
        s.push_str(" override=308");
    }
    if let Some(offset) = resp.headers().get("upload-offset") {
        s.push_str(&format!(" offset={}", offset.to_str().unwrap()));
    }
    s
}
