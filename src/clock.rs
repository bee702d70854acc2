//! The platform's one clock. Everything that asks "what time is it" (issuance dates, session
//! timeouts, token expiry, reservations, and the times the store stamps on rows and audit
//! events) asks this, so tests move time forward instead of sleeping and a session's idle
//! timeout is testable without waiting half an hour. Both the service and the store read it
//! (the store opens with one, the service uses the store's), so the two never disagree; it sits
//! beside them rather than in the domain, which never asks the time (it is passed in).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use time::OffsetDateTime;

/// Wall-clock time plus an offset that only tests change. Cheap to clone; clones share the
/// offset, so moving one moves the time every part of the service sees.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_micros: Arc<AtomicI64>,
}

impl Clock {
    /// The present moment at the precision both databases keep (microseconds), so a value read
    /// back compares equal to the value written.
    pub fn now(&self) -> OffsetDateTime {
        let offset = time::Duration::microseconds(self.offset_micros.load(Ordering::Relaxed));
        let t = OffsetDateTime::now_utc() + offset;
        t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000).expect("valid nanosecond")
    }

    /// Moves this clock (and every clone of it) forward. For tests: time never goes back.
    #[doc(hidden)]
    pub fn advance(&self, by: time::Duration) {
        self.offset_micros.fetch_add(by.whole_microseconds().max(0) as i64, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::Clock;

    #[test]
    fn clones_share_the_offset() {
        let a = Clock::default();
        let b = a.clone();
        let before = b.now();
        a.advance(time::Duration::hours(2));
        let after = b.now();
        assert!(after - before >= time::Duration::hours(2));
        assert!(after - before < time::Duration::hours(2) + time::Duration::minutes(5));
        assert_eq!(after.nanosecond() % 1_000, 0);
    }
}
