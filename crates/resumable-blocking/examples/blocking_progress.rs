//! Uploads files through the file API with a progress bar each. The bar
//! starts where the transfer starts (`Event::TransferStarted`): a resumed
//! upload's stored bytes are not taken for speed.
//!
//! ```sh
//! cargo run -p resumable-blocking --example blocking_progress              # against an emulator
//! FILE_API_URL=… FILE_API_ORG=… FILE_API_KEY=… \
//!     cargo run -p resumable-blocking --example blocking_progress -- a.bin b.bin
//! ```

use std::error::Error;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use resumable_blocking::{Chunking, Event, FileApiTarget, Outcome, Uploader};
use resumable_testkit::ExampleSite;

fn main() -> Result<(), Box<dyn Error>> {
    run(std::env::args_os().skip(1).map(PathBuf::from).collect())
}

/// Uploads `files` (none: samples to an emulator that fails a chunk once).
fn run(files: Vec<PathBuf>) -> Result<(), Box<dyn Error>> {
    let site = ExampleSite::new(files, &[3 << 20, 1 << 20], "chunk#2 status=503")?;
    for file in &site.files {
        let outcome = upload(&site.api, file)?;
        site.done(file, &outcome)?;
    }
    Ok(())
}

/// Uploads `file`, drawing its progress as the server stores it.
fn upload(api: &FileApiTarget, file: &Path) -> Result<Outcome, Box<dyn Error>> {
    let bar = ProgressBar::new(std::fs::metadata(file)?.len());
    bar.set_style(ProgressStyle::with_template(
        "{msg:>16} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
    )?);
    bar.set_message(
        file.file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned(),
    );
    let shown = bar.clone();
    let mut uploader = Uploader::new()
        .chunking(Chunking::Fixed(256 << 10))
        .on_event(move |event| match event {
            Event::TransferStarted { offset, .. } => {
                shown.set_position(*offset);
                shown.reset_eta();
            }
            Event::Persisted { offset, .. } => shown.set_position(*offset),
            Event::Retrying { cause, after, .. } => {
                shown.println(format!("{cause}; retrying in {after:?}"));
            }
            _ => {}
        });
    let outcome = uploader.upload_file(api, file)?;
    bar.finish();
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    #[test]
    fn uploads_samples_to_an_emulator() {
        super::run(Vec::new()).unwrap();
    }
}
