//! JSON, just what the core needs: a pull reader for the service's answers and the producer's
//! options, and escaping for the bodies it writes. Kept by hand: `serde_json` costs about 20 KB
//! of gzipped wasm (its `Value`, its number formatting and parsing), and every answer the core
//! reads has a fixed, small shape.

mod escape;
mod reader;

pub use escape::{escaped_len, write_escaped};
pub use reader::{Kind, Malformed, Reader};
