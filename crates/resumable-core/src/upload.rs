//! The upload state machine: every transition of the flow lives here.
//!
//! The flow, for the file API: `CreateSession` → `Transfer` → `Register` →
//! done; for raw GCS: (`Initiate` →) `Transfer` → done. `Transfer` sends data
//! chunks and status queries until the server answers with the final object.
//! A doubtful failure (a retryable status, a transport error, or a final
//! object cut short, on a data request) always leads to a status query, and
//! the next chunk starts at the offset the server reports, never at the
//! bytes sent. A resumed upload first hashes its checkpointed prefix again.

use std::collections::VecDeque;
use std::ops::Range;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use crate::action::{Action, Body, Purpose, Request, RequestId};
use crate::api::{self, RegisterRequest, SessionError, UploadSession, UploadUrlRequest};
use crate::backoff::Backoff;
use crate::checkpoint::{CHECKPOINT_FORMAT, Checkpoint, Flow, SessionRecord};
use crate::checksum::RunningCrc32c;
use crate::chunk::{self, Chunking, DEFAULT_CHUNK_SIZE};
use crate::config::{Config, Target};
use crate::error::{ConfigError, Error, IntegrityError, ProtocolError, SourceError, UsageError};
use crate::event::{Event, RetryCause, TransportErrorKind};
use crate::header::content_range::ContentRange;
use crate::header::goog_hash::crc32c_header;
use crate::header::{names, range, retry_after};
use crate::outcome::{File, ObjectMeta, Outcome};
use crate::secret::SessionUrl;
use crate::url_policy;

/// The largest response body the core reads. Drivers must stop reading a
/// body past this size and report [`TransportErrorKind::BodyTooLarge`].
pub const MAX_RESPONSE_BODY: usize = 1024 * 1024;

/// How long a GCS session lives when the server does not say (one week).
const GCS_SESSION_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// One resumable upload, driven by a driver that does the IO.
///
/// Create it with [`Upload::new`] or [`Upload::resume`], then loop on
/// [`Upload::poll_action`]; see the crate docs for the whole run loop.
#[derive(Debug)]
pub struct Upload {
    config: Config,
    clock: WallClock,
    state: State,
    session: Option<SessionRecord>,
    total: Option<u64>,
    persisted: u64,
    /// The end of the highest byte range sent to the current session: the
    /// server cannot have persisted more.
    sent_high: u64,
    /// The session may hold bytes this process never sent (a bare session
    /// URL, a resumed upload): the next `308` may name any offset up to the
    /// total, once; from then on `sent_high` bounds it.
    offset_unknown: bool,
    crc: RunningCrc32c,
    /// The end of the last range asked for with [`Action::Checksum`], so the
    /// same range is not asked twice.
    checksum_asked: u64,
    /// A resumed upload's checkpointed CRC32C, until the source has been
    /// hashed again through the same offset and found to agree.
    prefix_check: Option<RunningCrc32c>,
    chunk_size: u64,
    restarts: u32,
    backoff: Backoff,
    next_id: u64,
    in_flight: Option<(RequestId, Flight)>,
    wait_until: Option<Instant>,
    checkpoint_due: bool,
    events: VecDeque<Event>,
    upload_id: Option<String>,
    /// The destination, as checkpoints name it.
    target: String,
    /// The session URL, parsed.
    uri_cache: Option<ParsedSessionUrl>,
    end: Option<Result<Outcome, Error>>,
    /// The highest offset asked for with [`Action::ReadAhead`].
    read_ahead_asked: u64,
    /// Whether the step before the end ([`Action::RemoveCheckpoint`], or
    /// the checkpoint to keep) was handed out.
    end_told: bool,
    /// The upload was abandoned by the driver (a source failure, a stop):
    /// the current checkpoint is handed out before the end.
    keep_checkpoint: bool,
}

/// Where the flow is.
#[derive(Debug, Clone)]
enum State {
    CreateSession,
    Initiate,
    /// Sending data; `query` means the next request is a status query.
    Transfer {
        query: bool,
    },
    /// The final object arrived before every byte of the source was hashed
    /// (a resumed upload): hash the rest, then verify.
    Verify(ObjectMeta),
    Register(ObjectMeta),
    Cancel,
}

/// What the request in flight was.
#[derive(Debug, Clone)]
enum Flight {
    CreateSession,
    Initiate,
    /// Bytes of the source; `hashed` when it carried `X-Goog-Hash`.
    Chunk {
        range: Range<u64>,
        hashed: bool,
    },
    Query,
    Register(ObjectMeta),
    Cancel,
}

/// A session URL and its parsed form. `Debug` shows neither: both hold the
/// session's credential.
#[derive(Clone)]
struct ParsedSessionUrl {
    text: String,
    uri: http::Uri,
}

impl std::fmt::Debug for ParsedSessionUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ParsedSessionUrl(<redacted>)")
    }
}

/// Maps the driver's monotonic instants to wall-clock time, for expiry checks.
#[derive(Debug, Clone, Copy)]
struct WallClock {
    at: Instant,
    wall: SystemTime,
}

impl WallClock {
    fn wall(&self, now: Instant) -> SystemTime {
        match now.checked_duration_since(self.at) {
            Some(ahead) => self.wall.checked_add(ahead).unwrap_or(self.wall),
            None => self.wall.checked_sub(self.at - now).unwrap_or(self.wall),
        }
    }
}

fn is_retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

fn is_gone(status: StatusCode) -> bool {
    matches!(status.as_u16(), 404 | 410 | 499)
}

impl Upload {
    /// Starts an upload. `now` and `wall_now` are the driver's current
    /// monotonic and wall-clock times; the core reads no clock of its own.
    ///
    /// Fails, before any request, when the configuration cannot work, or
    /// when a URL it names breaks the https rule
    /// ([`Config::allow_insecure_http`]): [`Error::Insecure`].
    pub fn new(mut config: Config, now: Instant, wall_now: SystemTime) -> Result<Self, Error> {
        validate(&config)?;
        check_configured_urls(&config)?;
        // Signed-URL parameters and proxy credentials travel in these.
        for value in config.upload_headers.values_mut() {
            value.set_sensitive(true);
        }
        let state = match &config.target {
            Target::FileApi(_) => State::CreateSession,
            Target::GcsInitiate(_) => State::Initiate,
            Target::GcsSession(_) => State::Transfer { query: true },
        };
        let session = match &config.target {
            Target::GcsSession(url) => Some(SessionRecord {
                upload_url: url.clone(),
                gcs_path: None,
                file_id: None,
                expires_at: None,
                chunk_size: 0,
            }),
            _ => None,
        };
        let mut up = Self {
            clock: WallClock {
                at: now,
                wall: wall_now,
            },
            backoff: Backoff::new(config.retry, config.jitter_seed),
            total: config.total,
            state,
            session,
            persisted: 0,
            sent_high: 0,
            offset_unknown: false,
            crc: RunningCrc32c::default(),
            checksum_asked: 0,
            prefix_check: None,
            chunk_size: 0,
            restarts: 0,
            next_id: 0,
            in_flight: None,
            wait_until: None,
            checkpoint_due: false,
            events: VecDeque::new(),
            upload_id: None,
            target: target_identity(&config.target),
            uri_cache: None,
            end: None,
            read_ahead_asked: 0,
            end_told: false,
            keep_checkpoint: false,
            config,
        };
        up.chunk_size = up.pick_chunk_size(None);
        if let Some(s) = up.session.as_mut() {
            s.chunk_size = up.chunk_size;
        }
        // A bare session URL may hold bytes from an earlier run.
        up.offset_unknown = matches!(up.config.target, Target::GcsSession(_));
        Ok(up)
    }

    /// Resumes an upload from a checkpoint written by an earlier process.
    ///
    /// `config` must describe the same upload (the target, and the source's
    /// current fingerprint). A changed source is refused with
    /// [`SourceError::Changed`]. An expired session starts over with a new
    /// one; otherwise the upload goes on with a status query.
    pub fn resume(
        config: Config,
        checkpoint: Checkpoint,
        now: Instant,
        wall_now: SystemTime,
    ) -> Result<Self, Error> {
        if checkpoint.format != CHECKPOINT_FORMAT {
            return Err(SourceError::CheckpointMismatch("unknown checkpoint format").into());
        }
        let flow = flow_of(&config.target);
        if checkpoint.flow != flow {
            return Err(
                SourceError::CheckpointMismatch("written by another kind of upload").into(),
            );
        }
        if checkpoint.target != target_identity(&config.target) {
            return Err(SourceError::CheckpointMismatch("written for another destination").into());
        }
        if checkpoint.fingerprint != config.fingerprint {
            return Err(SourceError::Changed.into());
        }
        if let (Some(a), Some(b)) = (checkpoint.total, config.total)
            && a != b
        {
            return Err(SourceError::Changed.into());
        }
        let mut up = Self::new(config, now, wall_now)?;
        up.total = up.total.or(checkpoint.total);
        up.restarts = checkpoint.restarts;
        // Starting over from byte 0 (no session, or an expired one), every
        // byte is sent and hashed anew: nothing old to check or keep.
        let Some(session) = checkpoint.session else {
            return Ok(up);
        };
        let expired = session.expires_at.is_some_and(|t| t <= wall_now);
        match checkpoint.object {
            // Registering needs no upload session, expired or not.
            Some(object) if flow == Flow::FileApi => {
                up.keep_hashed_prefix(checkpoint.crc32c);
                up.persisted = object.size;
                up.state = State::Register(object);
            }
            Some(object) if flow == Flow::Gcs => {
                // Finished before the process died: verify, nothing left to send.
                up.keep_hashed_prefix(checkpoint.crc32c);
                up.session = Some(session);
                up.persisted = object.size;
                up.receive_final(object);
                return Ok(up);
            }
            _ if expired => {
                up.session_gone(false);
                return Ok(up);
            }
            _ => {
                up.keep_hashed_prefix(checkpoint.crc32c);
                if up.total.is_some_and(|t| checkpoint.persisted > t) {
                    return Err(
                        SourceError::CheckpointMismatch("persisted beyond the total").into(),
                    );
                }
                up.persisted = checkpoint.persisted;
                up.sent_high = checkpoint.persisted;
                up.offset_unknown = true;
                up.state = State::Transfer { query: true };
            }
        }
        if session.chunk_size > 0 && up.config.chunking == Chunking::Auto {
            up.chunk_size = chunk::round_chunk_size(session.chunk_size);
        }
        up.session = Some(session);
        Ok(up)
    }

    /// Takes over a checkpoint's CRC32C for bytes the server keeps: as it is,
    /// or, with [`Config::verify_resumed_prefix`], to be compared once the
    /// source has been hashed again through the same offset, before any
    /// request.
    fn keep_hashed_prefix(&mut self, hashed: RunningCrc32c) {
        if self.config.verify_resumed_prefix && hashed.through() > 0 {
            self.prefix_check = Some(hashed);
        } else {
            self.crc = hashed;
        }
    }

    /// The next thing to do. `now` is the driver's current time.
    ///
    /// Call it again after carrying out each action, until it returns
    /// [`Action::Wait`] (sleep, then poll), [`Action::AwaitResponse`],
    /// [`Action::Done`] or [`Action::Failed`].
    pub fn poll_action(&mut self, now: Instant) -> Action {
        loop {
            if let Some(action) = self.ended() {
                return action;
            }
            if self.checkpoint_due {
                self.checkpoint_due = false;
                return Action::Checkpoint(self.checkpoint());
            }
            if let Some((id, _)) = &self.in_flight {
                return Action::AwaitResponse(*id);
            }
            if let Some(until) = self.wait_until {
                if now < until {
                    return Action::Wait(until);
                }
                self.wait_until = None;
            }
            if let Some(to) = self.read_ahead_due() {
                return Action::ReadAhead { to };
            }
            if let Some(expected) = self.prefix_check {
                let (through, end) = (self.crc.through(), expected.through());
                if through < end && self.checksum_asked < end {
                    self.checksum_asked = end;
                    return Action::Checksum(through..end);
                }
                // Asked for and not fed: nothing can be verified from here.
                self.fail(IntegrityError::SourceNotHashed.into());
                continue;
            }
            match self.state.clone() {
                State::CreateSession => return self.send_create_session(),
                State::Initiate => return self.send_initiate(),
                State::Register(object) => return self.send_register(object),
                State::Verify(object) => {
                    let (through, total) = (self.crc.through(), object.size);
                    if through < total && self.checksum_asked < total {
                        self.checksum_asked = total;
                        return Action::Checksum(through..total);
                    }
                    self.accept(object);
                }
                State::Cancel => return self.send_cancel(),
                State::Transfer { query } => {
                    if self.session_expired(now) {
                        self.session_gone(true);
                        continue;
                    }
                    return self.next_transfer(query);
                }
            }
        }
    }

    /// The next progress event, if any. Drain after each `handle_*` call.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Hands over the response to request `id`; its body must be read whole
    /// (at most [`MAX_RESPONSE_BODY`] bytes).
    ///
    /// A response to a request that is not in flight is refused with
    /// [`UsageError::UnknownRequest`] and changes nothing.
    pub fn handle_response(
        &mut self,
        id: RequestId,
        response: http::Response<Bytes>,
        now: Instant,
    ) -> Result<(), UsageError> {
        let flight = self.take_flight(id)?;
        let (parts, body) = response.into_parts();
        self.note_upload_id(&parts.headers);
        if body.len() > MAX_RESPONSE_BODY {
            self.fail(ProtocolError::BodyTooLarge(body.len()).into());
            return Ok(());
        }
        let status = effective_status(parts.status, &parts.headers);
        let retry_after = parts
            .headers
            .get(header::RETRY_AFTER)
            .and_then(|v| retry_after::parse(v, self.clock.wall(now)).ok());
        let failed =
            |up: &mut Self| up.retry(now, RetryCause::Status(status.as_u16()), retry_after);
        match flight {
            Flight::CreateSession => match status.as_u16() {
                200 | 201 => self.session_created(&body, now),
                _ if is_retryable(status) => failed(self),
                _ => self.fail_api(status, &body),
            },
            Flight::Initiate => match status.as_u16() {
                200 | 201 => self.initiated(&parts.headers, now),
                412 => self.fail_precondition(status, &body),
                _ if is_retryable(status) => failed(self),
                _ => self.fail_rejected(status, &body),
            },
            Flight::Chunk { range, hashed } => match status.as_u16() {
                200 | 201 if self.total == Some(range.end) => {
                    self.finish(&body, &parts.headers, Some(now));
                }
                200 | 201 => self.fail(ProtocolError::UnexpectedFinal.into()),
                308 => {
                    if let Some(advanced) = self.apply_persisted(&parts.headers)
                        && !advanced
                        && !range.is_empty()
                    {
                        self.retry(now, RetryCause::NoProgress, retry_after);
                    }
                }
                _ if is_retryable(status) => {
                    self.state = State::Transfer { query: true };
                    failed(self);
                }
                _ if is_gone(status) => self.session_gone(true),
                // Checked again as the object is written, at finalize.
                412 => self.fail_precondition(status, &body),
                // The server hashed what it received and it was not the source.
                400 if hashed => self.fail(IntegrityError::HashRejected.into()),
                _ => self.fail_rejected(status, &body),
            },
            Flight::Query => match status.as_u16() {
                200 | 201 if self.total.is_some() => self.finish(&body, &parts.headers, None),
                200 | 201 => self.fail(ProtocolError::UnexpectedFinal.into()),
                308 => {
                    let advanced = self.apply_persisted(&parts.headers);
                    if advanced.is_some() {
                        self.state = State::Transfer { query: false };
                    }
                    // Everything persisted, yet not finalized: no progress.
                    if advanced == Some(false) && self.total == Some(self.persisted) {
                        self.retry(now, RetryCause::NoProgress, retry_after);
                    }
                }
                _ if is_retryable(status) => failed(self),
                _ if is_gone(status) => self.session_gone(true),
                // A query that finalizes (every byte persisted) checks it too.
                412 => self.fail_precondition(status, &body),
                _ => self.fail_rejected(status, &body),
            },
            Flight::Register(object) => match status.as_u16() {
                200 | 201 => self.registered(object, &body, now),
                _ if is_retryable(status) => failed(self),
                _ => self.fail_api(status, &body),
            },
            Flight::Cancel => match status.as_u16() {
                200..=299 | 404 | 410 | 499 => self.end = Some(Err(Error::Cancelled)),
                _ if is_retryable(status) => failed(self),
                _ => self.fail_rejected(status, &body),
            },
        }
        Ok(())
    }

    /// Reports that request `id` failed below HTTP. The core retries after a
    /// backoff; a data request is followed by a status query.
    pub fn handle_transport_error(
        &mut self,
        id: RequestId,
        kind: TransportErrorKind,
        now: Instant,
    ) -> Result<(), UsageError> {
        let flight = self.take_flight(id)?;
        if kind == TransportErrorKind::BodyTooLarge {
            self.fail(ProtocolError::BodyTooLarge(MAX_RESPONSE_BODY).into());
            return Ok(());
        }
        if matches!(flight, Flight::Chunk { .. }) {
            self.state = State::Transfer { query: true };
        }
        self.retry(now, RetryCause::Transport(kind), None);
        Ok(())
    }

    /// Feeds bytes of the source starting at `offset` to the running CRC32C.
    ///
    /// Call it with every piece of a [`Body::Source`] as it is sent, and
    /// with the bytes an [`Action::Checksum`] asks for. Bytes already hashed
    /// are skipped, so feeding a retry again is harmless.
    pub fn feed_checksum(&mut self, offset: u64, data: &[u8]) {
        let Some(expected) = self.prefix_check else {
            self.crc.feed(offset, data);
            return;
        };
        // Hash exactly through the checkpoint's offset, compare, then go on.
        let end = expected.through();
        let head = usize::try_from(end.saturating_sub(offset)).unwrap_or(usize::MAX);
        let (head, tail) = data.split_at(head.min(data.len()));
        self.crc.feed(offset, head);
        if self.crc.through() < end {
            return;
        }
        self.prefix_check = None;
        if self.crc != expected {
            return self.fail(SourceError::Changed.into());
        }
        self.crc.feed(end, tail);
    }

    /// Tells the core the source's total size, for a caller that learns it
    /// other than by [`Action::ReadAhead`] (whose answer is
    /// [`Upload::handle_read_ahead`]). Call it before polling for the
    /// request that would read past the end.
    pub fn set_total(&mut self, total: u64) -> Result<(), UsageError> {
        match self.total {
            Some(known) if known != total => Err(UsageError::TotalMismatch),
            Some(_) => Ok(()),
            None if total < self.persisted.max(self.sent_high) => Err(UsageError::TotalMismatch),
            None => {
                self.total = Some(total);
                Ok(())
            }
        }
    }

    /// Reports what an [`Action::ReadAhead`] found: `None` when the source
    /// holds at least the bytes asked for, `Some(total)` when it ended
    /// first, at `total` bytes. A stream that ended below the bytes already
    /// sent or persisted ends the upload with [`SourceError::EndedEarly`]
    /// (the checkpoint is handed out first, and kept).
    ///
    /// A total other than one already known is refused with
    /// [`UsageError::TotalMismatch`] and changes nothing.
    pub fn handle_read_ahead(&mut self, total: Option<u64>) -> Result<(), UsageError> {
        let Some(total) = total else {
            return Ok(());
        };
        if self.total.is_some() {
            return self.set_total(total);
        }
        let held = self.persisted.max(self.sent_high);
        if total < held {
            self.abandon(SourceError::EndedEarly { total, held }.into());
            return Ok(());
        }
        self.set_total(total)
    }

    /// Reports that the driver could not read the source (for a request's
    /// body, a checksum, a read ahead, or the check before a request). The
    /// request in flight, if any, is abandoned; the core then hands out the
    /// current checkpoint to keep, and ends with
    /// [`SourceError::Unreadable`]: the driver reports its own error, and the
    /// upload resumes from the checkpoint once the source reads again.
    pub fn handle_source_error(&mut self) {
        self.abandon(SourceError::Unreadable.into());
    }

    /// Stops the upload because the driver's user asked (a blocking driver's
    /// stop handle, a Ctrl-C): the request in flight, if any, is abandoned,
    /// the core hands out the current checkpoint to keep, then ends with
    /// [`Error::Interrupted`]. Running the same upload again resumes it. A
    /// driver whose upload is stopped by dropping it (an async future) calls
    /// nothing: the last checkpoint it stored stays.
    pub fn interrupt(&mut self) {
        self.abandon(Error::Interrupted);
    }

    /// Ends the upload with `error` on the driver's word, keeping the
    /// current checkpoint.
    fn abandon(&mut self, error: Error) {
        if self.end.is_some() {
            return;
        }
        self.in_flight = None;
        self.wait_until = None;
        self.keep_checkpoint = true;
        self.end = Some(Err(error));
    }

    /// Once the upload has ended: what the checkpoint needs (once), then the
    /// end itself.
    fn ended(&mut self) -> Option<Action> {
        let end = self.end.as_ref()?;
        if !self.end_told {
            self.end_told = true;
            if matches!(end, Ok(_) | Err(Error::SessionGone | Error::Cancelled)) {
                return Some(Action::RemoveCheckpoint);
            }
            if self.keep_checkpoint {
                return Some(Action::Checkpoint(self.checkpoint()));
            }
        }
        Some(match end {
            Ok(outcome) => Action::Done(outcome.clone()),
            Err(error) => Action::Failed(error.clone()),
        })
    }

    /// The offset to read a source of unknown length ahead to, when it grew
    /// since last asked: one chunk and a byte past the persisted offset, so
    /// the end is found before the chunk that reaches it is planned.
    /// Deleting a session needs no source.
    fn read_ahead_due(&mut self) -> Option<u64> {
        if self.total.is_some() || matches!(self.state, State::Cancel) {
            return None;
        }
        let to = self
            .persisted
            .saturating_add(self.chunk_size)
            .saturating_add(1);
        if to <= self.read_ahead_asked {
            return None;
        }
        self.read_ahead_asked = to;
        Some(to)
    }

    /// A URL a server handed out, checked as it arrives.
    fn check_handed_out(&self, url: &str) -> Result<(), Error> {
        check_url_text(url, self.config.allow_insecure_http)
    }

    /// Cancels the upload: the request in flight is abandoned (its answer
    /// will be refused) and the session is deleted. The upload then ends
    /// with [`Error::Cancelled`].
    pub fn cancel(&mut self) {
        if self.end.is_some() {
            return;
        }
        self.in_flight = None;
        self.wait_until = None;
        self.backoff.reset();
        // Deleting the session needs no source.
        self.prefix_check = None;
        match (&self.state, &self.session) {
            (State::Transfer { .. }, Some(_)) => self.state = State::Cancel,
            _ => self.end = Some(Err(Error::Cancelled)),
        }
    }

    /// Bytes the server has persisted in the current session.
    #[must_use]
    pub fn persisted(&self) -> u64 {
        self.persisted
    }

    /// The source's size, when known.
    #[must_use]
    pub fn total(&self) -> Option<u64> {
        self.total
    }

    /// The size of data requests. A source of unknown length is read ahead
    /// one chunk and a byte past the persisted offset: see
    /// [`Action::ReadAhead`].
    #[must_use]
    pub fn chunk_size(&self) -> u64 {
        self.chunk_size
    }

    /// The session in use, if any.
    #[must_use]
    pub fn session(&self) -> Option<&SessionRecord> {
        self.session.as_ref()
    }

    /// The current checkpoint, for a driver that saves one on its own terms
    /// (e.g. when the user interrupts).
    #[must_use]
    pub fn checkpoint(&self) -> Checkpoint {
        let object = match &self.state {
            State::Register(object) => Some(object.clone()),
            _ => None,
        };
        Checkpoint {
            format: CHECKPOINT_FORMAT,
            flow: flow_of(&self.config.target),
            target: self.target.clone(),
            session: self.session.clone(),
            total: self.total,
            persisted: self.persisted,
            // While the source is hashed again, what the checkpoint had holds.
            crc32c: self.prefix_check.unwrap_or(self.crc),
            fingerprint: self.config.fingerprint,
            object,
            restarts: self.restarts,
        }
    }

    // --- requests ---------------------------------------------------------

    fn start(&mut self, purpose: Purpose, flight: Flight, http: http::Request<Body>) -> Action {
        if let Err(e) = check_url(http.uri(), self.config.allow_insecure_http) {
            return self.fail_now(e);
        }
        let id = RequestId(self.next_id);
        self.next_id = self.next_id.wrapping_add(1);
        self.in_flight = Some((id, flight));
        let check_source = matches!(http.body(), Body::Source(_)) || purpose == Purpose::Register;
        Action::Send(Request {
            id,
            purpose,
            check_source,
            http,
        })
    }

    fn send_create_session(&mut self) -> Action {
        let Target::FileApi(api) = &self.config.target else {
            return self.fail_now(Error::SessionGone);
        };
        let body = UploadUrlRequest {
            filename: &api.filename,
            file_size: self.total.unwrap_or_default(),
            mime_type: &api.mime_type,
            upload_type: "resumable",
        };
        let uri = api_uri(&api.api_base, &api.organization, "/files/upload-url");
        let request = json_post(&uri, api.api_key.expose(), &body);
        match request {
            Ok(request) => self.start(Purpose::CreateSession, Flight::CreateSession, request),
            Err(e) => self.fail_now(e),
        }
    }

    fn send_register(&mut self, object: ObjectMeta) -> Action {
        let (Target::FileApi(api), Some(gcs_path)) = (
            &self.config.target,
            self.session.as_ref().and_then(|s| s.gcs_path.as_deref()),
        ) else {
            return self.fail_now(ProtocolError::BadSession("no gcs_path to register").into());
        };
        let body = RegisterRequest {
            filename: &api.filename,
            gcs_path,
            file_size: object.size,
            mime_type: &api.mime_type,
        };
        let uri = api_uri(&api.api_base, &api.organization, "/files");
        match json_post(&uri, api.api_key.expose(), &body) {
            Ok(request) => self.start(Purpose::Register, Flight::Register(object), request),
            Err(e) => self.fail_now(e),
        }
    }

    fn send_initiate(&mut self) -> Action {
        let Target::GcsInitiate(init) = &self.config.target else {
            return self.fail_now(Error::SessionGone);
        };
        let mut uri = format!(
            "{}/upload/storage/v1/b/{}/o?uploadType=resumable&name={}",
            init.endpoint.trim_end_matches('/'),
            api::percent_encode(&init.bucket),
            api::percent_encode(&init.object),
        );
        // Integers need no percent-encoding.
        for (name, value) in init.preconditions.query_pairs() {
            uri.push_str(&format!("&{name}={value}"));
        }
        let mut builder = self
            .upload_request(Method::POST, &uri)
            .header(header::CONTENT_LENGTH, 0);
        if let Some(token) = &init.bearer_token {
            match HeaderValue::from_str(&format!("Bearer {}", token.expose())) {
                Ok(mut value) => {
                    value.set_sensitive(true);
                    builder = builder.header(header::AUTHORIZATION, value);
                }
                Err(_) => {
                    return self.fail_now(
                        ConfigError::BadHeader {
                            what: "the bearer token",
                        }
                        .into(),
                    );
                }
            }
        }
        if let Some(ct) = &init.content_type {
            builder = builder.header(names::X_UPLOAD_CONTENT_TYPE, ct);
        }
        if let Some(total) = self.total {
            builder = builder.header(names::X_UPLOAD_CONTENT_LENGTH, total);
        }
        match builder.body(Body::Empty) {
            Ok(request) => self.start(Purpose::Initiate, Flight::Initiate, request),
            Err(_) => self.fail_now(
                ConfigError::BadHeader {
                    what: "initiation header",
                }
                .into(),
            ),
        }
    }

    fn send_cancel(&mut self) -> Action {
        self.cache_session_uri();
        let Some(session) = &self.session else {
            return self.fail_now(Error::Cancelled);
        };
        let request = self
            .upload_request(Method::DELETE, session.upload_url.expose())
            .header(header::CONTENT_LENGTH, 0)
            .body(Body::Empty);
        match request {
            Ok(request) => self.start(Purpose::Cancel, Flight::Cancel, request),
            Err(_) => self.fail_now(Error::Cancelled),
        }
    }

    /// The next request while transferring: a status query, a checksum
    /// read, a data chunk, or the query that finishes an upload whose last
    /// chunk ended exactly at the total.
    fn next_transfer(&mut self, query: bool) -> Action {
        self.cache_session_uri();
        if query {
            return self.send_query();
        }
        let persisted = self.persisted;
        if self.crc.through() < persisted && self.checksum_asked < persisted {
            self.checksum_asked = persisted;
            return Action::Checksum(self.crc.through()..persisted);
        }
        if self.total == Some(persisted) {
            return self.send_query();
        }
        let single = self.config.chunking == Chunking::SingleRequest;
        let range = chunk::next_range(persisted, self.total, self.chunk_size, single);
        let is_final = self.total == Some(range.end);
        let through = self.crc.through();
        if is_final
            && (range.start..range.end).contains(&through)
            && range.end - through <= self.config.checksum_ahead_limit
            && self.checksum_asked < range.end
        {
            self.checksum_asked = range.end;
            return Action::Checksum(through..range.end);
        }
        self.send_chunk(range)
    }

    fn send_chunk(&mut self, range: Range<u64>) -> Action {
        let Some(session) = &self.session else {
            return self.fail_now(Error::SessionGone);
        };
        let content_range = ContentRange::Bytes {
            start: range.start,
            end: range.end,
            total: self.total,
        };
        let mut builder = self
            .upload_request(Method::PUT, session.upload_url.expose())
            .header(header::CONTENT_LENGTH, range.end - range.start)
            .header(header::CONTENT_RANGE, content_range.to_header_value());
        let hashed = self.total == Some(range.end) && self.crc.through() == range.end;
        if hashed {
            builder = builder.header(names::X_GOOG_HASH, crc32c_header(self.crc.value()));
        }
        self.sent_high = self.sent_high.max(range.end);
        match builder.body(Body::Source(range.clone())) {
            Ok(request) => self.start(Purpose::Chunk, Flight::Chunk { range, hashed }, request),
            Err(_) => self.fail_now(ProtocolError::BadSession("unusable session URL").into()),
        }
    }

    fn send_query(&mut self) -> Action {
        let Some(session) = &self.session else {
            return self.fail_now(Error::SessionGone);
        };
        let request = self
            .upload_request(Method::PUT, session.upload_url.expose())
            .header(header::CONTENT_LENGTH, 0)
            .header(
                header::CONTENT_RANGE,
                ContentRange::Query { total: self.total }.to_header_value(),
            )
            .body(Body::Empty);
        match request {
            Ok(request) => self.start(Purpose::Query, Flight::Query, request),
            Err(_) => self.fail_now(ProtocolError::BadSession("unusable session URL").into()),
        }
    }

    /// A request to the upload host: the caller's extra headers, never the API key.
    fn upload_request(&self, method: Method, uri: &str) -> http::request::Builder {
        // The session URL is parsed once; a parsed URI clones without allocating.
        let cached = self.uri_cache.as_ref().filter(|c| c.text == uri);
        let mut builder = match cached {
            Some(c) => http::Request::builder().method(method).uri(c.uri.clone()),
            None => http::Request::builder().method(method).uri(uri),
        };
        if let Some(headers) = builder.headers_mut()
            && !self.config.upload_headers.is_empty()
        {
            headers.extend(self.config.upload_headers.clone());
        }
        builder
    }

    /// Parses the session URL once per session, for [`Self::upload_request`].
    fn cache_session_uri(&mut self) {
        let Some(url) = self.session.as_ref().map(|s| s.upload_url.expose()) else {
            return;
        };
        if self.uri_cache.as_ref().is_some_and(|c| c.text == url) {
            return;
        }
        self.uri_cache = url.parse().ok().map(|uri| ParsedSessionUrl {
            text: url.to_owned(),
            uri,
        });
    }

    // --- answers ----------------------------------------------------------

    fn take_flight(&mut self, id: RequestId) -> Result<Flight, UsageError> {
        match self.in_flight.take() {
            Some((current, flight)) if current == id => Ok(flight),
            other => {
                self.in_flight = other;
                Err(UsageError::UnknownRequest)
            }
        }
    }

    fn session_created(&mut self, body: &[u8], now: Instant) {
        let total = self.total.unwrap_or_default();
        let session = match UploadSession::parse(body, total, self.clock.wall(now)) {
            Ok(session) => session,
            // A session lost on the way is only an unused one: ask for another.
            Err(SessionError::Protocol(ProtocolError::CutShort { .. })) => {
                return self.retry(now, RetryCause::CutShort, None);
            }
            Err(SessionError::Protocol(e)) => return self.fail(e.into()),
            Err(SessionError::TooLarge { size, max }) => {
                return self.fail(Error::FileTooLarge { size, max });
            }
        };
        if let Err(e) = self.check_handed_out(session.upload_url.expose()) {
            return self.fail(e);
        }
        self.chunk_size = self.pick_chunk_size(session.chunk_size_recommended);
        self.events.push_back(Event::SessionStarted {
            expires_at: Some(session.expires_at),
            chunk_size: self.chunk_size,
        });
        self.session = Some(SessionRecord {
            upload_url: session.upload_url,
            gcs_path: Some(session.gcs_path),
            file_id: Some(session.file_id),
            expires_at: Some(session.expires_at),
            chunk_size: self.chunk_size,
        });
        self.begin_transfer();
    }

    fn initiated(&mut self, headers: &HeaderMap, now: Instant) {
        let location = headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .filter(|url| api::is_absolute_http_url(url));
        let Some(url) = location else {
            return self.fail(ProtocolError::MissingLocation.into());
        };
        if let Err(e) = self.check_handed_out(url) {
            return self.fail(e);
        }
        let expires_at = self.clock.wall(now).checked_add(GCS_SESSION_LIFETIME);
        self.events.push_back(Event::SessionStarted {
            expires_at,
            chunk_size: self.chunk_size,
        });
        self.session = Some(SessionRecord {
            upload_url: SessionUrl::new(url),
            gcs_path: None,
            file_id: None,
            expires_at,
            chunk_size: self.chunk_size,
        });
        self.begin_transfer();
    }

    fn begin_transfer(&mut self) {
        self.persisted = 0;
        self.sent_high = 0;
        self.offset_unknown = false;
        self.state = State::Transfer { query: false };
        self.backoff.reset();
        self.checkpoint_due = true;
    }

    /// Applies a `308`'s `Range`. Returns whether the offset advanced, or
    /// `None` when the answer broke the protocol (the upload has failed).
    fn apply_persisted(&mut self, headers: &HeaderMap) -> Option<bool> {
        let persisted = match range::parse_persisted(headers.get(header::RANGE)) {
            Ok(p) => p,
            Err(e) => {
                self.fail(ProtocolError::Range(e).into());
                return None;
            }
        };
        if persisted < self.persisted {
            let before = self.persisted;
            self.fail(
                ProtocolError::OffsetBackwards {
                    before,
                    after: persisted,
                }
                .into(),
            );
            return None;
        }
        let total = self.total.unwrap_or(u64::MAX);
        let sent = if self.offset_unknown {
            total
        } else {
            self.sent_high.min(total)
        };
        if persisted > sent {
            self.fail(ProtocolError::OffsetBeyondSent { persisted, sent }.into());
            return None;
        }
        self.offset_unknown = false;
        self.sent_high = self.sent_high.max(persisted);
        if persisted == self.persisted {
            return Some(false);
        }
        self.persisted = persisted;
        self.backoff.reset();
        self.checkpoint_due = true;
        self.events.push_back(Event::Persisted {
            offset: persisted,
            total: self.total,
        });
        Some(true)
    }

    /// The final answer arrived: verify the object, then register or end.
    ///
    /// `ask_again` is set (to the current time) for the answer to a data
    /// request: an object cut short there is in doubt, not wrong (the
    /// connection broke mid-body, a proxy emptied it), so a status query
    /// fetches it again. Cut short in a status answer, it is the server's
    /// fault.
    fn finish(&mut self, body: &[u8], headers: &HeaderMap, ask_again: Option<Instant>) {
        match (ObjectMeta::parse(body, headers), ask_again) {
            (Ok(object), _) => self.receive_final(object),
            (Err(ProtocolError::CutShort { .. }), Some(now)) => {
                self.state = State::Transfer { query: true };
                self.retry(now, RetryCause::CutShort, None);
            }
            (Err(e), _) => self.fail(e.into()),
        }
    }

    /// The final object is known: hash what this process has not, then verify.
    fn receive_final(&mut self, object: ObjectMeta) {
        if self
            .total
            .is_some_and(|t| t == object.size && self.crc.through() < t)
        {
            // Bytes persisted by an earlier process were never hashed here.
            self.state = State::Verify(object);
            return;
        }
        self.accept(object);
    }

    /// Verifies the final object against the source, then registers or ends.
    fn accept(&mut self, object: ObjectMeta) {
        if let Err(e) = self.verify(&object) {
            return self.fail(e.into());
        }
        if self.persisted != object.size {
            self.persisted = object.size;
            self.events.push_back(Event::Persisted {
                offset: object.size,
                total: self.total,
            });
        }
        self.finalized(object);
    }

    fn verify(&self, object: &ObjectMeta) -> Result<(), IntegrityError> {
        let expected = self.total.unwrap_or(object.size);
        if object.size != expected {
            return Err(IntegrityError::Size {
                expected,
                stored: object.size,
            });
        }
        match (object.crc32c, self.source_crc32c()) {
            (Some(stored), Some(expected)) if stored != expected => {
                return Err(IntegrityError::Crc32c { expected, stored });
            }
            (Some(_), None) => return Err(IntegrityError::SourceNotHashed),
            (None, _) if self.config.require_crc32c => return Err(IntegrityError::MissingCrc32c),
            _ => {}
        }
        if let (Some(stored), Some(expected)) = (object.md5, self.config.expected_md5)
            && stored != expected
        {
            return Err(IntegrityError::Md5);
        }
        Ok(())
    }

    fn source_crc32c(&self) -> Option<u32> {
        (Some(self.crc.through()) == self.total).then(|| self.crc.value())
    }

    fn finalized(&mut self, object: ObjectMeta) {
        self.backoff.reset();
        self.events.push_back(Event::Finalized {
            size: object.size,
            crc32c: object.crc32c,
        });
        match self.config.target {
            Target::FileApi(_) => {
                self.state = State::Register(object);
                self.checkpoint_due = true;
            }
            _ => self.succeed(object, None),
        }
    }

    /// The register answer arrived. One cut short is retried: the API
    /// registers a `gcs_path` once and answers a repeat with the same File.
    fn registered(&mut self, object: ObjectMeta, body: &[u8], now: Instant) {
        match serde_json::from_slice::<File>(body) {
            Ok(file) => {
                self.events.push_back(Event::Registered {
                    file_id: file.id.clone(),
                });
                self.succeed(object, Some(file));
            }
            Err(e) => match ProtocolError::json("registered file", &e) {
                ProtocolError::CutShort { .. } => self.retry(now, RetryCause::CutShort, None),
                other => self.fail(other.into()),
            },
        }
    }

    fn succeed(&mut self, object: ObjectMeta, file: Option<File>) {
        self.end = Some(Ok(Outcome {
            crc32c: self.source_crc32c(),
            object,
            file,
            restarts: self.restarts,
        }));
    }

    /// The session is gone: replace it and restart from 0 when the flow and
    /// the source allow, else fail.
    fn session_gone(&mut self, count: bool) {
        let can_replace = !matches!(self.config.target, Target::GcsSession(_))
            && self.config.restartable_source
            && self.restarts < self.config.max_session_restarts;
        if !can_replace {
            return self.fail(Error::SessionGone);
        }
        if count {
            self.restarts += 1;
        }
        self.session = None;
        self.persisted = 0;
        self.sent_high = 0;
        self.state = match self.config.target {
            Target::FileApi(_) => State::CreateSession,
            _ => State::Initiate,
        };
        self.checkpoint_due = true;
        self.events.push_back(Event::SessionRestarted {
            restarts: self.restarts,
        });
    }

    fn session_expired(&self, now: Instant) -> bool {
        let expires_at = self.session.as_ref().and_then(|s| s.expires_at);
        expires_at.is_some_and(|t| t <= self.clock.wall(now))
    }

    fn note_upload_id(&mut self, headers: &HeaderMap) {
        let id = headers
            .get(names::X_GUPLOADER_UPLOADID)
            .and_then(|v| v.to_str().ok());
        // The same id on every answer: known, nothing to check again.
        if let Some(id) = id
            && self.upload_id.as_deref() != Some(id)
        {
            // Some servers name the upload with the session's own credential.
            let is_credential = self
                .session
                .as_ref()
                .is_some_and(|s| s.upload_url.reveals_credential(id));
            let shown = if is_credential {
                "<the session's upload_id, redacted>"
            } else {
                id
            };
            // Kept as shown, since `Debug` prints it.
            if self.upload_id.as_deref() != Some(shown) {
                self.upload_id = Some(shown.to_owned());
                self.events.push_back(Event::UploadId(shown.to_owned()));
            }
        }
    }

    fn retry(&mut self, now: Instant, cause: RetryCause, retry_after: Option<Duration>) {
        match self.backoff.fail(now, retry_after) {
            Ok((attempt, after)) => match now.checked_add(after) {
                Some(until) => {
                    self.wait_until = Some(until);
                    self.events.push_back(Event::Retrying {
                        attempt,
                        after,
                        cause,
                    });
                }
                None => self.fail(Error::GaveUp {
                    attempts: attempt,
                    elapsed: Duration::ZERO,
                    last: cause,
                }),
            },
            Err(ex) => self.fail(Error::GaveUp {
                attempts: ex.attempts,
                elapsed: ex.elapsed,
                last: cause,
            }),
        }
    }

    fn fail_api(&mut self, status: StatusCode, body: &[u8]) {
        let message = api::error_message(status, body);
        self.fail(Error::Api {
            status: status.as_u16(),
            message,
        });
    }

    fn fail_rejected(&mut self, status: StatusCode, body: &[u8]) {
        let message = api::error_message(status, body);
        self.fail(Error::Rejected {
            status: status.as_u16(),
            message,
        });
    }

    fn fail_precondition(&mut self, status: StatusCode, body: &[u8]) {
        let message = api::error_message(status, body);
        self.fail(Error::PreconditionFailed { message });
    }

    fn fail(&mut self, error: Error) {
        if self.end.is_none() {
            self.end = Some(Err(error));
        }
    }

    fn fail_now(&mut self, error: Error) -> Action {
        self.fail(error.clone());
        self.ended().unwrap_or(Action::Failed(error))
    }

    fn pick_chunk_size(&self, recommended: Option<u64>) -> u64 {
        let size = match self.config.chunking {
            Chunking::Fixed(n) => n,
            // A server's recommendation is capped: it sets how much a
            // streaming driver buffers.
            Chunking::Auto | Chunking::SingleRequest => {
                recommended.map_or(DEFAULT_CHUNK_SIZE, |r| r.min(chunk::MAX_RECOMMENDED_CHUNK))
            }
        };
        chunk::round_chunk_size(size)
    }
}

/// What a checkpoint's destination is, so it is never resumed against another.
///
/// A GCS initiation's preconditions are left out on purpose: they belong to
/// the session, which the server keeps with it and re-checks at finalize,
/// not to the destination; a replacement session is initiated with the
/// preconditions of the configuration at hand. Leaving them out also keeps
/// checkpoints written before preconditions existed resumable.
fn target_identity(target: &Target) -> String {
    match target {
        Target::FileApi(api) => format!(
            "file-api {} {} {} {}",
            api.api_base.trim_end_matches('/'),
            api.organization,
            api.filename,
            api.mime_type
        ),
        Target::GcsInitiate(init) => format!(
            "gcs {} {} {}",
            init.endpoint.trim_end_matches('/'),
            init.bucket,
            init.object
        ),
        // The session URL is itself the destination, and a credential: keep a hash.
        Target::GcsSession(url) => format!(
            "gcs-session {:08x}",
            crc32c::crc32c(url.expose().as_bytes())
        ),
    }
}

fn flow_of(target: &Target) -> Flow {
    match target {
        Target::FileApi(_) => Flow::FileApi,
        _ => Flow::Gcs,
    }
}

/// `200` with `X-Http-Status-Code-Override: 308` means `308`.
fn effective_status(status: StatusCode, headers: &HeaderMap) -> StatusCode {
    let overridden = headers
        .get(names::X_HTTP_STATUS_CODE_OVERRIDE)
        .is_some_and(|v| v.as_bytes().trim_ascii() == b"308");
    if status == StatusCode::OK && overridden {
        StatusCode::PERMANENT_REDIRECT
    } else {
        status
    }
}

fn api_uri(base: &str, organization: &str, path: &str) -> String {
    format!(
        "{}/v1/organizations/{}{path}",
        base.trim_end_matches('/'),
        api::percent_encode(organization)
    )
}

fn json_post(
    uri: &str,
    api_key: &str,
    body: &impl serde::Serialize,
) -> Result<http::Request<Body>, Error> {
    let json = serde_json::to_vec(body).map_err(|_| ConfigError::BadHeader {
        what: "request body",
    })?;
    let mut key = HeaderValue::from_str(api_key).map_err(|_| ConfigError::BadHeader {
        what: "the API key",
    })?;
    key.set_sensitive(true);
    http::Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json")
        .header(header::CONTENT_LENGTH, json.len())
        .header(names::X_API_KEY, key)
        .body(Body::Json(Bytes::from(json)))
        .map_err(|_| {
            ConfigError::BadUrl {
                what: "the API URL",
            }
            .into()
        })
}

/// The https rule for one request URI: [`Error::Insecure`] when refused.
fn check_url(uri: &http::Uri, allow_insecure_http: bool) -> Result<(), Error> {
    if url_policy::is_allowed(uri, allow_insecure_http) {
        return Ok(());
    }
    Err(Error::Insecure {
        host: uri.host().unwrap_or_default().to_owned(),
    })
}

/// The https rule for a URL not yet parsed. One that does not parse is
/// refused elsewhere: by `validate`, or when a request is built with it.
fn check_url_text(url: &str, allow_insecure_http: bool) -> Result<(), Error> {
    match url.parse::<http::Uri>() {
        Ok(uri) => check_url(&uri, allow_insecure_http),
        Err(_) => Ok(()),
    }
}

/// The https rule for the URL a configuration names, before any request.
fn check_configured_urls(config: &Config) -> Result<(), Error> {
    let url = match &config.target {
        Target::FileApi(api) => api.api_base.as_str(),
        Target::GcsInitiate(init) => init.endpoint.as_str(),
        Target::GcsSession(url) => url.expose(),
    };
    check_url_text(url, config.allow_insecure_http)
}

fn validate(config: &Config) -> Result<(), ConfigError> {
    match &config.target {
        Target::FileApi(api) => {
            match config.total {
                None => return Err(ConfigError::UnknownSize),
                Some(0) => return Err(ConfigError::EmptyFile),
                Some(_) => {}
            }
            let chars = api.filename.chars().count();
            if !(1..=255).contains(&chars) {
                return Err(ConfigError::FilenameLength(chars));
            }
            let uri = api_uri(&api.api_base, &api.organization, "/files");
            if !api::is_absolute_http_url(&api.api_base) || uri.parse::<http::Uri>().is_err() {
                return Err(ConfigError::BadUrl {
                    what: "the API base URL",
                });
            }
            if HeaderValue::from_str(api.api_key.expose()).is_err() {
                return Err(ConfigError::BadHeader {
                    what: "the API key",
                });
            }
        }
        Target::GcsInitiate(init) => {
            if !api::is_absolute_http_url(&init.endpoint) {
                return Err(ConfigError::BadUrl {
                    what: "the GCS endpoint",
                });
            }
            let token_ok = init
                .bearer_token
                .as_ref()
                .is_none_or(|t| HeaderValue::from_str(&format!("Bearer {}", t.expose())).is_ok());
            let type_ok = init
                .content_type
                .as_ref()
                .is_none_or(|t| HeaderValue::from_str(t).is_ok());
            if !token_ok || !type_ok {
                return Err(ConfigError::BadHeader {
                    what: "the bearer token or content type",
                });
            }
        }
        Target::GcsSession(url) => {
            if !api::is_absolute_http_url(url.expose()) {
                return Err(ConfigError::BadUrl {
                    what: "the session URL",
                });
            }
        }
    }
    Ok(())
}
