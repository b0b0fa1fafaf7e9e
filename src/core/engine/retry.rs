//! The retry policy: how long to wait before sending again, and how much retrying an outage may
//! cause. Randomness (the jitter) comes from a generator seeded by the caller, never implicitly.
//!
//! Defaults follow the AWS SDKs' 2026 standard retry mode where it applies to a producer:
//! exponential backoff with full jitter, 50 ms base for transient errors, 1,000 ms for
//! throttling, 20 s cap, and a 500-token retry quota (14 tokens a transient retry, 5 a
//! throttled one, 1 back per success). Unlike an SDK call, which gives up after 3 attempts, a
//! record is retried until its time to live runs out: when the quota is spent, the producer
//! does not drop records but slows to one request at a time, each after the full cap.

use crate::core::model::error::RetryClass;
use crate::core::Millis;

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

/// The producer's pacing after failures: when it may send again, and how many requests at once.
#[derive(Clone, Debug)]
pub struct Backoff {
    quota: RetryQuota,
    rng: Rng,
    /// Requests in a row that failed as a whole; drives the exponential backoff.
    streak: u32,
    /// No request before this time.
    paused_until: Millis,
    /// The last backoff followed requests that reached no server (no connection).
    paused_for_network: bool,
}

impl Backoff {
    /// `seed` seeds the jitter (the host's randomness; fixed in tests).
    pub fn new(seed: u64) -> Self {
        Self {
            quota: RetryQuota::default(),
            rng: Rng::new(seed),
            streak: 0,
            paused_until: 0,
            paused_for_network: false,
        }
    }

    pub fn paused_until(&self) -> Millis {
        self.paused_until
    }

    /// Milliseconds until requests may go again (0 when not backing off).
    pub fn remaining(&self, now: Millis) -> u64 {
        self.paused_until.saturating_sub(now)
    }

    /// Requests allowed in flight: one at a time once the retry quota is spent.
    pub fn in_flight_limit(&self, max: usize) -> usize {
        if self.quota.is_exhausted() {
            1
        } else {
            max
        }
    }

    /// An answer came back (with per-record results or none failed): the service is up.
    pub fn answered(&mut self) {
        self.streak = 0;
        self.quota.refund();
    }

    /// Records of class `class` are to be sent again. `whole`: the request failed as a whole,
    /// which escalates the backoff and spends quota; otherwise the answer carried per-record
    /// failures: the service is up and some shards are busy, so the records wait one base delay
    /// (a shard's limits are per second) without escalating or spending, and the answer itself
    /// counts as a success, or a stream whose answers always carry a few failures would never
    /// recover from an outage's spending. `unreachable`: the request reached no server.
    pub fn retry(&mut self, class: RetryClass, whole: bool, unreachable: bool, now: Millis) {
        let delay = if !whole {
            self.answered();
            backoff_ms(class, 0, self.rng.next_f64())
        } else if self.quota.acquire(class) {
            backoff_ms(class, self.streak, self.rng.next_f64())
        } else {
            MAX_BACKOFF_MS
        };
        if whole {
            self.streak = self.streak.saturating_add(1);
        }
        let until = now.saturating_add(delay);
        if until >= self.paused_until {
            self.paused_for_network = whole && unreachable;
        }
        self.paused_until = self.paused_until.max(until);
    }

    /// The host learnt that the network is back (a browser's `online` event). A backoff that
    /// requests failing to connect built up says nothing about the service: retry now, with
    /// the streak started afresh. A backoff the service asked for stays.
    pub fn network_restored(&mut self) {
        if self.paused_for_network {
            self.paused_until = 0;
            self.streak = 0;
            self.paused_for_network = false;
        }
    }

    pub fn quota_exhausted(&self) -> bool {
        self.quota.is_exhausted()
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

    #[test]
    fn per_record_failures_neither_escalate_nor_spend() {
        let mut b = Backoff::new(4);
        for _ in 0..200 {
            b.retry(RetryClass::Transient, false, false, 0);
            assert!(b.remaining(0) < TRANSIENT_BASE_MS);
        }
        assert!(!b.quota_exhausted());
    }

    #[test]
    fn whole_failures_escalate_until_the_quota_is_spent() {
        let mut b = Backoff::new(4);
        let mut now = 0;
        for _ in 0..=(QUOTA_TOKENS / TRANSIENT_COST) {
            b.retry(RetryClass::Transient, true, false, now);
            now += b.remaining(now);
        }
        assert!(b.quota_exhausted());
        assert_eq!(b.in_flight_limit(8), 1);
        b.retry(RetryClass::Transient, true, false, now);
        assert_eq!(b.remaining(now), MAX_BACKOFF_MS, "the full cap once spent");
        for _ in 0..TRANSIENT_COST {
            b.answered();
        }
        assert_eq!(b.in_flight_limit(8), 8);
    }

    #[test]
    fn only_a_network_backoff_ends_when_the_network_is_back() {
        let mut b = Backoff::new(1);
        b.retry(RetryClass::Throttling, true, false, 0);
        let paused = b.paused_until();
        b.network_restored();
        assert_eq!(b.paused_until(), paused, "the service asked for it");
        let mut n = Backoff::new(1);
        for _ in 0..5 {
            n.retry(RetryClass::Transient, true, true, 0);
        }
        assert!(n.paused_for_network);
        n.network_restored();
        assert_eq!(n.remaining(0), 0);
    }
}
