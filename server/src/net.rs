//! What counts as this machine, by name: one rule for local mode's `Host` check and for the
//! plain-http exception of Google's media hosts.

/// True for `localhost`, any `*.localhost` name (RFC 6761: browsers resolve them to loopback
/// without asking DNS) and loopback IPs, bracketed or not, without a port.
pub fn is_loopback_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_and_addresses_count_others_do_not() {
        for name in [
            "localhost",
            "LocalHost",
            "fake-google.localhost",
            "127.0.0.1",
            "127.8.9.10",
            "::1",
            "[::1]",
        ] {
            assert!(is_loopback_name(name), "{name}");
        }
        for name in [
            "localhost.example.com",
            "mylocalhost",
            "example.com",
            "10.0.0.1",
            "0.0.0.0",
            "[::]",
            "",
        ] {
            assert!(!is_loopback_name(name), "{name}");
        }
    }
}
