//! Any async reader of unknown length, read once.

use std::io;

use bytes::{Buf as _, BytesMut};
use resumable_core::Fingerprint;
use tokio::io::{AsyncRead, AsyncReadExt as _};

use super::AsyncSource;

/// The most read from the reader in one call.
const READ_STEP: usize = 256 * 1024;

/// Any [`AsyncRead`] (a pipe, a socket, a decompressor), read once.
///
/// It keeps only the bytes the server has not persisted yet (about one
/// chunk, plus a look one byte ahead to learn whether the next chunk is the
/// last), so a retry never drops or repeats data and memory stays bounded by
/// the chunk size. Its length is found at its end. It cannot be read again
/// from the start: a session that is gone ends the upload
/// ([`resumable_core::Error::SessionGone`]), and it is never resumed by a
/// later process.
#[derive(Debug)]
pub struct ReadSource<R> {
    reader: R,
    /// Bytes from `base` on, not yet released.
    buf: BytesMut,
    base: u64,
    ended: bool,
}

impl<R: AsyncRead + Unpin + Send> ReadSource<R> {
    /// Wraps a reader; nothing is read until the engine asks.
    pub fn new(reader: R) -> Self {
        Self {
            reader,
            buf: BytesMut::new(),
            base: 0,
            ended: false,
        }
    }

    /// The offset just past the bytes read so far.
    fn buffered_end(&self) -> u64 {
        self.base + self.buf.len() as u64
    }

    /// How many bytes are held in memory (read, not yet released).
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The offset of the first byte still held: everything before it was
    /// released.
    #[must_use]
    pub fn released(&self) -> u64 {
        self.base
    }
}

impl<R: AsyncRead + Unpin + Send> AsyncSource for ReadSource<R> {
    fn len(&self) -> Option<u64> {
        self.ended.then(|| self.buffered_end())
    }

    async fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset < self.base {
            return Err(io::Error::other(format!(
                "bytes at offset {offset} were already released; a one-pass stream cannot go back"
            )));
        }
        let want_end = offset.saturating_add(buf.len() as u64);
        if want_end > self.buffered_end() {
            self.fill_to(want_end).await?;
        }
        let start = usize::try_from(offset - self.base).unwrap_or(usize::MAX);
        let rest = self.buf.get(start..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        Ok(n)
    }

    fn fingerprint(&self) -> Option<Fingerprint> {
        None
    }

    async fn fill_to(&mut self, end: u64) -> io::Result<Option<u64>> {
        while !self.ended && self.buffered_end() < end {
            let missing = usize::try_from(end - self.buffered_end()).unwrap_or(usize::MAX);
            self.buf.reserve(missing.min(READ_STEP));
            let n = loop {
                match self.reader.read_buf(&mut self.buf).await {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other?,
                }
            };
            if n == 0 {
                self.ended = true;
            }
        }
        Ok(self.len())
    }

    fn release(&mut self, offset: u64) {
        if offset > self.base {
            let done = usize::try_from(offset - self.base)
                .unwrap_or(usize::MAX)
                .min(self.buf.len());
            self.buf.advance(done);
            self.base += done as u64;
        }
    }

    fn is_restartable(&self) -> bool {
        false
    }
}
