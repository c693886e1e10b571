//! The rate limit's rule: a token bucket per service account. Pure: the HTTP layer keeps
//! buckets in memory (one process) or in the database (several API servers), and both
//! take tokens through [`take`].

/// The configured policy: `burst` requests at once, refilled at `per_sec`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    pub per_sec: f64,
    pub burst: u32,
}

impl Policy {
    /// The window of the advertised policy: the seconds an empty bucket takes to fill.
    pub fn window_secs(&self) -> u64 {
        ((self.burst as f64 / self.per_sec).ceil() as u64).max(1)
    }
}

/// A bucket as kept: its tokens when it was last refilled, and when (ms).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub tokens: f64,
    pub refilled_ms: i64,
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

/// One request at `now_ms`: refills the bucket (a missing one is full), takes a token if
/// there is one, and returns the bucket to keep with the decision.
pub fn take(policy: Policy, bucket: Option<Bucket>, now_ms: i64) -> (Bucket, Decision) {
    let burst = policy.burst as f64;
    let b = bucket.unwrap_or(Bucket { tokens: burst, refilled_ms: now_ms });
    let elapsed = (now_ms - b.refilled_ms).max(0) as f64 / 1000.0;
    let mut tokens = (b.tokens + elapsed * policy.per_sec).min(burst);
    let allowed = tokens >= 1.0;
    if allowed {
        tokens -= 1.0;
    }
    let decision = Decision {
        allowed,
        remaining: tokens.floor() as u64,
        full_in_secs: ((burst - tokens) / policy.per_sec).ceil() as u64,
        retry_after_secs: (((1.0 - tokens) / policy.per_sec).ceil() as u64).max(1),
    };
    (Bucket { tokens, refilled_ms: now_ms.max(b.refilled_ms) }, decision)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_drains_and_refills() {
        let policy = Policy { per_sec: 2.0, burst: 3 };
        let mut bucket = None;
        let mut allowed = Vec::new();
        for _ in 0..4 {
            let (b, d) = take(policy, bucket, 1_000);
            bucket = Some(b);
            allowed.push(d.allowed);
            if !d.allowed {
                assert_eq!(d.retry_after_secs, 1);
            }
        }
        assert_eq!(allowed, [true, true, true, false]);
        let (_, d) = take(policy, bucket, 1_600);
        assert!(d.allowed, "600 ms at 2/s refilled one token");
        assert_eq!(d.remaining, 0);
        assert_eq!(policy.window_secs(), 2);
        let (_, first) = take(policy, None, 0);
        assert_eq!((first.remaining, first.full_in_secs), (2, 1));
    }

    #[test]
    fn a_clock_that_steps_back_neither_refills_nor_breaks() {
        let policy = Policy { per_sec: 1.0, burst: 1 };
        let (b, _) = take(policy, None, 10_000);
        let (b2, d) = take(policy, Some(b), 9_000);
        assert!(!d.allowed);
        assert_eq!(b2.refilled_ms, 10_000);
    }
}
