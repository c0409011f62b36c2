//! One large upload (100 MiB) over real sockets, verified by the size and
//! CRC32C the emulator computed, without holding the data in memory: the
//! file is written in blocks generated on the fly, and the emulator keeps
//! only sizes and checksums.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(feature = "hyper")]

use std::io::Write as _;

use resumable_core::Secret;
use resumable_emulator::{Emulator, Storage};
use resumable_tokio::{FileApiTarget, Uploader};

const SIZE: u64 = 100 * 1024 * 1024 + 12_345;

/// Writes `size` pseudo-random bytes to a file, one block at a time, and
/// returns their CRC32C.
fn write_generated(path: &std::path::Path, size: u64) -> u32 {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut block = vec![0u8; 1 << 20];
    let mut crc = 0;
    let mut left = size;
    while left > 0 {
        for word in block.chunks_mut(8) {
            // xorshift64: cheap, and no two blocks are alike.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes()[..word.len()]);
        }
        let n = usize::try_from(left.min(block.len() as u64)).unwrap();
        crc = crc32c::crc32c_append(crc, &block[..n]);
        file.write_all(&block[..n]).unwrap();
        left -= n as u64;
    }
    file.flush().unwrap();
    crc
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mib_file_arrives_whole() {
    let emu = Emulator::builder()
        .storage(Storage::Sink)
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.bin");
    let crc = write_generated(&path, SIZE);
    let api = FileApiTarget {
        api_base: emu.base_url().into(),
        organization: "org_1".into(),
        api_key: Secret::new(emu.api_key()),
        mime_type: None,
        filename: None,
    };
    let outcome = Uploader::new().upload_file(&api, &path).await.unwrap();
    assert_eq!(outcome.crc32c, Some(crc));
    let gcs_path = outcome.file.unwrap().fields["gcs_path"]
        .as_str()
        .unwrap()
        .to_owned();
    let object = emu.object(&gcs_path).unwrap();
    assert_eq!(object.size, SIZE);
    assert_eq!(object.crc32c, crc);
    // Chunks of the recommended 5 MiB: 21 data requests.
    let chunks = emu
        .request_log()
        .iter()
        .filter(|r| r.kind.is_upload_endpoint())
        .count();
    assert_eq!(chunks, 21);
}
