//! Per-shard rate limiting: each shard of the map gets token buckets for Kinesis records and
//! bytes (data plus partition key) per second, at `percent` of the shard write limits, shared by
//! everything sent to that shard (an aggregate is one record). Unlike the KPL's limiter, it
//! adapts: a throttled shard's rate is cut, then creeps back while it is not throttled, so
//! writes from other producers to the same shard do not keep it throttled.

use crate::core::Millis;

/// A shard takes 1,000 records and 1 MiB per second.
pub const SHARD_RECORDS_PER_S: f64 = 1_000.0;
pub const SHARD_BYTES_PER_S: f64 = 1_048_576.0;
/// A throttled shard's rate is multiplied by this (at most once per `CUT_EVERY_MS`)...
const CUT: f64 = 0.8;
const CUT_EVERY_MS: Millis = 1_000;
/// ...never below this share of the configured rate...
const FLOOR: f64 = 0.1;
/// ...and regains this share of it per second without throttling.
const REGAIN_PER_S: f64 = 0.05;
/// A shard without tokens is tried again no sooner than this: its buckets hold a second's worth,
/// so waiting a tenth of a second costs no throughput, and a wake-up per token would send
/// requests of one record (measured: 4 times as many requests at 20 ms).
pub const MIN_WAIT_MS: Millis = 100;

#[derive(Clone, Debug)]
struct Bucket {
    records: f64,
    bytes: f64,
    /// Share of the configured rate allowed now (adaptation).
    factor: f64,
    at: Millis,
    last_cut: Option<Millis>,
}

#[derive(Debug)]
pub struct RateLimiter {
    /// Share of the shard limits, 0.01 for 1 %.
    share: f64,
    buckets: Vec<Bucket>,
    /// The shard map generation the buckets are for.
    generation: u32,
    /// Nothing else could be sent: the shards holding records back, and when the first of
    /// them has room again. A record of another shard put meanwhile lifts it.
    blocked: Vec<usize>,
    blocked_until: Option<Millis>,
}

impl RateLimiter {
    pub fn new(percent: u32) -> Self {
        Self {
            share: f64::from(percent) / 100.0,
            buckets: Vec::new(),
            generation: u32::MAX,
            blocked: Vec::new(),
            blocked_until: None,
        }
    }

    /// Buckets for the shards of map `generation` (`shards` of them), full, as a new producer's
    /// would be; a new map starts them again.
    pub fn for_map(&mut self, generation: u32, shards: usize, now: Millis) {
        if self.generation == generation && self.buckets.len() == shards {
            return;
        }
        self.generation = generation;
        let full = Bucket {
            records: SHARD_RECORDS_PER_S * self.share,
            bytes: SHARD_BYTES_PER_S * self.share,
            factor: 1.0,
            at: now,
            last_cut: None,
        };
        self.buckets = vec![full; shards];
    }

    fn refill(&mut self, shard: usize, now: Millis) -> Option<&mut Bucket> {
        let share = self.share;
        let b = self.buckets.get_mut(shard)?;
        let secs = now.saturating_sub(b.at) as f64 / 1_000.0;
        b.at = b.at.max(now);
        b.factor = (b.factor + REGAIN_PER_S * secs).min(1.0);
        let (records, bytes) = (SHARD_RECORDS_PER_S * share, SHARD_BYTES_PER_S * share);
        // At most one second's worth is kept: the service's own allowance.
        b.records = (b.records + records * b.factor * secs).min(records * b.factor);
        b.bytes = (b.bytes + bytes * b.factor * secs).min(bytes * b.factor);
        Some(b)
    }

    /// Take `records` and `bytes` from `shard`'s buckets if they hold them; `false` (nothing
    /// taken) when the shard is at its rate. A bucket may go below zero for a record larger
    /// than it holds when full, or that record could never go.
    pub fn try_take(&mut self, shard: usize, records: f64, bytes: usize, now: Millis) -> bool {
        let share = self.share;
        let Some(b) = self.refill(shard, now) else {
            return true;
        };
        let full_bytes = SHARD_BYTES_PER_S * share * b.factor;
        let bytes = bytes as f64;
        let bytes_ok = b.bytes >= bytes || (b.bytes >= full_bytes && bytes > full_bytes);
        if b.records < records || !bytes_ok {
            return false;
        }
        b.records -= records;
        b.bytes -= bytes;
        true
    }

    /// Nothing could be sent: `held` gives each shard that held records back with the size of
    /// the first one it refused; nothing is tried again until the first of those shards has
    /// room for its record (a bucket holds at most a second's worth: a larger record goes once
    /// the bucket is full).
    pub fn block(&mut self, held: &[(usize, usize)], now: Millis) {
        let share = self.share;
        self.blocked = held.iter().map(|&(s, _)| s).collect();
        self.blocked_until = held
            .iter()
            .filter_map(|&(s, size)| Some((self.buckets.get(s)?, size)))
            .map(|(b, size)| {
                let (r, y) = (
                    SHARD_RECORDS_PER_S * share * b.factor,
                    SHARD_BYTES_PER_S * share * b.factor,
                );
                let wait_records = (1.0 - b.records).max(0.0) / r;
                let wait_bytes = ((size as f64).min(y) - b.bytes).max(0.0) / y;
                (wait_records.max(wait_bytes) * 1_000.0).ceil() as Millis
            })
            .min()
            .map(|wait| now.saturating_add(wait.max(MIN_WAIT_MS)));
    }

    /// Something was sent: the next request need not wait.
    pub fn unblock(&mut self) {
        self.blocked.clear();
        self.blocked_until = None;
    }

    /// A record of `shard` (`None`: unknown) arrived, due at `due` (its linger): if its shard is
    /// not holding records back, the wait ends by then, so it goes with its batch, not after
    /// the hot shard's next token.
    pub fn record_due(&mut self, shard: Option<usize>, due: Millis) {
        if shard.is_none_or(|s| !self.blocked.contains(&s)) {
            self.blocked_until = self.blocked_until.map(|at| at.min(due));
        }
    }

    /// No request before this: nothing could be sent, and nothing new that could has come.
    pub fn blocked_until(&self) -> Option<Millis> {
        self.blocked_until
    }

    /// The service throttled a record sent to `shard`: it is fuller than this producer thought
    /// (other writers, or bursts it counts differently). Cut the rate and empty the buckets.
    pub fn throttled(&mut self, shard: usize, now: Millis) {
        let Some(b) = self.refill(shard, now) else {
            return;
        };
        if b.last_cut
            .is_some_and(|at| now < at.saturating_add(CUT_EVERY_MS))
        {
            return;
        }
        b.last_cut = Some(now);
        b.factor = (b.factor * CUT).max(FLOOR);
        b.records = 0.0;
        b.bytes = 0.0;
    }

    #[cfg(test)]
    fn lowest_factor(&self) -> f64 {
        self.buckets.iter().map(|b| b.factor).fold(1.0, f64::min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shard_takes_its_rate_and_no_more() {
        let mut l = RateLimiter::new(100);
        l.for_map(1, 2, 0);
        let mut sent = 0;
        for ms in 0..=2_000u64 {
            while l.try_take(0, 1.0, 100, ms) {
                sent += 1;
            }
        }
        // One second's worth at once, then 1,000 per second.
        assert!((2_999..=3_001).contains(&sent), "{sent}");
        assert!(
            l.try_take(1, 1.0, 100, 2_000),
            "another shard has its own buckets"
        );
        assert!(
            l.try_take(9, 1.0, 100, 2_000),
            "an unknown shard is not limited"
        );
    }

    #[test]
    fn bytes_limit_too_and_a_record_larger_than_the_bucket_still_goes() {
        let mut l = RateLimiter::new(50);
        l.for_map(1, 1, 0);
        assert!(l.try_take(0, 1.0, 400_000, 0));
        assert!(!l.try_take(0, 1.0, 400_000, 0), "half a MiB per second");
        // The larger record waits until the bucket is full (not until it holds 10 MiB).
        l.block(&[(0, 10 << 20)], 0);
        assert_eq!(
            l.blocked_until(),
            Some(763),
            "400,000 of 524,288 bytes to refill"
        );
        assert!(
            l.try_take(0, 1.0, 10 << 20, 1_000),
            "full: a record over the bucket goes"
        );
        assert!(!l.try_take(0, 1.0, 10, 1_000));
    }

    #[test]
    fn throttling_cuts_the_rate_which_then_comes_back() {
        let mut l = RateLimiter::new(100);
        l.for_map(1, 1, 0);
        l.throttled(0, 0);
        l.throttled(0, 500);
        // Cut to 0.8, half a second regained (+0.025), no second cut within the second.
        assert!(
            (l.lowest_factor() - 0.825).abs() < 1e-9,
            "one cut per second"
        );
        l.throttled(0, 1_000);
        assert!((l.lowest_factor() - 0.85 * 0.8).abs() < 1e-9);
        assert!(!l.try_take(0, 1.0, 1, 1_000), "emptied");
        let mut sent = 0;
        for ms in 1_000..=11_000u64 {
            while l.try_take(0, 1.0, 1, ms) {
                sent += 1;
            }
        }
        assert!((l.lowest_factor() - 1.0).abs() < 1e-9, "regained in 10 s");
        assert!((6_000..10_000).contains(&sent), "{sent}");
    }

    #[test]
    fn held_records_wait_for_their_shards_next_token_unless_another_shard_has_records() {
        let mut l = RateLimiter::new(100);
        l.for_map(1, 2, 0);
        while l.try_take(0, 1.0, 10, 0) {}
        l.block(&[(0, 10)], 0);
        assert_eq!(l.blocked_until(), Some(MIN_WAIT_MS));
        l.record_due(Some(0), 5);
        assert_eq!(
            l.blocked_until(),
            Some(MIN_WAIT_MS),
            "more of the same shard wait too"
        );
        l.record_due(Some(1), 50);
        assert_eq!(
            l.blocked_until(),
            Some(50),
            "another shard's record goes with its linger"
        );
        l.record_due(None, 30);
        assert_eq!(
            l.blocked_until(),
            Some(30),
            "so does a record of an unknown shard"
        );
        l.unblock();
        assert_eq!(l.blocked_until(), None);
    }
}
