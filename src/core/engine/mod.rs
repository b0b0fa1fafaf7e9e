//! The engine: the producer state machine and the parts it is made of (the batcher, the packer,
//! the shard map and its lifecycle, the retry policy, the credentials refresh, the counters, the CloudWatch metrics).

pub mod credentials;
pub mod events;
#[cfg(feature = "metrics")]
pub mod metrics;
// Without the feature the engine's metric hooks do nothing and compile away.
#[cfg(not(feature = "metrics"))]
#[path = "metrics_off.rs"]
pub mod metrics;
#[cfg(feature = "metrics")]
pub mod metrics_publisher;
pub mod packer;
pub mod producer;
pub mod queue;
pub mod rate_limit;
pub mod retry;
pub mod shard_grouping;
pub mod shard_map;
pub mod stats;
pub mod stream_settings;
