//! The core against the `resumable-sim` server: a session upload driven live,
//! and the sim's answers to one recorded, to replay where only the core's
//! own cost is to be timed.

use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderValue, Response};
use resumable_core::{Action, Body, Config, Request, Upload};
use resumable_sim::{Fault, Reply, Server};

use crate::{CHUNK, session_config};

/// An upload of `chunks` chunks and one more to the session at `url`:
/// the last one is never sent, so every chunk answered is a `308`.
fn config(url: &str, chunks: u64) -> Config {
    session_config(url, (chunks + 1) * CHUNK)
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

/// A session upload the sim serves: its first request is the status
/// query, then one per chunk, at most the `chunks` it was made for.
#[derive(Debug)]
pub struct Live {
    server: Server,
    url: String,
    up: Upload,
    now: Instant,
    wall: SystemTime,
    /// The bytes every chunk carries (the sim only counts and keeps them).
    data: Vec<u8>,
}

impl Live {
    /// Opens a session of `chunks` chunks and one more on a fresh sim.
    ///
    /// # Panics
    ///
    /// When the core refuses the configuration.
    pub fn new(chunks: u64) -> Self {
        let mut server = Server::new();
        let url = server.open_session(Some((chunks + 1) * CHUNK));
        let (now, wall) = (Instant::now(), SystemTime::now());
        let up = Upload::new(config(&url, chunks), now, wall).unwrap_or_else(|e| panic!("{e}"));
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
        match self.server.serve(&req.http, body, Fault::None, self.wall) {
            Reply::Response(response) => (req, response),
            Reply::Reset => panic!("the sim broke the connection without a fault"),
        }
    }
}

/// The sim's answers to one session upload, in order: the status query's,
/// then every chunk's. Replayed to a fresh upload of the same session, they
/// answer exactly the requests the sim answered.
#[derive(Debug)]
pub struct Recording {
    url: String,
    /// Each request's `Content-Range`, and the sim's answer to it.
    answers: Vec<(Option<HeaderValue>, Response<Bytes>)>,
}

impl Recording {
    /// Runs an upload of `chunks` chunks against the sim, recording its answers.
    ///
    /// # Panics
    ///
    /// As [`Live::new`] and [`Live::cycle`].
    pub fn record(chunks: u64) -> Self {
        let mut live = Live::new(chunks);
        let answers = (0..=chunks)
            .map(|_| {
                let (req, response) = live.serve_next();
                answer(&mut live.up, &req, response.clone(), live.now);
                (content_range(&req), response)
            })
            .collect();
        Self {
            url: live.url,
            answers,
        }
    }

    /// How many chunk answers a replay hands out.
    pub fn chunks(&self) -> u64 {
        self.answers.len() as u64 - 1
    }

    /// A fresh upload of the recorded session past its status query, and the
    /// chunks' answers to hand it in order with [`answer`], each after
    /// [`next_request`]. The answers are copies, made here: a timed loop
    /// takes them as they are.
    ///
    /// # Panics
    ///
    /// When the upload does not send the status query the sim was sent.
    pub fn replay(&self, now: Instant) -> (Upload, Vec<Response<Bytes>>) {
        let config = config(&self.url, self.chunks());
        let mut up = Upload::new(config, now, SystemTime::now()).unwrap_or_else(|e| panic!("{e}"));
        let mut answers = self.answers.iter().map(|(_, r)| r.clone());
        let query = next_request(&mut up, now);
        assert_eq!(
            content_range(&query),
            self.answers[0].0,
            "the same status query"
        );
        if let Some(first) = answers.next() {
            answer(&mut up, &query, first, now);
        }
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
        for ((sent, _), response) in self.answers[1..].iter().zip(answers) {
            let req = next_request(&mut up, now);
            assert_eq!(
                &content_range(&req),
                sent,
                "the replay sends what the sim was sent"
            );
            answer(&mut up, &req, response, now);
        }
    }
}

fn content_range(req: &Request) -> Option<HeaderValue> {
    req.http.headers().get("content-range").cloned()
}
