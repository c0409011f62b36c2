//! Where the bytes come from: files (`resumable-local`'s), byte buffers, and
//! readers of unknown length.

use std::io::{self, Read};

use bytes::Bytes;
use resumable_core::Fingerprint;
use resumable_local::FileSource;

/// A source of bytes the driver can read at any offset the core asks for.
///
/// The core only ever asks for bytes at or after the last offset passed to
/// [`Source::release`], so a one-pass stream can keep just those.
pub trait Source {
    /// The total length, when known up front.
    fn len(&self) -> Option<u64>;

    /// Whether the length is known to be zero.
    fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// Reads bytes starting at `offset` into `buf`; returns how many, 0 only
    /// at the end of the source.
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;

    /// The source's identity, kept in checkpoints so a changed source is
    /// refused on resume.
    fn fingerprint(&self) -> Option<Fingerprint> {
        None
    }

    /// For a source of unknown length: makes bytes up to `end` readable, and
    /// returns the total when the source ends before `end`.
    fn fill_to(&mut self, end: u64) -> io::Result<Option<u64>> {
        let _ = end;
        Ok(self.len())
    }

    /// The server has persisted everything before `offset`: those bytes will
    /// never be asked for again (unless the session restarts, which a source
    /// that is not [restartable](Source::is_restartable) refuses).
    fn release(&mut self, offset: u64) {
        let _ = offset;
    }

    /// Whether the source can be read again from offset 0 (a session
    /// restart needs it).
    fn is_restartable(&self) -> bool {
        true
    }

    /// Whether the source is still the one being uploaded: asked before each
    /// data request and before register. A file that grew, shrank or was
    /// rewritten answers `false`, and the upload ends with
    /// [`UploadError::ChangedDuringUpload`](crate::UploadError::ChangedDuringUpload).
    fn is_unchanged(&self) -> io::Result<bool> {
        Ok(true)
    }
}

/// A file is read with positional reads: no copy beyond the driver's one
/// buffer.
impl Source for FileSource {
    fn len(&self) -> Option<u64> {
        FileSource::len(self)
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        FileSource::read_at(self, offset, buf)
    }

    fn fingerprint(&self) -> Option<Fingerprint> {
        FileSource::fingerprint(self)
    }

    fn is_unchanged(&self) -> io::Result<bool> {
        FileSource::is_unchanged(self)
    }
}

/// Bytes in memory (`Bytes`, `Vec<u8>`, `&'static [u8]`, …).
#[derive(Debug, Clone)]
pub struct BytesSource(Bytes);

impl BytesSource {
    /// Wraps the bytes; no copy is made.
    pub fn new(bytes: impl Into<Bytes>) -> Self {
        Self(bytes.into())
    }
}

impl Source for BytesSource {
    fn len(&self) -> Option<u64> {
        Some(self.0.len() as u64)
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.0.len());
        let rest = self.0.get(start..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        Ok(n)
    }
}

/// Any [`Read`] of unknown length, read once. Keeps only the bytes the
/// server has not persisted yet (about one chunk), so a retry never drops or
/// repeats data. It cannot restart from 0, so a session that is gone ends
/// the upload.
#[derive(Debug)]
pub struct ReadSource<R> {
    reader: R,
    /// Bytes from `base` on, not yet persisted.
    buf: Vec<u8>,
    base: u64,
    ended: bool,
}

impl<R: Read> ReadSource<R> {
    /// Wraps a reader.
    pub fn new(reader: R) -> Self {
        Self {
            reader,
            buf: Vec::new(),
            base: 0,
            ended: false,
        }
    }

    fn buffered_end(&self) -> u64 {
        self.base + self.buf.len() as u64
    }
}

impl<R: Read> Source for ReadSource<R> {
    fn len(&self) -> Option<u64> {
        self.ended.then(|| self.buffered_end())
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset < self.base {
            return Err(io::Error::other(format!(
                "bytes at {offset} were released; a one-pass stream cannot go back"
            )));
        }
        let want_end = offset.saturating_add(buf.len() as u64);
        if want_end > self.buffered_end() && !self.ended {
            self.fill_to(want_end)?;
        }
        let start = usize::try_from(offset - self.base).unwrap_or(usize::MAX);
        let rest = self.buf.get(start..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        Ok(n)
    }

    fn fill_to(&mut self, end: u64) -> io::Result<Option<u64>> {
        while !self.ended && self.buffered_end() < end {
            let missing = usize::try_from(end - self.buffered_end()).unwrap_or(usize::MAX);
            let old = self.buf.len();
            let grow = missing.min(1 << 20);
            self.buf.resize(old + grow, 0);
            let read = loop {
                match self.reader.read(&mut self.buf[old..]) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other,
                }
            };
            match read {
                Ok(0) => {
                    self.buf.truncate(old);
                    self.ended = true;
                }
                Ok(n) => self.buf.truncate(old + n),
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(e);
                }
            }
        }
        Ok(self.len())
    }

    fn release(&mut self, offset: u64) {
        if offset > self.base {
            let drop = usize::try_from(offset - self.base)
                .unwrap_or(usize::MAX)
                .min(self.buf.len());
            self.buf.drain(..drop);
            self.base += drop as u64;
        }
    }

    fn is_restartable(&self) -> bool {
        // Read once: the bytes before the persisted offset are released.
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most 7 bytes per read.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(buf.len()).min(7);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn read_all(src: &mut dyn Source, from: u64, len: usize) -> Vec<u8> {
        let mut out = vec![0; len];
        let mut got = 0;
        while got < len {
            let n = src.read_at(from + got as u64, &mut out[got..]).unwrap();
            if n == 0 {
                break;
            }
            got += n;
        }
        out.truncate(got);
        out
    }

    #[test]
    fn read_source_keeps_only_unpersisted_bytes_and_finds_its_end() {
        let data: Vec<u8> = (0..100u8).collect();
        let mut s = ReadSource::new(Trickle(&data));
        assert_eq!(s.len(), None);
        assert_eq!(s.fill_to(40).unwrap(), None);
        assert_eq!(read_all(&mut s, 10, 20), &data[10..30]);
        s.release(25);
        assert!(!s.is_restartable());
        assert!(
            s.read_at(24, &mut [0; 1]).is_err(),
            "released bytes are gone"
        );
        assert_eq!(
            read_all(&mut s, 25, 10),
            &data[25..35],
            "a retry reads the same bytes"
        );
        assert_eq!(s.fill_to(101).unwrap(), Some(100));
        assert_eq!(read_all(&mut s, 90, 50), &data[90..]);
        s.release(100);
        assert_eq!(s.buf.len(), 0);
    }

    #[test]
    fn read_source_ending_exactly_at_the_requested_end() {
        let data = [1u8; 64];
        let mut s = ReadSource::new(&data[..]);
        assert_eq!(s.fill_to(64).unwrap(), None, "the end is not seen yet");
        assert_eq!(s.fill_to(65).unwrap(), Some(64));
    }

    #[test]
    fn bytes_source_reads_at_any_offset() {
        let mut s = BytesSource::new(&b"hello world"[..]);
        assert_eq!(read_all(&mut s, 6, 100), b"world");
        assert_eq!(s.read_at(u64::MAX, &mut [0; 4]).unwrap(), 0);
    }
}
