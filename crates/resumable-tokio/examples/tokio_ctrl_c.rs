//! Stops an upload on Ctrl-C with `tokio::select!`: the upload's future is
//! dropped, its checkpoint (as of the last stored chunk) is kept, and the
//! same upload run again resumes from it.
//!
//! ```sh
//! cargo run -p resumable-tokio --example tokio_ctrl_c                   # against an emulator; press Ctrl-C
//! FILE_API_URL=… FILE_API_ORG=… FILE_API_KEY=… \
//!     cargo run -p resumable-tokio --example tokio_ctrl_c -- big.bin
//! ```

use std::error::Error;
use std::future::Future;
use std::path::PathBuf;

use resumable_testkit::ExampleSite;
use resumable_tokio::{
    CheckpointStore, Chunking, Event, FileCheckpointStore, Uploader, checkpoint_key,
};
use tokio::sync::watch;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let files = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let ctrl_c = |_stored| async {
        let _ = tokio::signal::ctrl_c().await;
    };
    run(files, ctrl_c).await.map(|_| ())
}

/// Uploads the first of `files` (none: a sample to an emulator that is
/// slow from the third chunk on) until `stop` (given the bytes stored so
/// far, as they change) ends, then again: it resumes. Returns whether
/// `stop` ended before the upload.
async fn run<F, S>(files: Vec<PathBuf>, stop: S) -> Result<bool, Box<dyn Error>>
where
    S: FnOnce(watch::Receiver<u64>) -> F,
    F: Future<Output = ()>,
{
    let site = ExampleSite::new(files, &[4 << 20], "chunk#3- stall=100ms")?;
    let file = site.files.first().ok_or("no file")?.clone();
    let checkpoints = tempfile::tempdir()?;
    let (stored, stored_now) = watch::channel(0);
    let mut uploader = Uploader::new()
        .chunking(Chunking::Fixed(256 << 10))
        .checkpoint_store(FileCheckpointStore::new(checkpoints.path())?)
        .on_event(move |event| {
            if let Event::Persisted { offset, .. } = event {
                let _ = stored.send(*offset);
            }
        });
    tokio::select! {
        outcome = uploader.upload_file(&site.api, &file) => {
            let outcome = outcome?;
            site.done(&file, &outcome)?;
            println!("done before any Ctrl-C");
            return Ok(false);
        }
        () = stop(stored_now) => println!("stopped: the upload's future is dropped"),
    }
    drop(uploader);

    let key = checkpoint_key(&site.api, &file);
    if let Some(checkpoint) = FileCheckpointStore::new(checkpoints.path())?.load(&key)? {
        println!(
            "its checkpoint is kept: resuming at byte {}",
            checkpoint.persisted
        );
    }
    let mut again = Uploader::new()
        .chunking(Chunking::Fixed(256 << 10))
        .checkpoint_store(FileCheckpointStore::new(checkpoints.path())?);
    let outcome = again.upload_file(&site.api, &file).await?;
    site.done(&file, &outcome)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_stop_mid_way_then_a_resume_against_an_emulator() {
        // Stands in for Ctrl-C: stops once half a mebibyte is stored.
        let half_a_mib = |mut stored: tokio::sync::watch::Receiver<u64>| async move {
            let _ = stored.wait_for(|n| *n >= 512 << 10).await;
        };
        assert!(
            super::run(Vec::new(), half_a_mib).await.unwrap(),
            "stopped mid-way"
        );
    }
}
