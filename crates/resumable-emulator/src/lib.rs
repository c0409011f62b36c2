//! A local, strict server for an application file API, the Google Cloud Storage
//! resumable upload protocol, tus 1.0 and the IETF draft "Resumable Uploads for HTTP", with scripted faults: the backend of integration tests,
//! benches and demos of resumable upload clients.
//!
//! It is an implementation of the protocol of its own, deliberately strict, so that
//! it catches client bugs: it refuses what Cloud Storage refuses, answers what Cloud
//! Storage answers, and logs every request so a test can assert what a client did.
//!
//! # Example
//!
//! Start it, ask the file API for a session, upload one chunk with raw hyper, and
//! look at the stored object:
//!
//! ```
//! use bytes::Bytes;
//! use http_body_util::{BodyExt as _, Full};
//! use hyper::Request;
//! use hyper_util::rt::TokioIo;
//! use resumable_emulator::{Emulator, Storage};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let emu = Emulator::builder().api_key("secret").storage(Storage::Memory).start().await?;
//!
//! // One HTTP/1.1 connection, no upload library.
//! let stream = tokio::net::TcpStream::connect(emu.addr()).await?;
//! let (mut client, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
//! tokio::spawn(conn);
//!
//! // 1. A session from the file API.
//! let url = format!("{}/v1/organizations/org_1/files/upload-url", emu.base_url());
//! let json = r#"{"filename":"hello.txt","file_size":5,"mime_type":"text/plain"}"#;
//! let req = Request::post(url)
//!     .header("x-api-key", "secret")
//!     .header("content-type", "application/json")
//!     .body(Full::new(Bytes::from(json)))?;
//! let res = client.send_request(req).await?;
//! assert_eq!(res.status(), 200);
//! let session: serde_json::Value = serde_json::from_slice(&res.collect().await?.to_bytes())?;
//! let upload_url = session["upload_url"].as_str().ok_or("no upload_url")?;
//! let gcs_path = session["gcs_path"].as_str().ok_or("no gcs_path")?;
//!
//! // 2. The whole file as one chunk: the last chunk names the total.
//! let req = Request::put(upload_url)
//!     .header("content-range", "bytes 0-4/5")
//!     .body(Full::new(Bytes::from_static(b"hello")))?;
//! let res = client.send_request(req).await?;
//! assert_eq!(res.status(), 200);
//! assert!(res.headers().contains_key("x-guploader-uploadid"));
//! let object: serde_json::Value = serde_json::from_slice(&res.collect().await?.to_bytes())?;
//! assert_eq!(object["size"], "5");
//!
//! // 3. What the emulator stored and saw.
//! assert_eq!(emu.object_bytes(gcs_path)?, b"hello");
//! let log = emu.request_log();
//! assert!(!log[1].x_api_key, "no API key was sent to the upload endpoint");
//! emu.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! From blocking code, [`EmulatorBuilder::start_in_background`] runs the server on a
//! runtime of its own and returns the same [`EmulatorHandle`]:
//!
//! ```
//! let emu = resumable_emulator::Emulator::builder().start_in_background()?;
//! println!("listening on {}", emu.base_url());
//! # Ok::<(), resumable_emulator::Error>(())
//! ```
//!
//! The `resumable-emulator` binary runs it standalone; `--help` lists its options.
//!
//! # Buckets
//!
//! There are any number of buckets. The default one ([`DEFAULT_BUCKET`], or
//! [`EmulatorBuilder::bucket`], or the first `--bucket`) is the file API's: `upload_url`
//! and `gcs_path` always name it, and [`EmulatorHandle::object`] reads it. Others exist
//! from the start ([`EmulatorBuilder::add_bucket`], `--bucket` again) or come into
//! being with the first initiate that names them; [`EmulatorHandle::object_in`] reads
//! any, [`EmulatorHandle::buckets`] lists them. A name Cloud Storage would not allow is
//! 400 at the initiate, and [`Error::BadBucket`] at start.
//!
//! Session URLs (the file API's `upload_url`, the initiate's `Location`) and object
//! links are built from the emulator's own address (or
//! [`EmulatorBuilder::upload_base_url`]), never from a request's `Host` header.
//!
//! # What it serves
//!
//! | Request | Answer |
//! | --- | --- |
//! | `POST /v1/organizations/{org}/files/upload-url` | a session: `upload_url`, `gcs_path`, `file_id`, `expires_at`, `max_file_size`, `upload_type`, `chunk_size_recommended` |
//! | `POST /v1/organizations/{org}/files` | registers an uploaded object: the File (201, or 200 with the same File again) |
//! | `POST /upload/storage/v1/b/{bucket}/o?uploadType=resumable&name=…` | a new session in `Location` (with `ifGenerationMatch` and kin: only if they hold) |
//! | `PUT {session URL}` | data chunks and status queries |
//! | `DELETE {session URL}` | cancels: 499 |
//! | `GET /storage/v1/b/{bucket}/o/{object}` | object metadata (`?alt=media`: its bytes) |
//! | `GET /download/storage/v1/b/{bucket}/o/{object}?alt=media` | the object's bytes, streamed |
//! | `OPTIONS`, `POST /tus/files/`; `HEAD`, `PATCH`, `DELETE /tus/files/{id}` | tus 1.0: see [below](#tus-10) |
//! | `OPTIONS`, `POST /ietf/files/`; `HEAD`, `PATCH`, `DELETE /ietf/files/{id}` | the IETF draft: see [below](#resumable-uploads-for-http-ietf-draft) |
//! | `GET /_emulator/requests`, `DELETE` to clear | the request log (JSON array of [`RequestRecord`]) |
//! | `GET`, `POST` (spec as the body), `DELETE /_emulator/faults` | the fault rules |
//! | `GET /_emulator/stats` | counters and sessions ([`Stats`]) |
//! | `GET /_emulator/files` | registered files |
//! | `GET /_emulator/health` | `{"status":"ok"}` |
//!
//! Every error has one JSON shape, with a human message:
//! `{"error": {"code": 400, "reason": "invalid_argument", "message": "…"}}`.
//!
//! ## The file API
//!
//! `X-API-Key` must equal the configured key (401 otherwise). `filename` must be 1–255
//! characters, `file_size` a whole number above 0, `mime_type` a non-empty string
//! (400 otherwise, also for a missing field or a body that is not a JSON object);
//! `file_size` above `max_file_size` (5 GB by default) is 413. `upload_type`, when
//! given, must be `"resumable"`. The `gcs_path` is `files/{org}/{file_id}/{filename}`.
//! Register checks that the object exists (404), with the same size and content type
//! (409); a `gcs_path` issued to another organization is 404. Registering the same
//! `gcs_path` again returns the same File with 200.
//!
//! ## The upload endpoint
//!
//! Every response carries `X-GUploader-UploadID`. A `PUT`'s body is framed by a
//! `Content-Length` that matches its `Content-Range` (400 otherwise), or by
//! `Transfer-Encoding: chunked`, as Cloud Storage takes both; with neither it is 411.
//! A chunked body must have exactly the bytes its `Content-Range` names: one that ends
//! short or goes past them is found out at its end and answered 400, keeping of that
//! request only the whole 256 KiB units within the range (as for a body cut off) and
//! finalizing nothing. A chunked final request names the total; a chunked request
//! without `Content-Range` is the whole object (its total the declared length, or else
//! the body's length); a chunked status query has an empty body.
//!
//! - `bytes a-b/T`, `bytes a-b/*`: data. A chunk that does not end the upload must be a
//!   multiple of 256 KiB and start on a 256 KiB boundary (400). Bytes below the
//!   persisted offset are ignored (only the new part of an overlapping chunk is
//!   appended); a chunk starting beyond the persisted offset is refused with 400 and
//!   stores nothing. A total that contradicts the declared length or an earlier total
//!   is 400.
//! - `bytes */T`, `bytes */*`: a status query, `Content-Length: 0`. It answers 308, or
//!   200 with the object once complete; when exactly `T` bytes are persisted it
//!   finalizes the object (an unknown-length upload that ended on a chunk boundary).
//! - No `Content-Range`: the whole object in one request.
//!
//! `308` carries `Range: bytes=0-N` (N+1 bytes persisted), and no `Range` when nothing
//! is. The request that reaches the total finalizes the object: 200 with the
//! `storage#object` JSON (`size` as a string, `crc32c` and `md5Hash` in base64) and an
//! `x-goog-hash: crc32c=…,md5=…` header. An `X-Goog-Hash` on a finalizing request is
//! checked: on a mismatch it answers 400 and keeps nothing of that request. When a
//! request body is cut off (reset, early end, or no byte for the idle timeout, 60 s by
//! default), only the whole 256 KiB units received are persisted. `DELETE` answers 499
//! and the session is gone (404) from then on; past its lifetime a session answers 410.
//! Any `PUT` to a finished session answers 200 with the object.
//!
//! ## Objects and preconditions
//!
//! Every object written gets a new `generation` (an int64, greater than any the server
//! gave before, so a name rewritten gets a new one) and `metageneration` 1; the object
//! JSON has both as strings, as Cloud Storage does. The initiation honours
//! `ifGenerationMatch`, `ifGenerationNotMatch`, `ifMetagenerationMatch` and
//! `ifMetagenerationNotMatch` as Cloud Storage does: generation 0 means "no live
//! object" (`ifGenerationMatch=0`: only if the name is free), and with no live object
//! the `NotMatch` and metageneration conditions fail. A value that is not a base-10
//! int64 is 400; a condition that does not hold is 412 with reason `conditionNotMet`,
//! and no session. The session keeps the conditions and checks them again when it
//! finalizes (by its last chunk, or by a status query naming the total), against the
//! object as it is then, atomically with the write: of two sessions initiated with
//! `ifGenerationMatch=0` for one name, the first to finalize wins and the other gets
//! 412. That 412 keeps nothing of the request and writes nothing; the session stays
//! active at its earlier offset, as Cloud Storage leaves it. File API sessions carry
//! no conditions.
//!
//! # tus 1.0
//!
//! The tus 1.0 server (tus.io) is always on, beside the Cloud Storage endpoints on the
//! same port: the creation endpoint is `{base}/tus/files/`, an upload is
//! `{base}/tus/files/{id}`. Its rules are `resumable_sim::tus`'s, the ones the in-memory
//! `TusServer` applies in the core's tests; the emulator streams the bodies to storage.
//!
//! | Request | Answer |
//! | --- | --- |
//! | `OPTIONS /tus/files/` (or an upload's URL) | 204: `Tus-Version: 1.0.0`, `Tus-Extension: creation,creation-with-upload,creation-defer-length,expiration,checksum,termination`, `Tus-Checksum-Algorithm: sha1,md5,crc32`, `Tus-Max-Size` (the max file size, 5 GB by default) |
//! | `POST /tus/files/` | creation: 201, the upload's absolute URL in `Location`, `Upload-Expires` |
//! | `HEAD /tus/files/{id}` | 200: `Upload-Offset`, `Upload-Length` (or `Upload-Defer-Length: 1`), `Upload-Metadata`, `Upload-Expires`, `Cache-Control: no-store` |
//! | `PATCH /tus/files/{id}` | bytes at the upload's offset: 204 with the new `Upload-Offset` |
//! | `DELETE /tus/files/{id}` | termination: 204, then 410 |
//!
//! - Every request but `OPTIONS` carries `Tus-Resumable: 1.0.0`: **412** with
//!   `Tus-Version` otherwise. Every answer carries `Tus-Resumable`; a refusal has a
//!   one-line `text/plain` body saying what was wrong.
//! - Creation: exactly one of `Upload-Length` (decimal digits) and
//!   `Upload-Defer-Length: 1` (**400** otherwise); a length over `Tus-Max-Size` is
//!   **413**. `Upload-Metadata` is comma-separated `key base64` pairs, keys unique, a
//!   value may be left out (**400** otherwise). `Location` is built like session URLs
//!   (the emulator's own address, or `upload_base_url`); with
//!   `EmulatorBuilder::tus_relative_location` (`--tus-relative-location`) it is the
//!   path alone, `/tus/files/{id}`, for the client to resolve. `Upload-Expires` (an
//!   HTTP date) is `session_lifetime` away.
//! - creation-with-upload: bytes in the `POST` need `Content-Type:
//!   application/offset+octet-stream` (**415**) and fit the length (**400**); the 201
//!   then names `Upload-Offset`. A creation refused, or whose body is cut off, creates
//!   nothing (its client never learns a URL).
//! - `PATCH`: `Content-Type: application/offset+octet-stream` (**415**), an
//!   `Upload-Offset` equal to the upload's (**409** otherwise, nothing read), no byte
//!   past the length (**400**; a chunked body found past it at its end keeps none of
//!   it). A deferred length is told once, with `Upload-Length` on a `PATCH` (**400** on
//!   an upload whose length is known, or below the bytes sent). The 204 names the new
//!   `Upload-Offset`, and `Upload-Expires` until the upload is complete; each `PATCH`
//!   moves the expiry on.
//! - checksum: `Upload-Checksum: ALGORITHM BASE64` with `sha1`, `md5` or `crc32`
//!   (CRC-32/IEEE, big-endian); another algorithm, or a malformed value, is **400**.
//!   [`EmulatorBuilder::tus_checksum_algorithms`] (`--tus-checksums`) chooses which
//!   are announced and checked; with none, the checksum extension is not announced
//!   and any `Upload-Checksum` is **400**. A
//!   digest that does not match is **460**: nothing of that request is kept, not even
//!   a length told with it.
//! - Partial persistence: a `PATCH` body cut off (reset, closed early, or no byte for
//!   the idle timeout) keeps every byte that arrived, and a length told with it. With
//!   `Upload-Checksum` it keeps nothing: bytes that cannot be verified are not stored,
//!   and the offset stays where the `PATCH` began.
//! - expiration: past its `Upload-Expires` an upload that is not complete answers
//!   **410** to `HEAD`, `PATCH` and `DELETE`; a complete upload never expires.
//! - termination: `DELETE` answers 204 and drops the bytes; **410** from then on.
//! - An upload never created is **404**; another method, or a `POST` to an upload, is
//!   **405**.
//! - `EmulatorHandle::tus_endpoint()` names the endpoint, `tus_uploads()` lists every
//!   upload (`TusUploadInfo`: number, URL, state, offset, length, metadata, CRC32C of
//!   the bytes kept, bytes received, requests, expiry; also the stats' `tus_uploads`),
//!   and `tus_upload_bytes(url)` reads a complete upload's bytes (an error naming its
//!   state otherwise).
//!
//! # Resumable Uploads for HTTP (IETF draft)
//!
//! The server side of the IETF draft "Resumable Uploads for HTTP"
//! (draft-ietf-httpbis-resumable-upload) is always on too: the creation resource is
//! `{base}/ietf/files/`, an upload resource is `{base}/ietf/files/{id}`. Its rules are
//! `resumable_sim::ietf`'s, the ones the in-memory `IetfServer` applies; the emulator
//! streams the bodies to storage. It speaks interop version 6 (drafts -04/-05, what
//! tus-js-client's IETF mode sends) and interop version 8 (the latest draft text
//! read, the editor's copy after -11), each strictly.
//!
//! | Request | Answer |
//! | --- | --- |
//! | `OPTIONS /ietf/files/` | 204: `Upload-Limit` (`max-size` the max file size by default) |
//! | `POST`, `PUT` or `PATCH /ietf/files/` with `Upload-Complete` | creation: a `104 (Upload Resumption Supported)` with `Location` and `Upload-Limit` before the body is read, progress `104`s with `Upload-Offset` as it streams (if asked), then 201 + `Location` (or, once complete, 200 in version 8, 201 in 6) |
//! | `HEAD` (or `GET`) `/ietf/files/{id}` | 204: `Upload-Offset`, `Upload-Complete`, `Upload-Length` once known, `Upload-Limit`, `Cache-Control: no-store` |
//! | `PATCH /ietf/files/{id}` (`application/partial-upload`) | an append at the upload's offset: 204 (201 in version 6) with `Upload-Offset` and `Upload-Complete: ?0`; the completing one 200 (201) with `Upload-Complete: ?1` |
//! | `DELETE /ietf/files/{id}` | cancellation: 204, then 410 (404 in version 6) |
//!
//! - Every request but an `OPTIONS` without it carries `Upload-Draft-Interop-Version`
//!   naming 6 or 8 (an Integer): one without it, or naming another version, is **400**
//!   and never gets a `104`, as the draft asks. `EmulatorBuilder::ietf_versions`
//!   narrows the versions spoken. Every answer names the request's version.
//! - Every refusal is an RFC 9457 problem document (`application/problem+json`:
//!   `type`, `title`, `status`, `detail`): `mismatching-upload-offset` (**409**, with
//!   `expected-offset`, `provided-offset` and the upload's `Upload-Offset`),
//!   `inconsistent-upload-length` (**400**, two indications of the length that
//!   disagree: `Upload-Length`, `Content-Length` with `Upload-Complete: ?1`, the length
//!   recorded), `completed-upload` (**400**, version 6; `about:blank` in 8) for an
//!   append to a completed upload, `about:blank` for the others.
//! - Careful creation: no content and `Upload-Complete: ?0`; the 201 names `Location`,
//!   `Upload-Limit` and `Upload-Offset: 0`. Optimistic creation: the content in the
//!   creation; the `104` goes out *before* the body is read, so a client cut off
//!   mid-body resumes at that URL from what was persisted (`HEAD`). The `104` is
//!   written by hand on the connection (hyper's server cannot send a `1xx` but `100
//!   Continue`), between the request head and the final answer, and never to an
//!   HTTP/1.0 client. `EmulatorBuilder::ietf_interim(false)` plays a server that
//!   cannot send it: a creation cut off or refused then creates nothing.
//! - Appends need `Content-Type: application/partial-upload` (**415**), a valid
//!   `Upload-Offset` and `Upload-Complete` (**400**), the upload's offset (**409**), no
//!   byte past the length (**400**). A body cut off (reset, closed, idle) keeps every
//!   byte that arrived and never completes the upload.
//! - `Upload-Limit` is a Structured Field Dictionary of `max-size`, `min-size`,
//!   `max-append-size`, `min-append-size` and the upload's remaining lifetime (`max-age`;
//!   `expires` in version 6); `min-size=0` when none applies.
//!   `EmulatorBuilder::ietf_limits` sets them: a length or content past `max-size`, or
//!   one request's content past `max-append-size`, is **413** with `Upload-Limit`; an
//!   incomplete append below `min-append-size` is **400** (`min-size` is announced
//!   only). A chunked body is measured once it is in.
//! - Digests (RFC 9530, sha-256): a `Content-Digest` the content does not match is
//!   **400**, nothing of it kept (and bytes not yet verified are neither kept if the body
//!   breaks nor told in progress `104`s); a `Repr-Digest` on the creation is checked
//!   once the upload completes: a mismatch is **400** with `Upload-Complete: ?1`, the
//!   upload `failed`. A completed upload's answer names its `Repr-Digest`.
//!   `EmulatorBuilder::ietf_want_content_digest(true)` announces
//!   `Want-Content-Digest: sha-256=10`. A digest field that is no Dictionary with a
//!   32-byte `sha-256` is **400**; other algorithms are ignored.
//! - `EmulatorBuilder::ietf_progress_every(Some(n))` sends a progress `104` each time
//!   another `n` bytes are stored, with the offset stored.
//! - Version 6 refuses a `HEAD` with `Upload-Offset`, `Upload-Complete` or
//!   `Upload-Length`, and a `DELETE` with `Upload-Offset` or `Upload-Complete` (**400**).
//! - `EmulatorHandle::ietf_endpoint()`, `ietf_uploads()` (`IetfUploadInfo`: number,
//!   URL, interop version, state, offset, length, CRC32C, bytes received, requests,
//!   expiry; also the stats' `ietf_uploads`) and `ietf_upload_bytes(url)`.
//! - Faults: kinds `ietf` (any request under `/ietf/files/`), `ietf-options`,
//!   `ietf-create`, `ietf-head`, `ietf-patch` and `ietf-delete`, with the tus kinds'
//!   effects: `status=`, `reset` and `stall=` (at once, or `after=N` body bytes, the
//!   bytes read kept), `short=`, `drop-response`, `persisted=SIZE` (the answer's
//!   `Upload-Offset` lies), `corrupt`, `expire` (410; 404 in version 6) and `kill`
//!   (404); `session=N` counts within the Nth draft upload.
//!
//! # Fault spec
//!
//! Faults are scripted with a small text spec, given at start
//! ([`EmulatorBuilder::faults`], `--faults`), added later
//! ([`EmulatorHandle::add_faults`], `POST /_emulator/faults` with the spec as the body),
//! and cleared (`DELETE /_emulator/faults`). Rules are separated by `;` or new lines;
//! a line starting with `#` is a comment.
//!
//! ```text
//! rule     = target *( " " word )
//! target   = kind [ "#" count ]
//! kind     = "request" | "put" | "chunk" | "final" | "query" | "delete"
//!          | "initiate" | "upload-url" | "register" | "api"
//!          | "tus" | "options" | "create" | "head" | "patch" | "terminate"
//!          | "ietf" | "ietf-options" | "ietf-create" | "ietf-head" | "ietf-patch" | "ietf-delete"
//! count    = N | N "-" M | N "-" | "*"          ; 1-based; no count = every one
//! word     = "status=" CODE                      ; answer CODE (4xx/5xx) with a JSON error
//!          | "retry-after=" SECONDS              ; with status=: a Retry-After header
//!          | "reset"                             ; reset the connection (RST), no answer
//!          | "after=" SIZE                       ; status/reset/stall after SIZE body bytes
//!          | "stall=" DURATION                   ; pause (before the body, or at after=)
//!          | "short=" SIZE                       ; persist SIZE less than received
//!          | "no-range"                          ; 308 without Range (and forget all data)
//!          | "override-308"                      ; 200 + X-Http-Status-Code-Override: 308
//!          | "drop-response"                     ; process (commit), then reset instead of answering
//!          | "expire" | "kill"                   ; the session expires (410) or dies (404)
//!          | "session=" ( N | "*" )              ; count within session N, or per session
//!          | "p=" PROBABILITY                    ; fire with this probability (seeded)
//!          | "range=" TEXT                       ; a 308's Range is TEXT, verbatim (may be empty)
//!          | "persisted=" SIZE                   ; a 308's Range (tus: Upload-Offset) claims SIZE bytes
//!          | "corrupt"                           ; a tus body's first byte damaged on its way in
//!          | "set=" FIELD ":" JSON               ; a JSON answer's FIELD becomes JSON
//!          | "unset=" FIELD                      ; a JSON answer loses FIELD
//!          | "bloat=" SIZE                       ; the answer's body padded with spaces to SIZE
//!          | "cut=" SIZE                         ; the answer's body ends after SIZE bytes
//!          | "cut-close=" SIZE                   ; the connection closes after SIZE body bytes
//! SIZE     = N [ "KiB" | "MiB" | "GiB" ]
//! DURATION = N ( "ms" | "s" | "m" )
//! ```
//!
//! Kinds: `request` is any request to the upload endpoint (initiate, `PUT`, `DELETE`);
//! `put` any `PUT`; `chunk` a `PUT` with data that does not end the upload; `final` a
//! `PUT` whose `Content-Range` ends at the total it names (or has none); `query` a
//! `bytes */…` `PUT`; `api` either file API request; `tus` any request under
//! `/tus/files/`, and `options`, `create` (a `POST` to the tus endpoint), `head`,
//! `patch` and `terminate` (a `DELETE` of a tus upload) the tus requests by method.
//! For tus kinds, `session=N` counts within the Nth tus upload created (tus uploads
//! are numbered apart from sessions). Counts are of the requests
//! matching the kind since the rule was added: globally, or with `session=N` within
//! the Nth session created, or with `session=*` within each session. For every request
//! each rule counts it, and the first rule that fires applies.
//!
//! What the effects do:
//!
//! - `status=` with no `after=` answers at once, persisting nothing. With `after=N` the
//!   server reads N body bytes (or the whole body, if shorter), keeps the whole 256 KiB
//!   units among them, and answers; the rest of the body is read and dropped.
//! - `reset` resets the connection at once, or after N body bytes (whole units kept,
//!   as for any body cut off).
//! - `stall=` pauses before the request is processed, or after N body bytes;
//!   [`Stats::held`] counts the requests held at the moment.
//! - `short=SIZE` persists SIZE bytes less than the chunk's end, rounded down to a 256
//!   KiB boundary (never below what was persisted before): a final chunk is then not
//!   finalized and the 308 says what was kept.
//! - `no-range` answers 308 without `Range`, and, so that the answer is true, forgets
//!   everything persisted: the upload starts over from byte 0 (a client that saw a
//!   `Range` before must treat this as persisted going backwards).
//! - `override-308` turns a 308 into a 200 with `X-Http-Status-Code-Override: 308`.
//! - `drop-response` processes the request in full (a final chunk finalizes, a register
//!   registers) and resets the connection instead of answering.
//! - `expire` and `kill` end an active session before the request is processed.
//! - `short=`, `no-range`, `override-308`, `expire`, `kill`, `session=`, `range=` and
//!   `persisted=` apply to the upload endpoint only; on file API requests `after=`
//!   counts from the end of the body.
//! - The lies change only what the answer says, never what is stored or registered:
//!   `range=TEXT` and `persisted=SIZE` replace a 308's `Range` (also of a 308 sent as
//!   200 + override); `set=FIELD:JSON` and `unset=FIELD` edit the top-level object of
//!   a JSON answer, in order (an edit of `crc32c` or `md5Hash` also drops
//!   `x-goog-hash`); `bloat=SIZE` pads the answer's body with spaces to SIZE bytes,
//!   streamed, and [`Stats`] counts such bodies, their bytes sent and those the client
//!   hung up on.
//! - `cut=SIZE` ends the answer's body after SIZE bytes with a `Content-Length` of
//!   SIZE (a whole message, its JSON cut short; 0 is an empty body); `cut-close=SIZE`
//!   promises the whole body's length and closes the connection after SIZE bytes. Both
//!   apply to any answer and leave what is stored and registered as it is.
//!
//! - On tus requests (kinds `tus`, `options`, `create`, `head`, `patch`, `terminate`):
//!   `status=` answers at once, keeping nothing (with `Tus-Resumable`, and `Tus-Version`
//!   on a 412); with `after=N` the N bytes read are kept as for a body cut off (none
//!   with `Upload-Checksum`), then it answers. `reset` likewise, without an answer.
//!   `short=SIZE` keeps SIZE fewer bytes than the body brought (not rounded) and the
//!   204 says what was kept. `persisted=SIZE` makes an
//!   answer's `Upload-Offset` (`HEAD`, `PATCH`, a creation with data) claim SIZE while
//!   the upload keeps what it has: a client that believes it meets 409 on its next
//!   `PATCH`. `corrupt` flips the body's first byte on its way in: with
//!   `Upload-Checksum` the answer is 460 and nothing is kept; without, the damage is
//!   stored (what checksums are for). `expire` makes the upload expire before the
//!   request (410), `kill` makes it disappear (404). `drop-response` processes in full
//!   (a creation creates, a `PATCH` keeps its bytes) and resets. `stall=`, `cut=`,
//!   `cut-close=`, `bloat=` and `p=` work as on any request; `no-range`,
//!   `override-308`, `range=`, `set=` and `unset=` are refused on tus kinds, and
//!   `corrupt` on the others.
//!
//! Examples:
//!
//! ```text
//! chunk#2 status=503                       # the second chunk fails
//! chunk#1 status=429 retry-after=2         # throttled, retry after 2 s
//! put#3 status=500 after=256KiB            # fails after 256 KiB of its body (kept)
//! request#4 reset after=100000             # reset mid-body: 0 bytes kept
//! final#1 drop-response                    # object finalized, response lost
//! chunk#1-3 stall=2s                       # slow server
//! chunk#2 short=256KiB                     # persists one unit less than sent
//! query#1 no-range                         # status query says: nothing persisted
//! chunk override-308                       # every 308 as 200 + override header
//! chunk#3 expire                           # the session expires mid-upload
//! chunk#1 kill session=2                   # the second session dies on its first chunk
//! chunk#1 status=503 session=*             # every session's first chunk fails
//! chunk p=0.1 status=503                   # a tenth of the chunks fail (seeded)
//! register#1 status=503                    # register fails once
//! upload-url#1 status=500                  # upload-url fails once
//! chunk#1 range=bytes=0-x                  # a malformed Range
//! chunk#2 persisted=0                      # the server "forgets" (but keeps) what it has
//! final#1 set=crc32c:"AAAAAA=="            # the object's CRC32C is not the data's
//! upload-url#1 unset=file_id               # a session without file_id
//! upload-url#1 set=upload_url:"ftp://h/x"  # a session URL that is not http(s)
//! upload-url#1 set=max_file_size:1000      # a session too small for the file
//! chunk#1 bloat=1GiB                       # a 308 with a 1 GiB body
//! final#1 cut=20                           # the object's JSON cut short (the object is stored)
//! register#1 cut-close=0                   # registered, the answer's body cut off
//! patch#2 status=503                       # the second tus PATCH fails
//! patch#1 reset after=100KiB               # a tus PATCH cut off mid-body
//! patch#2 short=64KiB                      # keeps 64 KiB less than it got, and says so
//! head#1 persisted=0                       # a HEAD lies: the next PATCH meets 409
//! patch#1 corrupt                          # a damaged byte: 460 with Upload-Checksum
//! patch#3 expire                           # the tus upload expires mid-way (410)
//! create#1 drop-response                   # the tus upload is created, the answer lost
//! ```
//!
//! The same seed and the same order of requests give the same faults.
//!
//! # Request log
//!
//! Every request but the control endpoints' is logged as a [`RequestRecord`]: method,
//! path (with the `upload_id` value redacted), host, `Content-Range`,
//! `Content-Length`, whether the body was chunked, whether `X-API-Key` and `Authorization` were sent, `X-Goog-Hash`,
//! the session number, the status and `Range` answered (no status when reset), body
//! bytes received, bytes persisted after, the fault rule applied and an outcome word.
//! tus requests are logged too (kinds [`RequestKind::TusOptions`] to
//! [`RequestKind::TusOther`]), `session` the tus upload's number and `persisted` its
//! offset after the request. Read it with [`EmulatorHandle::request_log`] or
//! `GET /_emulator/requests`.
//!
//! # Storage
//!
//! [`Storage::TempDir`] (the default) and [`Storage::Disk`] stream request bodies to
//! files, so memory stays flat however big the upload; [`Storage::Memory`] keeps
//! everything in memory; [`Storage::Sink`] keeps only sizes and checksums. Objects are
//! read back with [`EmulatorHandle::object`] (size, CRC32C, MD5, content type) and
//! [`EmulatorHandle::object_bytes`], or downloaded over HTTP. A tus upload's bytes
//! stay in its part (`parts/tus-N.part` on disk), read with
//! [`EmulatorHandle::tus_upload_bytes`] once complete.
//!
//! # Invariants
//!
//! - Nothing a client sends can panic the server; a panic is a bug.
//! - The persisted offset a session reports is always what it stores; it moves
//!   backwards only through the `no-range` fault.
//! - Requests on one session are processed one at a time; sessions are independent.
//!   The same holds for tus uploads.

mod api;
mod control;
mod download;
mod emulator;
mod error;
mod faults;
mod file_record;
mod gcs;
mod ietf;
mod ietf_upload;
mod initiate;
mod inject;
mod log;
mod object;
mod precondition;
mod receive;
mod reply;
mod server;
mod session;
mod shared;
mod storage;
mod time;
mod tus;
mod tus_upload;
mod url;

pub use control::Stats;
pub use emulator::{
    DEFAULT_API_KEY, DEFAULT_BUCKET, DEFAULT_CHUNK_SIZE, DEFAULT_MAX_FILE_SIZE,
    DEFAULT_SESSION_LIFETIME, Emulator, EmulatorBuilder, EmulatorHandle,
};
pub use error::Error;
pub use faults::{FaultPlan, FaultSpecError};
pub use file_record::FileRecord;
/// Chunks other than the last must be a multiple of this many bytes (256 KiB).
pub const CHUNK_GRANULARITY: u64 = resumable_sim::UNIT;
pub use ietf_upload::{IetfStatus, IetfUploadInfo};
pub use log::{RequestKind, RequestRecord};
pub use object::ObjectInfo;
pub use resumable_sim::ietf::{Interop, Limits as IetfLimits};
pub use session::{SessionInfo, SessionStatus};
pub use storage::Storage;
pub use tus_upload::{TusStatus, TusUploadInfo};
