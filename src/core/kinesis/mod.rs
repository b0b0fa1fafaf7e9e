//! The Kinesis Data Streams JSON protocol: requests (`PutRecords`, `ListShards`,
//! `DescribeStreamSummary`), their bodies,
//! and how to read the answers and the service's errors.

pub mod describe_stream;
pub mod errors;
pub mod list_shards;
pub mod put_records;
pub mod request;
