//! The JavaScript boundary: the only module with `#[wasm_bindgen]`. It is synchronous: every
//! call runs the core to completion and returns; no futures, closures or timers live in wasm.
//! The JS driver owns `fetch`, timers, promises and page events, and asks the core for
//! everything else. Bulk data crosses in few calls: records in one buffer with their lengths,
//! acknowledgements out as numbers and one string. Core errors become JS `Error`s with a stable
//! `code` here. Nothing here may panic: a trap would poison the module for every producer.

mod errors;
mod exports;
#[cfg(feature = "metrics")]
mod metrics;
mod outbox;
mod producer;
mod text;

#[cfg(test)]
mod tests;
