//! The Kinesis Producer Library's aggregated record format: the magic `F3 89 9A C2`, a protobuf
//! `AggregatedRecord`, then the MD5 of the protobuf bytes.

pub mod aggregate;
#[cfg(test)]
pub mod decode;

pub const MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];
pub const DIGEST_LEN: usize = 16;
