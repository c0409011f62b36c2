//! Where upload bytes go: session parts being written, finished objects, and the
//! running checksums over them.

use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use md5::{Digest as _, Md5};
use tokio::io::{AsyncSeekExt as _, AsyncWriteExt as _, BufWriter};

use resumable_sim::UNIT as CHUNK_GRANULARITY;

/// Where the emulator keeps uploaded bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Storage {
    /// Files under this directory (created if missing): `parts/` for sessions in
    /// progress, `objects/` for finished objects. Memory stays flat however big the upload.
    Disk(PathBuf),
    /// Like [`Storage::Disk`] in a fresh temporary directory, removed when the emulator
    /// stops. The default.
    #[default]
    TempDir,
    /// Everything in memory: for small test uploads.
    Memory,
    /// Keeps only sizes and checksums, no data: for throughput benches.
    Sink,
}

/// The open storage backend.
#[derive(Debug)]
pub(crate) struct Store {
    root: Option<PathBuf>,
    memory: bool,
    _temp: Option<tempfile::TempDir>,
}

impl Store {
    pub(crate) fn open(storage: &Storage) -> io::Result<Store> {
        let (root, memory, temp) = match storage {
            Storage::Disk(dir) => (Some(dir.clone()), false, None),
            Storage::TempDir => {
                let temp = tempfile::Builder::new()
                    .prefix("resumable-emulator-")
                    .tempdir()?;
                (Some(temp.path().to_owned()), false, Some(temp))
            }
            Storage::Memory => (None, true, None),
            Storage::Sink => (None, false, None),
        };
        if let Some(root) = &root {
            std::fs::create_dir_all(root.join("parts"))?;
            std::fs::create_dir_all(root.join("objects"))?;
        }
        Ok(Store {
            root,
            memory,
            _temp: temp,
        })
    }

    /// The storage directory, for the disk backends.
    pub(crate) fn dir(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// A new, empty part for session `number`.
    pub(crate) fn new_part(&self, number: u64) -> Part {
        self.part_named(&format!("{number}.part"))
    }

    /// A new, empty part for tus upload `number`; it stays the upload's
    /// bytes once complete.
    pub(crate) fn new_tus_part(&self, number: u64) -> Part {
        self.part_named(&format!("tus-{number}.part"))
    }

    /// A new, empty part for IETF draft upload `number`; it stays the
    /// upload's bytes once complete.
    pub(crate) fn new_ietf_part(&self, number: u64) -> Part {
        self.part_named(&format!("ietf-{number}.part"))
    }

    fn part_named(&self, name: &str) -> Part {
        match &self.root {
            Some(root) => Part::Disk(root.join("parts").join(name)),
            None if self.memory => Part::Memory(Vec::new()),
            None => Part::Sink,
        }
    }

    /// Turns a finished part into object data; `generation` names the file.
    pub(crate) async fn finish(&self, part: &mut Part, generation: u64) -> io::Result<ObjectData> {
        match std::mem::replace(part, Part::Sink) {
            Part::Disk(path) => {
                let dest = match &self.root {
                    Some(root) => root.join("objects").join(format!("{generation}.obj")),
                    None => path.with_extension("obj"),
                };
                if tokio::fs::try_exists(&path).await? {
                    tokio::fs::rename(&path, &dest).await?;
                } else {
                    tokio::fs::write(&dest, b"").await?;
                }
                Ok(ObjectData::Disk(dest))
            }
            Part::Memory(v) => Ok(ObjectData::Memory(Bytes::from(v))),
            Part::Sink => Ok(ObjectData::Sink),
        }
    }
}

/// The stored bytes of a session in progress.
#[derive(Debug)]
pub(crate) enum Part {
    Disk(PathBuf),
    Memory(Vec<u8>),
    Sink,
}

impl Part {
    /// Drops the stored bytes (a cancelled session).
    pub(crate) async fn discard(&mut self) {
        match self {
            Part::Disk(path) => {
                // A part that was never written has no file: nothing to remove.
                let _ = tokio::fs::remove_file(&path).await;
            }
            Part::Memory(v) => *v = Vec::new(),
            Part::Sink => {}
        }
    }

    /// The stored bytes; `None` for the sink, which keeps none.
    pub(crate) fn read(&self) -> io::Result<Option<Vec<u8>>> {
        match self {
            Part::Disk(path) => match std::fs::read(path) {
                Ok(bytes) => Ok(Some(bytes)),
                // Nothing was ever written: no file.
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Some(Vec::new())),
                Err(e) => Err(e),
            },
            Part::Memory(v) => Ok(Some(v.clone())),
            Part::Sink => Ok(None),
        }
    }
}

/// The bytes of a finished object.
#[derive(Debug, Clone)]
pub(crate) enum ObjectData {
    Disk(PathBuf),
    Memory(Bytes),
    Sink,
}

impl ObjectData {
    /// Removes a replaced object's file.
    pub(crate) fn remove(&self) {
        if let ObjectData::Disk(path) = self {
            // Best effort: a file still being downloaded stays readable until closed.
            let _ = std::fs::remove_file(path);
        }
    }
}

/// CRC32C and MD5 over a prefix of an upload.
#[derive(Clone)]
pub(crate) struct Digest {
    len: u64,
    crc: u32,
    md5: Md5,
}

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Digest")
            .field("len", &self.len)
            .field("crc", &self.crc)
            .finish()
    }
}

impl Digest {
    pub(crate) fn new() -> Self {
        Digest {
            len: 0,
            crc: 0,
            md5: Md5::new(),
        }
    }

    fn update(&mut self, data: &[u8]) {
        self.len += data.len() as u64;
        self.crc = crc32c::crc32c_append(self.crc, data);
        self.md5.update(data);
    }

    pub(crate) fn crc32c(&self) -> u32 {
        self.crc
    }

    pub(crate) fn md5(&self) -> [u8; 16] {
        self.md5.clone().finalize().into()
    }
}

/// How much of what an [`Appender`] wrote to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keep {
    /// Everything written.
    All,
    /// Up to the last 256 KiB boundary written (a body cut off).
    WholeUnits,
    /// Nothing: back to where it started.
    Nothing,
}

enum Out {
    Disk(BufWriter<tokio::fs::File>),
    Memory(Vec<u8>),
    Sink,
}

/// Appends one request's new bytes to a part, hashing as it goes, and can roll back
/// to a 256 KiB boundary or to where it started.
pub(crate) struct Appender {
    out: Out,
    start: u64,
    pos: u64,
    limit: u64,
    orig: Digest,
    cur: Digest,
    unit: (u64, Digest),
}

impl Appender {
    /// Opens `part` to append from `persisted` (whose digest is `digest`), storing
    /// nothing past the absolute offset `limit`.
    pub(crate) async fn open(
        part: &mut Part,
        persisted: u64,
        digest: &Digest,
        limit: u64,
    ) -> io::Result<Self> {
        let out = match part {
            Part::Disk(path) => {
                let mut file = tokio::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)
                    .await?;
                file.set_len(persisted).await?;
                file.seek(io::SeekFrom::Start(persisted)).await?;
                Out::Disk(BufWriter::with_capacity(1 << 20, file))
            }
            Part::Memory(v) => {
                let mut v = std::mem::take(v);
                v.truncate(usize::try_from(persisted).unwrap_or(usize::MAX));
                Out::Memory(v)
            }
            Part::Sink => Out::Sink,
        };
        Ok(Appender {
            out,
            start: persisted,
            pos: persisted,
            limit: limit.max(persisted),
            orig: digest.clone(),
            cur: digest.clone(),
            unit: (persisted, digest.clone()),
        })
    }

    /// The absolute offset of the next byte to store.
    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    /// Takes `data`, which starts at absolute offset `at` (never past [`Self::pos`]):
    /// bytes below `pos` were stored before and are skipped, bytes past the limit dropped.
    pub(crate) async fn write(&mut self, at: u64, mut data: &[u8]) -> io::Result<()> {
        let skip = self.pos.saturating_sub(at);
        data = data
            .get(usize::try_from(skip).unwrap_or(usize::MAX)..)
            .unwrap_or(&[]);
        while !data.is_empty() && self.pos < self.limit {
            let to_unit = CHUNK_GRANULARITY - self.pos % CHUNK_GRANULARITY;
            let room = to_unit.min(self.limit - self.pos);
            let n = usize::try_from(room).unwrap_or(usize::MAX).min(data.len());
            let (piece, rest) = data.split_at(n);
            match &mut self.out {
                Out::Disk(w) => w.write_all(piece).await?,
                Out::Memory(v) => v.extend_from_slice(piece),
                Out::Sink => {}
            }
            self.cur.update(piece);
            self.pos += n as u64;
            if self.pos.is_multiple_of(CHUNK_GRANULARITY) {
                self.unit = (self.pos, self.cur.clone());
            }
            data = rest;
        }
        Ok(())
    }

    /// Digest of everything written, to check a declared hash before keeping it.
    pub(crate) fn digest(&self) -> &Digest {
        &self.cur
    }

    /// Closes the part keeping what `keep` says; returns the new persisted length and
    /// its digest.
    pub(crate) async fn close(self, part: &mut Part, keep: Keep) -> io::Result<(u64, Digest)> {
        let (len, digest) = match keep {
            Keep::All => (self.pos, self.cur),
            Keep::WholeUnits => self.unit,
            Keep::Nothing => (self.start, self.orig),
        };
        match self.out {
            Out::Disk(mut w) => {
                w.flush().await?;
                let file = w.into_inner();
                if len < self.pos {
                    file.set_len(len).await?;
                }
            }
            Out::Memory(mut v) => {
                v.truncate(usize::try_from(len).unwrap_or(usize::MAX));
                *part = Part::Memory(v);
            }
            Out::Sink => {}
        }
        Ok((len, digest))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn digest_of(data: &[u8]) -> Digest {
        let mut d = Digest::new();
        d.update(data);
        d
    }

    #[tokio::test]
    async fn appender_keeps_units_and_rolls_back() {
        let data: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
        for storage in [Storage::TempDir, Storage::Memory] {
            let store = Store::open(&storage).unwrap();
            let mut part = store.new_part(1);
            // First request: everything.
            let mut a = Appender::open(&mut part, 0, &Digest::new(), 300_000)
                .await
                .unwrap();
            a.write(0, &data[..100_000]).await.unwrap();
            a.write(100_000, &data[100_000..400_000]).await.unwrap();
            assert_eq!(a.pos(), 300_000);
            let (len, d) = a.close(&mut part, Keep::WholeUnits).await.unwrap();
            assert_eq!(len, 262_144);
            assert_eq!(d.crc32c(), digest_of(&data[..262_144]).crc32c());
            // Second request overlaps what is stored; roll it back.
            let mut a = Appender::open(&mut part, len, &d, 700_000).await.unwrap();
            a.write(0, &data[..600_000]).await.unwrap();
            let (len2, d2) = a.close(&mut part, Keep::Nothing).await.unwrap();
            assert_eq!((len2, d2.crc32c()), (len, d.crc32c()));
            // Third: keep all.
            let mut a = Appender::open(&mut part, len, &d, 700_000).await.unwrap();
            a.write(200_000, &data[200_000..]).await.unwrap();
            let (len3, d3) = a.close(&mut part, Keep::All).await.unwrap();
            assert_eq!(len3, 700_000);
            assert_eq!(d3.md5(), digest_of(&data).md5());
            let obj = store.finish(&mut part, 7).await.unwrap();
            let stored = match obj {
                ObjectData::Disk(p) => std::fs::read(p).unwrap(),
                ObjectData::Memory(b) => b.to_vec(),
                ObjectData::Sink => unreachable!(),
            };
            assert!(stored == data);
        }
    }
}
