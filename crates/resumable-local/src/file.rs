//! Files on disk: positional reads, the fingerprint that tells a changed
//! file from the one an upload began with, and the MIME type of a path.

use std::fs::{File, Metadata};
use std::io;
use std::path::Path;

use resumable_core::Fingerprint;

/// The fingerprint of a file with this metadata: its size and modification
/// time. Both drivers' file sources store it in their checkpoints, so a
/// caller that compares a file with a checkpoint (or with an upload it
/// recorded) takes it from `std::fs::metadata` and gets the same answer.
pub fn fingerprint(meta: &Metadata) -> Fingerprint {
    Fingerprint {
        size: meta.len(),
        modified: meta.modified().ok(),
    }
}

/// The MIME type for `path`'s extension, `application/octet-stream` when
/// unknown: what a file is registered as unless the caller names a type.
pub fn guess_mime(path: &Path) -> String {
    mime_guess::from_path(path)
        .first_or_octet_stream()
        .essence_str()
        .to_owned()
}

/// A regular file, read with positional reads (no seek, no shared cursor):
/// no copy beyond the caller's buffer.
///
/// Its [`Fingerprint`] is taken when it is opened. The blocking driver
/// reads it as a `Source` directly; the tokio driver runs the same calls on
/// its blocking threads. Its methods answer what the drivers' source traits
/// ask, with the same signatures.
#[derive(Debug)]
pub struct FileSource {
    file: File,
    fingerprint: Fingerprint,
}

impl FileSource {
    /// Opens a regular file. A directory, a missing or unreadable file fail
    /// here, with the path in the message.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref();
        let with_path = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
        Self::new(File::open(path).map_err(with_path)?).map_err(with_path)
    }

    /// Wraps an open file, which must be a regular file. Reads start
    /// wherever the caller asks, not at the file's current position.
    pub fn new(file: File) -> io::Result<Self> {
        let fingerprint = fingerprint_of(&file)?;
        Ok(Self { file, fingerprint })
    }

    /// The length the file had when it was opened; always known.
    pub fn len(&self) -> Option<u64> {
        Some(self.fingerprint.size)
    }

    /// Whether the file was empty when it was opened.
    pub fn is_empty(&self) -> bool {
        self.fingerprint.size == 0
    }

    /// Reads bytes starting at `offset` into `buf`; returns how many, 0 only
    /// at the end of the file.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        read_file_at(&self.file, offset, buf)
    }

    /// The file's fingerprint when it was opened; always known. A
    /// checkpoint keeps it, so a resume refuses a file changed since.
    pub fn fingerprint(&self) -> Option<Fingerprint> {
        Some(self.fingerprint)
    }

    /// Whether the file still has the size and modification time it had
    /// when it was opened. A driver asks before each data request and
    /// before register, and ends the upload when it has changed.
    pub fn is_unchanged(&self) -> io::Result<bool> {
        Ok(fingerprint_of(&self.file)? == self.fingerprint)
    }
}

fn fingerprint_of(file: &File) -> io::Result<Fingerprint> {
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a directory, not a regular file",
        ));
    }
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(fingerprint(&meta))
}

#[cfg(unix)]
fn read_file_at(file: &File, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_file_at(file: &File, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

#[cfg(not(any(unix, windows)))]
fn read_file_at(mut file: &File, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
    use std::io::{Read, Seek};
    file.seek(io::SeekFrom::Start(offset))?;
    file.read(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_source_reads_and_notices_changes() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, b"0123456789").unwrap();
        let s = FileSource::open(f.path()).unwrap();
        assert_eq!(s.len(), Some(10));
        let mut four = [0; 4];
        assert_eq!(s.read_at(3, &mut four).unwrap(), 4);
        assert_eq!(&four, b"3456");
        assert_eq!(
            s.read_at(10, &mut four).unwrap(),
            0,
            "the end reads nothing"
        );
        assert!(s.is_unchanged().unwrap());
        std::io::Write::write_all(&mut f, b"more").unwrap();
        assert!(!s.is_unchanged().unwrap(), "a file that grew is refused");
        let dir = tempfile::tempdir().unwrap();
        assert!(
            FileSource::open(dir.path()).is_err(),
            "a directory is refused"
        );
        assert!(FileSource::open(dir.path().join("missing")).is_err());
    }
}
