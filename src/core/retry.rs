//! The retry policy: how long to wait before sending again, and how much retrying an outage may
//! cause. Randomness (the jitter) comes from a generator seeded by the caller, never implicitly.
//!
//! Defaults follow the AWS SDKs' 2026 standard retry mode where it applies to a producer:
//! exponential backoff with full jitter, 50 ms base for transient errors, 1,000 ms for
//! throttling, 20 s cap, and a 500-token retry quota (14 tokens a transient retry, 5 a
//! throttled one, 1 back per success). Unlike an SDK call, which gives up after 3 attempts, a
//! record is retried until its time to live runs out: when the quota is spent, the producer
//! does not drop records but slows to one request at a time, each after the full cap.

use crate::core::classify::RetryClass;

pub const TRANSIENT_BASE_MS: u64 = 50;
pub const THROTTLING_BASE_MS: u64 = 1_000;
pub const MAX_BACKOFF_MS: u64 = 20_000;
pub const QUOTA_TOKENS: u32 = 500;
pub const TRANSIENT_COST: u32 = 14;
pub const THROTTLING_COST: u32 = 5;
pub const SUCCESS_REFUND: u32 = 1;

/// SplitMix64: small, fast, good enough for jitter, and reproducible from its seed in tests.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A number in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Full-jitter exponential backoff: a uniform delay in `[0, min(cap, base * 2^streak)]`.
pub fn backoff_ms(class: RetryClass, streak: u32, random: f64) -> u64 {
    let base = match class {
        RetryClass::Throttling => THROTTLING_BASE_MS,
        _ => TRANSIENT_BASE_MS,
    };
    let ceiling = base
        .saturating_mul(1u64 << streak.min(20))
        .min(MAX_BACKOFF_MS);
    (ceiling as f64 * random.clamp(0.0, 1.0)) as u64
}

/// The retry quota: a token bucket that failures drain and successes refill.
#[derive(Clone, Debug)]
pub struct RetryQuota {
    tokens: u32,
}

impl Default for RetryQuota {
    fn default() -> Self {
        Self {
            tokens: QUOTA_TOKENS,
        }
    }
}

impl RetryQuota {
    fn cost(class: RetryClass) -> u32 {
        match class {
            RetryClass::Throttling => THROTTLING_COST,
            _ => TRANSIENT_COST,
        }
    }

    /// Take the tokens for one retry; `false` when the quota cannot pay for it.
    pub fn acquire(&mut self, class: RetryClass) -> bool {
        match self.tokens.checked_sub(Self::cost(class)) {
            Some(left) => {
                self.tokens = left;
                true
            }
            None => false,
        }
    }

    pub fn refund(&mut self) {
        self.tokens = (self.tokens + SUCCESS_REFUND).min(QUOTA_TOKENS);
    }

    pub fn tokens(&self) -> u32 {
        self.tokens
    }

    /// Less than one transient retry left: the producer is in its slow, one-at-a-time mode.
    pub fn is_exhausted(&self) -> bool {
        self.tokens < TRANSIENT_COST
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_the_exponential_ceiling() {
        assert_eq!(backoff_ms(RetryClass::Transient, 0, 0.999_999), 49);
        assert_eq!(backoff_ms(RetryClass::Transient, 3, 0.5), 200);
        assert_eq!(backoff_ms(RetryClass::Throttling, 0, 0.5), 500);
        assert_eq!(backoff_ms(RetryClass::Throttling, 10, 1.0), MAX_BACKOFF_MS);
        assert_eq!(
            backoff_ms(RetryClass::Transient, 63, 1.0),
            MAX_BACKOFF_MS,
            "no overflow"
        );
        assert_eq!(backoff_ms(RetryClass::Transient, 5, 0.0), 0);
    }

    #[test]
    fn rng_is_uniform_enough_and_reproducible() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        let xs: Vec<f64> = (0..10_000).map(|_| a.next_f64()).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((mean - 0.5).abs() < 0.02, "mean {mean}");
        assert_eq!(xs[0], b.next_f64());
    }

    #[test]
    fn quota_drains_and_refills() {
        let mut q = RetryQuota::default();
        let mut retries = 0;
        while q.acquire(RetryClass::Transient) {
            retries += 1;
        }
        assert_eq!(retries, QUOTA_TOKENS / TRANSIENT_COST);
        assert!(q.is_exhausted());
        for _ in 0..TRANSIENT_COST {
            q.refund();
        }
        assert!(!q.is_exhausted());
        for _ in 0..10_000 {
            q.refund();
        }
        assert_eq!(q.tokens(), QUOTA_TOKENS);
    }
}
