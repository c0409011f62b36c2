//! The record of finished uploads: running a batch again after an
//! interruption skips the files it already uploaded, unchanged, to the same
//! place, instead of registering them twice.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use resumable_core::Fingerprint;
use serde::{Deserialize, Serialize};

/// One finished upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Uploaded {
    /// The checkpoint key: API, organization and canonical path.
    pub(crate) key: String,
    /// The file as it was uploaded.
    pub(crate) fingerprint: Fingerprint,
    /// The registered File's id.
    pub(crate) file_id: String,
    /// Where the object is stored.
    pub(crate) gcs_path: Option<String>,
}

/// Finished uploads, one small JSON file per key under the state directory.
#[derive(Debug, Clone)]
pub(crate) struct Ledger {
    dir: PathBuf,
}

impl Ledger {
    /// The ledger under `state_dir`.
    pub(crate) fn new(state_dir: &Path) -> Self {
        Self {
            dir: state_dir.join("uploaded"),
        }
    }

    fn path_for(&self, key: &str) -> PathBuf {
        self.dir
            .join(format!("{:08x}.json", crc32c::crc32c(key.as_bytes())))
    }

    /// The finished upload of `key`, if the file is still as it was then.
    /// An unreadable record counts as none.
    pub(crate) fn lookup(&self, key: &str, fingerprint: &Fingerprint) -> Option<Uploaded> {
        let text = fs::read(self.path_for(key)).ok()?;
        let record: Uploaded = serde_json::from_slice(&text).ok()?;
        (record.key == key && record.fingerprint == *fingerprint).then_some(record)
    }

    /// Records a finished upload, replacing any earlier one of its key.
    pub(crate) fn record(&self, record: &Uploaded) -> io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        let json = serde_json::to_vec(record).map_err(io::Error::other)?;
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
        tmp.write_all(&json)?;
        tmp.persist(self.path_for(&record.key))
            .map_err(|e| e.error)?;
        Ok(())
    }

    /// Forgets the finished upload of `key`.
    pub(crate) fn forget(&self, key: &str) -> io::Result<()> {
        match fs::remove_file(self.path_for(key)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    #[test]
    fn finds_an_unchanged_file_only() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::new(dir.path());
        let fp = Fingerprint {
            size: 10,
            modified: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
        };
        let record = Uploaded {
            key: "api|org|/a.bin".into(),
            fingerprint: fp,
            file_id: "file_1".into(),
            gcs_path: Some("files/org/file_1/a.bin".into()),
        };
        assert_eq!(ledger.lookup(&record.key, &fp), None);
        ledger.record(&record).unwrap();
        assert_eq!(ledger.lookup(&record.key, &fp), Some(record.clone()));
        let touched = Fingerprint {
            modified: Some(SystemTime::UNIX_EPOCH),
            ..fp
        };
        assert_eq!(ledger.lookup(&record.key, &touched), None);
        assert_eq!(ledger.lookup("api|org|/b.bin", &fp), None);
        ledger.forget(&record.key).unwrap();
        ledger.forget(&record.key).unwrap();
        assert_eq!(ledger.lookup(&record.key, &fp), None);
    }
}
