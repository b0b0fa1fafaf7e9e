//! The model: what the producer is told (options, records, credentials) and the rules that hold
//! for them regardless of how they travel.

pub mod config;
pub mod credentials;
pub mod endpoint;
pub mod error;
pub mod metrics_options;
pub mod options;
pub mod record;
pub mod shard;
pub mod stream;
pub mod target;
