//! Where the drivers' examples upload: the file API the environment names,
//! with the files given, or, given none, an emulator in this process with
//! sample files, so that every example runs (and is tested) as it is.

use std::error::Error;
use std::path::PathBuf;

use resumable_emulator::{Emulator, EmulatorHandle, Storage};
use resumable_local::{FileApiTarget, Outcome, Secret};

/// A file API to upload to, and the files to upload.
#[derive(Debug)]
pub struct ExampleSite {
    /// The file API, organization and key.
    pub api: FileApiTarget,
    /// The files.
    pub files: Vec<PathBuf>,
    /// The emulator, when the site is one.
    emulator: Option<EmulatorHandle>,
    /// The sample files' directory, removed with the site.
    _samples: Option<tempfile::TempDir>,
}

impl ExampleSite {
    /// With `files`: the file API at `FILE_API_URL`, for `FILE_API_ORG`,
    /// with the key in `FILE_API_KEY`. Without: an emulator on loopback
    /// with the fault rules `faults` (see the emulator's fault spec) and a
    /// sample file of each of `sizes` bytes.
    ///
    /// # Errors
    /// When a variable is missing, or the emulator or a sample cannot be
    /// made.
    pub fn new(files: Vec<PathBuf>, sizes: &[usize], faults: &str) -> Result<Self, Box<dyn Error>> {
        if !files.is_empty() {
            let var = |name: &str| {
                std::env::var(name).map_err(|_| format!("set {name} to upload the files given"))
            };
            return Ok(Self {
                api: FileApiTarget::new(
                    var("FILE_API_URL")?,
                    var("FILE_API_ORG")?,
                    Secret::new(var("FILE_API_KEY")?),
                ),
                files,
                emulator: None,
                _samples: None,
            });
        }
        let emulator = Emulator::builder()
            .storage(Storage::Memory)
            .faults(faults)
            .start_in_background()?;
        let dir = tempfile::tempdir()?;
        let mut files = Vec::new();
        for (i, size) in sizes.iter().enumerate() {
            let path = dir.path().join(format!("sample-{i}.bin"));
            let bytes: Vec<u8> = (0..*size).map(|n| (n.wrapping_mul(31) ^ i) as u8).collect();
            std::fs::write(&path, bytes)?;
            files.push(path);
        }
        eprintln!(
            "no files given: uploading {} samples to an emulator at {}",
            files.len(),
            emulator.base_url()
        );
        Ok(Self {
            api: FileApiTarget::new(
                emulator.base_url(),
                "org_example",
                Secret::new(emulator.api_key()),
            ),
            files,
            emulator: Some(emulator),
            _samples: Some(dir),
        })
    }

    /// Says `file` is done, with its File's id. On the emulator, first
    /// checks that `outcome`'s object holds the bytes of `file` exactly
    /// (elsewhere there is nothing to check it against).
    ///
    /// # Errors
    /// When nothing was registered, or the object is missing or differs.
    pub fn done(&self, file: &std::path::Path, outcome: &Outcome) -> Result<(), Box<dyn Error>> {
        let registered = outcome.file.as_ref().ok_or("nothing registered")?;
        println!("{}: registered as {}", file.display(), registered.id);
        let Some(emulator) = &self.emulator else {
            return Ok(());
        };
        let gcs_path = registered.fields["gcs_path"]
            .as_str()
            .ok_or("no gcs_path")?;
        if emulator.object_bytes(gcs_path)? != std::fs::read(file)? {
            return Err(format!("the stored object is not {}", file.display()).into());
        }
        Ok(())
    }
}
