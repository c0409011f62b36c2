//! The core against the `resumable-sim` servers: a session upload driven
//! live, and the sim's answers to one recorded, to replay where only the
//! core's own cost is to be timed. Any protocol: a GCS session, a tus
//! upload (its server without the checksum extension: hashing each
//! request's body is the digest crate's cost, not the core's), or an
//! upload resource of the IETF draft (no `Content-Digest` asked for, for
//! the same reason).

use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderValue, Response};
use resumable_core::{Action, Body, Chunking, Config, Protocol, Request, SessionUrl, Upload};
use resumable_sim::{
    Fault, IetfFault, IetfServer, Interop, Reply, Server, TusFault, TusOptions, TusServer,
};

use crate::{CHUNK, session_config};

/// An upload of `chunks` chunks and one more to the session at `url`:
/// the last one is never sent, so every chunk answered is a `308` (GCS) or
/// a `204` below the length (tus).
fn config(protocol: Protocol, url: &str, chunks: u64) -> Config {
    let total = (chunks + 1) * CHUNK;
    match protocol {
        Protocol::Tus => {
            let mut config = Config::tus_upload(SessionUrl::new(url), Some(total));
            config.chunking = Chunking::Fixed(CHUNK);
            config
        }
        Protocol::Ietf { interop } => {
            let mut config = Config::ietf_upload(SessionUrl::new(url), interop, Some(total));
            config.chunking = Chunking::Fixed(CHUNK);
            config
        }
        _ => session_config(url, total),
    }
}

/// The requests an upload sends before its first chunk: GCS's status
/// query; tus's `OPTIONS`, then its `HEAD`; the draft's `HEAD`.
fn setup_requests(protocol: Protocol) -> usize {
    match protocol {
        Protocol::Tus => 2,
        _ => 1,
    }
}

/// One of the sim's servers.
#[derive(Debug)]
enum Sim {
    Gcs(Server),
    Tus(TusServer),
    Ietf(IetfServer),
}

impl Sim {
    /// A fresh server of `protocol` holding one session of `total` bytes,
    /// and its URL.
    fn open(protocol: Protocol, total: u64, wall: SystemTime) -> (Self, String) {
        match protocol {
            Protocol::Tus => {
                let mut options = TusOptions::default();
                options.extensions.retain(|e| *e != "checksum");
                let mut server = TusServer::with_options(options);
                let url = server.open_upload(Some(total), wall);
                (Self::Tus(server), url)
            }
            Protocol::Ietf { interop } => {
                let mut server = IetfServer::new();
                server.options.versions = vec![
                    Interop::from_number(u64::from(interop.number()))
                        .unwrap_or_else(|| panic!("the sim speaks no {interop:?}")),
                ];
                let url = server.open_upload(Some(total), wall);
                (Self::Ietf(server), url)
            }
            _ => {
                let mut server = Server::new();
                let url = server.open_session(Some(total));
                (Self::Gcs(server), url)
            }
        }
    }

    fn serve(&mut self, req: &Request, body: &[u8], wall: SystemTime) -> Reply {
        match self {
            Self::Gcs(server) => server.serve(&req.http, body, Fault::None, wall),
            Self::Tus(server) => server.serve(&req.http, body, TusFault::None, wall),
            Self::Ietf(server) => server.serve(&req.http, body, IetfFault::None, wall).reply,
        }
    }
}

/// Polls `up` to its next request, passing over every other action (the
/// checkpoint, requests to hash bytes the benches never hash).
///
/// # Panics
///
/// When the upload ends instead.
pub fn next_request(up: &mut Upload, now: Instant) -> Request {
    loop {
        match up.poll_action(now) {
            Action::Send(req) => return req,
            Action::Done(outcome) => panic!("the upload ended: {outcome:?}"),
            Action::Failed(e) => panic!("{e}"),
            other => {
                let _ = std::hint::black_box(other);
            }
        }
    }
}

/// Hands `response` to the core as the answer to `req`, and drains the
/// events it raised.
///
/// # Panics
///
/// When the core refuses it as the answer of another request.
pub fn answer(up: &mut Upload, req: &Request, response: Response<Bytes>, now: Instant) {
    up.handle_response(req.id, response, now)
        .unwrap_or_else(|e| panic!("{e}"));
    while let Some(e) = up.poll_event() {
        std::hint::black_box(e);
    }
}

/// A session upload the sim serves: its first requests are the setup
/// (GCS's status query; tus's `OPTIONS` and `HEAD`), then one per chunk, at
/// most the `chunks` it was made for.
#[derive(Debug)]
pub struct Live {
    server: Sim,
    url: String,
    up: Upload,
    now: Instant,
    wall: SystemTime,
    /// The bytes every chunk carries (the sim only counts and keeps them).
    data: Vec<u8>,
}

impl Live {
    /// Opens a session of `chunks` chunks and one more on a fresh sim of
    /// `protocol`, and serves the requests before the first chunk.
    ///
    /// # Panics
    ///
    /// When the core refuses the configuration.
    pub fn new(protocol: Protocol, chunks: u64) -> Self {
        let mut live = Self::opened(protocol, chunks);
        for _ in 0..setup_requests(protocol) {
            live.cycle();
        }
        live
    }

    /// A session of `chunks` chunks and one more, nothing sent yet.
    fn opened(protocol: Protocol, chunks: u64) -> Self {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let (server, url) = Sim::open(protocol, (chunks + 1) * CHUNK, wall);
        let config = config(protocol, &url, chunks);
        let up = Upload::new(config, now, wall).unwrap_or_else(|e| panic!("{e}"));
        Self {
            server,
            url,
            up,
            now,
            wall,
            data: vec![0; CHUNK as usize],
        }
    }

    /// One request of the core, served by the sim, and its answer handed back.
    ///
    /// # Panics
    ///
    /// When the sim breaks the connection (it has no fault to) or the core
    /// ends the upload.
    pub fn cycle(&mut self) {
        let (req, response) = self.serve_next();
        answer(&mut self.up, &req, response, self.now);
    }

    /// The core's next request and the sim's answer to it, not yet handed
    /// to the core.
    ///
    /// # Panics
    ///
    /// When the sim breaks the connection (it has no fault to) or the core
    /// ends the upload.
    fn serve_next(&mut self) -> (Request, Response<Bytes>) {
        let req = next_request(&mut self.up, self.now);
        let body = match req.http.body() {
            Body::Source(r) => &self.data[..(r.end - r.start) as usize],
            _ => &[],
        };
        match self.server.serve(&req, body, self.wall) {
            Reply::Response(response) => (req, response),
            Reply::Reset => panic!("the sim broke the connection without a fault"),
        }
    }
}

/// The sim's answers to one session upload, in order: the setup
/// requests', then every chunk's. Replayed to a fresh upload of the same
/// session, they answer exactly the requests the sim answered.
#[derive(Debug)]
pub struct Recording {
    protocol: Protocol,
    url: String,
    /// What each request asked for (see [`asked`]), and the sim's answer.
    answers: Vec<(Option<HeaderValue>, Response<Bytes>)>,
}

impl Recording {
    /// Runs an upload of `chunks` chunks against the sim, recording its answers.
    ///
    /// # Panics
    ///
    /// As [`Live::new`] and [`Live::cycle`].
    pub fn record(protocol: Protocol, chunks: u64) -> Self {
        let mut live = Live::opened(protocol, chunks);
        let requests = setup_requests(protocol) as u64 + chunks;
        let answers = (0..requests)
            .map(|_| {
                let (req, response) = live.serve_next();
                answer(&mut live.up, &req, response.clone(), live.now);
                (asked(&req), response)
            })
            .collect();
        Self {
            protocol,
            url: live.url,
            answers,
        }
    }

    /// How many chunk answers a replay hands out.
    pub fn chunks(&self) -> u64 {
        (self.answers.len() - setup_requests(self.protocol)) as u64
    }

    /// A fresh upload of the recorded session past its setup requests, and
    /// the chunks' answers to hand it in order with [`answer`], each after
    /// [`next_request`]. The answers are copies, made here: a timed loop
    /// takes them as they are.
    ///
    /// # Panics
    ///
    /// When the upload does not send the setup requests the sim was sent.
    pub fn replay(&self, now: Instant) -> (Upload, Vec<Response<Bytes>>) {
        let config = config(self.protocol, &self.url, self.chunks());
        let mut up = Upload::new(config, now, SystemTime::now()).unwrap_or_else(|e| panic!("{e}"));
        let setup = setup_requests(self.protocol);
        for (sent, response) in &self.answers[..setup] {
            let req = next_request(&mut up, now);
            assert_eq!(&asked(&req), sent, "the same setup request");
            answer(&mut up, &req, response.clone(), now);
        }
        let answers = self.answers[setup..].iter().map(|(_, r)| r.clone());
        (up, answers.collect())
    }

    /// Replays the whole recording once, checking that each request is the
    /// one the sim answered.
    ///
    /// # Panics
    ///
    /// When one is not.
    pub fn check(&self) {
        let now = Instant::now();
        let (mut up, answers) = self.replay(now);
        let setup = setup_requests(self.protocol);
        for ((sent, _), response) in self.answers[setup..].iter().zip(answers) {
            let req = next_request(&mut up, now);
            assert_eq!(&asked(&req), sent, "the replay sends what the sim was sent");
            answer(&mut up, &req, response, now);
        }
    }
}

/// Which bytes a request is about: its `Content-Range` (GCS) or its
/// `Upload-Offset` (tus, the IETF draft).
fn asked(req: &Request) -> Option<HeaderValue> {
    let headers = req.http.headers();
    headers
        .get("content-range")
        .or_else(|| headers.get("upload-offset"))
        .cloned()
}
