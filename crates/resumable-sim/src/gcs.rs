//! The rules of a Cloud Storage resumable session, written once: which
//! requests a session takes, what a `PUT`'s headers ask for, and how a
//! request ends. The sim's [`Server`](crate::Server) applies them to whole
//! bodies in memory; the emulator applies the same functions to bodies it
//! streams to storage. Neither decides a protocol question on its own.
//!
//! Each function reads headers and the session's [`Progress`] and returns
//! a decision or a [`Refusal`]; none does IO or keeps state.

use http::{HeaderMap, Method};

use crate::refusal::Refusal;
use crate::wire::{self, GoogHash, PutRange};

/// Every chunk of an upload but the last is a multiple of this (256 KiB),
/// and starts on such a boundary.
pub const UNIT: u64 = 256 * 1024;

/// The methods a session URL takes, for a `405`'s `Allow`.
pub const ALLOW: &str = "PUT, DELETE";

/// What a session knows of its bytes: the part of its state the protocol
/// rules read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Bytes persisted, from offset 0.
    pub persisted: u64,
    /// The total a request's `Content-Range` named.
    pub total: Option<u64>,
    /// The length promised when the session was created (the file API's
    /// `file_size`, `X-Upload-Content-Length`).
    pub declared_len: Option<u64>,
}

impl Progress {
    /// A session with nothing persisted that was promised `declared_len`.
    pub fn new(declared_len: Option<u64>) -> Self {
        Self {
            declared_len,
            ..Self::default()
        }
    }

    /// The total as far as known: named by a request, or declared at creation.
    pub fn known_total(&self) -> Option<u64> {
        self.total.or(self.declared_len)
    }

    /// Checks a total a request names against what the session knows.
    pub fn check_total(&self, total: u64) -> Result<(), Refusal> {
        if let Some(d) = self.declared_len.filter(|d| *d != total) {
            return Err(Refusal::bad(format!(
                "the total {total} differs from the declared upload length {d}"
            )));
        }
        if let Some(k) = self.total.filter(|k| *k != total) {
            return Err(Refusal::bad(format!(
                "the total {total} differs from the total {k} named earlier"
            )));
        }
        if total < self.persisted {
            return Err(Refusal::bad(format!(
                "the total {total} is less than the {} bytes already persisted",
                self.persisted
            )));
        }
        Ok(())
    }
}

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Taking bytes.
    Active,
    /// The object is written.
    Complete,
    /// Deleted by the client: `404` from then on.
    Cancelled,
    /// Dropped by the server (a fault): `404` from then on.
    Killed,
    /// Past its lifetime: `410` from then on.
    Expired,
}

/// What a request on a session URL gets before its body is looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Refused; the session is unchanged.
    Refuse(Refusal),
    /// `DELETE`: the session is cancelled, answer `499`.
    Cancel,
    /// A `PUT` on a finished session: answer with the object again.
    Object,
    /// A `PUT` on an active session: [`plan_put`] it.
    Put,
}

/// The route of a request with `method` on a session that stands so.
pub fn route(method: &Method, standing: Standing) -> Route {
    match (method, standing) {
        (_, Standing::Cancelled | Standing::Killed) => Route::Refuse(Refusal::new(
            404,
            "not_found",
            "the upload session does not exist (cancelled or killed)",
        )),
        (_, Standing::Expired) => Route::Refuse(Refusal::new(
            410,
            "gone",
            "the upload session has expired; start a new one",
        )),
        (&Method::DELETE, _) => Route::Cancel,
        (&Method::PUT, Standing::Complete) => Route::Object,
        (&Method::PUT, Standing::Active) => Route::Put,
        (other, _) => Route::Refuse(Refusal::new(
            405,
            "method_not_allowed",
            format!("{other} is not allowed on an upload session; use PUT or DELETE"),
        )),
    }
}

/// How a request body is framed: the two forms Cloud Storage accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length: N`.
    Length(u64),
    /// `Transfer-Encoding: chunked`: the length is known at the body's end.
    Chunked,
}

/// The body's framing; `411` when it has neither, as Cloud Storage answers.
pub fn framing(headers: &HeaderMap) -> Result<Framing, Refusal> {
    if wire::is_chunked(headers) {
        return Ok(Framing::Chunked);
    }
    match wire::content_length(headers).map_err(Refusal::bad)? {
        Some(n) => Ok(Framing::Length(n)),
        None => Err(Refusal::new(
            411,
            "length_required",
            "an upload request needs Content-Length (0 for a status query) or \
             Transfer-Encoding: chunked",
        )),
    }
}

/// The bytes a data `PUT` carries, as its headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// The offset of its first byte.
    pub first: u64,
    /// How many bytes; `None`: as many as its chunked body has.
    pub len: Option<u64>,
    /// Framed by `Transfer-Encoding: chunked`: the length is checked at the end.
    pub chunked: bool,
    /// It ends at the upload's total.
    pub finishes: bool,
}

/// What a valid `PUT` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// `bytes */T` or `bytes */*`: report, or finish when exactly `T` are
    /// persisted ([`query_end`]). A chunked query's body must be empty.
    Query {
        /// The total it names.
        total: Option<u64>,
        /// The digests it declares (only read when it names a total).
        hash: GoogHash,
        /// Whether its (empty) body is chunked.
        chunked: bool,
    },
    /// Data: the bytes `span` names, and the digests a finishing request declares.
    Data {
        /// Which bytes.
        span: Span,
        /// The declared digests (only read when it finishes the upload).
        hash: GoogHash,
    },
}

/// Checks a `PUT`'s headers against the session; nothing is read or stored
/// yet. A total the request names becomes the session's (`progress.total`).
pub fn plan_put(headers: &HeaderMap, progress: &mut Progress) -> Result<Plan, Refusal> {
    let framing = framing(headers)?;
    let content_range = match headers.get(http::header::CONTENT_RANGE) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| Refusal::bad("Content-Range is not text"))?,
        ),
    };
    let range = match (content_range, framing) {
        (None, Framing::Length(0)) => PutRange::Query { total: Some(0) },
        (None, Framing::Length(cl)) => PutRange::Bytes {
            first: 0,
            end: cl,
            total: Some(cl),
        },
        // The whole object, its length known at the body's end.
        (None, Framing::Chunked) => {
            return Ok(Plan::Data {
                span: Span {
                    first: 0,
                    len: progress.known_total(),
                    chunked: true,
                    finishes: true,
                },
                hash: declared_hash(headers)?,
            });
        }
        (Some(v), _) => wire::put_range(v).map_err(Refusal::bad)?,
    };
    match range {
        PutRange::Query { total } => {
            if let Framing::Length(cl) = framing
                && cl != 0
            {
                return Err(Refusal::bad(format!(
                    "a status query (Content-Range: bytes */…) must have Content-Length: 0, \
                     not {cl}"
                )));
            }
            let mut hash = GoogHash::default();
            if let Some(t) = total {
                progress.check_total(t)?;
                hash = declared_hash(headers)?;
                progress.total = Some(t);
            }
            Ok(Plan::Query {
                total,
                hash,
                chunked: framing == Framing::Chunked,
            })
        }
        PutRange::Bytes { first, end, total } => {
            let len = end - first;
            if let Framing::Length(cl) = framing
                && cl != len
            {
                return Err(Refusal::bad(format!(
                    "Content-Length {cl} does not match Content-Range bytes {first}-{} \
                     ({len} bytes)",
                    end - 1
                )));
            }
            if let Some(t) = total {
                progress.check_total(t)?;
            }
            let known = total.or(progress.known_total());
            if let Some(t) = known.filter(|t| end > *t) {
                return Err(Refusal::bad(format!(
                    "bytes {first}-{} go past the total of {t} bytes",
                    end - 1
                )));
            }
            let finishes = known == Some(end);
            if !finishes && len % UNIT != 0 {
                return Err(Refusal::bad(format!(
                    "a chunk that does not end the upload must be a multiple of 262144 bytes \
                     (256 KiB); this one has {len}"
                )));
            }
            if !finishes && first % UNIT != 0 {
                return Err(Refusal::bad(format!(
                    "a chunk that does not end the upload must start on a 262144-byte \
                     boundary; this one starts at {first}"
                )));
            }
            if first > progress.persisted {
                return Err(Refusal::bad(format!(
                    "the chunk starts at byte {first} but only {} bytes are persisted; \
                     resume from the persisted offset (nothing was stored)",
                    progress.persisted
                )));
            }
            let hash = if finishes {
                declared_hash(headers)?
            } else {
                GoogHash::default()
            };
            if total.is_some() {
                progress.total = total;
            }
            Ok(Plan::Data {
                span: Span {
                    first,
                    len: Some(len),
                    chunked: framing == Framing::Chunked,
                    finishes,
                },
                hash,
            })
        }
    }
}

fn declared_hash(headers: &HeaderMap) -> Result<GoogHash, Refusal> {
    GoogHash::of(headers).map_err(Refusal::bad)
}

/// The digests of the bytes a session holds, to check a declared
/// `X-Goog-Hash` against. `md5` is `None` where the server keeps no MD5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digests {
    /// CRC32C of the bytes.
    pub crc32c: u32,
    /// MD5 of the bytes.
    pub md5: Option<[u8; 16]>,
}

/// How a request that reached its end finishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The upload goes on: `308` with this many bytes persisted.
    Incomplete(u64),
    /// Every byte is in and the digests match: write the object.
    Finalize,
    /// Refused; nothing of the request's own bytes is kept.
    Refuse(Refusal),
}

/// A status query that named `total`, once its (empty) body is read.
/// `have` gives the digests of the session's bytes, asked for only when
/// the query finishes the upload.
pub fn query_end(
    progress: &Progress,
    total: Option<u64>,
    hash: &GoogHash,
    have: impl FnOnce() -> Digests,
) -> End {
    if total != Some(progress.persisted) {
        return End::Incomplete(progress.persisted);
    }
    let have = have();
    match hash.mismatch(have.crc32c, have.md5) {
        Some(message) => End::Refuse(Refusal::bad(message)),
        None => End::Finalize,
    }
}

/// A data request whose body arrived whole and was appended up to `pos`
/// (the session's persisted bytes, this request's included); `have` gives
/// the digests over those bytes, asked for only when the request finishes
/// the upload. Only a request that finishes the upload and reaches its
/// total can finalize, and only when its digests match.
pub fn data_end(
    span: &Span,
    end: u64,
    pos: u64,
    hash: &GoogHash,
    have: impl FnOnce() -> Digests,
) -> End {
    if !(span.finishes && pos == end) {
        return End::Incomplete(pos);
    }
    let have = have();
    match hash.mismatch(have.crc32c, have.md5) {
        Some(message) => End::Refuse(Refusal::bad(message)),
        None => End::Finalize,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn put(range: Option<&str>, len: Option<u64>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(r) = range {
            h.insert("content-range", HeaderValue::from_str(r).unwrap());
        }
        if let Some(n) = len {
            h.insert("content-length", HeaderValue::from(n));
        }
        h
    }

    fn refusal(r: Result<Plan, Refusal>) -> Refusal {
        r.unwrap_err()
    }

    #[test]
    fn plans_queries_chunks_and_the_last_chunk() {
        let mut p = Progress::new(Some(UNIT + 5));
        assert!(matches!(
            plan_put(&put(Some("bytes */*"), Some(0)), &mut p),
            Ok(Plan::Query { total: None, .. })
        ));
        let chunk = plan_put(&put(Some("bytes 0-262143/*"), Some(UNIT)), &mut p).unwrap();
        assert!(
            matches!(chunk, Plan::Data { span, .. } if !span.finishes && span.len == Some(UNIT))
        );
        p.persisted = UNIT;
        let last = plan_put(&put(Some("bytes 262144-262148/262149"), Some(5)), &mut p).unwrap();
        assert!(matches!(last, Plan::Data { span, .. } if span.finishes));
        assert_eq!(p.total, Some(UNIT + 5));
    }

    #[test]
    fn refuses_what_cloud_storage_refuses() {
        let mut p = Progress::new(None);
        assert_eq!(refusal(plan_put(&put(None, None), &mut p)).status, 411);
        for (range, len) in [
            ("bytes 0-9/*", 10),             // not a whole unit
            ("bytes 0-262143/*", 10),        // length disagrees
            ("bytes 262144-524287/*", UNIT), // beyond what is persisted
            ("bytes */*", 3),                // a query with a body
            ("bytes 0-9/5", 10),             // past its own total
            ("bytes 0-1", 2),                // no total
        ] {
            let r = refusal(plan_put(&put(Some(range), Some(len)), &mut p));
            assert_eq!(r.status, 400, "{range}: {r:?}");
        }
        let mut p = Progress::new(Some(100));
        let r = refusal(plan_put(&put(Some("bytes 0-9/10"), Some(10)), &mut p));
        assert!(r.message.contains("declared upload length 100"), "{r:?}");
    }

    #[test]
    fn routes_by_standing() {
        assert_eq!(route(&Method::DELETE, Standing::Active), Route::Cancel);
        assert_eq!(route(&Method::PUT, Standing::Complete), Route::Object);
        assert!(
            matches!(route(&Method::PUT, Standing::Expired), Route::Refuse(r) if r.status == 410)
        );
        assert!(
            matches!(route(&Method::GET, Standing::Cancelled), Route::Refuse(r) if r.status == 404)
        );
        assert!(
            matches!(route(&Method::POST, Standing::Active), Route::Refuse(r) if r.status == 405)
        );
    }

    #[test]
    fn ends_finalize_only_at_the_total_with_matching_digests() {
        let have = || Digests {
            crc32c: 7,
            md5: None,
        };
        // Digests are asked for only by a request that finishes the upload.
        let unasked = || -> Digests { panic!("digests asked of a request that does not finish") };
        let span = Span {
            first: 0,
            len: Some(5),
            chunked: false,
            finishes: true,
        };
        let none = GoogHash::default();
        assert_eq!(data_end(&span, 5, 5, &none, have), End::Finalize);
        assert_eq!(data_end(&span, 5, 4, &none, unasked), End::Incomplete(4));
        let lie = GoogHash {
            crc32c: Some(8),
            md5: None,
        };
        assert!(matches!(data_end(&span, 5, 5, &lie, have), End::Refuse(_)));
        let p = Progress {
            persisted: 5,
            ..Progress::default()
        };
        assert_eq!(query_end(&p, Some(5), &none, have), End::Finalize);
        assert_eq!(query_end(&p, None, &none, unasked), End::Incomplete(5));
    }
}
