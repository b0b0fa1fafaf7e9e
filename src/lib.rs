//! kinesis-edge: a Kinesis Data Streams producer for browsers and edge workers.
//!
//! [`core`] is pure, sans-IO Rust: it validates and batches records, builds and signs
//! `PutRecords` requests and classifies responses, given bytes and a clock by its caller.
//! The `wasm` module (wasm32 only) is the boundary that gives it `fetch`, timers and crypto.

pub mod core;

#[cfg(target_arch = "wasm32")]
mod wasm;
