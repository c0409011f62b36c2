//! A checkpoint file's JSON, in either layout: read without panicking, and
//! whatever reads is written back to the same checkpoint.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resumable_core::Checkpoint;

fuzz_target!(|data: &[u8]| {
    if let Ok(checkpoint) = serde_json::from_slice::<Checkpoint>(data) {
        let written = serde_json::to_vec(&checkpoint).expect("a checkpoint serializes");
        let read: Checkpoint = serde_json::from_slice(&written).expect("what was written reads");
        assert_eq!(read, checkpoint);
    }
});
