//! What a new process needs to resume an upload where the server stopped.
//!
//! A checkpoint describes one [`crate::Upload`]: one session of one
//! protocol, to one destination. An upload made of several parts (one
//! `Upload` per part) keeps one checkpoint per part.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::checksum::RunningCrc32c;
use crate::config::Fingerprint;
use crate::outcome::ObjectMeta;
use crate::protocol::ietf::{InteropVersion, UploadLimits};
use crate::protocol::tus::ChecksumAlgorithm;
use crate::secret::SessionUrl;
use crate::sha256::RunningSha256;

/// The format [`crate::Upload`] writes into every checkpoint. Format 1 (an
/// older release's) is still read and resumed; any other is refused.
pub const CHECKPOINT_FORMAT: u32 = 2;

/// A serializable snapshot of an upload, handed out by
/// [`crate::Action::Checkpoint`] whenever the persisted offset advances or the
/// flow moves on. Store it durably; resume with [`crate::Upload::resume`].
///
/// It holds the session URL, a credential: store it where only the user can
/// read it. It never holds the API key. `Debug` redacts the session URL.
///
/// Serialized, it is always written in the layout of [`CHECKPOINT_FORMAT`];
/// it reads that layout and format 1's, whose destination (a line of text)
/// becomes [`Flow::Format1`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Stored")]
pub struct Checkpoint {
    /// [`CHECKPOINT_FORMAT`], or 1 for a checkpoint an older release wrote
    /// (its `flow` is then [`Flow::Format1`]).
    pub format: u32,
    /// The protocol the session speaks.
    pub protocol: Protocol,
    /// The flow that wrote it and its destination. A checkpoint is only
    /// resumed by the same flow to the same destination.
    pub flow: Flow,
    /// The session in use, if one was issued.
    pub session: Option<SessionRecord>,
    /// What the file API said of the session in use, in the file-API flow.
    pub file_api: Option<FileApiSession>,
    /// What a tus upload needs beside its URL, for a tus session. Left out
    /// of the serialized form when `None`, so a GCS checkpoint is written
    /// as before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tus: Option<TusSession>,
    /// What an upload of the IETF draft needs beside its URL, for such a
    /// session. Left out of the serialized form when `None`, so a GCS or
    /// tus checkpoint is written as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ietf: Option<Box<IetfSession>>,
    /// The source's size, when known.
    pub total: Option<u64>,
    /// Bytes the server has persisted.
    pub persisted: u64,
    /// The running CRC32C of the source.
    pub crc32c: RunningCrc32c,
    /// The source's identity when the checkpoint was written.
    pub fingerprint: Option<Fingerprint>,
    /// The finished object, once uploaded but not yet registered.
    pub object: Option<ObjectMeta>,
    /// Session restarts so far.
    pub restarts: u32,
}

/// The upload protocol a session speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Protocol {
    /// The Google Cloud Storage resumable protocol.
    Gcs,
    /// tus 1.0 (tus.io).
    Tus,
    /// Resumable Uploads for HTTP (the IETF draft), in one interop version:
    /// a resumed upload speaks the version its upload resource was created
    /// with.
    Ietf {
        /// The draft iteration.
        interop: InteropVersion,
    },
}

/// Which flow wrote a checkpoint, and where its upload goes: what a
/// checkpoint is compared by on resume. Preconditions, keys and tokens are
/// not part of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Flow {
    /// The file API: session, upload, register.
    FileApi {
        /// The API's base URL, without a trailing `/`.
        api_base: String,
        /// The organization.
        organization: String,
        /// The name the file is registered with.
        filename: String,
        /// Its MIME type.
        mime_type: String,
    },
    /// A session initiated with the GCS JSON API for one object.
    GcsInitiate {
        /// The API endpoint, without a trailing `/`.
        endpoint: String,
        /// The bucket.
        bucket: String,
        /// The object's name.
        object: String,
    },
    /// An existing session URL, handed in by the caller.
    GcsSession {
        /// The CRC32C of the session URL. The URL is the destination, and
        /// a credential: the identity names it by this hash only.
        url_crc32c: u32,
    },
    /// An upload created at a tus server's creation endpoint. Its
    /// metadata is left out, as a GCS initiation's preconditions are: it
    /// belongs to the upload, which the server keeps with it.
    TusCreate {
        /// The creation endpoint, without a trailing `/`.
        endpoint: String,
    },
    /// An existing tus upload URL, handed in by the caller.
    TusUpload {
        /// The CRC32C of the upload URL, which is a credential.
        url_crc32c: u32,
    },
    /// An upload created at a target resource of the IETF draft.
    IetfCreate {
        /// The target resource, without a trailing `/`.
        endpoint: String,
    },
    /// An existing upload resource of the IETF draft, handed in by the
    /// caller.
    IetfUpload {
        /// The CRC32C of the upload URL, which is a credential.
        url_crc32c: u32,
    },
    /// The destination of a checkpoint written in format 1, as that format
    /// wrote it: text, compared as text on resume. Never written by this
    /// release: a resumed upload's next checkpoint has typed fields.
    Format1 {
        /// Which kind of flow wrote it.
        flow: Format1Flow,
        /// The destination as format 1 formatted it.
        target: String,
    },
}

/// The flows format 1 told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format1Flow {
    /// The file API.
    FileApi,
    /// A raw GCS upload: an initiated session or a session URL.
    Gcs,
}

impl Flow {
    /// Whether `self` and `other` name the same destination: the same
    /// fields, ignoring a trailing `/` of the API base or the endpoint.
    pub(crate) fn same_destination(&self, other: &Self) -> bool {
        self.normalized() == other.normalized()
    }

    fn normalized(&self) -> Self {
        let mut flow = self.clone();
        if let Self::FileApi { api_base: url, .. }
        | Self::GcsInitiate { endpoint: url, .. }
        | Self::TusCreate { endpoint: url }
        | Self::IetfCreate { endpoint: url } = &mut flow
        {
            url.truncate(url.trim_end_matches('/').len());
        }
        flow
    }
}

/// An upload session, as a checkpoint keeps it: what every protocol's
/// session has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The session URL.
    pub upload_url: SessionUrl,
    /// When the session expires, when known.
    pub expires_at: Option<SystemTime>,
    /// The chunk size in use.
    pub chunk_size: u64,
}

/// What a tus upload needs to resume beside its URL and expiry (which are
/// in [`SessionRecord`]): what the server said it supports, and whether
/// the length is still to be told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TusSession {
    /// The upload was created with its length deferred, and the length has
    /// not been told yet: the next `PATCH` once it is known tells it.
    pub length_deferred: bool,
    /// The checksum algorithm each `PATCH` carries, when the server
    /// supports one the engine computes.
    pub checksum: Option<ChecksumAlgorithm>,
    /// The largest upload the server takes, when it said (`Tus-Max-Size`).
    pub max_size: Option<u64>,
    /// The extensions the server listed (`Tus-Extension`) among those the
    /// engine uses; `None` when it would not say (it answered no
    /// `OPTIONS`, or the checkpoint predates this field). See
    /// [`TusSession::supports`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<TusExtensions>,
}

impl TusSession {
    /// Whether the engine may use `extension` with this server: listed, or,
    /// when the server listed nothing, one a server that takes uploads
    /// created this way has (`creation`, `creation-defer-length`,
    /// `termination`: tried, and the server's refusal reported). Any other
    /// extension is used only when listed.
    #[must_use]
    pub fn supports(&self, extension: &str) -> bool {
        match &self.extensions {
            Some(listed) => listed.has(extension),
            None => matches!(
                extension,
                "creation" | "creation-defer-length" | "termination"
            ),
        }
    }
}

/// What an upload of the IETF draft needs to resume beside its URL and
/// expiry: the server's limits, what it asked to be sent, and the running
/// SHA-256 of the source for the completing request's `Repr-Digest`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct IetfSession {
    /// The limits the server stated last (`Upload-Limit`).
    pub limits: UploadLimits,
    /// The server asked for each request's `Content-Digest`.
    pub content_digest: bool,
    /// The server asked for the `Repr-Digest` (so the source is hashed
    /// ahead of the last request, however large its unhashed rest).
    pub repr_digest: bool,
    /// The SHA-256 of the source's first bytes, as the CRC32C is kept.
    pub sha256: RunningSha256,
    /// The most content one request carries, learned from `413`s that
    /// stated no smaller limit (§4.1.4: the request goes again, smaller):
    /// half the content refused last.
    pub content_cap: Option<u64>,
}

/// Which of the tus extensions the engine uses a server listed in its
/// `Tus-Extension`. (A plain set of flags: a checkpoint is cloned with
/// every chunk, and this costs it no allocation.)
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct TusExtensions {
    /// `creation`: `POST` makes an upload.
    pub creation: bool,
    /// `creation-with-upload`: the `POST` may carry the first bytes.
    pub creation_with_upload: bool,
    /// `creation-defer-length`: the length may be told later.
    pub creation_defer_length: bool,
    /// `termination`: `DELETE` drops an upload.
    pub termination: bool,
}

impl TusExtensions {
    /// The extensions among `names` (as a server lists them) that the
    /// engine uses; others are left out.
    pub fn listed<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut listed = Self::default();
        for name in names {
            if let Some(flag) = listed.flag(name) {
                *flag = true;
            }
        }
        listed
    }

    /// Whether `extension` (tus's name for it) is listed.
    #[must_use]
    pub fn has(self, extension: &str) -> bool {
        let mut copy = self;
        copy.flag(extension).is_some_and(|flag| *flag)
    }

    fn flag(&mut self, name: &str) -> Option<&mut bool> {
        Some(match name {
            "creation" => &mut self.creation,
            "creation-with-upload" => &mut self.creation_with_upload,
            "creation-defer-length" => &mut self.creation_defer_length,
            "termination" => &mut self.termination,
            _ => return None,
        })
    }
}

/// What the file API handed out with a session, beside the session itself:
/// what registering the upload needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileApiSession {
    /// Where the object will be, to register it.
    pub gcs_path: String,
    /// The id the File will have; empty when a format-1 checkpoint had none.
    pub file_id: String,
    /// The upload protocol the API named for the session (`resumable`),
    /// when it named one.
    pub upload_type: Option<String>,
}

/// A checkpoint as stored, in either layout: format 1's (`flow` a name,
/// `target` text, the file API's fields in `session`) or this release's.
#[derive(Deserialize)]
struct Stored {
    format: u32,
    protocol: Option<Protocol>,
    flow: StoredFlow,
    target: Option<String>,
    session: Option<StoredSession>,
    file_api: Option<FileApiSession>,
    tus: Option<TusSession>,
    #[serde(default)]
    ietf: Option<Box<IetfSession>>,
    total: Option<u64>,
    persisted: u64,
    crc32c: RunningCrc32c,
    fingerprint: Option<Fingerprint>,
    object: Option<ObjectMeta>,
    restarts: u32,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StoredFlow {
    Format1(Format1Flow),
    Typed(Flow),
}

/// A session in either layout; format 1 kept the file API's fields here.
#[derive(Deserialize)]
struct StoredSession {
    upload_url: SessionUrl,
    expires_at: Option<SystemTime>,
    chunk_size: u64,
    gcs_path: Option<String>,
    file_id: Option<String>,
}

impl TryFrom<Stored> for Checkpoint {
    type Error = &'static str;

    fn try_from(stored: Stored) -> Result<Self, Self::Error> {
        let (protocol, flow, file_api) = match (stored.flow, stored.target) {
            (StoredFlow::Format1(flow), Some(target)) => {
                let file_api = stored.session.as_ref().and_then(|s| {
                    Some(FileApiSession {
                        gcs_path: s.gcs_path.clone()?,
                        file_id: s.file_id.clone().unwrap_or_default(),
                        upload_type: None,
                    })
                });
                // Format 1 spoke GCS only.
                (Protocol::Gcs, Flow::Format1 { flow, target }, file_api)
            }
            (StoredFlow::Format1(_), None) => return Err("a format-1 checkpoint without target"),
            (StoredFlow::Typed(flow), _) => {
                let protocol = stored.protocol.ok_or("a checkpoint without protocol")?;
                (protocol, flow, stored.file_api)
            }
        };
        Ok(Self {
            format: stored.format,
            protocol,
            flow,
            session: stored.session.map(|s| SessionRecord {
                upload_url: s.upload_url,
                expires_at: s.expires_at,
                chunk_size: s.chunk_size,
            }),
            file_api,
            tus: stored.tus,
            ietf: stored.ietf,
            total: stored.total,
            persisted: stored.persisted,
            crc32c: stored.crc32c,
            fingerprint: stored.fingerprint,
            object: stored.object,
            restarts: stored.restarts,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn v2() -> Checkpoint {
        Checkpoint {
            format: CHECKPOINT_FORMAT,
            protocol: Protocol::Gcs,
            flow: Flow::FileApi {
                api_base: "https://api.example".into(),
                organization: "org_1".into(),
                filename: "large video.mp4".into(),
                mime_type: "text/plain; charset=utf-8".into(),
            },
            session: Some(SessionRecord {
                upload_url: SessionUrl::new("https://up.example/u?upload_id=secret"),
                expires_at: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_900_000_000)),
                chunk_size: 262_144,
            }),
            file_api: Some(FileApiSession {
                gcs_path: "files/org_1/file_1/large video.mp4".into(),
                file_id: "file_1".into(),
                upload_type: Some("resumable".into()),
            }),
            tus: None,
            ietf: None,
            total: Some(1_000_000),
            persisted: 524_288,
            crc32c: RunningCrc32c::default(),
            fingerprint: Some(Fingerprint {
                size: 1_000_000,
                modified: None,
            }),
            object: None,
            restarts: 1,
        }
    }

    const V1: &str = r#"{"format":1,"flow":"file_api",
        "target":"file-api https://api.example org_1 large video.mp4 video/mp4",
        "session":{"upload_url":"https://up.example/u?upload_id=secret",
            "gcs_path":"files/org_1/file_1/large video.mp4","file_id":"file_1",
            "expires_at":{"secs_since_epoch":1900000000,"nanos_since_epoch":0},"chunk_size":262144},
        "total":1000000,"persisted":524288,"crc32c":{"crc":0,"through":0},
        "fingerprint":null,"object":null,"restarts":0}"#;

    #[test]
    fn the_current_format_round_trips_with_typed_fields() {
        let json = serde_json::to_value(v2()).unwrap();
        assert_eq!(json["format"], 2);
        assert_eq!(json["protocol"], "gcs");
        assert_eq!(json["flow"]["file_api"]["filename"], "large video.mp4");
        assert_eq!(json["file_api"]["upload_type"], "resumable");
        assert!(json["session"].get("gcs_path").is_none());
        assert!(
            json.get("tus").is_none(),
            "a GCS checkpoint is written as before"
        );
        let back: Checkpoint = serde_json::from_value(json).unwrap();
        assert_eq!(back, v2());
        for flow in [
            Flow::GcsInitiate {
                endpoint: "https://storage.example".into(),
                bucket: "b".into(),
                object: "dir/o.bin".into(),
            },
            Flow::GcsSession { url_crc32c: 7 },
            Flow::TusCreate {
                endpoint: "https://tus.example/files".into(),
            },
            Flow::TusUpload { url_crc32c: 9 },
        ] {
            let cp = Checkpoint {
                flow,
                file_api: None,
                ..v2()
            };
            let text = serde_json::to_string(&cp).unwrap();
            assert_eq!(serde_json::from_str::<Checkpoint>(&text).unwrap(), cp);
        }
    }

    #[test]
    fn a_tus_server_that_listed_nothing_is_tried_with_creation_and_termination_only() {
        let unlisted = TusSession {
            length_deferred: false,
            checksum: None,
            max_size: None,
            extensions: None,
        };
        for assumed in ["creation", "creation-defer-length", "termination"] {
            assert!(unlisted.supports(assumed));
        }
        assert!(!unlisted.supports("creation-with-upload"));
        assert!(!unlisted.supports("checksum"));
        let listed = TusSession {
            extensions: Some(TusExtensions::listed(["creation", "concatenation"])),
            ..unlisted.clone()
        };
        assert!(listed.supports("creation") && !listed.supports("termination"));
        // A checkpoint written before the extensions were kept reads as
        // listing nothing.
        let old: TusSession =
            serde_json::from_str(r#"{"length_deferred":false,"checksum":null,"max_size":null}"#)
                .unwrap();
        assert_eq!(old, unlisted);
    }

    #[test]
    fn a_tus_checkpoint_keeps_what_the_server_supports() {
        let cp = Checkpoint {
            protocol: Protocol::Tus,
            flow: Flow::TusCreate {
                endpoint: "https://tus.example/files".into(),
            },
            file_api: None,
            tus: Some(TusSession {
                length_deferred: true,
                checksum: Some(ChecksumAlgorithm::Sha1),
                max_size: Some(1 << 30),
                extensions: Some(TusExtensions::listed(["creation", "checksum"])),
            }),
            ..v2()
        };
        let json = serde_json::to_value(&cp).unwrap();
        assert_eq!(json["protocol"], "tus");
        assert_eq!(json["tus"]["checksum"], "sha1");
        assert_eq!(
            json["flow"]["tus_create"]["endpoint"],
            "https://tus.example/files"
        );
        assert_eq!(serde_json::from_value::<Checkpoint>(json).unwrap(), cp);
        // Written before tus existed: no `tus` field at all.
        let mut json = serde_json::to_value(v2()).unwrap();
        json.as_object_mut().unwrap().remove("tus");
        assert_eq!(serde_json::from_value::<Checkpoint>(json).unwrap(), v2());
    }

    #[test]
    fn format_1_is_read_with_its_destination_as_text_and_written_back_readable() {
        let cp: Checkpoint = serde_json::from_str(V1).unwrap();
        assert_eq!(cp.format, 1);
        assert_eq!(cp.protocol, Protocol::Gcs);
        assert_eq!(
            cp.flow,
            Flow::Format1 {
                flow: Format1Flow::FileApi,
                target: "file-api https://api.example org_1 large video.mp4 video/mp4".into(),
            }
        );
        assert_eq!(
            cp.file_api,
            Some(FileApiSession {
                gcs_path: "files/org_1/file_1/large video.mp4".into(),
                file_id: "file_1".into(),
                upload_type: None,
            })
        );
        let session = cp.session.clone().unwrap();
        assert_eq!(session.chunk_size, 262_144);
        assert_eq!(
            session.upload_url.expose(),
            "https://up.example/u?upload_id=secret"
        );
        let again: Checkpoint = serde_json::from_str(&serde_json::to_string(&cp).unwrap()).unwrap();
        assert_eq!(again, cp);

        let raw = V1.replace(r#""gcs_path":"files/org_1/file_1/large video.mp4","#, "");
        let raw = raw.replace(r#""file_id":"file_1","#, "");
        let cp: Checkpoint = serde_json::from_str(&raw).unwrap();
        assert_eq!(cp.file_api, None, "a GCS session of format 1 has none");
    }

    #[test]
    fn a_layout_missing_what_it_needs_is_refused() {
        let no_target = V1.replace(
            r#""target":"file-api https://api.example org_1 large video.mp4 video/mp4","#,
            "",
        );
        assert!(serde_json::from_str::<Checkpoint>(&no_target).is_err());
        let mut json = serde_json::to_value(v2()).unwrap();
        json.as_object_mut().unwrap().remove("protocol");
        assert!(serde_json::from_value::<Checkpoint>(json).is_err());
        let mut json = serde_json::to_value(v2()).unwrap();
        json["flow"] = serde_json::json!("ftp");
        assert!(serde_json::from_value::<Checkpoint>(json).is_err());
    }

    #[test]
    fn destinations_compare_by_fields_ignoring_a_trailing_slash() {
        let a = v2().flow;
        let Flow::FileApi {
            api_base,
            organization,
            filename,
            mime_type,
        } = a.clone()
        else {
            unreachable!()
        };
        let slashed = Flow::FileApi {
            api_base: format!("{api_base}/"),
            organization: organization.clone(),
            filename: filename.clone(),
            mime_type: mime_type.clone(),
        };
        assert!(a.same_destination(&slashed));
        let renamed = Flow::FileApi {
            api_base,
            organization,
            filename: "large".into(),
            mime_type: format!("video.mp4 {mime_type}"),
        };
        assert!(!a.same_destination(&renamed), "text would have matched");
        let gcs = |endpoint: &str, object: &str| Flow::GcsInitiate {
            endpoint: endpoint.into(),
            bucket: "b".into(),
            object: object.into(),
        };
        assert!(gcs("https://s.example", "o").same_destination(&gcs("https://s.example//", "o")));
        assert!(!gcs("https://s.example", "o").same_destination(&gcs("https://s.example", "p")));
        assert!(!a.same_destination(&gcs("https://s.example", "o")));
    }
}
