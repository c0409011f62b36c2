//! The sources: positional file reads, bytes without copies, and one-pass
//! streams that keep only what the server has not persisted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use resumable_tokio::{AsyncSource, BytesSource, FileSource, ReadSource};
use tokio::io::{AsyncRead, ReadBuf};

/// A reader that hands out at most 7 bytes per read.
struct Trickle(Vec<u8>, usize);

impl AsyncRead for Trickle {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let start = self.1;
        let n = (self.0.len() - start).min(buf.remaining()).min(7);
        buf.put_slice(&self.0[start..start + n]);
        self.1 += n;
        Poll::Ready(Ok(()))
    }
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

async fn read_all(src: &mut impl AsyncSource, from: u64, len: usize) -> Vec<u8> {
    let mut out = vec![0; len];
    let mut got = 0;
    while got < len {
        let n = src
            .read_at(from + got as u64, &mut out[got..])
            .await
            .unwrap();
        if n == 0 {
            break;
        }
        got += n;
    }
    out.truncate(got);
    out
}

#[tokio::test]
async fn a_stream_keeps_only_the_bytes_not_yet_persisted() {
    let bytes = data(1000);
    let mut s = ReadSource::new(Trickle(bytes.clone(), 0));
    assert_eq!(s.len(), None);
    assert!(!s.is_restartable());
    assert_eq!(s.fill_to(400).await.unwrap(), None);
    assert_eq!(read_all(&mut s, 100, 200).await, &bytes[100..300]);
    s.release(250);
    assert_eq!(s.released(), 250);
    assert!(s.buffered() <= 400 - 250 + 7, "{}", s.buffered());
    assert!(
        s.read_at(249, &mut [0; 1]).await.is_err(),
        "released bytes are gone"
    );
    // A retry from the persisted offset reads the very same bytes again.
    assert_eq!(read_all(&mut s, 250, 100).await, &bytes[250..350]);
    assert_eq!(read_all(&mut s, 250, 100).await, &bytes[250..350]);
    // Releasing an older offset changes nothing.
    s.release(10);
    assert_eq!(s.released(), 250);
    assert_eq!(s.fill_to(2000).await.unwrap(), Some(1000));
    assert_eq!(s.len(), Some(1000));
    assert_eq!(read_all(&mut s, 900, 500).await, &bytes[900..]);
    s.release(1000);
    assert_eq!(s.buffered(), 0);
}

#[tokio::test]
async fn a_stream_ending_exactly_at_a_boundary_is_known_one_byte_later() {
    let bytes = data(512);
    let mut s = ReadSource::new(&bytes[..]);
    assert_eq!(
        s.fill_to(512).await.unwrap(),
        None,
        "the end is not seen yet"
    );
    assert_eq!(s.fill_to(513).await.unwrap(), Some(512));
    let mut empty = ReadSource::new(&b""[..]);
    assert_eq!(empty.fill_to(1).await.unwrap(), Some(0));
    assert!(empty.is_empty());
}

#[tokio::test]
async fn read_frame_reads_exactly_or_reports_a_shrunk_source() {
    let bytes = data(300);
    let mut s = ReadSource::new(&bytes[..]);
    let mut scratch = BytesMut::new();
    let frame = s.read_frame(10, 100, &mut scratch).await.unwrap();
    assert_eq!(frame, &bytes[10..110]);
    let err = s.read_frame(250, 100, &mut scratch).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
}

#[tokio::test]
async fn bytes_hand_out_slices_of_the_same_allocation() {
    let bytes = Bytes::from(data(1000));
    let mut b = BytesSource::new(bytes.clone());
    let mut scratch = BytesMut::new();
    let frame = b.read_frame(100, 50, &mut scratch).await.unwrap();
    assert_eq!(frame.as_ptr(), bytes[100..].as_ptr(), "no copy");
    assert_eq!(scratch.capacity(), 0, "the scratch buffer is not used");
    assert!(b.read_frame(990, 50, &mut scratch).await.is_err());
    assert_eq!(read_all(&mut b, 995, 100).await, &data(1000)[995..]);
    assert_eq!(b.read_at(u64::MAX, &mut [0; 4]).await.unwrap(), 0);
}

#[tokio::test]
async fn a_file_is_read_at_any_offset_and_changes_are_noticed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.bin");
    let bytes = data(300_000);
    std::fs::write(&path, &bytes).unwrap();
    let mut s = FileSource::open(&path).await.unwrap();
    assert_eq!(s.len(), Some(300_000));
    assert_eq!(s.fingerprint().unwrap().size, 300_000);
    assert_eq!(
        read_all(&mut s, 200_000, 1000).await,
        &bytes[200_000..201_000]
    );
    assert_eq!(read_all(&mut s, 5, 10).await, &bytes[5..15]);
    let mut scratch = BytesMut::new();
    let frame = s.read_frame(299_000, 1000, &mut scratch).await.unwrap();
    assert_eq!(frame, &bytes[299_000..]);
    assert!(s.read_frame(299_500, 1000, &mut scratch).await.is_err());
    assert!(s.is_unchanged().await.unwrap());
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .and_then(|mut f| io::Write::write_all(&mut f, b"more"))
        .unwrap();
    assert!(
        !s.is_unchanged().await.unwrap(),
        "a file that grew is refused"
    );
}

#[tokio::test]
async fn missing_files_and_directories_are_refused_with_their_path() {
    let dir = tempfile::tempdir().unwrap();
    let err = FileSource::open(dir.path()).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::IsADirectory);
    assert!(err.to_string().contains("not a regular file"), "{err}");
    assert!(
        err.to_string().contains(&dir.path().display().to_string()),
        "{err}"
    );
    let missing = dir.path().join("missing.bin");
    let err = FileSource::open(&missing).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(err.to_string().contains("missing.bin"), "{err}");
}
