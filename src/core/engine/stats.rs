//! Counters a dashboard can show. Counts only: never a key, a token or a record's bytes.
//! Byte counts are record sizes (data plus partition key), as Kinesis counts them.

use crate::core::engine::shard_grouping::AggregationMode;
use crate::core::model::error::ErrorCode;

/// Provisioned streams bill each record in 25 KB units ("a 5KB record contains one PUT
/// Payload Unit, ... a 1MB record contains 40").
pub const PUT_PAYLOAD_UNIT_BYTES: usize = 25_000;

/// PUT payload units a record of `size` bytes costs.
pub fn put_payload_units(size: usize) -> u64 {
    size.div_ceil(PUT_PAYLOAD_UNIT_BYTES).max(1) as u64
}

/// Defines `Counters` and the JS name of each of its fields, once.
macro_rules! counters {
    ($($(#[$doc:meta])* $field:ident => $name:literal,)*) => {
        /// Running totals since the producer started.
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct Counters {
            $($(#[$doc])* pub $field: u64,)*
        }

        impl Counters {
            /// The JS names of the fields, in [`Counters::values`] order.
            pub const NAMES: &'static [&'static str] = &[$($name),*];

            pub fn values(&self) -> impl Iterator<Item = u64> + '_ {
                [$(self.$field),*].into_iter()
            }
        }
    };
}

counters! {
    records_accepted => "recordsAccepted",
    bytes_accepted => "bytesAccepted",
    /// User records sent (every attempt), and the Kinesis records that carried them: fewer
    /// with aggregation.
    records_sent => "recordsSent",
    kinesis_records_sent => "kinesisRecordsSent",
    bytes_sent => "bytesSent",
    records_acknowledged => "recordsAcknowledged",
    kinesis_records_acknowledged => "kinesisRecordsAcknowledged",
    /// PUT payload units of the acknowledged Kinesis records (25 KB each, rounded up per record).
    put_payload_units => "putPayloadUnits",
    bytes_acknowledged => "bytesAcknowledged",
    records_failed => "recordsFailed",
    bytes_failed => "bytesFailed",
    /// Of the failed records, those whose time to live ran out.
    records_expired => "recordsExpired",
    /// Records put back to be sent again, and how many of those were throttled.
    retries => "retries",
    throttles => "throttles",
    /// `PutRecords` requests made, and how many of those failed as a whole.
    requests => "requests",
    requests_failed => "requestsFailed",
}

/// Failures seen per error code (every attempt of every record).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CodeCounts([u64; ErrorCode::ALL.len()]);

impl CodeCounts {
    pub fn add(&mut self, code: ErrorCode) {
        self.0[code as usize] += 1;
    }

    pub fn get(&self, code: ErrorCode) -> u64 {
        self.0[code as usize]
    }
}

/// The last request latencies, for percentiles.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Latencies {
    recent: std::collections::VecDeque<u32>,
}

impl Latencies {
    const KEEP: usize = 512;

    pub fn record(&mut self, ms: u64) {
        if self.recent.len() == Self::KEEP {
            self.recent.pop_front();
        }
        self.recent.push_back(ms.min(u64::from(u32::MAX)) as u32);
    }

    /// The `p`-th percentile (nearest rank) of the kept latencies: the least value that at
    /// least `p`% of them do not exceed, found by bisection (no sort: smaller wasm).
    pub fn percentile(&self, p: u32) -> Option<u64> {
        let rank = (self.recent.len() * p as usize).div_ceil(100).max(1);
        if self.recent.is_empty() {
            return None;
        }
        let (mut low, mut high) = (0u32, u32::MAX);
        while low < high {
            let mid = low + (high - low) / 2;
            if self.recent.iter().filter(|&&ms| ms <= mid).count() >= rank {
                high = mid;
            } else {
                low = mid + 1;
            }
        }
        Some(u64::from(low))
    }
}

/// A snapshot: the running totals and the producer's state now.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    pub counters: Counters,
    pub buffered_records: u64,
    pub buffered_bytes: u64,
    pub in_flight_requests: u64,
    pub in_flight_records: u64,
    /// Records given to `put` that wait for room in a full buffer.
    pub waiting_records: u64,
    /// Failures per error code, every attempt counted.
    pub failures_by_code: CodeCounts,
    /// How long the producer still waits before its next request (backoff), in milliseconds.
    pub current_backoff_ms: u64,
    /// Server clock minus local clock, as corrected for signing.
    pub clock_offset_ms: i64,
    /// Request latency over the last 512 answers; `None` before the first.
    pub latency_p50_ms: Option<u64>,
    pub latency_p99_ms: Option<u64>,
    /// How records are aggregated now, and why not by shard when that happened.
    pub aggregation: AggregationMode,
    pub aggregation_note: Option<String>,
    /// Why the stream's settings are not known, when `DescribeStreamSummary` failed.
    pub stream_note: Option<String>,
    /// Open shards in the shard map (0 without one).
    pub shard_count: u64,
}

impl Stats {
    /// The JS names of the numbers [`Stats::numbers`] gives, in order; `failuresByCode`,
    /// `aggregation`, `aggregationNote` and `streamNote` are given apart.
    pub fn number_names() -> impl Iterator<Item = &'static str> {
        Counters::NAMES.iter().copied().chain([
            "bufferedRecords",
            "bufferedBytes",
            "inFlightRequests",
            "inFlightRecords",
            "waitingRecords",
            "currentBackoffMs",
            "clockOffsetMs",
            "latencyP50Ms",
            "latencyP99Ms",
            "shardCount",
            "recordsPerKinesisRecord",
        ])
    }

    /// The numbers, in [`Stats::number_names`] order; NaN stands for `null`.
    pub fn numbers(&self) -> Vec<f64> {
        let c = &self.counters;
        let per_kinesis_record = if c.kinesis_records_acknowledged == 0 {
            0.0
        } else {
            c.records_acknowledged as f64 / c.kinesis_records_acknowledged as f64
        };
        let or_null = |v: Option<u64>| v.map_or(f64::NAN, |v| v as f64);
        c.values()
            .map(|v| v as f64)
            .chain([
                self.buffered_records as f64,
                self.buffered_bytes as f64,
                self.in_flight_requests as f64,
                self.in_flight_records as f64,
                self.waiting_records as f64,
                self.current_backoff_ms as f64,
                self.clock_offset_ms as f64,
                or_null(self.latency_p50_ms),
                or_null(self.latency_p99_ms),
                self.shard_count as f64,
                per_kinesis_record,
            ])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let mut l = Latencies::default();
        assert_eq!(l.percentile(50), None);
        for ms in 1..=100 {
            l.record(ms);
        }
        assert_eq!((l.percentile(50), l.percentile(99)), (Some(50), Some(99)));
        for _ in 0..1000 {
            l.record(7);
        }
        assert_eq!(l.percentile(99), Some(7), "only the last 512 count");
    }

    #[test]
    fn payload_units_per_started_25_kb() {
        for (size, units) in [
            (1, 1),
            (200, 1),
            (25_000, 1),
            (25_001, 2),
            (45_000, 2),
            (1_000_000, 40),
        ] {
            assert_eq!(put_payload_units(size), units, "{size}");
        }
    }

    #[test]
    fn names_and_numbers_line_up() {
        let stats = Stats {
            counters: Counters {
                records_acknowledged: 10,
                kinesis_records_acknowledged: 4,
                requests_failed: 3,
                ..Counters::default()
            },
            clock_offset_ms: -5,
            latency_p99_ms: Some(9),
            ..Stats::default()
        };
        let named: Vec<(&str, f64)> = Stats::number_names().zip(stats.numbers()).collect();
        assert_eq!(named.len(), Stats::number_names().count());
        let get = |n: &str| named.iter().find(|(k, _)| *k == n).unwrap().1;
        assert_eq!(get("requestsFailed"), 3.0);
        assert_eq!(get("clockOffsetMs"), -5.0);
        assert!(get("latencyP50Ms").is_nan());
        assert_eq!(get("latencyP99Ms"), 9.0);
        assert_eq!(get("recordsPerKinesisRecord"), 2.5);
    }
}
