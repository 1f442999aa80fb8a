//! Numbers and durations as people read them.

/// A latency in milliseconds: "0.42 ms", "12 ms", "1.5 s".
pub fn latency(ms: f64) -> String {
    if !ms.is_finite() || ms < 0.0 {
        "–".to_string()
    } else if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

/// An uptime in seconds: "42 s", "3 min", "2 h 5 min", "3 d 4 h".
pub fn uptime(seconds: u64) -> String {
    let (d, h, m) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m} min")
    } else if m > 0 {
        format!("{m} min")
    } else {
        format!("{seconds} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_picks_a_readable_unit() {
        assert_eq!(latency(0.4242), "0.42 ms");
        assert_eq!(latency(12.4), "12 ms");
        assert_eq!(latency(1500.0), "1.5 s");
        assert_eq!(latency(f64::NAN), "–");
    }

    #[test]
    fn uptime_shows_the_two_largest_units() {
        assert_eq!(uptime(42), "42 s");
        assert_eq!(uptime(180), "3 min");
        assert_eq!(uptime(2 * 3600 + 5 * 60), "2 h 5 min");
        assert_eq!(uptime(3 * 86_400 + 4 * 3600 + 7), "3 d 4 h");
    }
}
