//! Property tests for Resumable Uploads for HTTP (the IETF draft): for any
//! fault script of the sim's draft server (interim `104`s included), any
//! server options (interop 8 or 6, `104`s or none, progress `104`s,
//! `Want-Content-Digest`, relative locations, append limits, a largest
//! size) and crashes of the client, either a complete upload on the server
//! holds exactly the source and the outcome's CRC32C and SHA-256 are the
//! source's, or the upload fails with an error one of the script's faults
//! (or the server's limits) explains, with nothing else stored complete.
//! Always: the client breaks no protocol rule, and the persisted offset
//! never goes backwards.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim;

use proptest::prelude::*;
use resumable_core::{
    Chunking, Config, Error, IetfCreate, IetfStrategy, InteropVersion, Purpose, RetryPolicy,
};
use resumable_sim::{IETF_ENDPOINT, IetfOptions, Interop};
use sha2::Digest as _;
use sim::{IetfFault, IetfServer};

fn fault() -> impl Strategy<Value = IetfFault> {
    prop_oneof![
        10 => Just(IetfFault::None),
        1 => prop_oneof![Just(500u16), Just(502), Just(503), Just(504), Just(408), Just(429)]
            .prop_map(IetfFault::Status),
        1 => prop_oneof![Just(500u16), Just(503)].prop_map(IetfFault::StatusAfter),
        1 => Just(IetfFault::Reset),
        1 => Just(IetfFault::LostResponse),
        1 => (0u64..50_000).prop_map(IetfFault::PersistBytes),
        1 => (0u64..400_000).prop_map(IetfFault::OffsetLie),
        1 => Just(IetfFault::Corrupt),
        1 => Just(IetfFault::Expire),
    ]
}

/// A fault on a `DELETE` is the cancellation's own business (a scenario
/// test's): the property is about the upload.
fn applicable(f: IetfFault, purpose: Purpose) -> IetfFault {
    match (purpose, f) {
        (Purpose::Cancel, _) => IetfFault::None,
        _ => f,
    }
}

/// Why an upload may end in an error: what the script did to it.
#[derive(Debug, Default)]
struct Applied {
    offset_lie: bool,
    corrupt: bool,
    expire: bool,
    /// A request processed but its answer lost, replaced or cut off: the
    /// client may not know the upload it made.
    lost: bool,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn any_fault_script_stores_the_source_exactly(
        size in 0usize..300_000,
        chunk in 1_000u64..120_000,
        stream in any::<bool>(),
        optimistic in any::<bool>(),
        v6 in any::<bool>(),
        interim in any::<bool>(),
        progress_every in prop::option::of(1_000u64..60_000),
        want_content_digest in any::<bool>(),
        relative_location in any::<bool>(),
        max_append_size in prop::option::of(1_000u64..150_000),
        max_size in prop::option::of(0u64..400_000),
        script in prop::collection::vec(fault(), 0..40),
        crashes in prop::collection::btree_set(1u64..200, 0..4),
        seed in any::<u64>(),
        data_seed in any::<u8>(),
    ) {
        let data = sim::source(size, data_seed);
        let total = (!stream).then_some(size as u64);
        let create = IetfCreate {
            strategy: if optimistic { IetfStrategy::Optimistic } else { IetfStrategy::Careful },
            interop: if v6 { InteropVersion::V6 } else { InteropVersion::V8 },
            ..IetfCreate::new(IETF_ENDPOINT)
        };
        let mut cfg = Config::ietf_create(create, total);
        cfg.restartable_source = !stream;
        cfg.chunking = Chunking::Fixed(chunk);
        cfg.jitter_seed = seed;
        cfg.retry = RetryPolicy { max_attempts: 8, ..RetryPolicy::default() };
        let mut options = IetfOptions {
            versions: vec![if v6 { Interop::V6 } else { Interop::V8 }],
            interim,
            progress_every,
            want_content_digest,
            relative_location,
            ..IetfOptions::default()
        };
        options.limits.max_append_size = max_append_size;
        options.limits.max_size = max_size;
        let mut server = IetfServer::with_options(options);
        let mut applied = Applied::default();
        let run = sim::drive(
            &mut server,
            cfg,
            &data,
            |n, purpose| {
                let f = applicable(script.get(n as usize).copied().unwrap_or(IetfFault::None), purpose);
                applied.offset_lie |= matches!(f, IetfFault::OffsetLie(_));
                applied.corrupt |= f == IetfFault::Corrupt;
                applied.expire |= f == IetfFault::Expire;
                applied.lost |= matches!(
                    f,
                    IetfFault::LostResponse | IetfFault::StatusAfter(_) | IetfFault::PersistBytes(_)
                );
                f
            },
            |step| crashes.contains(&step),
            20_000,
        );

        prop_assert!(server.violations.is_empty(), "{:?}\n{:#?}", server.violations, run.transcript);
        prop_assert!(sim::progress_backwards(&run).is_none(), "persisted went backwards: {:#?}", run.transcript);
        let complete: Vec<_> = server
            .uploads
            .values()
            .filter(|u| u.complete && !u.failed && !u.gone)
            .collect();
        // Nothing but the source is ever stored complete.
        prop_assert!(complete.iter().all(|u| u.data == data), "a wrong upload completed: {:#?}", run.transcript);
        let too_large = max_size.is_some_and(|m| m < size as u64);
        match run.result.expect("the run ended") {
            Ok(outcome) => {
                prop_assert!(!too_large, "{:#?}", run.transcript);
                prop_assert!(!complete.is_empty(), "{:#?}", run.transcript);
                prop_assert_eq!(outcome.object.size, size as u64);
                prop_assert_eq!(outcome.crc32c, Some(crc32c::crc32c(&data)));
                let sha256: [u8; 32] = sha2::Sha256::digest(&data).into();
                prop_assert_eq!(outcome.sha256, Some(sha256));
            }
            Err(Error::GaveUp { .. }) if script.iter().any(|f| *f != IetfFault::None) => {}
            // Cancelled as too large, then crashed before the checkpoint
            // was dropped: the resumed run finds the upload gone.
            Err(Error::SessionGone) if applied.expire || too_large => {}
            Err(Error::TooLarge { .. }) if too_large => {
                // Cancelled, unless a crash or a lost answer left an
                // upload the client could not know of.
                let clean = crashes.is_empty() && !applied.lost;
                prop_assert!(
                    !clean || server.uploads.values().all(|u| u.gone),
                    "an upload too large is left behind: {:#?}",
                    run.transcript
                );
            }
            // A lie about the offset surfaces wherever it contradicts
            // what the engine knows: a protocol error, a size that is not
            // the source's, a source shorter than the server claims.
            Err(Error::Protocol(_) | Error::Integrity(_) | Error::Source(_)) if applied.offset_lie => {}
            Err(Error::Rejected { .. } | Error::ProcessingFailed { .. } | Error::Integrity(_)) if applied.corrupt => {}
            Err(other) => prop_assert!(false, "unexpected error {other:?}: {:#?}", run.transcript),
        }
    }
}
