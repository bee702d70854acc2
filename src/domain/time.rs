//! Timestamps as the standards write them (RFC 3339 / XML Schema dateTime, UTC, `Z`).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC).format(&Rfc3339).expect("UTC timestamps always format")
}

/// `t` in whole seconds: credentials state their times to the second, and a document's
/// `validFrom` must equal the time stored beside it.
pub fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

pub fn parse_rfc3339(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}
