//! The rules of tus 1.0 (tus.io), written once: which request an upload
//! takes in which state, what a `POST`, `HEAD`, `PATCH`, `DELETE` or
//! `OPTIONS`'s headers ask for, how a `PATCH` ends given the bytes received
//! and their checksum, and the answers' headers. The core protocol and the
//! creation, creation-with-upload, creation-defer-length, expiration,
//! checksum (sha1, md5, crc32) and termination extensions, strictly.
//!
//! [`TusServer`] applies them to whole bodies in memory; the emulator
//! applies the same functions to bodies it streams to storage. Each
//! function reads headers, [`TusOptions`] and an upload's state and returns
//! a decision, an [`Answer`] or a [`Refusal`]; none does IO or keeps state.

mod server;
mod wire;

use std::time::{Duration, SystemTime};

use http::{HeaderMap, Method};

use crate::refusal::Refusal;
use wire::{decode_digest, http_date, number, parse_metadata, text, write_metadata};

pub use crate::answer::{Answer, Arrival};
pub use server::{TUS_ENDPOINT, TusFault, TusServer, TusUpload};
pub use wire::{Algorithm, Hasher};

/// The version the servers speak unless told otherwise.
pub const VERSION: &str = "1.0.0";
/// The content type of every `PATCH` (and of a creation with data).
pub const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";
/// The reason of a `412` to a request without `Tus-Resumable`: the client
/// broke the protocol (a version the server does not speak is not).
const NO_VERSION: &str = "missing_tus_resumable";

/// What a server supports and how it answers.
#[derive(Debug, Clone)]
pub struct TusOptions {
    /// The versions it speaks, most preferred first.
    pub versions: Vec<String>,
    /// Whether it answers `OPTIONS` at all (else `405`).
    pub answers_options: bool,
    /// The extensions it announces and honours.
    pub extensions: Vec<&'static str>,
    /// The checksum algorithms it announces and checks.
    pub checksum_algorithms: Vec<&'static str>,
    /// The largest upload it takes.
    pub max_size: Option<u64>,
    /// How long an unfinished upload lives (the expiration extension).
    pub lifetime: Option<Duration>,
    /// Answer a creation with a relative `Location` (`/files/{id}`).
    pub relative_location: bool,
}

impl Default for TusOptions {
    /// Every extension, all three checksums, no size limit, uploads that
    /// live a day, absolute locations.
    fn default() -> Self {
        Self {
            versions: vec![VERSION.to_owned()],
            answers_options: true,
            extensions: vec![
                "creation",
                "creation-with-upload",
                "creation-defer-length",
                "expiration",
                "checksum",
                "termination",
            ],
            checksum_algorithms: vec!["sha1", "md5", "crc32"],
            max_size: None,
            lifetime: Some(Duration::from_secs(24 * 3600)),
            relative_location: false,
        }
    }
}

impl TusOptions {
    /// Whether the server announces and honours `extension`.
    pub fn supports(&self, extension: &str) -> bool {
        self.extensions.contains(&extension)
    }

    /// When an upload created or appended to at `now` stops being
    /// resumable, under the expiration extension.
    pub fn expiry(&self, now: SystemTime) -> Option<SystemTime> {
        self.supports("expiration")
            .then_some(self.lifetime)
            .flatten()
            // A lifetime past the end of time: the upload never expires.
            .and_then(|l| now.checked_add(l))
    }
}

impl Answer {
    /// An answer with `Tus-Resumable: 1.0.0`, as every answer but a refused
    /// `OPTIONS` has it.
    fn tus(status: u16) -> Self {
        Self {
            status,
            headers: vec![("tus-resumable", VERSION.to_owned())],
        }
    }
}

/// The answer to a refused request: its status, and `Tus-Version` with a
/// `412`, as the protocol asks.
pub fn refused(refusal: &Refusal, options: &TusOptions) -> Answer {
    status(refusal.status, options)
}

/// An answer of `status` alone (a scripted fault's), `Tus-Version` with a
/// `412`.
pub fn status(status: u16, options: &TusOptions) -> Answer {
    let answer = Answer::tus(status);
    if status == 412 {
        answer.with("tus-version", options.versions.join(","))
    } else {
        answer
    }
}

/// Whether a refusal says the client broke the protocol (as opposed to an
/// answer a correct client can get, such as `404`, `410` or a version the
/// server does not speak).
pub fn is_violation(refusal: &Refusal) -> bool {
    matches!(refusal.status, 400 | 409 | 415) || refusal.reason == NO_VERSION
}

/// Whether a request is discovery (`OPTIONS`, at any URL): answered by
/// [`discovery`], with no version checked. Any other request is checked by
/// [`check_version`], then takes its [`route`].
pub fn is_discovery(method: &Method) -> bool {
    method == Method::OPTIONS
}

/// What a request other than discovery asks for, by its method and whether
/// it names the creation endpoint or an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST` to the endpoint: [`plan_create`].
    Create,
    /// `HEAD` of an upload: [`head`].
    Head,
    /// `PATCH` of an upload: [`read_patch`], then [`plan_patch`].
    Patch,
    /// `DELETE` of an upload: [`plan_terminate`].
    Terminate,
}

/// The route of a request with `method` to the creation endpoint
/// (`at_endpoint`) or to the URL `url`; `405` for any other method (a
/// `POST` to an upload among them).
pub fn route(method: &Method, at_endpoint: bool, url: &str) -> Result<Route, Refusal> {
    match *method {
        Method::POST if at_endpoint => Ok(Route::Create),
        Method::HEAD => Ok(Route::Head),
        Method::PATCH => Ok(Route::Patch),
        Method::DELETE => Ok(Route::Terminate),
        ref m => Err(Refusal::new(
            405,
            "method_not_allowed",
            format!("{m} to {url}"),
        )),
    }
}

/// The `OPTIONS` answer: `204` with `Tus-Version`, `Tus-Extension`,
/// `Tus-Checksum-Algorithm` and `Tus-Max-Size` as supported; `405` from a
/// server that does not answer it.
pub fn discovery(options: &TusOptions) -> Answer {
    if !options.answers_options {
        return Answer {
            status: 405,
            headers: Vec::new(),
        };
    }
    let mut a = Answer::tus(204).with("tus-version", options.versions.join(","));
    if !options.extensions.is_empty() {
        a = a.with("tus-extension", options.extensions.join(","));
    }
    if options.supports("checksum") {
        a = a.with(
            "tus-checksum-algorithm",
            options.checksum_algorithms.join(","),
        );
    }
    if let Some(max) = options.max_size {
        a = a.with("tus-max-size", max);
    }
    a
}

/// Checks `Tus-Resumable` on a request other than `OPTIONS`: `412` when it
/// is missing (a violation) or names a version the server does not speak.
pub fn check_version(
    headers: &HeaderMap,
    method: &Method,
    options: &TusOptions,
) -> Result<(), Refusal> {
    match text(headers, "tus-resumable") {
        None => Err(Refusal::new(
            412,
            NO_VERSION,
            format!("{method} without Tus-Resumable"),
        )),
        Some(v) if !options.versions.iter().any(|s| s == v) => Err(Refusal::new(
            412,
            "unsupported_version",
            format!("Tus-Resumable {v:?} is not a version this server speaks"),
        )),
        Some(_) => Ok(()),
    }
}

/// What a valid creation asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creation {
    /// `Upload-Length`, or `None` for `Upload-Defer-Length: 1`.
    pub length: Option<u64>,
    /// `Upload-Metadata`, decoded.
    pub metadata: Vec<(String, Vec<u8>)>,
}

/// Checks a creation's headers; its body is checked by [`creation_data`]
/// once its length is known.
pub fn plan_create(headers: &HeaderMap, options: &TusOptions) -> Result<Creation, Refusal> {
    if !options.supports("creation") {
        return Err(Refusal::new(
            405,
            "method_not_allowed",
            "creation is not supported",
        ));
    }
    let length = match (
        text(headers, "upload-length"),
        text(headers, "upload-defer-length"),
    ) {
        (Some(l), None) => Some(
            number(l)
                .ok_or_else(|| Refusal::bad(format!("Upload-Length {l:?} is not a byte count")))?,
        ),
        (None, Some("1")) if options.supports("creation-defer-length") => None,
        (None, Some(d)) => return Err(Refusal::bad(format!("Upload-Defer-Length {d:?}"))),
        (Some(_), Some(_)) => {
            return Err(Refusal::bad("both Upload-Length and Upload-Defer-Length"));
        }
        (None, None) => {
            return Err(Refusal::bad(
                "a creation with neither Upload-Length nor Upload-Defer-Length",
            ));
        }
    };
    if let (Some(l), Some(max)) = (length, options.max_size)
        && l > max
    {
        return Err(Refusal::new(
            413,
            "too_large",
            format!("{l} bytes, more than {max}"),
        ));
    }
    let metadata = match text(headers, "upload-metadata") {
        Some(v) => parse_metadata(v).map_err(Refusal::bad)?,
        None if headers.contains_key("upload-metadata") => {
            return Err(Refusal::bad("Upload-Metadata is not text"));
        }
        None => Vec::new(),
    };
    Ok(Creation { length, metadata })
}

/// Checks the `len` bytes a creation carries (creation-with-upload): none
/// at all, or of the offset stream's content type, within its length.
pub fn creation_data(
    creation: &Creation,
    headers: &HeaderMap,
    options: &TusOptions,
    len: u64,
) -> Result<(), Refusal> {
    if len > 0 {
        if !options.supports("creation-with-upload") {
            return Err(Refusal::bad(
                "data in a creation without creation-with-upload",
            ));
        }
        if text(headers, "content-type") != Some(OFFSET_OCTET_STREAM) {
            return Err(Refusal::new(
                415,
                "unsupported_media_type",
                "a creation with data of another content type",
            ));
        }
    }
    if creation.length.is_some_and(|l| len > l) {
        return Err(Refusal::bad("a creation with more data than its length"));
    }
    past_max_size(options, len)
}

/// `413` when `bytes` pass the server's `Tus-Max-Size`: an upload of
/// deferred length is bounded by its bytes, not its declared length.
fn past_max_size(options: &TusOptions, bytes: u64) -> Result<(), Refusal> {
    match options.max_size {
        Some(max) if bytes > max => Err(Refusal::new(
            413,
            "too_large",
            format!("{bytes} bytes, more than {max}"),
        )),
        _ => Ok(()),
    }
}

/// `201` for a new upload at `location` holding `offset` bytes (those its
/// creation carried), resumable until `expires_at`.
pub fn created(location: &str, offset: u64, expires_at: Option<SystemTime>) -> Answer {
    let mut a = Answer::tus(201).with("location", location);
    if offset > 0 {
        a = a.with("upload-offset", offset);
    }
    if let Some(at) = expires_at {
        a = a.with("upload-expires", http_date(at));
    }
    a
}

/// `404`: no upload was ever at `url`.
pub fn unknown(url: &str) -> Refusal {
    Refusal::new(404, "not_found", format!("no upload at {url}"))
}

/// `410`: the upload at `url` expired or was terminated.
pub fn gone(url: &str) -> Refusal {
    Refusal::new(410, "gone", format!("the upload at {url} is gone"))
}

/// Whether an upload past `expires_at` at `now` has expired: an upload
/// whose every byte is in never does.
pub fn expired(expires_at: Option<SystemTime>, complete: bool, now: SystemTime) -> bool {
    expires_at.is_some_and(|t| t <= now) && !complete
}

/// What an upload's answers tell of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The bytes kept, from offset 0.
    pub offset: u64,
    /// The length, once told.
    pub length: Option<u64>,
}

impl Progress {
    /// Whether every byte of a known length is here.
    pub fn complete(&self) -> bool {
        self.length == Some(self.offset)
    }
}

/// The `HEAD` answer of a live upload: `200`, `Cache-Control: no-store`,
/// its offset, its length (or `Upload-Defer-Length: 1`), metadata, expiry.
pub fn head(
    progress: Progress,
    metadata: &[(String, Vec<u8>)],
    expires_at: Option<SystemTime>,
) -> Answer {
    let mut a = Answer::tus(200)
        .with("cache-control", "no-store")
        .with("upload-offset", progress.offset);
    a = match progress.length {
        Some(l) => a.with("upload-length", l),
        None => a.with("upload-defer-length", "1"),
    };
    if !metadata.is_empty() {
        a = a.with("upload-metadata", write_metadata(metadata));
    }
    if let Some(at) = expires_at {
        a = a.with("upload-expires", http_date(at));
    }
    a
}

/// A declared `Upload-Checksum`: the algorithm and the digest it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    /// The algorithm.
    pub algorithm: Algorithm,
    /// The digest, decoded.
    pub digest: Vec<u8>,
}

impl Checksum {
    /// Whether `digest` (of the bytes received) is the one declared.
    pub fn matches(&self, digest: &[u8]) -> bool {
        self.digest == digest
    }
}

/// What a `PATCH`'s headers ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchAsk {
    /// `Upload-Offset`: where its bytes go.
    pub offset: u64,
    /// `Upload-Length`, telling a deferred length.
    pub length: Option<u64>,
    /// `Upload-Checksum`, to check its bytes against.
    pub checksum: Option<Checksum>,
}

/// Reads a `PATCH`'s headers, before the upload is looked at.
pub fn read_patch(headers: &HeaderMap, options: &TusOptions) -> Result<PatchAsk, Refusal> {
    if text(headers, "content-type") != Some(OFFSET_OCTET_STREAM) {
        return Err(Refusal::new(
            415,
            "unsupported_media_type",
            "a PATCH without Content-Type: application/offset+octet-stream",
        ));
    }
    let offset = text(headers, "upload-offset")
        .and_then(number)
        .ok_or_else(|| Refusal::bad("a PATCH without a valid Upload-Offset"))?;
    let length = match text(headers, "upload-length") {
        Some(l) => Some(number(l).ok_or_else(|| Refusal::bad(format!("Upload-Length {l:?}")))?),
        None => None,
    };
    let checksum = match text(headers, "upload-checksum") {
        Some(v) => Some(read_checksum(v, options)?),
        None => None,
    };
    Ok(PatchAsk {
        offset,
        length,
        checksum,
    })
}

fn read_checksum(value: &str, options: &TusOptions) -> Result<Checksum, Refusal> {
    if !options.supports("checksum") {
        return Err(Refusal::bad(
            "Upload-Checksum without the checksum extension",
        ));
    }
    let (name, encoded) = value.split_once(' ').ok_or_else(|| {
        Refusal::bad(format!(
            "Upload-Checksum {value:?} is not `algorithm digest`"
        ))
    })?;
    let algorithm = options
        .checksum_algorithms
        .iter()
        .find(|a| **a == name)
        .and_then(|a| Algorithm::from_name(a))
        .ok_or_else(|| Refusal::bad(format!("checksum algorithm {name:?} is not supported")))?;
    let digest = decode_digest(encoded)
        .ok_or_else(|| Refusal::bad(format!("checksum digest {encoded:?} is not Base64")))?;
    Ok(Checksum { algorithm, digest })
}

/// Checks a `PATCH` against the live upload's `progress`, its body `len`
/// bytes when known before it is read (`None`: a chunked body, checked by
/// [`patch_end`]). Returns the upload's length once the `PATCH` is kept.
pub fn plan_patch(
    ask: &PatchAsk,
    progress: Progress,
    len: Option<u64>,
    options: &TusOptions,
) -> Result<Option<u64>, Refusal> {
    let held = progress.offset;
    if ask.offset != held {
        return Err(Refusal::new(
            409,
            "conflict",
            format!("PATCH at offset {}, the upload holds {held}", ask.offset),
        ));
    }
    let sent = held
        .checked_add(len.unwrap_or(0))
        .ok_or_else(|| Refusal::bad("a PATCH past any length"))?;
    let length = match (ask.length, progress.length) {
        (Some(_), Some(_)) => {
            return Err(Refusal::bad(
                "Upload-Length on a PATCH of an upload whose length is known",
            ));
        }
        (Some(l), None) if l < sent => {
            return Err(Refusal::bad(format!(
                "Upload-Length {l} below the bytes sent"
            )));
        }
        (told, known) => told.or(known),
    };
    if length.is_some_and(|l| sent > l) {
        return Err(Refusal::bad("a PATCH past the upload's length"));
    }
    past_max_size(options, length.unwrap_or(0).max(sent))?;
    Ok(length)
}

/// How a `PATCH` ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchEnd {
    /// Keep this many of the request's bytes and answer [`patched`] (a
    /// body cut off gets no answer).
    Keep(u64),
    /// The checksum does not match: `460` ([`mismatch`]), nothing kept,
    /// not even a length told with it.
    Mismatch,
    /// Refused: nothing kept.
    Refuse(Refusal),
}

/// How a `PATCH` planned with `length` ([`plan_patch`]) on an upload
/// holding `held` bytes ends, its body having brought `received` bytes.
/// `digest` gives the checksum of those bytes, asked for only when one was
/// declared and the body arrived whole. A body cut off keeps what arrived
/// (tus allows partial persistence), except with a declared checksum: bytes
/// that cannot be verified are not kept.
pub fn patch_end(
    ask: &PatchAsk,
    held: u64,
    length: Option<u64>,
    received: u64,
    arrival: Arrival,
    digest: impl FnOnce() -> Vec<u8>,
) -> PatchEnd {
    let room = length.map_or(u64::MAX, |l| l.saturating_sub(held));
    match arrival {
        Arrival::CutOff if ask.checksum.is_some() => PatchEnd::Keep(0),
        Arrival::CutOff => PatchEnd::Keep(received.min(room)),
        Arrival::Whole if received > room => {
            PatchEnd::Refuse(Refusal::bad("a PATCH past the upload's length"))
        }
        Arrival::Whole => match &ask.checksum {
            Some(c) if !c.matches(&digest()) => PatchEnd::Mismatch,
            _ => PatchEnd::Keep(received),
        },
    }
}

/// When an upload appended to at `now` expires: the expiry moves on with
/// every `PATCH` until it is complete.
pub fn expiry_after_patch(
    options: &TusOptions,
    progress: Progress,
    current: Option<SystemTime>,
    now: SystemTime,
) -> Option<SystemTime> {
    match options.expiry(now) {
        Some(next) if !progress.complete() => Some(next),
        _ => current,
    }
}

/// `204` for a `PATCH` kept: the new offset, and the expiry while the
/// upload is not complete.
pub fn patched(progress: Progress, expires_at: Option<SystemTime>) -> Answer {
    let mut a = Answer::tus(204).with("upload-offset", progress.offset);
    if let (false, Some(at)) = (progress.complete(), expires_at) {
        a = a.with("upload-expires", http_date(at));
    }
    a
}

/// `460 Checksum Mismatch`.
pub fn mismatch() -> Answer {
    Answer::tus(460)
}

/// Checks that the server terminates uploads at all (`405` otherwise);
/// then the live upload is gone, answered [`terminated`].
pub fn plan_terminate(options: &TusOptions) -> Result<(), Refusal> {
    if options.supports("termination") {
        Ok(())
    } else {
        Err(Refusal::new(
            405,
            "method_not_allowed",
            "termination is not supported",
        ))
    }
}

/// `204`: the upload is terminated.
pub fn terminated() -> Answer {
    Answer::tus(204)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::test_support::headers;

    #[test]
    fn a_patch_plans_against_the_offset_and_length() {
        let o = TusOptions::default();
        let ask = read_patch(
            &headers(&[
                ("content-type", OFFSET_OCTET_STREAM),
                ("upload-offset", "5"),
                ("upload-length", "11"),
            ]),
            &o,
        )
        .unwrap();
        let deferred = Progress {
            offset: 5,
            length: None,
        };
        assert_eq!(plan_patch(&ask, deferred, Some(6), &o), Ok(Some(11)));
        assert_eq!(
            plan_patch(&ask, deferred, Some(7), &o).unwrap_err().status,
            400
        );
        let behind = Progress {
            offset: 3,
            ..deferred
        };
        assert_eq!(
            plan_patch(&ask, behind, Some(6), &o).unwrap_err().status,
            409
        );
        let known = Progress {
            offset: 5,
            length: Some(11),
        };
        assert_eq!(
            plan_patch(&ask, known, Some(6), &o).unwrap_err().status,
            400
        );
        // A length past any byte count, and bytes past Tus-Max-Size.
        let full = Progress {
            offset: 5,
            length: None,
        };
        let no_length = PatchAsk {
            length: None,
            ..ask.clone()
        };
        assert_eq!(
            plan_patch(&no_length, full, Some(u64::MAX), &o)
                .unwrap_err()
                .status,
            400
        );
        let small = TusOptions {
            max_size: Some(8),
            ..o.clone()
        };
        assert_eq!(
            plan_patch(&no_length, full, Some(6), &small)
                .unwrap_err()
                .status,
            413
        );
        assert_eq!(
            plan_patch(&ask, full, Some(6), &small).unwrap_err().status,
            413
        );
    }

    #[test]
    fn a_patch_ends_by_its_arrival_and_checksum() {
        let o = TusOptions::default();
        let ask = read_patch(
            &headers(&[
                ("content-type", OFFSET_OCTET_STREAM),
                ("upload-offset", "0"),
                ("upload-checksum", "sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0="),
            ]),
            &o,
        )
        .unwrap();
        let good = || Algorithm::Sha1.digest(b"hello world");
        let bad = || Algorithm::Sha1.digest(b"hello w0rld");
        let unasked = || -> Vec<u8> { panic!("a cut-off body is not hashed") };
        assert_eq!(
            patch_end(&ask, 0, Some(11), 11, Arrival::Whole, good),
            PatchEnd::Keep(11)
        );
        assert_eq!(
            patch_end(&ask, 0, Some(11), 11, Arrival::Whole, bad),
            PatchEnd::Mismatch
        );
        assert_eq!(
            patch_end(&ask, 0, Some(11), 4, Arrival::CutOff, unasked),
            PatchEnd::Keep(0)
        );
        let plain = PatchAsk {
            checksum: None,
            ..ask
        };
        assert_eq!(
            patch_end(&plain, 0, Some(11), 4, Arrival::CutOff, unasked),
            PatchEnd::Keep(4)
        );
        assert!(matches!(
            patch_end(&plain, 0, Some(11), 12, Arrival::Whole, unasked),
            PatchEnd::Refuse(r) if r.status == 400
        ));
    }

    #[test]
    fn versions_and_creations_are_checked() {
        let o = TusOptions::default();
        let missing = check_version(&HeaderMap::new(), &Method::HEAD, &o).unwrap_err();
        assert!(is_violation(&missing));
        assert_eq!(refused(&missing, &o).header("tus-version"), Some("1.0.0"));
        let other =
            check_version(&headers(&[("tus-resumable", "0.2.2")]), &Method::HEAD, &o).unwrap_err();
        assert_eq!(other.status, 412);
        assert!(!is_violation(&other));
        let c = plan_create(&headers(&[("upload-defer-length", "1")]), &o).unwrap();
        assert_eq!(c.length, None);
        let c = plan_create(&headers(&[("upload-length", "3")]), &o).unwrap();
        let h = headers(&[("content-type", OFFSET_OCTET_STREAM)]);
        assert_eq!(creation_data(&c, &h, &o, 4).unwrap_err().status, 400);
        assert_eq!(
            creation_data(&c, &HeaderMap::new(), &o, 1)
                .unwrap_err()
                .status,
            415
        );
        assert!(is_discovery(&Method::OPTIONS));
        assert_eq!(route(&Method::GET, false, "u").unwrap_err().status, 405);
        assert_eq!(route(&Method::POST, true, "u"), Ok(Route::Create));
        assert_eq!(
            route(&Method::POST, false, "u").unwrap_err().message,
            "POST to u"
        );
    }
}
