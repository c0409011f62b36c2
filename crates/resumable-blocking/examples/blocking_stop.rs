//! Stops an upload from another thread with its `StopHandle` (as a Ctrl-C
//! handler would), then runs it again: it resumes from its checkpoint.
//!
//! ```sh
//! cargo run -p resumable-blocking --example blocking_stop                  # against an emulator
//! FILE_API_URL=… FILE_API_ORG=… FILE_API_KEY=… \
//!     cargo run -p resumable-blocking --example blocking_stop -- big.bin
//! ```

use std::error::Error;
use std::path::PathBuf;
use std::sync::mpsc;

use resumable_blocking::{
    CheckpointStore, Chunking, Event, FileCheckpointStore, UploadError, Uploader, checkpoint_key,
};
use resumable_testkit::ExampleSite;

fn main() -> Result<(), Box<dyn Error>> {
    run(std::env::args_os().skip(1).map(PathBuf::from).collect()).map(|_| ())
}

/// Uploads the first of `files` (none: a sample to an emulator whose
/// fourth chunk is slow, so the stop lands mid-way), stopping it once a
/// quarter is stored, then resuming it. Returns whether the stop landed
/// before the upload ended.
fn run(files: Vec<PathBuf>) -> Result<bool, Box<dyn Error>> {
    let site = ExampleSite::new(files, &[4 << 20], "chunk#4 stall=1s")?;
    let file = site.files.first().ok_or("no file")?.clone();
    let checkpoints = tempfile::tempdir()?;
    let uploader = || -> Result<_, Box<dyn Error>> {
        Ok(Uploader::new()
            .chunking(Chunking::Fixed(256 << 10))
            .checkpoint_store(FileCheckpointStore::new(checkpoints.path())?))
    };

    let (quarter, stored_a_quarter) = mpsc::channel();
    let mut first = uploader()?.on_event(move |event| {
        if let Event::Persisted {
            offset,
            total: Some(total),
        } = event
            && offset * 4 >= *total
        {
            let _ = quarter.send(());
        }
    });
    let stop = first.stop_handle();
    let (api, path) = (site.api.clone(), file.clone());
    let worker = std::thread::spawn(move || first.upload_file(&api, &path));
    if stored_a_quarter.recv().is_ok() {
        stop.stop();
    }
    let stopped = match worker.join().map_err(|_| "the upload thread panicked")? {
        Err(UploadError::Interrupted) => true,
        Ok(_) => false,
        Err(e) => return Err(e.into()),
    };
    println!(
        "{}",
        if stopped {
            "stopped; the checkpoint is kept"
        } else {
            "it finished before the stop landed"
        }
    );

    let key = checkpoint_key(&site.api, &file);
    if let Some(checkpoint) = FileCheckpointStore::new(checkpoints.path())?.load(&key)? {
        println!("resuming at byte {}", checkpoint.persisted);
    }
    let outcome = uploader()?.upload_file(&site.api, &file)?;
    site.done(&file, &outcome)?;
    Ok(stopped)
}

#[cfg(test)]
mod tests {
    #[test]
    fn stops_then_resumes_against_an_emulator() {
        // The emulator's slow fourth chunk holds the upload past the stop.
        assert!(super::run(Vec::new()).unwrap(), "the stop landed mid-way");
    }
}
