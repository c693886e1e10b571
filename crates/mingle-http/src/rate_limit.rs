//! A token bucket per service account, in process memory. Each process limits on its
//! own; several servers behind one database each allow the configured rate.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

#[derive(Debug, Clone, Copy)]
pub struct RateLimitSettings {
    pub per_sec: f64,
    pub burst: u32,
}

#[derive(Debug)]
pub struct RateLimiter {
    settings: RateLimitSettings,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
}

/// The outcome of one request against its bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub allowed: bool,
    /// Whole requests left in the bucket.
    pub remaining: u64,
    /// Seconds until the bucket is full again.
    pub full_in_secs: u64,
    /// Seconds until one request is allowed (at least 1); meaningful when refused.
    pub retry_after_secs: u64,
}

impl RateLimiter {
    pub fn new(settings: RateLimitSettings) -> Self {
        Self { settings, buckets: Mutex::new(HashMap::new()) }
    }

    pub fn settings(&self) -> RateLimitSettings {
        self.settings
    }

    /// The window of the advertised policy: the seconds an empty bucket takes to fill.
    pub fn window_secs(&self) -> u64 {
        ((self.settings.burst as f64 / self.settings.per_sec).ceil() as u64).max(1)
    }

    pub fn check(&self, key: &str) -> Decision {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &str, now: Instant) -> Decision {
        let RateLimitSettings { per_sec, burst } = self.settings;
        let burst = burst as f64;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket { tokens: burst, refilled: now });
        let elapsed = now.saturating_duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_sec).min(burst);
        bucket.refilled = now;
        let allowed = bucket.tokens >= 1.0;
        if allowed {
            bucket.tokens -= 1.0;
        }
        Decision {
            allowed,
            remaining: bucket.tokens.floor() as u64,
            full_in_secs: ((burst - bucket.tokens) / per_sec).ceil() as u64,
            retry_after_secs: (((1.0 - bucket.tokens) / per_sec).ceil() as u64).max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_drains_and_refills() {
        let rl = RateLimiter::new(RateLimitSettings { per_sec: 2.0, burst: 3 });
        let t0 = Instant::now();
        let d: Vec<_> = (0..4).map(|_| rl.check_at("a", t0)).collect();
        assert_eq!(d.iter().map(|d| d.allowed).collect::<Vec<_>>(), [true, true, true, false]);
        assert_eq!(d[0].remaining, 2);
        assert_eq!(d[3].retry_after_secs, 1);
        assert!(rl.check_at("b", t0).allowed, "buckets are per account");
        assert!(rl.check_at("a", t0 + Duration::from_millis(600)).allowed, "refilled one token");
        assert_eq!(rl.window_secs(), 2);
    }
}
