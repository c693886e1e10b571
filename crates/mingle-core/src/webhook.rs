//! Webhook rules: the Standard Webhooks signature, the retry schedule, `Retry-After`,
//! and which addresses a delivery may connect to. Pure; the sender in `mingle-service`
//! does the I/O.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The `webhook-signature` header: one `v1,<base64 HMAC-SHA256>` per secret, separated
/// by spaces (two while a rotated secret's old one still signs). Secrets are
/// `whsec_<base64 key>`; one that does not decode signs with its raw bytes, as the
/// reference libraries do.
pub fn signature_header(secrets: &[&str], webhook_id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets.iter().map(|s| format!("v1,{}", sign(s, webhook_id, timestamp, body))).collect::<Vec<_>>().join(" ")
}

fn sign(secret: &str, webhook_id: &str, timestamp: i64, body: &[u8]) -> String {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    let key = STANDARD.decode(encoded).unwrap_or_else(|_| secret.as_bytes().to_vec());
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(webhook_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// The wait after each failed attempt (the Standard Webhooks schedule): the first
/// attempt is immediate, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; after the
/// eighth attempt the delivery fails.
pub const RETRY_SCHEDULE: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// The longest `Retry-After` honoured; a receiver asking for more gets this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// When to try again after failed attempt number `attempt` (1-based), or `None` when
/// the delivery has had all its attempts. `jitter` in [0, 1) spreads retries ±20% so
/// that deliveries failed together do not return together. A receiver's `Retry-After`
/// replaces the schedule's wait (at least 1 s, at most [`MAX_RETRY_AFTER`]), without
/// granting more attempts.
pub fn retry_delay(attempt: u32, retry_after: Option<Duration>, jitter: f64) -> Option<Duration> {
    let scheduled = *RETRY_SCHEDULE.get(attempt.checked_sub(1)? as usize)?;
    Some(match retry_after {
        Some(wait) => wait.clamp(Duration::from_secs(1), MAX_RETRY_AFTER),
        None => scheduled.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0)),
    })
}

/// A `Retry-After` value: whole seconds, or an HTTP date (RFC 9110) from which the
/// wait is counted at `now_ms`. Anything else is ignored.
pub fn parse_retry_after(value: &str, now_ms: i64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?.timestamp_millis();
    Some(Duration::from_millis(at.saturating_sub(now_ms).max(0) as u64))
}

/// Why an address may not receive webhooks, or `None` when it is public.
pub fn internal_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => internal_v6(v6),
    }
}

fn internal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_private() => "private",
        _ if ip.is_link_local() => "link-local",
        _ if ip.is_multicast() => "multicast",
        _ if ip.is_broadcast() => "broadcast",
        (0, _, _) => "unspecified (\"this network\")",
        (100, 64..=127, _) => "shared address space (carrier-grade NAT)",
        (192, 0, 0) => "IETF protocol assignment",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        (198, 18..=19, _) => "benchmarking",
        (240..=255, _, _) => "reserved",
        _ => return None,
    })
}

fn internal_v6(ip: Ipv6Addr) -> Option<&'static str> {
    // Addresses that carry an IPv4 address reach it: judge the IPv4 address.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return internal_v4(v4);
    }
    let s = ip.segments();
    Some(match s {
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_multicast() => "multicast",
        [0, 0, 0, 0, 0, 0, _, _] => "IPv4-compatible (deprecated)",
        // IPv4-translated (SIIT): reaches the embedded address.
        [0, 0, 0, 0, 0xffff, 0, hi, lo] => {
            return internal_v4(Ipv4Addr::from(((hi as u32) << 16) | lo as u32))
                .map(|_| "IPv4-translated internal address")
        }
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => {
            return internal_v4(Ipv4Addr::from(((hi as u32) << 16) | lo as u32)).map(|_| "NAT64 of an internal address")
        }
        // The local-use NAT64 prefix: where the IPv4 address sits depends on the
        // operator's prefix length, so none of it is trusted.
        [0x64, 0xff9b, 1, ..] => "local-use NAT64",
        [0x2002, hi, lo, ..] => {
            return internal_v4(Ipv4Addr::from(((hi as u32) << 16) | lo as u32)).map(|_| "6to4 of an internal address")
        }
        [x, ..] if x & 0xfe00 == 0xfc00 => "unique-local",
        [x, ..] if x & 0xffc0 == 0xfe80 => "link-local",
        [x, ..] if x & 0xffc0 == 0xfec0 => "site-local (deprecated)",
        [0x2001, 0x0db8, ..] | [0x3fff, 0..=0x0fff, ..] => "documentation",
        [0x2001, 0, ..] => "Teredo",
        [0x2001, 2, 0, ..] => "benchmarking",
        [0x2001, 0x10..=0x2f, ..] => "ORCHID",
        [0x5f00, ..] => "segment routing (SRv6)",
        [0x0100, 0, 0, 0, ..] => "discard-only",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_matches_the_standard_webhooks_reference_vector() {
        // The test vector of the Standard Webhooks specification's reference libraries.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let header = signature_header(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(header, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn two_secrets_sign_twice_in_order() {
        let header = signature_header(&["whsec_AAAA", "whsec_BBBB"], "id", 1, b"{}");
        let parts: Vec<_> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], signature_header(&["whsec_AAAA"], "id", 1, b"{}"));
        assert_eq!(parts[1], signature_header(&["whsec_BBBB"], "id", 1, b"{}"));
        assert_ne!(parts[0], parts[1]);
    }

    #[test]
    fn the_schedule_jitters_and_ends() {
        assert_eq!(retry_delay(1, None, 0.5), Some(Duration::from_secs(5)));
        assert_eq!(retry_delay(1, None, 0.0), Some(Duration::from_secs(4)));
        assert_eq!(retry_delay(2, None, 0.5), Some(Duration::from_secs(300)));
        assert_eq!(retry_delay(7, None, 0.5), Some(Duration::from_secs(36_000)));
        assert_eq!(retry_delay(8, None, 0.5), None, "eight attempts, then failed");
        assert_eq!(retry_delay(0, None, 0.5), None);
    }

    #[test]
    fn retry_after_replaces_the_wait_within_bounds_but_adds_no_attempt() {
        assert_eq!(retry_delay(1, Some(Duration::from_secs(2)), 0.9), Some(Duration::from_secs(2)));
        assert_eq!(retry_delay(3, Some(Duration::ZERO), 0.9), Some(Duration::from_secs(1)));
        assert_eq!(retry_delay(2, Some(Duration::from_secs(10 * 86_400)), 0.1), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_delay(8, Some(Duration::from_secs(1)), 0.1), None);
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-02T00:00:00Z").unwrap().timestamp_millis();
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Wed, 02 Dec 2026 00:00:30 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Tue, 01 Dec 2026 00:00:30 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("-5", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn internal_addresses_are_refused_and_public_ones_pass() {
        for (ip, why) in [
            ("127.0.0.1", "loopback"),
            ("10.0.0.1", "private"),
            ("172.16.5.4", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("0.0.0.0", "unspecified (\"this network\")"),
            ("100.64.0.1", "shared address space (carrier-grade NAT)"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "broadcast"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "link-local"),
            ("::127.0.0.1", "IPv4-compatible (deprecated)"),
            ("64:ff9b::a00:1", "NAT64 of an internal address"),
            ("64:ff9b:1:7f00:0:100:808:808", "local-use NAT64"),
            ("::ffff:0:7f00:1", "IPv4-translated internal address"),
            ("2001:2::1", "benchmarking"),
            ("2001:10::1", "ORCHID"),
            ("2001:20::1", "ORCHID"),
            ("3fff::1", "documentation"),
            ("5f00::1", "segment routing (SRv6)"),
            ("2002:7f00:1::", "6to4 of an internal address"),
            ("fd00::1", "unique-local"),
            ("fe80::1", "link-local"),
            ("ff02::1", "multicast"),
        ] {
            assert_eq!(internal_address(ip.parse().unwrap()), Some(why), "{ip}");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:93.184.216.34", "64:ff9b::808:808"] {
            assert_eq!(internal_address(ip.parse().unwrap()), None, "{ip}");
        }
    }
}
