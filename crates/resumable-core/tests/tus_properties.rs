//! Property tests for tus: for any fault script of the sim's tus server
//! (and crashes of the client), the server ends up holding exactly the
//! source in one complete upload, the client breaks no protocol rule, the
//! persisted offset never goes backwards, or the upload fails with a budget
//! error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim;

use proptest::prelude::*;
use resumable_core::{Chunking, Config, Error, Purpose, RetryPolicy, TusCreate};
use resumable_sim::{TUS_ENDPOINT, TusOptions};
use sim::{TusFault, TusServer};

fn fault() -> impl Strategy<Value = TusFault> {
    prop_oneof![
        8 => Just(TusFault::None),
        1 => prop_oneof![Just(500u16), Just(502), Just(503), Just(504), Just(408), Just(429), Just(409)]
            .prop_map(TusFault::Status),
        1 => prop_oneof![Just(500u16), Just(503)].prop_map(TusFault::StatusAfter),
        1 => Just(TusFault::Reset),
        1 => Just(TusFault::LostResponse),
        1 => (0u64..50_000).prop_map(TusFault::PersistBytes),
        1 => Just(TusFault::Corrupt),
        1 => Just(TusFault::Expire),
        1 => Just(TusFault::Kill),
    ]
}

/// A `409` answers only a `PATCH` at the wrong offset: to any other request
/// it is a refusal, which ends the upload by rule (a scenario test's job).
/// A byte damaged on the way is caught only by a checksum: without one,
/// tus has no digest to catch it with.
fn applicable(f: TusFault, purpose: Purpose, checksums: bool) -> TusFault {
    match (purpose, f) {
        (_, TusFault::Corrupt) if !checksums => TusFault::None,
        (Purpose::Chunk, _) => f,
        (_, TusFault::Status(409)) => TusFault::None,
        _ => f,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn any_fault_script_stores_the_source_exactly(
        size in 0usize..300_000,
        chunk in 1_000u64..120_000,
        stream in any::<bool>(),
        script in prop::collection::vec(fault(), 0..40),
        crashes in prop::collection::btree_set(1u64..200, 0..4),
        seed in any::<u64>(),
        data_seed in any::<u8>(),
        checksums in any::<bool>(),
    ) {
        let data = sim::source(size, data_seed);
        let total = (!stream).then_some(size as u64);
        let mut cfg = Config::tus_create(TusCreate::new(TUS_ENDPOINT), total);
        cfg.restartable_source = !stream;
        cfg.chunking = Chunking::Fixed(chunk);
        cfg.jitter_seed = seed;
        cfg.retry = RetryPolicy { max_attempts: 8, ..RetryPolicy::default() };
        // Without checksums, creations carry the first chunk.
        let mut options = TusOptions::default();
        if !checksums {
            options.extensions.retain(|e| *e != "checksum");
        }
        let mut server = TusServer::with_options(options);
        let run = sim::drive(
            &mut server,
            cfg,
            &data,
            |n, purpose| applicable(script.get(n as usize).copied().unwrap_or(TusFault::None), purpose, checksums),
            |step| crashes.contains(&step),
            20_000,
        );

        prop_assert!(server.violations.is_empty(), "{:?}\n{:#?}", server.violations, run.transcript);
        prop_assert!(sim::progress_backwards(&run).is_none(), "persisted went backwards: {:#?}", run.transcript);
        let complete: Vec<_> = server.uploads.values().filter(|u| u.complete() && !u.gone).collect();
        match run.result.expect("the run ended") {
            Ok(outcome) => {
                // A creation whose answer was lost leaves an upload behind
                // (tus creations are not idempotent): complete, when it was
                // empty or carried every byte, and then holding the source.
                prop_assert!(!complete.is_empty(), "{:#?}", run.transcript);
                prop_assert!(complete.iter().all(|u| u.data == data), "stored upload differs");
                prop_assert_eq!(outcome.crc32c, Some(crc32c::crc32c(&data)));
                prop_assert_eq!(outcome.object.size, size as u64);
            }
            Err(Error::GaveUp { .. } | Error::SessionGone) => {
                prop_assert!(complete.iter().all(|u| u.data == data), "a wrong upload completed");
            }
            Err(other) => prop_assert!(false, "unexpected error {other}: {:#?}", run.transcript),
        }
    }
}
