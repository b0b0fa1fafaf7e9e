//! Counters a dashboard can show. Counts only: never a key, a token or a record's bytes.

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::core::aggregation::AggregationMode;
use crate::core::error::ErrorCode;

/// Provisioned streams bill each record in 25 KB units ("a 5KB record contains one PUT
/// Payload Unit, ... a 1MB record contains 40").
pub const PUT_PAYLOAD_UNIT_BYTES: usize = 25_000;

/// PUT payload units a record of `size` bytes costs.
pub fn put_payload_units(size: usize) -> u64 {
    size.div_ceil(PUT_PAYLOAD_UNIT_BYTES).max(1) as u64
}

/// Failures seen per error code (every attempt of every record), shown as `{ code: count }`.
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

impl Serialize for CodeCounts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let seen = ErrorCode::ALL.iter().filter(|c| self.get(**c) > 0);
        let mut map = serializer.serialize_map(None)?;
        for code in seen {
            map.serialize_entry(code.as_str(), &self.get(*code))?;
        }
        map.end()
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

/// Byte counts are record sizes (data plus partition key), as Kinesis counts them.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub records_accepted: u64,
    pub bytes_accepted: u64,
    /// User records sent (every attempt), and the Kinesis records that carried them: fewer
    /// with aggregation.
    pub records_sent: u64,
    pub kinesis_records_sent: u64,
    pub bytes_sent: u64,
    pub records_acknowledged: u64,
    pub kinesis_records_acknowledged: u64,
    /// PUT payload units of the acknowledged Kinesis records (25 KB each, rounded up per record).
    pub put_payload_units: u64,
    pub bytes_acknowledged: u64,
    pub records_failed: u64,
    pub bytes_failed: u64,
    /// Of the failed records, those whose time to live ran out.
    pub records_expired: u64,
    /// Records put back to be sent again, and how many of those were throttled.
    pub retries: u64,
    pub throttles: u64,
    /// `PutRecords` requests made, and how many of those failed as a whole.
    pub requests: u64,
    pub requests_failed: u64,
    pub buffered_records: u64,
    pub buffered_bytes: u64,
    pub in_flight_requests: u64,
    pub in_flight_records: u64,
    /// Failures per error code, every attempt counted.
    pub failures_by_code: CodeCounts,
    /// How long the producer still waits before its next request (backoff), in milliseconds.
    pub current_backoff_ms: u64,
    /// Server clock minus local clock, as corrected for signing.
    pub clock_offset_ms: i64,
    /// Request latency over the last 512 answers; `null` before the first.
    pub latency_p50_ms: Option<u64>,
    pub latency_p99_ms: Option<u64>,
    /// How records are aggregated now, and why not by shard when that happened.
    pub aggregation: AggregationMode,
    pub aggregation_note: Option<String>,
    /// Open shards in the shard map (0 without one).
    pub shard_count: u64,
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
    fn code_counts_show_only_seen_codes() {
        let mut c = CodeCounts::default();
        c.add(ErrorCode::Throttled);
        c.add(ErrorCode::Throttled);
        c.add(ErrorCode::Timeout);
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"Throttled":2,"Timeout":1}"#
        );
    }
}
