//! Where the bytes come from: files, byte buffers, and readers of unknown
//! length, all read at the offsets the engine asks for.

mod bytes_source;
mod file;
mod read;

use std::future::Future;
use std::io;

use bytes::{Bytes, BytesMut};
use resumable_core::Fingerprint;

pub use bytes_source::BytesSource;
pub use file::FileSource;
pub use read::ReadSource;

/// A source of bytes the driver reads at any offset the engine asks for.
///
/// The engine only asks for bytes at or after the last offset passed to
/// [`release`](AsyncSource::release), so a one-pass stream can keep just
/// those. Implement [`read_at`](AsyncSource::read_at) and
/// [`len`](AsyncSource::len); the other methods have defaults that fit a
/// source whose length is known and which can be read again at will.
pub trait AsyncSource: Send {
    /// The total length, when known (up front, or once a stream ended).
    fn len(&self) -> Option<u64>;

    /// Whether the length is known to be zero.
    fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// Reads bytes starting at `offset` into `buf`; returns how many, 0 only
    /// at the end of the source.
    fn read_at(
        &mut self,
        offset: u64,
        buf: &mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send;

    /// Reads exactly `len` bytes at `offset` as one frame of a request body.
    ///
    /// The default reads into `scratch`, the driver's one reusable buffer,
    /// and hands out that part of it; a source that already holds its bytes
    /// in memory returns a slice of them instead. Ending before `len` bytes
    /// is an [`io::ErrorKind::UnexpectedEof`] error: the source shrank.
    fn read_frame(
        &mut self,
        offset: u64,
        len: usize,
        scratch: &mut BytesMut,
    ) -> impl Future<Output = io::Result<Bytes>> + Send {
        async move {
            scratch.clear();
            scratch.resize(len, 0);
            let mut filled = 0;
            while filled < len {
                let n = self
                    .read_at(offset + filled as u64, &mut scratch[filled..])
                    .await?;
                if n == 0 {
                    return Err(ended_early(offset + filled as u64));
                }
                filled += n;
            }
            Ok(scratch.split_to(len).freeze())
        }
    }

    /// The source's identity, kept in checkpoints so that a changed source
    /// is refused on resume. `None` (the default) means the source cannot be
    /// recognised later, so its uploads are not resumed across runs.
    fn fingerprint(&self) -> Option<Fingerprint> {
        None
    }

    /// For a source of unknown length: makes the bytes up to `end` readable
    /// and returns the total once the source is known to end before `end`
    /// (or at it, which needs a look one byte further).
    fn fill_to(&mut self, end: u64) -> impl Future<Output = io::Result<Option<u64>>> + Send {
        let _ = end;
        let len = self.len();
        async move { Ok(len) }
    }

    /// The server has persisted everything before `offset`: those bytes will
    /// not be asked for again, unless the session restarts, which a source
    /// that is not [restartable](AsyncSource::is_restartable) refuses.
    fn release(&mut self, offset: u64) {
        let _ = offset;
    }

    /// Whether the source can be read again from offset 0, as a session
    /// restart needs. A one-pass stream cannot.
    fn is_restartable(&self) -> bool {
        true
    }

    /// Whether the source is still the one being uploaded: asked before each
    /// data request and before register. A file that grew, shrank or was
    /// rewritten answers `false`, and the upload ends with
    /// [`UploadError::ChangedDuringUpload`](crate::UploadError::ChangedDuringUpload).
    fn is_unchanged(&mut self) -> impl Future<Output = io::Result<bool>> + Send {
        async { Ok(true) }
    }
}

/// The error for a source that ended at `offset`, before the bytes it was
/// expected to hold.
pub(crate) fn ended_early(offset: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("the source ended at byte {offset}, before its announced end (did it shrink?)"),
    )
}
