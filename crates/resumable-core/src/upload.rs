//! The upload state machine: every transition of the flow lives here.
//!
//! The flow, for the file API: `CreateSession` → `Transfer` → `Register` →
//! done; for raw GCS: (`Initiate` →) `Transfer` → done. `Transfer` sends data
//! chunks and status queries until the server answers with the final object.
//! A doubtful failure (a retryable status, a transport error, or a final
//! object cut short, on a data request) always leads to a status query, and
//! the next chunk starts at the offset the server reports, never at the
//! bytes sent. A resumed upload first hashes its checkpointed prefix again.
//!
//! The wire is elsewhere: `protocol/` builds the transfer's requests and
//! reads each answer into a protocol-independent `Answer`, `flow/` does the
//! same for the file API around it. Here every decision is made from those
//! answers, never from a status code or a header.

use std::collections::VecDeque;
use std::ops::Range;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;

use crate::action::{Action, Body, Purpose, Request, RequestId};
use crate::adaptive::{Adapter, AdaptiveLimits};
use crate::backoff::Backoff;
use crate::checkpoint::{
    CHECKPOINT_FORMAT, Checkpoint, FileApiSession, Flow, Format1Flow, IetfSession, Protocol,
    SessionRecord, TusExtensions, TusSession,
};
use crate::checksum::RunningCrc32c;
use crate::chunk::{self, Chunking, DEFAULT_CHUNK_SIZE};
use crate::clock::WallClock;
use crate::config::{Config, IetfStrategy, Target};
use crate::error::{ConfigError, Error, IntegrityError, ProtocolError, SourceError, UsageError};
use crate::event::{Event, RetryCause, TransportError, TransportErrorKind, TransportFailure};
use crate::flow::file_api::UploadSession;
use crate::flow::file_api::{self, ApiAnswer};
use crate::outcome::{File, ObjectMeta, Outcome};
use crate::protocol::tus::{ChecksumAlgorithm, Declared, PatchExtras};
use crate::protocol::{self, Answer, Base, Rules, Sent, ietf};
use crate::request_digest::RequestDigest;
use crate::secret::SessionUrl;
use crate::url;
use crate::url_policy;

/// The largest response body the core reads. Drivers must stop reading a
/// body past this size and report [`TransportErrorKind::BodyTooLarge`].
pub const MAX_RESPONSE_BODY: usize = 1024 * 1024;

/// How far an upload's expiry told by the IETF draft's `max-age` may move
/// before a checkpoint carries the new one (see `Upload::session_expires`).
const EXPIRY_SLACK: Duration = Duration::from_secs(60);

/// The least content an upload of the IETF draft is sent again with,
/// halved, after a `413` that stated no limit: a server that refuses this
/// much in one request is not one that halving gets through to.
const SMALLEST_RETRIED_CONTENT: u64 = 64 * 1024;

/// One resumable upload, driven by a driver that does the IO.
///
/// Create it with [`Upload::new`] or [`Upload::resume`], then loop on
/// [`Upload::poll_action`]; see the crate docs for the whole run loop.
#[derive(Debug)]
pub struct Upload {
    config: Config,
    /// The wire protocol of the transfer.
    protocol: Protocol,
    clock: WallClock,
    state: State,
    session: Option<SessionRecord>,
    /// What the file API said of `session`, in the file-API flow.
    file_api: Option<FileApiSession>,
    /// What a tus server said it supports, once asked, and whether the
    /// upload's length is still to be told.
    tus: Option<TusSession>,
    /// What an upload of the IETF draft keeps: the server's limits, what
    /// it asked for, and the source's running SHA-256.
    ietf: Option<IetfSession>,
    /// The digest of the next `PATCH`'s body, where the server checks one.
    request_digest: Option<RequestDigest>,
    total: Option<u64>,
    persisted: u64,
    /// The end of the highest byte range sent to the current session: the
    /// server cannot have persisted more.
    sent_high: u64,
    /// The session may hold bytes this process never sent (a bare session
    /// URL, a resumed upload): the next answer may name any offset up to the
    /// total, once; from then on `sent_high` bounds it.
    offset_unknown: bool,
    crc: RunningCrc32c,
    /// The end of the last range asked for with [`Action::Checksum`], so the
    /// same range is not asked twice.
    checksum_asked: u64,
    /// Whether a data request of the current session went out, so that
    /// [`Event::TransferStarted`] is handed out once per session.
    transfer_started: bool,
    /// A resumed upload's checkpointed CRC32C, until the source has been
    /// hashed again through the same offset and found to agree.
    prefix_check: Option<RunningCrc32c>,
    chunk_size: u64,
    /// The rule that sets `chunk_size` from each chunk's times, under
    /// [`Chunking::Adaptive`].
    adapter: Option<Adapter>,
    /// The `now` of the last [`Upload::poll_action`]: when a request it
    /// hands out starts.
    polled: Instant,
    /// When the request in flight started.
    flight_started: Instant,
    /// When the last chunk of an unbroken run of them was answered: the
    /// start of the next one's cycle.
    chunk_answered: Option<Instant>,
    restarts: u32,
    backoff: Backoff,
    next_id: u64,
    in_flight: Option<(RequestId, Flight)>,
    /// The request the engine abandoned to cancel an upload of the IETF
    /// draft that cannot go on ([`Upload::fail_and_cancel`]): a driver
    /// may still hand over its answers, which are taken and ignored.
    abandoned: Option<RequestId>,
    /// The URL of the request in flight: its host names a transport
    /// failure, its path and query are redacted from the failure's text.
    /// A clone of the request's own (shared, not copied).
    flight_uri: FlightUri,
    /// Whether any request of this run got an HTTP answer: until one did, a
    /// transport failure that fails fast ends the run.
    answered: bool,
    wait_until: Option<Instant>,
    /// A checkpoint a resume needs is to be handed out at once.
    checkpoint_due: bool,
    /// The session's expiry as the last checkpoint handed out carries it.
    expiry_checkpointed: Option<SystemTime>,
    /// The persisted offset moved since the last checkpoint: one is handed
    /// out once [`Config::checkpoint_interval`] has passed.
    progress_unsaved: bool,
    /// When the last checkpoint was handed out.
    checkpointed_at: Option<Instant>,
    events: VecDeque<Event>,
    upload_id: Option<String>,
    /// The flow and its destination, as checkpoints name them.
    flow: Flow,
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
    /// Why an upload of the IETF draft that cannot go on is being
    /// cancelled (its `DELETE` is due or in flight): the error it ends with
    /// however the `DELETE` is answered.
    cancel_reason: Option<Error>,
    /// The upload resource was deleted: nothing can resume from a
    /// checkpoint, whatever the end.
    deleted: bool,
}

/// Where the flow is.
#[derive(Debug, Clone)]
enum State {
    CreateSession,
    /// Asking the server what it supports (tus `OPTIONS`).
    Discover,
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
    Discover,
    /// A session creation, to this URL; `deferred` when it left the length
    /// to be told later, `first` the bytes it carried.
    Initiate {
        url: String,
        deferred: bool,
        first: Option<Range<u64>>,
    },
    /// Bytes of the source; `hashed` when it carried the upload's digest,
    /// `told_length` when it told the server the upload's length.
    Chunk {
        range: Range<u64>,
        hashed: bool,
        told_length: bool,
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

/// The URL of the request in flight. `Debug` hides it: a session URL's
/// query is its credential.
#[derive(Default)]
struct FlightUri(http::Uri);

impl std::fmt::Debug for FlightUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::fmt::Debug for ParsedSessionUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ParsedSessionUrl(<redacted>)")
    }
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
            Target::TusCreate(_) | Target::TusUpload(_) => State::Discover,
            Target::IetfCreate(_) => State::Initiate,
            Target::IetfUpload(..) => State::Transfer { query: true },
        };
        let session = match &config.target {
            Target::GcsSession(url) | Target::TusUpload(url) | Target::IetfUpload(url, _) => {
                Some(SessionRecord {
                    upload_url: url.clone(),
                    expires_at: None,
                    chunk_size: 0,
                })
            }
            _ => None,
        };
        let protocol = protocol_of(&config.target);
        let mut up = Self {
            protocol,
            ietf: matches!(protocol, Protocol::Ietf { .. }).then(IetfSession::default),
            clock: WallClock::new(now, wall_now),
            backoff: Backoff::new(config.retry, config.jitter_seed),
            total: config.total,
            state,
            session,
            file_api: None,
            tus: None,
            request_digest: None,
            persisted: 0,
            sent_high: 0,
            offset_unknown: false,
            crc: RunningCrc32c::default(),
            checksum_asked: 0,
            transfer_started: false,
            prefix_check: None,
            chunk_size: 0,
            adapter: None,
            polled: now,
            flight_started: now,
            chunk_answered: None,
            restarts: 0,
            next_id: 0,
            in_flight: None,
            flight_uri: FlightUri::default(),
            answered: false,
            wait_until: None,
            abandoned: None,
            expiry_checkpointed: None,
            checkpoint_due: false,
            progress_unsaved: false,
            checkpointed_at: None,
            events: VecDeque::new(),
            upload_id: None,
            flow: flow_of(&config.target),
            uri_cache: None,
            end: None,
            read_ahead_asked: 0,
            end_told: false,
            keep_checkpoint: false,
            cancel_reason: None,
            deleted: false,
            config,
        };
        up.set_chunk_size(up.pick_chunk_size(None));
        if let Some(s) = up.session.as_mut() {
            s.chunk_size = up.chunk_size;
        }
        // A bare session URL may hold bytes from an earlier run.
        up.offset_unknown = matches!(
            up.config.target,
            Target::GcsSession(_) | Target::TusUpload(_) | Target::IetfUpload(..)
        );
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
        same_upload(&checkpoint, &config.target)?;
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
        // The server's limits hold for a new session too; the SHA-256 is
        // kept only as far as the CRC32C it goes with, and is otherwise
        // computed again from the source.
        if let (Some(own), Some(mut kept)) = (up.ietf.as_mut(), checkpoint.ietf) {
            let resumable = checkpoint.session.is_some()
                && !(up.config.verify_resumed_prefix && checkpoint.crc32c.through() > 0)
                && kept.sha256.through() == checkpoint.crc32c.through()
                && kept.sha256.is_sound();
            if !resumable {
                kept.sha256 = crate::sha256::RunningSha256::default();
            }
            *own = *kept;
        }
        // What the server said it supports holds for a new session too.
        if let Some(tus) = checkpoint.tus {
            up.tus = Some(tus);
            if matches!(up.state, State::Discover) {
                up.state = up.after_discovery();
            }
        }
        // Starting over from byte 0 (no session, or an expired one), every
        // byte is sent and hashed anew: nothing old to check or keep.
        let Some(session) = checkpoint.session else {
            return Ok(up);
        };
        let expired = session.expires_at.is_some_and(|t| t <= wall_now);
        match checkpoint.object {
            // Registering needs no upload session, expired or not.
            Some(object) if matches!(up.config.target, Target::FileApi(_)) => {
                up.keep_hashed_prefix(checkpoint.crc32c);
                up.persisted = object.size;
                up.state = State::Register(object);
            }
            Some(object) => {
                // Finished before the process died: verify, nothing left to send.
                up.keep_hashed_prefix(checkpoint.crc32c);
                up.session = Some(session);
                up.file_api = checkpoint.file_api;
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
        if session.chunk_size > 0
            && matches!(up.config.chunking, Chunking::Auto | Chunking::Adaptive(_))
        {
            up.set_chunk_size(chunk::round_chunk_size(session.chunk_size));
        }
        up.session = Some(session);
        up.file_api = checkpoint.file_api;
        // A tus checkpoint written before the server was asked what it
        // supports: ask first, then go on as above.
        if up.protocol == Protocol::Tus && up.tus.is_none() {
            up.state = State::Discover;
        }
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
        self.polled = now;
        loop {
            if let Some(action) = self.ended() {
                return action;
            }
            if self.checkpoint_due || self.progress_checkpoint_due(now) {
                self.checkpoint_due = false;
                self.expiry_checkpointed = self.session.as_ref().and_then(|s| s.expires_at);
                self.progress_unsaved = false;
                self.checkpointed_at = Some(now);
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
                State::Discover => match self.send_discover() {
                    Some(action) => return action,
                    None => continue,
                },
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
    /// [`UsageError::UnknownRequest`] and changes nothing; one to the
    /// request an interim response made the engine abandon is ignored (see
    /// [`Upload::handle_informational`]).
    pub fn handle_response(
        &mut self,
        id: RequestId,
        response: http::Response<Bytes>,
        now: Instant,
    ) -> Result<(), UsageError> {
        let Some(flight) = self.take_flight(id)? else {
            return Ok(());
        };
        self.answered = true;
        let (parts, body) = response.into_parts();
        let protocol = self.protocol;
        self.note_upload_id(protocol.upload_id(&parts.headers));
        if body.len() > MAX_RESPONSE_BODY {
            self.fail(ProtocolError::BodyTooLarge(body.len()).into());
            return Ok(());
        }
        let wall = self.clock.wall(now);
        let retry_after = protocol::retry_after(&parts.headers, wall);
        let status = parts.status;
        let expires_at = protocol.expires_at(&parts.headers, wall);
        self.note_ietf_fields(&parts.headers);
        if let Err(e) = self.note_declared_length(&parts.headers) {
            self.fail(e.into());
            return Ok(());
        }
        let session_url = self.session.as_ref().map_or("", |s| s.upload_url.expose());
        let read = |sent, url: &str| protocol.read(sent, url, status, &parts.headers, &body);
        let read_session = |sent| read(sent, session_url);
        match flight {
            Flight::CreateSession => {
                match file_api::read_session(status, &body, self.total.unwrap_or_default(), wall) {
                    ApiAnswer::Ok(session) => self.session_created(session),
                    ApiAnswer::Retry { status } => {
                        self.retry(now, RetryCause::Status(status), retry_after)
                    }
                    ApiAnswer::CutShort => self.retry(now, RetryCause::CutShort, None),
                    ApiAnswer::Failed(e) => self.fail(e),
                }
            }
            Flight::Register(object) => match file_api::read_registered(status, &body) {
                ApiAnswer::Ok(file) => self.registered(object, file),
                ApiAnswer::Retry { status } => {
                    self.retry(now, RetryCause::Status(status), retry_after)
                }
                ApiAnswer::CutShort => self.retry(now, RetryCause::CutShort, None),
                ApiAnswer::Failed(e) => self.fail(e),
            },
            Flight::Discover => match read_session(Sent::Discover) {
                Answer::Discovered(caps) => self.discovered(caps),
                answer => self.refused(answer, now, retry_after),
            },
            Flight::Initiate {
                url,
                deferred,
                first,
            } => match read(
                Sent::Create {
                    end: first.as_ref().map_or(0, |f| f.end),
                    total: self.total,
                },
                &url,
            ) {
                Answer::Created { url, persisted } => {
                    match self.session.as_ref().map(|s| s.upload_url.expose() == url) {
                        // A `104` named it already: the transfer goes on.
                        Some(true) => {
                            self.state = State::Transfer { query: false };
                            self.backoff.reset();
                            self.checkpoint_due = true;
                        }
                        Some(false) => self.fail_and_cancel(ProtocolError::LocationChanged.into()),
                        None => self.initiated(url, deferred, expires_at, now),
                    }
                    if let Some(first) = first {
                        self.created_with(first, persisted, now);
                    }
                }
                // A creation that carried every byte, answered by the
                // target resource.
                Answer::Complete(object)
                    if first.as_ref().is_some_and(|f| Some(f.end) == self.total) =>
                {
                    self.finish(object, Some(now));
                }
                // A `104` made the upload resumable: ask how far it got.
                answer @ Answer::Retry { .. } if self.session.is_some() => {
                    self.state = State::Transfer { query: true };
                    self.refused(answer, now, retry_after);
                }
                // Refused as too large, with a limit to send within: the
                // creation goes again, smaller; or, when a `104` named the
                // upload already, the upload goes on there, from the
                // offset it holds.
                Answer::TooLarge(_)
                    if first
                        .as_ref()
                        .is_some_and(|f| self.shrink_after_413(f.end - f.start)) =>
                {
                    if self.session.is_some() {
                        self.state = State::Transfer { query: true };
                    }
                }
                answer => self.refused(answer, now, retry_after),
            },
            Flight::Chunk {
                range,
                hashed,
                told_length,
            } => match read_session(Sent::Append {
                digest: hashed,
                total: self.total,
                end: range.end,
            }) {
                Answer::Complete(object) if self.total == Some(range.end) => {
                    self.finish(object, Some(now));
                }
                Answer::Complete(_) => self.fail(ProtocolError::UnexpectedFinal.into()),
                Answer::Persisted(persisted) => {
                    if told_length {
                        self.length_told();
                    }
                    let advanced = self.apply_persisted(persisted);
                    if advanced.is_some() {
                        if persisted == range.end {
                            self.chunk_persisted(&range, now);
                        } else {
                            self.chunk_failed();
                        }
                    }
                    // At the range's end already, a `104` told it; an empty
                    // append that did not finish is no progress either.
                    if advanced == Some(false) && (range.is_empty() || persisted < range.end) {
                        self.retry(now, RetryCause::NoProgress, retry_after);
                    }
                }
                // Refused as too large, to be sent smaller: ask, then
                // append within the new limit.
                Answer::TooLarge(_) if self.shrink_after_413(range.end - range.start) => {
                    self.chunk_failed();
                    self.state = State::Transfer { query: true };
                }
                // Nothing of it was kept: the same request goes again.
                Answer::ChecksumMismatch => {
                    self.chunk_failed();
                    self.retry(now, RetryCause::ChecksumMismatch, retry_after);
                }
                answer @ Answer::Retry { .. } => {
                    self.chunk_failed();
                    self.state = State::Transfer { query: true };
                    self.refused(answer, now, retry_after);
                }
                answer => self.refused(answer, now, retry_after),
            },
            Flight::Query => match read_session(Sent::Query) {
                Answer::Complete(object) if self.total.is_some() => self.finish(object, None),
                Answer::Complete(_) => self.fail(ProtocolError::UnexpectedFinal.into()),
                Answer::Persisted(persisted) => {
                    let advanced = self.apply_persisted(persisted);
                    if advanced.is_some() {
                        self.state = State::Transfer { query: false };
                        self.query_answered(now);
                    }
                    // Everything persisted, yet not finalized: no progress.
                    if advanced == Some(false) && self.total == Some(self.persisted) {
                        self.retry(now, RetryCause::NoProgress, retry_after);
                    }
                }
                answer => self.refused(answer, now, retry_after),
            },
            Flight::Cancel => match (read_session(Sent::Cancel), self.cancel_reason.take()) {
                (Answer::Deleted, reason) => {
                    self.deleted = true;
                    self.end = Some(Err(reason.unwrap_or(Error::Cancelled)));
                }
                // The upload failed already; a `DELETE` refused leaves the
                // resource to expire.
                (_, Some(reason)) => self.fail(reason),
                (answer, None) => self.refused(answer, now, retry_after),
            },
        }
        if let Some(at) = expires_at {
            self.session_expires(at);
        }
        self.check_max_size();
        Ok(())
    }

    /// Hands over an interim (`1xx`) response to request `id`, for a driver
    /// whose HTTP client surfaces them; call it as each arrives, before the
    /// final response, then poll: a checkpoint may be due, or, when the
    /// interim response shows the upload cannot go on (a `max-size` below
    /// its length, another upload resource than one named before), the
    /// `DELETE` that cancels it. Then drop the request in flight: its later
    /// interims and its answer, if the driver still hands them over, are
    /// taken and ignored. Only an upload of
    /// the IETF draft reads them: a `104 (Upload Resumption Supported)` of
    /// its interop version with `Location` makes an optimistic creation
    /// resumable mid-flight (a failure after it resumes with a `HEAD`
    /// instead of sending everything again), and one with `Upload-Offset`
    /// is progress the server holds ([`Event::Persisted`]). Any other
    /// interim response (a `100`, a `103`, a `104` of another interop
    /// version) is ignored.
    ///
    /// An interim response to a request that is not in flight (nor the one
    /// abandoned) is refused with [`UsageError::UnknownRequest`] and
    /// changes nothing.
    pub fn handle_informational(
        &mut self,
        id: RequestId,
        status: http::StatusCode,
        headers: &http::HeaderMap,
        now: Instant,
    ) -> Result<(), UsageError> {
        let flight = match &self.in_flight {
            Some((current, flight)) if *current == id => flight.clone(),
            _ if self.abandoned == Some(id) => return Ok(()),
            _ => return Err(UsageError::UnknownRequest),
        };
        // A server answered, if only for now.
        self.answered = true;
        let Protocol::Ietf { interop } = self.protocol else {
            return Ok(());
        };
        let request_url = match &flight {
            Flight::Initiate { url, .. } => url.clone(),
            Flight::Chunk { .. } => String::new(),
            _ => return Ok(()),
        };
        let Some(interim) = ietf::read_interim(interop, &request_url, status, headers) else {
            return Ok(());
        };
        self.note_ietf_fields(headers);
        let wall = self.clock.wall(now);
        if let (Flight::Initiate { .. }, Some(location)) = (&flight, interim.location) {
            match (location, self.session.as_ref()) {
                (Err(e), _) => self.fail(ProtocolError::Location(e).into()),
                (Ok(url), None) => {
                    let expires_at = self.protocol.expires_at(headers, wall);
                    if self.open_session(url, expires_at, now) {
                        self.persisted = 0;
                        self.offset_unknown = false;
                        self.checkpoint_due = true;
                    }
                }
                (Ok(url), Some(s)) if s.upload_url.expose() == url => {}
                (Ok(_), Some(_)) => self.fail_and_cancel(ProtocolError::LocationChanged.into()),
            }
        }
        if let Some(offset) = interim.offset
            && self.session.is_some()
            && !self.stopping()
        {
            let _ = self.apply_persisted(offset);
        }
        if let Some(at) = self.protocol.expires_at(headers, wall) {
            self.session_expires(at);
        }
        self.check_max_size();
        Ok(())
    }

    /// Takes in what an answer of the IETF draft says beside its status:
    /// the server's limits, and the digests it asks for.
    fn note_ietf_fields(&mut self, headers: &http::HeaderMap) {
        let (Protocol::Ietf { interop }, Some(session)) = (self.protocol, self.ietf.as_mut())
        else {
            return;
        };
        if let Some(limits) = ietf::limits(headers, interop)
            && limits != session.limits
        {
            // `max-age` counts down with every answer: the expiry it sets
            // is checkpointed on its own terms (`session_expires`).
            let timeless = |l: ietf::UploadLimits| ietf::UploadLimits { max_age: None, ..l };
            if timeless(limits) != timeless(session.limits) {
                self.checkpoint_due = true;
            }
            session.limits = limits;
        }
        if let Some(wanted) = ietf::digest::wanted(headers)
            && (wanted.content, wanted.repr) != (session.content_digest, session.repr_digest)
        {
            session.content_digest = wanted.content;
            session.repr_digest = wanted.repr;
            self.checkpoint_due = true;
        }
    }

    /// Ends an upload whose source the server's `max-size` refuses, before
    /// more of it is sent.
    fn check_max_size(&mut self) {
        let max = self.ietf.as_ref().and_then(|s| s.limits.max_size);
        if let (Some(max), Some(total)) = (max, self.total)
            && total > max
            && !self.stopping()
        {
            self.fail_and_cancel(Error::TooLarge {
                message: format!("{total} bytes, more than the {max} the server takes"),
                max: Some(max),
            });
        }
    }

    /// Whether the upload is ending: ended, or cancelling its upload
    /// resource before it ends. Nothing an answer says moves it on then.
    fn stopping(&self) -> bool {
        self.end.is_some() || self.cancel_reason.is_some()
    }

    /// Ends an upload that cannot go on with `error`. An upload resource of
    /// the IETF draft is cancelled first, as the draft asks of a client that
    /// finds it cannot continue within the limits (§4.1.4, §4.2.1), or that
    /// the server named two upload resources (§4.2.2): the request in flight is
    /// abandoned (its answers are ignored) and a `DELETE` is sent; the
    /// upload ends with `error` however that is answered. Once a cancel is
    /// under way, its first reason stands.
    fn fail_and_cancel(&mut self, error: Error) {
        if self.cancel_reason.is_some() {
            return;
        }
        let ietf = matches!(self.protocol, Protocol::Ietf { .. });
        if !ietf || self.session.is_none() || self.end.is_some() {
            self.fail(error);
            return;
        }
        self.abandoned = self.in_flight.take().map(|(id, _)| id);
        self.wait_until = None;
        self.backoff.reset();
        self.prefix_check = None;
        self.cancel_reason = Some(error);
        self.state = State::Cancel;
    }

    /// Whether a request of `sent` bytes of content that the server
    /// refused as too large (`413`) goes again smaller (§4.1.4): within the
    /// append limit the server now states below `sent`; or, when it states
    /// none (an intermediary's limit on message size, say), at half the
    /// size, as long as that is at least [`SMALLEST_RETRIED_CONTENT`] and
    /// the server's `min-append-size` (below those, the draft's
    /// "deployment mismatch": the upload ends too large).
    fn shrink_after_413(&mut self, sent: u64) -> bool {
        let Some(session) = self.ietf.as_mut() else {
            return false;
        };
        if session
            .limits
            .max_append_size
            .is_some_and(|max| max > 0 && max < sent)
        {
            return true;
        }
        let half = sent / 2;
        let floor = session.limits.min_append_size.unwrap_or(0);
        if half < floor.max(SMALLEST_RETRIED_CONTENT) {
            return false;
        }
        session.content_cap = Some(half);
        self.checkpoint_due = true;
        true
    }

    /// Carries out an answer that neither moves the transfer on nor
    /// finishes it: a retry, a gone session, or the end of the upload.
    fn refused(&mut self, answer: Answer, now: Instant, retry_after: Option<Duration>) {
        match answer {
            Answer::Retry { status } => self.retry(now, RetryCause::Status(status), retry_after),
            Answer::Gone => self.session_gone(true),
            Answer::PreconditionFailed(message) => {
                self.fail(Error::PreconditionFailed { message });
            }
            Answer::DigestRejected => self.fail(IntegrityError::HashRejected.into()),
            Answer::Rejected { status, message } => self.fail(Error::Rejected { status, message }),
            Answer::Malformed(e) => self.fail(e.into()),
            Answer::Conflict => {
                self.state = State::Transfer { query: true };
                self.retry(now, RetryCause::OffsetConflict, retry_after);
            }
            Answer::ChecksumMismatch => self.retry(now, RetryCause::ChecksumMismatch, retry_after),
            Answer::TooLarge(message) => {
                let ietf_max = self.ietf.as_ref().and_then(|s| s.limits.max_size);
                let max = self.tus.as_ref().and_then(|t| t.max_size).or(ietf_max);
                let error = Error::TooLarge { message, max };
                // Past the `max-size` the server states (by the length, or
                // by what was sent of a stream), the upload resource cannot
                // take the source: it is cancelled (§4.2.1). A bare `413`
                // may be an intermediary's: the upload is kept, for a run
                // with other settings.
                let least = self.total.unwrap_or(self.sent_high);
                if ietf_max.is_some_and(|max| least > max) {
                    self.fail_and_cancel(error);
                } else {
                    self.fail(error);
                }
            }
            Answer::ProcessingFailed { status, message } => {
                self.fail(Error::ProcessingFailed { status, message });
            }
            Answer::Problem { status, problem } => {
                self.fail(Error::UploadProblem { status, problem });
            }
            Answer::VersionRejected(offered) => self.fail(Error::UnsupportedVersion { offered }),
            // Not an answer this request can have.
            Answer::Created { .. }
            | Answer::Persisted(_)
            | Answer::Complete(_)
            | Answer::Deleted
            | Answer::Discovered(_) => {
                self.fail(ProtocolError::UnexpectedFinal.into());
            }
        }
    }

    /// Reports that request `id` failed below HTTP, with the transport's
    /// error. The core retries after a backoff (a data request is followed
    /// by a status query), except for a failure that fails fast before any
    /// server of the run answered ([`TransportErrorKind::fails_fast`]),
    /// which ends the upload with [`Error::Unreachable`].
    pub fn handle_transport_error(
        &mut self,
        id: RequestId,
        error: &TransportError,
        now: Instant,
    ) -> Result<(), UsageError> {
        let Some(flight) = self.take_flight(id)? else {
            return Ok(());
        };
        let kind = error.kind;
        if kind == TransportErrorKind::BodyTooLarge {
            self.fail(ProtocolError::BodyTooLarge(MAX_RESPONSE_BODY).into());
            return Ok(());
        }
        let uri = std::mem::take(&mut self.flight_uri).0;
        let mut detail = error.detail();
        let path = uri.path_and_query().map_or("", |p| p.as_str());
        // `/` alone names nothing secret, and would redact every slash.
        if path.len() > 1 {
            detail = detail.replace(path, "/<redacted>");
        }
        let failure = TransportFailure {
            kind,
            host: uri
                .authority()
                .map_or_else(String::new, |a| a.as_str().to_owned()),
            detail,
        };
        if kind.fails_fast() && !self.answered {
            self.fail(Error::Unreachable(failure));
            return Ok(());
        }
        if let (Flight::Cancel, Some(reason)) = (&flight, self.cancel_reason.take()) {
            self.fail(reason);
            return Ok(());
        }
        if matches!(flight, Flight::Chunk { .. }) {
            self.chunk_failed();
            self.state = State::Transfer { query: true };
        }
        // A `104` named the upload resource: ask how far the creation got
        // rather than send it all again.
        if matches!(flight, Flight::Initiate { .. }) && self.session.is_some() {
            self.state = State::Transfer { query: true };
        }
        self.retry(now, RetryCause::Transport(failure), None);
        Ok(())
    }

    /// Feeds bytes of the source starting at `offset` to the running CRC32C.
    ///
    /// Call it with every piece of a [`Body::Source`] as it is sent, and
    /// with the bytes an [`Action::Checksum`] asks for. Bytes already hashed
    /// are skipped, so feeding a retry again is harmless.
    pub fn feed_checksum(&mut self, offset: u64, data: &[u8]) {
        if let Some(digest) = self.request_digest.as_mut() {
            digest.feed(offset, data);
        }
        let Some(expected) = self.prefix_check else {
            self.feed_source_hashes(offset, data);
            return;
        };
        // Hash exactly through the checkpoint's offset, compare, then go on.
        let end = expected.through();
        let head = usize::try_from(end.saturating_sub(offset)).unwrap_or(usize::MAX);
        let (head, tail) = data.split_at(head.min(data.len()));
        self.feed_source_hashes(offset, head);
        if self.crc.through() < end {
            return;
        }
        self.prefix_check = None;
        if self.crc != expected {
            return self.fail(SourceError::Changed.into());
        }
        self.feed_source_hashes(end, tail);
    }

    /// Feeds the hashes of the whole source: the CRC32C, and the SHA-256
    /// of an upload of the IETF draft.
    fn feed_source_hashes(&mut self, offset: u64, data: &[u8]) {
        self.crc.feed(offset, data);
        if let Some(session) = self.ietf.as_mut() {
            session.sha256.feed(offset, data);
        }
    }

    /// How many leading bytes of the source every hash the upload keeps
    /// covers.
    fn hashed_through(&self) -> u64 {
        let sha = self.ietf.as_ref().map_or(u64::MAX, |s| s.sha256.through());
        self.crc.through().min(sha)
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
            // A target resource that failed to process the complete upload
            // leaves nothing to resume: its upload resource says complete,
            // and a resume would report the refused upload done.
            if self.deleted
                || matches!(
                    end,
                    Ok(_)
                        | Err(Error::SessionGone
                            | Error::Cancelled
                            | Error::ProcessingFailed { .. })
                )
            {
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

    /// Whether progress not yet checkpointed is due to be, at `now`.
    fn progress_checkpoint_due(&self, now: Instant) -> bool {
        self.progress_unsaved
            && (!self.config.restartable_source
                || self.checkpointed_at.is_none_or(|at| {
                    now.saturating_duration_since(at) >= self.config.checkpoint_interval
                }))
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
            .saturating_add(self.planned_chunk_size())
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
    /// with [`Error::Cancelled`]; one the engine is cancelling already
    /// (an upload of the IETF draft that cannot go on) ends with the error
    /// that made it.
    pub fn cancel(&mut self) {
        if self.stopping() {
            return;
        }
        self.in_flight = None;
        self.wait_until = None;
        self.backoff.reset();
        // Deleting the session needs no source.
        self.prefix_check = None;
        // A tus server that lists its extensions without termination
        // keeps the upload until it expires: nothing to send.
        let terminates = self.tus.as_ref().is_none_or(|t| t.supports("termination"));
        match (&self.state, &self.session) {
            // A tus upload URL is asked what its server supports first: its
            // session exists already and is deleted all the same.
            (State::Transfer { .. } | State::Discover, Some(_)) if terminates => {
                self.state = State::Cancel;
            }
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
            protocol: self.protocol,
            flow: self.flow.clone(),
            session: self.session.clone(),
            // Left from a session that is gone until the next one is issued.
            file_api: self.session.as_ref().and(self.file_api.clone()),
            tus: self.tus.clone(),
            ietf: self.ietf.clone().map(Box::new),
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
        self.flight_started = self.polled;
        self.flight_uri = FlightUri(http.uri().clone());
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
        match file_api::upload_url_request(api, self.total.unwrap_or_default()) {
            Ok(request) => self.start(Purpose::CreateSession, Flight::CreateSession, request),
            Err(e) => self.fail_now(e),
        }
    }

    fn send_register(&mut self, object: ObjectMeta) -> Action {
        let (Target::FileApi(api), Some(gcs_path)) = (
            &self.config.target,
            self.file_api.as_ref().map(|s| s.gcs_path.as_str()),
        ) else {
            return self.fail_now(ProtocolError::BadSession("no gcs_path to register").into());
        };
        match file_api::register_request(api, gcs_path, object.size) {
            Ok(request) => self.start(Purpose::Register, Flight::Register(object), request),
            Err(e) => self.fail_now(e),
        }
    }

    fn send_initiate(&mut self) -> Action {
        if let Some(tus) = &self.tus {
            if let (Some(total), Some(max)) = (self.total, tus.max_size)
                && total > max
            {
                return self.fail_now(Error::TooLarge {
                    message: format!("{total} bytes, more than the {max} the server takes"),
                    max: Some(max),
                });
            }
            let missing = if !tus.supports("creation") {
                Some("creation")
            } else if self.total.is_none() && !tus.supports("creation-defer-length") {
                Some("creation-defer-length")
            } else {
                None
            };
            if let Some(extension) = missing {
                return self.fail_now(Error::UnsupportedExtension { extension });
            }
        }
        let first = self.first_in_creation();
        // A creation that carries every byte carries their digest, read
        // ahead when the source is small enough (or the server asked).
        let completes = first.as_ref().is_some_and(|f| Some(f.end) == self.total);
        if let (true, Some(session)) = (completes, &self.ietf) {
            let total = self.total.unwrap_or_default();
            let through = self.hashed_through();
            if through < total
                && self.checksum_asked < total
                && (total <= self.config.checksum_ahead_limit || session.repr_digest)
            {
                self.checksum_asked = total;
                return Action::Checksum(through..total);
            }
        }
        let repr = self.repr_digest(completes);
        let digests = ietf::Digests {
            repr: repr.as_ref().map(|d| &d[..]),
            content: None,
        };
        let request = self.protocol.create(
            &self.config.target,
            self.total,
            first.clone(),
            digests,
            &self.config.upload_headers,
        );
        match request {
            Ok(request) => {
                if let Some(first) = &first {
                    self.sent_high = self.sent_high.max(first.end);
                    self.note_transfer_start(first.start);
                }
                let flight = Flight::Initiate {
                    url: request.uri().to_string(),
                    deferred: self.total.is_none(),
                    first,
                };
                self.start(Purpose::Initiate, flight, request)
            }
            Err(e) => self.fail_now(ConfigError::BadHeader { what: e.what }.into()),
        }
    }

    /// The bytes a tus creation carries: the first chunk, when the server
    /// lists creation-with-upload, the caller allows it, and no `PATCH`
    /// checksum was agreed (a creation carries none: those bytes go in a
    /// verified `PATCH` instead).
    fn first_in_creation(&self) -> Option<Range<u64>> {
        if let Target::IetfCreate(create) = &self.config.target {
            // An empty source is sent whole by either strategy: the
            // creation completes it.
            if self.total == Some(0) {
                return Some(0..0);
            }
            let single = self.config.chunking == Chunking::SingleRequest;
            let mut range = chunk::next_range(0, self.total, self.planned_chunk_size(), single);
            if let Some(max) = self.rules().max_append {
                range.end = range.end.min(max);
            }
            return (create.strategy == IetfStrategy::Optimistic).then_some(range);
        }
        let tus = self.tus.as_ref()?;
        let Target::TusCreate(create) = &self.config.target else {
            return None;
        };
        if !create.upload_with_creation
            || !tus.supports("creation-with-upload")
            || tus.checksum.is_some()
            || self.total == Some(0)
        {
            return None;
        }
        let single = self.config.chunking == Chunking::SingleRequest;
        Some(chunk::next_range(0, self.total, self.chunk_size, single))
    }

    /// Asks the server what it supports: at the creation endpoint, or at
    /// the upload URL. `None` for a protocol that asks nothing: the flow
    /// goes on without.
    fn send_discover(&mut self) -> Option<Action> {
        let url = match &self.config.target {
            Target::TusCreate(create) => create.endpoint.as_str(),
            Target::TusUpload(url) => url.expose(),
            _ => "",
        };
        let request = url
            .parse::<http::Uri>()
            .ok()
            .and_then(|uri| self.protocol.discover(&uri, &self.config.upload_headers));
        match request {
            Some(Ok(request)) => Some(self.start(Purpose::Discover, Flight::Discover, request)),
            Some(Err(_)) => Some(self.fail_now(unusable_session())),
            None => {
                self.state = self.after_discovery();
                None
            }
        }
    }

    fn send_cancel(&mut self) -> Action {
        self.cache_session_uri();
        let request = self.session_base().map(|base| self.protocol.cancel(&base));
        match request {
            Ok(Ok(request)) => self.start(Purpose::Cancel, Flight::Cancel, request),
            _ => self.fail_now(Error::Cancelled),
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
        if self.hashed_through() < persisted && self.checksum_asked < persisted {
            self.checksum_asked = persisted;
            return Action::Checksum(self.hashed_through()..persisted);
        }
        let rules = self.rules();
        if self.total == Some(persisted) {
            // Every byte is persisted: finish with a query, or with an empty
            // last append where a query cannot.
            return if rules.query_finishes {
                self.send_query()
            } else {
                self.send_chunk(persisted..persisted)
            };
        }
        let single = self.config.chunking == Chunking::SingleRequest;
        let mut range = chunk::next_range(persisted, self.total, self.planned_chunk_size(), single);
        if let Some(max) = rules.max_append {
            range.end = range.end.min(range.start.saturating_add(max));
        }
        let is_final = self.total == Some(range.end);
        let through = self.hashed_through();
        let repr_wanted = self.ietf.as_ref().is_some_and(|s| s.repr_digest);
        if is_final
            && rules.final_digest
            && (range.start..range.end).contains(&through)
            && (range.end - through <= self.config.checksum_ahead_limit || repr_wanted)
            && self.checksum_asked < range.end
        {
            self.checksum_asked = range.end;
            return Action::Checksum(through..range.end);
        }
        if let Some(action) = self.request_digest_due(&range) {
            return action;
        }
        self.send_chunk(range)
    }

    /// Asks for the bytes of `range` when its request carries their digest
    /// and it is not known yet; `None` when the request can go.
    fn request_digest_due(&mut self, range: &Range<u64>) -> Option<Action> {
        let algorithm = self.request_checksum()?;
        if range.is_empty() {
            return None;
        }
        match &self.request_digest {
            Some(d) if d.covers(range, algorithm) && d.digest().is_some() => None,
            // Asked for and not fed: the request cannot carry its digest.
            Some(d) if d.covers(range, algorithm) => {
                Some(self.fail_now(IntegrityError::SourceNotHashed.into()))
            }
            _ => {
                self.request_digest = Some(RequestDigest::new(range.clone(), algorithm));
                Some(Action::Checksum(range.clone()))
            }
        }
    }

    /// Tells the session's first data request, from `offset`, once.
    fn note_transfer_start(&mut self, offset: u64) {
        if !self.transfer_started {
            self.transfer_started = true;
            self.events.push_back(Event::TransferStarted {
                offset,
                total: self.total,
            });
        }
    }

    /// The algorithm of the digest each data request carries of its own
    /// body, where the server checks one: tus's agreed checksum, or the
    /// `Content-Digest` an IETF server asked for.
    fn request_checksum(&self) -> Option<ChecksumAlgorithm> {
        match &self.ietf {
            Some(session) => session.content_digest.then_some(ChecksumAlgorithm::Sha256),
            None => self.tus.as_ref().and_then(|t| t.checksum),
        }
    }

    /// The whole source's SHA-256 for the request that completes an upload
    /// of the IETF draft, when `completes` and every byte is hashed.
    fn repr_digest(&self, completes: bool) -> Option<[u8; 32]> {
        self.source_sha256().filter(|_| completes)
    }

    fn send_chunk(&mut self, range: Range<u64>) -> Action {
        self.note_transfer_start(range.start);
        let digest = self.rules().final_digest
            && self.total == Some(range.end)
            && self.hashed_through() == range.end;
        let crc32c = digest.then(|| self.crc.value());
        let repr = self.repr_digest(digest);
        let content = self
            .request_digest
            .as_ref()
            .filter(|d| self.ietf.is_some() && self.request_checksum() == Some(d.algorithm()))
            .and_then(|d| d.digest());
        let digests = ietf::Digests {
            repr: repr.as_ref().map(|d| &d[..]),
            content,
        };
        self.sent_high = self.sent_high.max(range.end);
        let extras = PatchExtras {
            declare_length: self
                .tus
                .as_ref()
                .filter(|t| t.length_deferred)
                .and(self.total),
            checksum: self
                .request_digest
                .as_ref()
                .filter(|d| self.tus.as_ref().and_then(|t| t.checksum) == Some(d.algorithm()))
                .and_then(|d| d.digest().map(|digest| (d.algorithm(), digest))),
        };
        let request = self.session_base().map(|base| {
            self.protocol
                .append(&base, range.clone(), self.total, crc32c, extras, digests)
        });
        let flight = Flight::Chunk {
            range,
            hashed: digest,
            told_length: extras.declare_length.is_some(),
        };
        self.start_session_request(Purpose::Chunk, flight, request)
    }

    fn send_query(&mut self) -> Action {
        let request = self
            .session_base()
            .map(|base| self.protocol.query(&base, self.total));
        self.start_session_request(Purpose::Query, Flight::Query, request)
    }

    /// Starts a request to the session, as `request` built it.
    fn start_session_request(
        &mut self,
        purpose: Purpose,
        flight: Flight,
        request: Result<Result<http::Request<Body>, protocol::BuildError>, Error>,
    ) -> Action {
        match request {
            Ok(Ok(request)) => self.start(purpose, flight, request),
            Ok(Err(_)) => self.fail_now(unusable_session()),
            Err(e) => self.fail_now(e),
        }
    }

    /// Where requests to the session go: its URL, parsed once by
    /// [`Self::cache_session_uri`], and the caller's extra headers.
    fn session_base(&self) -> Result<Base<'_>, Error> {
        let session = self.session.as_ref().ok_or(Error::SessionGone)?;
        let cached = self
            .uri_cache
            .as_ref()
            .filter(|c| c.text == session.upload_url.expose())
            .ok_or_else(unusable_session)?;
        Ok(Base {
            uri: &cached.uri,
            extra: &self.config.upload_headers,
        })
    }

    /// Parses the session URL once per session, for [`Self::session_base`].
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

    /// The request `id` in flight, taken out; `None` for the request the
    /// engine abandoned, whose answers are ignored.
    fn take_flight(&mut self, id: RequestId) -> Result<Option<Flight>, UsageError> {
        match self.in_flight.take() {
            Some((current, flight)) if current == id => Ok(Some(flight)),
            other => {
                self.in_flight = other;
                if self.abandoned == Some(id) {
                    Ok(None)
                } else {
                    Err(UsageError::UnknownRequest)
                }
            }
        }
    }

    fn session_created(&mut self, session: UploadSession) {
        if let Err(e) = self.check_handed_out(session.upload_url.expose()) {
            return self.fail(e);
        }
        self.set_chunk_size(self.pick_chunk_size(session.chunk_size_recommended));
        self.events.push_back(Event::SessionStarted {
            expires_at: Some(session.expires_at),
            chunk_size: self.chunk_size,
        });
        self.session = Some(SessionRecord {
            upload_url: session.upload_url,
            expires_at: Some(session.expires_at),
            chunk_size: self.chunk_size,
        });
        self.file_api = Some(FileApiSession {
            gcs_path: session.gcs_path,
            file_id: session.file_id,
            upload_type: session.upload_type,
        });
        self.begin_transfer();
    }

    /// A session was created at `url`; `expires_at` when its answer said.
    fn initiated(
        &mut self,
        url: String,
        deferred: bool,
        expires_at: Option<SystemTime>,
        now: Instant,
    ) {
        if !self.open_session(url, expires_at, now) {
            return;
        }
        if let Some(tus) = self.tus.as_mut() {
            tus.length_deferred = deferred;
        }
        self.begin_transfer();
    }

    /// A session exists at `url`, from a creation's answer or a `104`.
    /// Returns whether it was taken: a URL the https rule refuses ends the
    /// upload instead.
    fn open_session(&mut self, url: String, expires_at: Option<SystemTime>, now: Instant) -> bool {
        if let Err(e) = self.check_handed_out(&url) {
            self.fail(e);
            return false;
        }
        let lifetime = self.rules().session_lifetime;
        let expires_at =
            expires_at.or_else(|| lifetime.and_then(|l| self.clock.wall(now).checked_add(l)));
        self.events.push_back(Event::SessionStarted {
            expires_at,
            chunk_size: self.chunk_size,
        });
        self.session = Some(SessionRecord {
            upload_url: SessionUrl::new(url),
            expires_at,
            chunk_size: self.chunk_size,
        });
        true
    }

    fn begin_transfer(&mut self) {
        self.persisted = 0;
        self.sent_high = 0;
        self.offset_unknown = false;
        self.state = State::Transfer { query: false };
        self.backoff.reset();
        self.checkpoint_due = true;
    }

    /// A creation that carried `first` of the source was answered, with the
    /// offset it kept when it said: as for a `PATCH` of those bytes, the
    /// upload goes on from there, or ends when they were all of it. Without
    /// an offset, a `HEAD` asks.
    fn created_with(&mut self, first: Range<u64>, persisted: Option<u64>, now: Instant) {
        if self.stopping() {
            return;
        }
        self.sent_high = first.end;
        let Some(persisted) = persisted else {
            self.state = State::Transfer { query: true };
            return;
        };
        if self.apply_persisted(persisted).is_some() && self.total == Some(persisted) {
            self.finish(Ok(protocol::tus::completed(persisted)), Some(now));
        }
    }

    /// Applies the offset the server reports. Returns whether it advanced,
    /// or `None` when the answer broke the protocol (the upload has failed).
    fn apply_persisted(&mut self, persisted: u64) -> Option<bool> {
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
        let sent = if self.offset_unknown || self.rules().offset_may_pass_sent {
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
        self.progress_unsaved = true;
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
    fn finish(&mut self, object: Result<ObjectMeta, ProtocolError>, ask_again: Option<Instant>) {
        match (object, ask_again) {
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
        if let (Some(stored), Some(expected)) = (object.sha256.as_deref(), self.source_sha256())
            && *stored != expected
        {
            return Err(IntegrityError::Sha256);
        }
        Ok(())
    }

    fn source_crc32c(&self) -> Option<u32> {
        (Some(self.crc.through()) == self.total).then(|| self.crc.value())
    }

    fn source_sha256(&self) -> Option<[u8; 32]> {
        let session = self.ietf.as_ref()?;
        (Some(session.sha256.through()) == self.total).then(|| session.sha256.digest())
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

    /// The File is registered: the upload is done.
    fn registered(&mut self, object: ObjectMeta, file: File) {
        self.events.push_back(Event::Registered {
            file_id: file.id.clone(),
        });
        self.succeed(object, Some(file));
    }

    fn succeed(&mut self, object: ObjectMeta, file: Option<File>) {
        self.end = Some(Ok(Outcome {
            crc32c: self.source_crc32c(),
            sha256: self.source_sha256(),
            object,
            file,
            restarts: self.restarts,
        }));
    }

    /// The session is gone: replace it and restart from 0 when the flow and
    /// the source allow, else fail.
    fn session_gone(&mut self, count: bool) {
        let can_replace = !matches!(
            self.config.target,
            Target::GcsSession(_) | Target::TusUpload(_) | Target::IetfUpload(..)
        ) && self.config.restartable_source
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
        // The next session's first data request starts a transfer anew; a
        // creation that carries bytes starts it before that session exists.
        self.transfer_started = false;
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

    /// Announces the server's id of the upload (from any answer) when it is
    /// new, redacted when it is the session's credential.
    fn note_upload_id(&mut self, id: Option<&str>) {
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
            Chunking::Fixed(n) | Chunking::Adaptive(AdaptiveLimits { start: Some(n), .. }) => n,
            // A server's recommendation is capped: it sets how much a
            // streaming driver buffers.
            Chunking::Auto | Chunking::Adaptive(_) | Chunking::SingleRequest => {
                recommended.map_or(DEFAULT_CHUNK_SIZE, |r| r.min(chunk::MAX_RECOMMENDED_CHUNK))
            }
        };
        chunk::round_to_unit(size, self.rules().granularity)
    }

    /// Sets the chunk size the upload starts at; under
    /// [`Chunking::Adaptive`], with a source that can be read again, the
    /// rule starts from it.
    fn set_chunk_size(&mut self, size: u64) {
        self.chunk_size = size;
        self.adapter = match self.config.chunking {
            Chunking::Adaptive(limits) if self.config.restartable_source => Some(Adapter::new(
                limits,
                size,
                chunk::CHUNK_GRANULARITY.max(self.rules().granularity),
            )),
            _ => None,
        };
        if let Some(adapter) = &self.adapter {
            self.chunk_size = adapter.size();
        }
    }

    /// A chunk of `range` was persisted whole, answered at `now`: the
    /// adaptive rule sets the next size from its cycle.
    fn chunk_persisted(&mut self, range: &Range<u64>, now: Instant) {
        let Some(adapter) = self.adapter.as_mut() else {
            return;
        };
        let start = self.chunk_answered.unwrap_or(self.flight_started);
        let cycle = now.saturating_duration_since(start);
        self.chunk_size = adapter.persisted(range.end - range.start, cycle);
        self.chunk_answered = Some(now);
    }

    /// An offset query was answered at `now`: under the adaptive rule its
    /// round trip, which carried no bytes, is the overhead the next chunk
    /// is measured against, and that chunk's cycle starts here.
    fn query_answered(&mut self, now: Instant) {
        let Some(adapter) = self.adapter.as_mut() else {
            return;
        };
        adapter.empty_answered(now.saturating_duration_since(self.flight_started));
        self.chunk_answered = Some(now);
    }

    /// A chunk failed (or kept less than it carried): the adaptive rule
    /// shrinks the next, and the next cycle starts afresh.
    fn chunk_failed(&mut self) {
        self.chunk_answered = None;
        if let Some(adapter) = self.adapter.as_mut() {
            self.chunk_size = adapter.failed();
        }
    }

    /// The protocol's rules, with what the server said of its limits.
    fn rules(&self) -> Rules {
        let mut rules = self.protocol.rules();
        if let Some(tus) = self.tus.as_ref() {
            rules.max_append = tighter(rules.max_append, tus.max_size);
        }
        if let Some(session) = self.ietf.as_ref() {
            let stated = session.limits.max_append_size.filter(|&m| m > 0);
            rules.max_append = tighter(stated, session.content_cap);
            rules.min_append = session.limits.min_append_size;
        }
        rules
    }

    /// The size of the next data request: the chunk size within the
    /// server's append limits (a maximum below its minimum wins: it is
    /// what the server refuses to take). A minimum above the largest chunk
    /// this upload may hold (what a driver buffers, what a failure sends
    /// again) is not followed: the server then refuses the smaller
    /// request, with its typed error.
    fn planned_chunk_size(&self) -> u64 {
        let rules = self.rules();
        let mut size = self.chunk_size;
        let ceiling = match self.config.chunking {
            Chunking::Adaptive(limits) => limits.max_bytes,
            _ => chunk::MAX_RECOMMENDED_CHUNK,
        }
        .max(self.chunk_size);
        if let Some(min) = rules.min_append.filter(|&min| min <= ceiling) {
            size = size.max(min);
        }
        if let Some(max) = rules.max_append {
            size = size.min(max);
        }
        size.max(1)
    }

    /// What the server supports is known (or it would not say): create
    /// the upload, or ask how much an existing one holds.
    fn discovered(&mut self, caps: Option<crate::protocol::tus::discovery::Capabilities>) {
        let checksum = caps
            .as_ref()
            .filter(|c| c.supports("checksum"))
            .and_then(|c| {
                ChecksumAlgorithm::strongest(c.checksum_algorithms.iter().map(String::as_str))
            });
        let (max_size, extensions) = caps.map_or((None, None), |c| {
            let listed = TusExtensions::listed(c.extensions.iter().map(String::as_str));
            (c.max_size, Some(listed))
        });
        self.tus = Some(TusSession {
            length_deferred: false,
            checksum,
            max_size,
            extensions,
        });
        self.backoff.reset();
        self.state = self.after_discovery();
    }

    /// Where the flow goes once the server's support is known.
    fn after_discovery(&self) -> State {
        match self.session {
            Some(_) => State::Transfer { query: true },
            None => State::Initiate,
        }
    }

    /// An answer said what the server holds as the upload's length: once
    /// told, it must be the source's; still deferred, the next `PATCH`
    /// once the total is known tells it (an upload created elsewhere).
    fn note_declared_length(&mut self, headers: &http::HeaderMap) -> Result<(), ProtocolError> {
        match self.protocol.declared_length(headers)? {
            None => {}
            Some(Declared::Length(declared)) => {
                if let Some(total) = self.total
                    && total != declared
                {
                    return Err(ProtocolError::LengthMismatch { declared, total });
                }
                self.length_told();
            }
            Some(Declared::Deferred) => {
                if let Some(tus) = self.tus.as_mut()
                    && !tus.length_deferred
                {
                    tus.length_deferred = true;
                    self.checkpoint_due = true;
                }
            }
        }
        Ok(())
    }

    /// The server knows the upload's length now.
    fn length_told(&mut self) {
        if let Some(tus) = self.tus.as_mut()
            && tus.length_deferred
            && self.total.is_some()
        {
            tus.length_deferred = false;
            self.checkpoint_due = true;
        }
    }

    /// An answer named when the session expires (tus `Upload-Expires`,
    /// which may move). The draft tells it as the seconds left (`max-age`,
    /// on every answer), which moves by its rounding and the time an answer
    /// takes: a move within [`EXPIRY_SLACK`] of what the last checkpoint
    /// carries is kept, but is no news a checkpoint must carry at once.
    fn session_expires(&mut self, at: SystemTime) {
        let slack = match self.protocol {
            Protocol::Ietf { .. } => EXPIRY_SLACK,
            Protocol::Gcs | Protocol::Tus => Duration::ZERO,
        };
        let moved = |was: SystemTime| was.duration_since(at).unwrap_or_else(|e| e.duration());
        let Some(session) = self.session.as_mut() else {
            return;
        };
        if session.expires_at == Some(at) {
            return;
        }
        // Against what the last checkpoint carries, so that small moves
        // do not add up unsaved.
        let saved = self.expiry_checkpointed.or(session.expires_at);
        session.expires_at = Some(at);
        if saved.is_none_or(|was| moved(was) > slack) {
            self.checkpoint_due = true;
        }
    }
}

/// The lower of two limits, where `None` is no limit.
fn tighter(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Whether `checkpoint` was written by the upload `target` describes:
/// the same format, protocol, flow and destination.
fn same_upload(checkpoint: &Checkpoint, target: &Target) -> Result<(), SourceError> {
    let mismatch = |why| Err(SourceError::CheckpointMismatch(why));
    let format1 = matches!(checkpoint.flow, Flow::Format1 { .. });
    match checkpoint.format {
        1 if format1 => {}
        CHECKPOINT_FORMAT if !format1 => {}
        _ => return mismatch("unknown checkpoint format"),
    }
    if checkpoint.protocol != protocol_of(target) {
        return mismatch("written for another protocol");
    }
    let (same_kind, same_destination) = match &checkpoint.flow {
        Flow::Format1 { flow, target: text } => (
            *flow == format1_flow_of(target),
            *text == format1_identity(target),
        ),
        flow => {
            let own = flow_of(target);
            (
                std::mem::discriminant(flow) == std::mem::discriminant(&own),
                flow.same_destination(&own),
            )
        }
    };
    if !same_kind {
        return mismatch("written by another kind of upload");
    }
    if !same_destination {
        return mismatch("written for another destination");
    }
    Ok(())
}

/// The flow and destination a checkpoint names, so it is never resumed
/// against another.
///
/// A GCS initiation's preconditions are left out on purpose: they belong to
/// the session, which the server keeps with it and re-checks at finalize,
/// not to the destination; a replacement session is initiated with the
/// preconditions of the configuration at hand. Leaving them out also keeps
/// checkpoints written before preconditions existed resumable.
fn flow_of(target: &Target) -> Flow {
    match target {
        Target::FileApi(api) => Flow::FileApi {
            api_base: api.api_base.trim_end_matches('/').to_owned(),
            organization: api.organization.clone(),
            filename: api.filename.clone(),
            mime_type: api.mime_type.clone(),
        },
        Target::GcsInitiate(init) => Flow::GcsInitiate {
            endpoint: init.endpoint.trim_end_matches('/').to_owned(),
            bucket: init.bucket.clone(),
            object: init.object.clone(),
        },
        // The session URL is itself the destination, and a credential: keep a hash.
        Target::GcsSession(url) => Flow::GcsSession {
            url_crc32c: crc32c::crc32c(url.expose().as_bytes()),
        },
        Target::TusCreate(create) => Flow::TusCreate {
            endpoint: create.endpoint.trim_end_matches('/').to_owned(),
        },
        Target::TusUpload(url) => Flow::TusUpload {
            url_crc32c: crc32c::crc32c(url.expose().as_bytes()),
        },
        Target::IetfCreate(create) => Flow::IetfCreate {
            endpoint: create.endpoint.trim_end_matches('/').to_owned(),
        },
        Target::IetfUpload(url, _) => Flow::IetfUpload {
            url_crc32c: crc32c::crc32c(url.expose().as_bytes()),
        },
    }
}

fn unusable_session() -> Error {
    ProtocolError::BadSession("unusable session URL").into()
}

/// The protocol an upload to `target` speaks.
fn protocol_of(target: &Target) -> Protocol {
    match target {
        Target::FileApi(_) | Target::GcsInitiate(_) | Target::GcsSession(_) => Protocol::Gcs,
        Target::TusCreate(_) | Target::TusUpload(_) => Protocol::Tus,
        Target::IetfCreate(create) => Protocol::Ietf {
            interop: create.interop,
        },
        Target::IetfUpload(_, interop) => Protocol::Ietf { interop: *interop },
    }
}

/// The destination as format 1 wrote it, to resume a checkpoint of that
/// format exactly as its release did. The text is compared, not parsed:
/// a file name or a MIME type may hold a space, its separator.
fn format1_identity(target: &Target) -> String {
    match flow_of(target) {
        Flow::FileApi {
            api_base,
            organization,
            filename,
            mime_type,
        } => format!("file-api {api_base} {organization} {filename} {mime_type}"),
        Flow::GcsInitiate {
            endpoint,
            bucket,
            object,
        } => format!("gcs {endpoint} {bucket} {object}"),
        Flow::GcsSession { url_crc32c } => format!("gcs-session {url_crc32c:08x}"),
        // Format 1 spoke GCS only: no text of it names a tus upload.
        Flow::TusCreate { .. }
        | Flow::TusUpload { .. }
        | Flow::IetfCreate { .. }
        | Flow::IetfUpload { .. } => String::new(),
        Flow::Format1 { target, .. } => target,
    }
}

fn format1_flow_of(target: &Target) -> Format1Flow {
    match target {
        Target::FileApi(_) => Format1Flow::FileApi,
        _ => Format1Flow::Gcs,
    }
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
        Target::GcsSession(url) | Target::TusUpload(url) | Target::IetfUpload(url, _) => {
            url.expose()
        }
        Target::TusCreate(create) => create.endpoint.as_str(),
        Target::IetfCreate(create) => create.endpoint.as_str(),
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
            file_api::validate(api)?;
        }
        Target::GcsInitiate(init) => protocol::gcs::validate_initiate(init)?,
        Target::GcsSession(url) | Target::TusUpload(url) | Target::IetfUpload(url, _) => {
            if !url::is_absolute_http_url(url.expose()) {
                return Err(ConfigError::BadUrl {
                    what: "the session URL",
                });
            }
        }
        Target::TusCreate(create) => protocol::tus::validate_create(create)?,
        Target::IetfCreate(create) => protocol::ietf::validate_create(create)?,
    }
    Ok(())
}
