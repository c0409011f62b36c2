//! Uploads several files at once, one thread each, over one transport:
//! clones of a `UreqTransport` share its connection pool (and its timeouts
//! and trusted roots).
//!
//! ```sh
//! cargo run -p resumable-blocking --example blocking_many_files            # against an emulator
//! FILE_API_URL=… FILE_API_ORG=… FILE_API_KEY=… \
//!     cargo run -p resumable-blocking --example blocking_many_files -- *.bin
//! ```

use std::error::Error;
use std::path::PathBuf;
use std::time::Duration;

use resumable_blocking::{UploadError, Uploader, UreqTransport};
use resumable_testkit::ExampleSite;

fn main() -> Result<(), Box<dyn Error>> {
    run(std::env::args_os().skip(1).map(PathBuf::from).collect())
}

/// Uploads `files` side by side (none: samples to an emulator that resets
/// one connection mid-chunk).
fn run(files: Vec<PathBuf>) -> Result<(), Box<dyn Error>> {
    let site = ExampleSite::new(
        files,
        &[1 << 20, 600_000, 5, 2 << 20],
        "chunk#3 reset after=100KiB",
    )?;
    let transport = UreqTransport::builder()
        .connect_timeout(Duration::from_secs(10))
        .stall_timeout(Duration::from_secs(30))
        .build();
    let outcomes = std::thread::scope(|scope| {
        let uploads: Vec<_> = site
            .files
            .iter()
            .map(|file| {
                let mut uploader = Uploader::with_transport(transport.clone());
                let api = &site.api;
                scope.spawn(move || uploader.upload_file(api, file))
            })
            .collect();
        uploads
            .into_iter()
            .map(|upload| {
                upload
                    .join()
                    .unwrap_or_else(|_| Err(UploadError::DriverBug("panicked".into())))
            })
            .collect::<Vec<_>>()
    });
    for (file, outcome) in site.files.iter().zip(outcomes) {
        let outcome = outcome?;
        site.done(file, &outcome)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn uploads_samples_side_by_side_to_an_emulator() {
        super::run(Vec::new()).unwrap();
    }
}
