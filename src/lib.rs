//! kinesis-edge: a Kinesis Data Streams producer for browsers and edge workers.
//!
//! [`core`] is pure, sans-IO Rust: it validates, batches and aggregates records, builds and signs
//! requests and reads the answers, given bytes and a clock by its caller. The `wasm` module
//! (wasm32 only) is the synchronous boundary its JS driver calls.

pub mod core;

#[cfg(target_arch = "wasm32")]
mod wasm;

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
