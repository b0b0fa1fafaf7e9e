//! The sans-IO core: no JavaScript, no clock, no network. Every time value is handed in.
//!
//! Layers, each using only those below it (a test checks): `fnv`, `calendar`, `json` (support)
//! → `model` (options, config, records, errors, credentials, endpoints) → wire formats
//! (`sigv4`, `kinesis`, `kpl`, `cloudwatch`) → `engine` (batcher, packer, retry, shard map, producer).

pub mod calendar;
#[cfg(feature = "metrics")]
pub mod cloudwatch;
pub mod engine;
pub mod fnv;
pub mod json;
pub mod kinesis;
pub mod kpl;
pub mod model;
pub mod sigv4;

pub use engine::events::{Ack, Answer, Event, Outcome, RecordId, RequestId, Settlement, Transmit};
pub use engine::producer::{Payload, Producer};
pub use engine::stats::Stats;
pub use model::config::Config;
pub use model::credentials::Credentials;
pub use model::error::{Error, ErrorCode, Failure, RetryClass, SpoolFate};
pub use model::options::Options;
pub use model::record::Record;

/// Milliseconds since the Unix epoch, as the host clock reports them.
pub type Millis = u64;
