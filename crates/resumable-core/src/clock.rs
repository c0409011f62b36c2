//! Wall-clock time without reading a clock: the driver passes its
//! monotonic `now` to every call and its wall-clock time once, at the start.

use std::time::{Instant, SystemTime};

/// Maps the driver's monotonic instants to wall-clock time, for expiry checks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WallClock {
    at: Instant,
    wall: SystemTime,
}

impl WallClock {
    /// A clock that reads `wall` at `at`.
    pub(crate) fn new(at: Instant, wall: SystemTime) -> Self {
        Self { at, wall }
    }

    /// The wall-clock time at `now`, in the driver's monotonic time.
    pub(crate) fn wall(&self, now: Instant) -> SystemTime {
        match now.checked_duration_since(self.at) {
            Some(ahead) => self.wall.checked_add(ahead).unwrap_or(self.wall),
            None => self.wall.checked_sub(self.at - now).unwrap_or(self.wall),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn follows_the_monotonic_clock_both_ways() {
        let at = Instant::now() + Duration::from_secs(100);
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let clock = WallClock::new(at, wall);
        assert_eq!(clock.wall(at), wall);
        assert_eq!(
            clock.wall(at + Duration::from_secs(5)),
            wall + Duration::from_secs(5)
        );
        assert_eq!(
            clock.wall(at - Duration::from_secs(5)),
            wall - Duration::from_secs(5)
        );
    }
}
