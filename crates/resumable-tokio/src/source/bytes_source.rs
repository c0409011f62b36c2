//! Bytes already in memory.

use std::io;

use bytes::{Bytes, BytesMut};

use super::{AsyncSource, ended_early};

/// Bytes in memory (`Bytes`, `Vec<u8>`, `&'static [u8]`, …): request body
/// frames are slices of the same allocation, never copies.
#[derive(Debug, Clone)]
pub struct BytesSource(Bytes);

impl BytesSource {
    /// Wraps the bytes; no copy is made of a `Bytes` or a `Vec<u8>`.
    pub fn new(bytes: impl Into<Bytes>) -> Self {
        Self(bytes.into())
    }
}

impl AsyncSource for BytesSource {
    fn len(&self) -> Option<u64> {
        Some(self.0.len() as u64)
    }

    async fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.0.len());
        let rest = &self.0[start..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        Ok(n)
    }

    async fn read_frame(
        &mut self,
        offset: u64,
        len: usize,
        _scratch: &mut BytesMut,
    ) -> io::Result<Bytes> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        match start.checked_add(len) {
            Some(end) if end <= self.0.len() => Ok(self.0.slice(start..end)),
            _ => Err(ended_early(self.0.len() as u64)),
        }
    }
}
