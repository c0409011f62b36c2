//! `resumable http upload` killed with SIGKILL at several points of a
//! 64 MiB upload to the emulator's IETF draft mode, and run again each
//! time: the upload finishes byte-identical, in the one upload resource it
//! created first, and its checkpoint is gone.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use resumable_emulator::IetfStatus;
use support::crash::{Protocol, killed_at_several_points_it_finishes_intact as crash};

#[test]
fn killed_at_several_points_it_finishes_intact_in_one_upload() {
    crash(&Protocol {
        command: ["http", "upload"],
        slow_appends: "ietf-patch stall=20ms",
        endpoint: |emu| emu.ietf_endpoint(),
        offsets: |emu| emu.ietf_uploads().iter().map(|u| u.offset).collect(),
        stored: |emu| {
            let uploads = emu.ietf_uploads();
            assert_eq!(uploads.len(), 1, "{uploads:?}");
            assert_eq!(uploads[0].state, IetfStatus::Complete);
            emu.ietf_upload_bytes(&uploads[0].url).unwrap()
        },
    });
}
