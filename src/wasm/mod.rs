//! The JavaScript boundary: the only module with `#[wasm_bindgen]`. It converts options and
//! records, reaches `fetch`, timers and crypto through the global object (pages, workers,
//! Node and workerd alike), and turns core errors into JS `Error`s with a stable `code`.
//! Nothing here may panic: a trap would poison the module for every producer on the page.

mod credentials;
mod errors;
mod host;
mod options;
mod producer;
mod reader;
mod sign_request;

#[cfg(test)]
mod tests;
