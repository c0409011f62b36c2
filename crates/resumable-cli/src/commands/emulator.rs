//! `resumable emulator`: the emulator library's server, run until Ctrl-C.

use std::sync::Arc;
use std::time::Duration;

use resumable_emulator::{Emulator, Storage};
use serde_json::json;

use crate::args::{EmulatorArgs, StorageKind};
use crate::exit::{CliError, Exit};
use crate::interrupt::Interrupt;
use crate::output::Console;

/// Runs `resumable emulator`.
pub(crate) fn run(args: EmulatorArgs, console: &Arc<Console>) -> Result<Exit, CliError> {
    let storage = match (args.storage, args.dir) {
        (StorageKind::Disk, Some(dir)) => Storage::Disk(dir),
        (StorageKind::Disk, None) => Storage::TempDir,
        (StorageKind::Memory, _) => Storage::Memory,
        (StorageKind::Sink, _) => Storage::Sink,
    };
    let mut builder = Emulator::builder()
        .addr(args.addr)
        .storage(storage)
        .api_key(args.api_key);
    if let Some(spec) = &args.faults {
        builder = builder.faults(spec.as_str());
    }
    if let Some(seed) = args.seed {
        builder = builder.seed(seed);
    }
    if let Some(bytes) = args.max_file_size {
        builder = builder.max_file_size(bytes);
    }
    if let Some(secs) = args.session_lifetime {
        builder = builder.session_lifetime(Duration::from_secs(secs));
    }
    let mut buckets = args.bucket.into_iter();
    if let Some(default) = buckets.next() {
        builder = builder.bucket(default);
    }
    for bucket in buckets {
        builder = builder.add_bucket(bucket);
    }
    let interrupt = Interrupt::get(console, "stopping the emulator");
    let emu = builder.start_in_background().map_err(|e| match e {
        resumable_emulator::Error::FaultSpec(e) => CliError::Usage(format!("--faults: {e}")),
        e @ resumable_emulator::Error::BadBucket(..) => CliError::Usage(format!("--bucket: {e}")),
        e => CliError::Failed(format!("cannot start the emulator: {e}")),
    })?;
    console.emit(&json!({
        "type": "listening",
        "base_url": emu.base_url(),
        "api_key": emu.api_key(),
        "bucket": emu.bucket(),
        "buckets": emu.buckets(),
        "seed": emu.seed(),
    }));
    console.print(emu.base_url());
    console.note(&format!(
        "emulator listening on {} (key {:?}, bucket {}, seed {}{}); Ctrl-C to stop",
        emu.base_url(),
        emu.api_key(),
        emu.bucket(),
        emu.seed(),
        emu.storage_dir()
            .map(|d| format!(", storage {}", d.display()))
            .unwrap_or_default()
    ));
    for rule in emu.faults().rules() {
        console.note(&format!("fault rule: {rule}"));
    }
    console.note(&format!(
        "try: FREDDY_API_KEY={} resumable upload FILE --org org_1 --api-url {}",
        emu.api_key(),
        emu.base_url()
    ));
    interrupt.wait();
    drop(emu);
    Ok(Exit::Done)
}
