//! Uploads several files at once, a task each, over one transport: clones
//! of a `HyperTransport` share its connection pool (HTTP/2 where the server
//! speaks it).
//!
//! ```sh
//! cargo run -p resumable-tokio --example tokio_many_files               # against an emulator
//! FILE_API_URL=… FILE_API_ORG=… FILE_API_KEY=… \
//!     cargo run -p resumable-tokio --example tokio_many_files -- *.bin
//! ```

use std::error::Error;
use std::path::PathBuf;
use std::time::Duration;

use resumable_testkit::ExampleSite;
use resumable_tokio::{HyperTransport, Uploader};
use tokio::task::JoinSet;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    run(std::env::args_os().skip(1).map(PathBuf::from).collect()).await
}

/// Uploads `files` side by side (none: samples to an emulator that resets
/// one connection mid-chunk).
async fn run(files: Vec<PathBuf>) -> Result<(), Box<dyn Error>> {
    let site = ExampleSite::new(
        files,
        &[1 << 20, 600_000, 5, 2 << 20],
        "chunk#3 reset after=100KiB",
    )?;
    let transport = HyperTransport::new(Duration::from_secs(10))?;
    let mut uploads = JoinSet::new();
    for file in site.files.clone() {
        let (api, transport) = (site.api.clone(), transport.clone());
        uploads.spawn(async move {
            let outcome = Uploader::with_transport(transport)
                .upload_file(&api, &file)
                .await;
            (file, outcome)
        });
    }
    while let Some(done) = uploads.join_next().await {
        let (file, outcome) = done?;
        let outcome = outcome?;
        site.done(&file, &outcome)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn uploads_samples_side_by_side_to_an_emulator() {
        super::run(Vec::new()).await.unwrap();
    }
}
