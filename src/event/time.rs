//! Timestamps on the wire: ISO-8601 UTC with millisecond precision and a `Z`
//! (`2026-01-02T03:04:05.678Z`), as upstream writes them.

use jiff::Timestamp;

/// Formats a timestamp the way every record stores it.
pub fn format(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Parses a stored timestamp; `None` when it is not a valid RFC 3339 instant.
pub fn parse(text: &str) -> Option<Timestamp> {
    text.trim().parse::<Timestamp>().ok()
}

/// Milliseconds since the Unix epoch of a stored timestamp (upstream's `Date.parse`), or `None`.
pub fn parse_millis(text: &str) -> Option<i64> {
    parse(text).map(|ts| ts.as_millisecond())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_millisecond_precision() {
        let ts = parse("2026-01-02T03:04:05.678Z").expect("valid");
        assert_eq!(format(ts), "2026-01-02T03:04:05.678Z");
        assert_eq!(parse_millis("1970-01-01T00:00:01.000Z"), Some(1000));
        assert_eq!(parse("not a time"), None);
    }
}
