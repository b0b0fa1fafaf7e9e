//! What the package's stream reader (`KinesisReader`, in JS) takes from the core: unpacking
//! aggregated records, and classifying error answers exactly as the producer does.

use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

use super::errors::failure_to_js;
use crate::core::aggregate;
use crate::core::response::request_failure;

/// The `KinesisEdgeError` for an error answer (status, `x-amzn-ErrorType`, body).
#[wasm_bindgen(js_name = answerError)]
pub fn answer_error(status: u16, error_type: Option<String>, body: &[u8]) -> JsValue {
    failure_to_js(&request_failure(status, error_type.as_deref(), body))
}

/// `[{ partitionKey, explicitHashKey?, data }]`, or `null` when `bytes` is not an aggregated
/// record (no magic, a wrong checksum, malformed), which is then a plain record.
#[wasm_bindgen]
pub fn deaggregate(bytes: &[u8]) -> JsValue {
    let Some(records) = aggregate::decode(bytes) else {
        return JsValue::NULL;
    };
    let out = Array::new();
    for r in records {
        let o = Object::new();
        let set = |key: &str, value: &JsValue| {
            let _ = Reflect::set(&o, &JsValue::from_str(key), value);
        };
        set("partitionKey", &JsValue::from_str(&r.partition_key));
        if let Some(k) = &r.explicit_hash_key {
            set("explicitHashKey", &JsValue::from_str(k));
        }
        set("data", &Uint8Array::from(r.data.as_slice()));
        out.push(&o);
    }
    out.into()
}
