//! A file on disk: `resumable-local`'s positional reads, on tokio's
//! blocking threads.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use resumable_core::Fingerprint;

use super::{AsyncSource, ended_early};
use crate::store::off_runtime;

/// A regular file, read at the offsets the engine asks for with positional
/// reads (no seek), straight into the driver's one reusable buffer: no
/// whole-file or whole-chunk copy. The reads run on tokio's blocking
/// threads, as `tokio::fs` does.
///
/// Its [`Fingerprint`] (size and modification time) is taken when it is
/// opened; a file that changes during the upload fails the next data request
/// with an [`io::Error`], and a checkpoint written for it is refused once it
/// has changed.
#[derive(Debug)]
pub struct FileSource {
    file: Arc<resumable_local::FileSource>,
    fingerprint: Option<Fingerprint>,
}

impl FileSource {
    /// Opens the file at `path`. A missing or unreadable file, or one that is
    /// not a regular file (a directory), fails here with the path in the
    /// message.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_owned();
        off_runtime(move || {
            let with_path =
                |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
            let file = File::open(&path).map_err(with_path)?;
            resumable_local::FileSource::new(file).map_err(with_path)
        })
        .await
        .map(Self::wrap)
    }

    /// Wraps an open file, which must be a regular file. Reading starts
    /// wherever the engine asks, not at the file's current position.
    pub async fn new(file: File) -> io::Result<Self> {
        off_runtime(move || resumable_local::FileSource::new(file))
            .await
            .map(Self::wrap)
    }

    fn wrap(file: resumable_local::FileSource) -> Self {
        Self {
            fingerprint: file.fingerprint(),
            file: Arc::new(file),
        }
    }

    /// Runs `op` on the file, on a blocking thread.
    async fn with<R: Send + 'static>(
        &self,
        op: impl FnOnce(&resumable_local::FileSource) -> io::Result<R> + Send + 'static,
    ) -> io::Result<R> {
        let file = Arc::clone(&self.file);
        off_runtime(move || op(&file)).await
    }
}

impl AsyncSource for FileSource {
    fn len(&self) -> Option<u64> {
        self.fingerprint.map(|f| f.size)
    }

    async fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf.len();
        let read = self
            .with(move |file| {
                let mut out = vec![0; want];
                let n = file.read_at(offset, &mut out)?;
                out.truncate(n);
                Ok(out)
            })
            .await?;
        buf[..read.len()].copy_from_slice(&read);
        Ok(read.len())
    }

    async fn read_frame(
        &mut self,
        offset: u64,
        len: usize,
        scratch: &mut BytesMut,
    ) -> io::Result<Bytes> {
        let mut buf = std::mem::take(scratch);
        buf.clear();
        buf.resize(len, 0);
        let mut buf = self
            .with(move |file| {
                let mut filled = 0;
                while filled < len {
                    let n = file.read_at(offset + filled as u64, &mut buf[filled..])?;
                    if n == 0 {
                        return Err(ended_early(offset + filled as u64));
                    }
                    filled += n;
                }
                Ok(buf)
            })
            .await?;
        let frame = buf.split_to(len).freeze();
        *scratch = buf;
        Ok(frame)
    }

    fn fingerprint(&self) -> Option<Fingerprint> {
        self.fingerprint
    }

    async fn is_unchanged(&mut self) -> io::Result<bool> {
        self.with(|file| file.is_unchanged()).await
    }
}
