//! Property tests: for any fault script, the stored object equals the source,
//! no byte is skipped, the persisted offset never goes backwards, and register
//! happens exactly once, or the upload fails with a budget error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim;

use proptest::prelude::*;
use resumable_core::{AdaptiveLimits, Chunking, Error, Purpose, RetryPolicy};
use sim::{Fault, Server, UNIT};

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        8 => Just(Fault::None),
        1 => prop_oneof![Just(500u16), Just(502), Just(503), Just(504), Just(408)].prop_map(|s| Fault::Status(s, None)),
        1 => (0u64..40).prop_map(|s| Fault::Status(429, Some(s))),
        1 => prop_oneof![Just(500u16), Just(503)].prop_map(Fault::StatusAfter),
        1 => Just(Fault::Reset),
        1 => Just(Fault::LostResponse),
        1 => (0u64..3).prop_map(Fault::PersistUnits),
        1 => Just(Fault::Override308),
        1 => Just(Fault::KillSession),
        1 => (0usize..64).prop_map(Fault::CutBody),
    ]
}

/// Faults a client cannot tell from success on register are kept out: the
/// property is that the client registers exactly once.
///
/// A status answer cut short is the server's fault (a protocol error, by
/// rule), and a register answer cut short is asked again (registering twice,
/// which the API answers with the same File): both have scenario tests.
fn applicable(f: Fault, purpose: Purpose) -> Fault {
    match (purpose, f) {
        (
            Purpose::Register | Purpose::CreateSession,
            Fault::LostResponse | Fault::StatusAfter(_),
        )
        | (Purpose::Register | Purpose::Query, Fault::CutBody(_)) => Fault::None,
        _ => f,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_fault_script_uploads_the_source_exactly(
        size in 1usize..(3 * UNIT as usize),
        units in 1u64..5,
        mode in 0u8..3,
        coalesce in any::<bool>(),
        script in prop::collection::vec(fault(), 0..40),
        crashes in prop::collection::btree_set(1u64..200, 0..4),
        seed in any::<u64>(),
        data_seed in any::<u8>(),
    ) {
        let data = sim::source(size, data_seed);
        let mut cfg = sim::file_api_config(size as u64);
        cfg.chunking = match mode {
            0 => Chunking::SingleRequest,
            1 => Chunking::Fixed(units * UNIT),
            // The sim answers at once: the chunks grow to their limit.
            _ => Chunking::Adaptive(AdaptiveLimits {
                start: Some(UNIT),
                max_bytes: units * UNIT,
                ..AdaptiveLimits::default()
            }),
        };
        cfg.jitter_seed = seed;
        // Progress checkpointed once an hour: a crash resumes from the
        // session's first checkpoints, whatever the server holds by then.
        if coalesce {
            cfg.checkpoint_interval = std::time::Duration::from_secs(3600);
        }
        cfg.retry = RetryPolicy { max_attempts: 8, ..RetryPolicy::default() };
        let mut server = Server::new();
        let run = sim::drive(
            &mut server,
            cfg,
            &data,
            |n, purpose| applicable(script.get(n as usize).copied().unwrap_or(Fault::None), purpose),
            |step| crashes.contains(&step),
            20_000,
        );

        prop_assert!(server.violations.0.is_empty(), "{:?}\n{:#?}", server.violations, run.transcript);
        prop_assert!(sim::progress_backwards(&run).is_none(), "persisted went backwards: {:#?}", run.transcript);
        match run.result.expect("the run ended") {
            Ok(outcome) => {
                let file = outcome.file.expect("registered");
                // A process that dies after the register answer and before it
                // deletes its checkpoint registers again on resume; the server
                // answers with the same File.
                let registered_at = run.transcript.iter().position(|l| l.starts_with("POST /v1/organizations/org/files ") && l.ends_with("-> 201")).unwrap();
                let late_crashes = run.transcript[registered_at..].iter().filter(|l| *l == "crash").count();
                prop_assert!(server.registrations.len() <= 1 + late_crashes, "{:#?}", run.transcript);
                prop_assert_eq!(server.files.len(), 1);
                let path = &server.registrations[0];
                prop_assert!(server.objects[path] == data, "stored object differs");
                prop_assert_eq!(&server.files[path], &file.id);
                prop_assert_eq!(outcome.crc32c, Some(crc32c::crc32c(&data)));
                prop_assert_eq!(outcome.object.size, size as u64);
            }
            Err(Error::GaveUp { .. } | Error::SessionGone) => {
                prop_assert!(server.registrations.is_empty());
            }
            Err(other) => prop_assert!(false, "unexpected error {other}: {:#?}", run.transcript),
        }
    }

    #[test]
    fn a_raw_session_survives_any_fault_script(
        size in 0usize..(2 * UNIT as usize),
        script in prop::collection::vec(fault(), 0..30),
        seed in any::<u64>(),
    ) {
        let data = sim::source(size, 3);
        let mut server = Server::new();
        let url = server.open_session(Some(size as u64));
        let mut cfg = resumable_core::Config::gcs_session(resumable_core::SessionUrl::new(url.clone()), Some(size as u64));
        cfg.chunking = Chunking::Fixed(UNIT);
        cfg.jitter_seed = seed;
        let run = sim::drive(
            &mut server,
            cfg,
            &data,
            |n, purpose| applicable(script.get(n as usize).copied().unwrap_or(Fault::None), purpose),
            |_| false,
            20_000,
        );
        prop_assert!(server.violations.0.is_empty(), "{:?}", server.violations);
        match run.result.expect("the run ended") {
            Ok(outcome) => {
                prop_assert!(server.sessions[&url].data == data);
                prop_assert_eq!(outcome.object.size, size as u64);
            }
            Err(Error::GaveUp { .. } | Error::SessionGone) => {}
            Err(other) => prop_assert!(false, "unexpected error {other}: {:#?}", run.transcript),
        }
    }
}
