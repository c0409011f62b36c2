//! `resumable demo`: the whole flow against an embedded emulator with
//! scripted faults, on loopback, with nothing to set up.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::HumanBytes;
use resumable_blocking::FileApiTarget;
use resumable_core::{CHUNK_GRANULARITY, Chunking, RetryPolicy, Secret, round_chunk_size};
use resumable_emulator::{Emulator, Storage};
use serde_json::json;

use crate::args::DemoArgs;
use crate::commands::upload::{FileResult, Settings, upload_files};
use crate::exit::{CliError, Exit};
use crate::output::Console;
use crate::sources::Job;

/// The faults the demo recovers from unless told otherwise: a 503 on a
/// chunk, a connection reset mid-chunk, a 429 with `Retry-After: 1`, and a
/// final response lost after the object was stored.
pub(crate) const DEFAULT_FAULTS: &str = "chunk#2 status=503; chunk#4 reset after=100KiB; \
                                         chunk#6 status=429 retry-after=1; final#1 drop-response";

/// Retries as usual, but quicker, so the demo spends its time on bytes.
const DEMO_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 10,
    max_elapsed: Duration::from_secs(120),
    initial_delay: Duration::from_millis(250),
    max_delay: Duration::from_secs(4),
};

/// Runs `resumable demo`.
pub(crate) fn run(args: DemoArgs, console: &Arc<Console>) -> Result<Exit, CliError> {
    if args.size == 0 {
        return Err(CliError::Usage("--size must be at least 1 byte".into()));
    }
    let faults = match args.faults.as_deref().map(str::trim) {
        None => DEFAULT_FAULTS,
        Some("none") => "",
        Some(spec) => spec,
    };
    let chunk = round_chunk_size(
        args.chunk_size
            .unwrap_or_else(|| (args.size / 32).clamp(CHUNK_GRANULARITY, 8 << 20)),
    );
    let work = tempfile::Builder::new()
        .prefix("resumable-demo-")
        .tempdir()
        .map_err(|e| CliError::Failed(format!("cannot make a temporary directory: {e}")))?;
    let emu = Emulator::builder()
        .storage(Storage::Disk(work.path().join("emulator")))
        .faults(faults)
        .start_in_background()
        .map_err(|e| match e {
            resumable_emulator::Error::FaultSpec(e) => CliError::Usage(format!("--faults: {e}")),
            e => CliError::Failed(format!("cannot start the emulator: {e}")),
        })?;
    console.note(&format!("emulator listening on {}", emu.base_url()));
    for rule in emu.faults().rules() {
        console.note(&format!("  scripted fault: {rule}"));
    }

    let sample = work.path().join("sample.bin");
    let started = Instant::now();
    let crc = write_sample(&sample, args.size).map_err(|e| {
        CliError::Failed(format!(
            "cannot write the sample file {}: {e}",
            sample.display()
        ))
    })?;
    console.note(&format!(
        "wrote a {} sample file in {:.1} s: {}",
        HumanBytes(args.size),
        started.elapsed().as_secs_f64(),
        sample.display()
    ));

    let settings = Settings {
        api: FileApiTarget {
            api_base: emu.base_url().to_owned(),
            organization: "org_demo".into(),
            api_key: Secret::new(emu.api_key()),
            mime_type: None,
            filename: None,
        },
        chunking: Chunking::Fixed(chunk),
        retry: DEMO_RETRY,
        transport: resumable_blocking::UreqTransport::default(),
        state_dir: work.path().join("state"),
        restart: false,
        allow_insecure_http: false,
        key_source: "the emulator's key".into(),
    };
    let started = Instant::now();
    let files = [Job {
        name: "sample.bin".into(),
        ..Job::new(sample.clone())
    }];
    let mut reports = upload_files(&settings, &files, 1, console, &|_| {
        "`resumable demo`".into()
    });
    let elapsed = started.elapsed();
    let Some(report) = reports.pop() else {
        return Ok(Exit::Failed);
    };
    let outcome = match report.result {
        FileResult::Done(outcome) => outcome,
        FileResult::Failed(_) | FileResult::Skipped(_) | FileResult::Busy { .. } => {
            return Ok(Exit::Failed);
        }
        FileResult::Interrupted => {
            console.warn("interrupted: the demo's temporary files are removed");
            return Ok(Exit::Interrupted);
        }
    };
    let Some(file) = outcome.file.as_ref() else {
        return Err(CliError::Failed("the upload registered no File".into()));
    };

    // Check the stored object independently of the client's own check.
    let gcs_path = file
        .fields
        .get("gcs_path")
        .and_then(|p| p.as_str())
        .unwrap_or_default();
    let stored = emu
        .object(gcs_path)
        .ok_or_else(|| CliError::Failed(format!("the emulator holds no object at {gcs_path:?}")))?;
    if stored.size != args.size || stored.crc32c != crc {
        return Err(CliError::Failed(format!(
            "verification failed: the stored object has {} bytes with CRC32C {:08x}, the file \
             {} bytes with CRC32C {crc:08x}",
            stored.size, stored.crc32c, args.size
        )));
    }

    let seconds = elapsed.as_secs_f64();
    let rate = args.size as f64 / (1024.0 * 1024.0) / seconds.max(1e-9);
    console.emit(&json!({
        "type": "demo",
        "registered": file,
        "bytes": args.size,
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "mib_per_s": (rate * 10.0).round() / 10.0,
        "retries": report.retries,
        "restarts": outcome.restarts,
        "verified": true,
    }));
    let pretty = serde_json::to_string_pretty(file).unwrap_or_else(|_| file.id.clone());
    console.print("registered File:");
    for line in pretty.lines() {
        console.print(&format!("  {line}"));
    }
    console.print(&format!(
        "{} in {seconds:.1} s ({rate:.1} MiB/s), {} retries, {} session restarts; \
         the stored object matches the file (size, and CRC32C {})",
        HumanBytes(args.size),
        report.retries,
        outcome.restarts,
        resumable_core::crc32c_base64(crc),
    ));
    drop(emu);
    if args.keep {
        let kept: PathBuf = work.keep();
        console.note(&format!(
            "kept: the sample file {} and the emulator's storage {}",
            kept.join("sample.bin").display(),
            kept.join("emulator").display()
        ));
    }
    Ok(Exit::Done)
}

/// Writes `size` bytes of sample data to `path` and returns their CRC32C.
/// A pseudo-random 1 MiB block is made once and written again and again,
/// each copy stamped with its index, so no two MiB are alike and writing
/// costs no per-byte randomness.
fn write_sample(path: &Path, size: u64) -> io::Result<u32> {
    const BLOCK: usize = 1 << 20;
    let mut block = vec![0u8; BLOCK];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for word in block.chunks_exact_mut(8) {
        // xorshift64: cheap, and plenty for bytes no compressor will shrink.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        word.copy_from_slice(&x.to_le_bytes());
    }
    let mut file = File::create(path)?;
    let mut crc = 0;
    let mut written = 0u64;
    let mut index = 0u64;
    while written < size {
        block[..8].copy_from_slice(&index.to_le_bytes());
        let n = usize::try_from(size - written).map_or(BLOCK, |left| left.min(BLOCK));
        file.write_all(&block[..n])?;
        crc = crc32c::crc32c_append(crc, &block[..n]);
        written += n as u64;
        index += 1;
    }
    file.flush()?;
    Ok(crc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_has_its_size_and_checksum_and_no_repeated_mebibyte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.bin");
        let size = (2 << 20) + 5;
        let crc = write_sample(&path, size).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len() as u64, size);
        assert_eq!(crc, crc32c::crc32c(&bytes));
        assert_ne!(bytes[..1 << 20], bytes[1 << 20..2 << 20]);
    }

    #[test]
    fn the_default_faults_parse() {
        let plan: resumable_emulator::FaultPlan = DEFAULT_FAULTS.parse().unwrap();
        assert_eq!(plan.rules().count(), 4);
    }
}
