//! What the producer knows of the stream itself, from `DescribeStreamSummary` or the
//! `streamSettings` option: whether it takes writes yet, who places records on shards, and how
//! large a record may be.

/// A stream's record limit unless its owner changed it (`MaxRecordSizeInKiB` 1024).
pub const DEFAULT_STREAM_RECORD_BYTES: usize = 1024 * 1024;

/// `StreamStatus`.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamStatus {
    /// Being created: writes are refused as `ResourceNotFoundException` until it is active.
    Creating,
    Active,
    /// Resharding or changing mode: writes are accepted.
    Updating,
    /// Being deleted: nothing will be stored again.
    Deleting,
}

impl StreamStatus {
    pub fn from_wire(s: &str) -> Option<Self> {
        Some(match s {
            "CREATING" => Self::Creating,
            "ACTIVE" => Self::Active,
            "UPDATING" => Self::Updating,
            "DELETING" => Self::Deleting,
            _ => return None,
        })
    }
}

/// The stream's settings that change what the producer sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamSettings {
    pub status: StreamStatus,
    /// `RecordDistributionStrategy` `AUTO` (on-demand streams only): the service places records
    /// itself and ignores partition and explicit hash keys, so aggregates would be misplaced and
    /// a record needs no partition key.
    pub auto_distribution: bool,
    /// `MaxRecordSizeInKiB` in bytes: the largest record (data plus partition key).
    pub max_record_bytes: usize,
}

impl Default for StreamSettings {
    /// A stream as created with no options: active, keys place records, 1 MiB records.
    fn default() -> Self {
        Self {
            status: StreamStatus::Active,
            auto_distribution: false,
            max_record_bytes: DEFAULT_STREAM_RECORD_BYTES,
        }
    }
}
