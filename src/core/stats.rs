//! Counters a dashboard can show. Counts only: never a key, a token or a record's bytes.

use serde::Serialize;

/// Byte counts are record sizes (data plus partition key), as Kinesis counts them.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub records_accepted: u64,
    pub bytes_accepted: u64,
    pub records_sent: u64,
    pub bytes_sent: u64,
    pub records_acknowledged: u64,
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
}
