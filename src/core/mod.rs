//! The sans-IO core: no JavaScript, no clock, no network. Every time value is handed in.

pub mod aggregate;
pub mod aggregation;
pub mod batcher;
pub mod body;
pub mod canonical;
pub mod classify;
pub mod config;
pub mod credentials;
pub mod endpoint;
pub mod error;
pub mod packer;
pub mod producer;
pub mod record;
pub mod request;
pub mod response;
pub mod retry;
pub mod shard_map;
pub mod signer;
pub mod stats;

pub use classify::RetryClass;
pub use config::{ProducerConfig, ProducerOptions, StreamTarget};
pub use credentials::Credentials;
pub use error::{Error, ErrorCode, Failure};
pub use producer::{Answer, Outcome, Producer, RecordId, Settlement};
pub use record::Record;
pub use request::PreparedRequest;
pub use stats::Stats;

/// Milliseconds since the Unix epoch, as the host clock reports them.
pub type Millis = u64;
