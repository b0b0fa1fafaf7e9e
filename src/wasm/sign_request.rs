//! `signRequest`: SigV4 for any AWS call, for interop and for services the producer does not
//! cover. The wrapper normalises headers to `[name, value]` pairs, the body to bytes and the
//! date to epoch milliseconds, and resolves a credentials provider, before calling this.

use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

use super::credentials;
use super::errors::{error_to_js, invalid_option};
use super::host;
use super::options::{field, opt_number, opt_string, require_object};
use crate::core::signer::{self, SignInput};
use crate::core::Error;

fn required(input: &JsValue, key: &'static str) -> Result<String, JsValue> {
    opt_string(input, key)
        .map_err(|e| error_to_js(&e))?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid_option(key, "is required"))
}

/// Install the runtime's synchronous SHA-256 (`bytes => hex`), used before WebCrypto.
#[wasm_bindgen(js_name = setSha256)]
pub fn set_sha256(f: JsValue) {
    host::set_sha256_hook(f.dyn_into().ok());
}

/// `input`: `{ method, url, headers: [name, value][], body: Uint8Array, region, service,
/// credentials, date?: epoch ms }`. Resolves to the headers to add.
#[wasm_bindgen(js_name = signRequestNormalized)]
pub async fn sign_request(input: JsValue) -> Result<JsValue, JsValue> {
    require_object(&input, "request").map_err(|e| error_to_js(&e))?;
    let method = required(&input, "method")?.to_ascii_uppercase();
    if !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(invalid_option("method", "must be an HTTP method name"));
    }
    let url = required(&input, "url")?;
    let region = required(&input, "region")?;
    let service = required(&input, "service")?;
    let creds = credentials::parse(&field(&input, "credentials")).map_err(|e| error_to_js(&e))?;
    let time_ms = match opt_number(&input, "date").map_err(|e| error_to_js(&e))? {
        None => host::now(),
        Some(ms) if ms.is_finite() && ms >= 0.0 => ms as u64,
        Some(_) => return Err(invalid_option("date", "must be a valid date")),
    };
    let pairs: Vec<(String, String)> = Array::from(&field(&input, "headers"))
        .iter()
        .filter_map(|pair| {
            let pair = Array::from(&pair);
            Some((pair.get(0).as_string()?, pair.get(1).as_string()?))
        })
        .collect();
    let headers: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let body = field(&input, "body")
        .dyn_into::<Uint8Array>()
        .unwrap_or_else(|_| Uint8Array::new_with_length(0));
    let body_bytes = body.to_vec();
    let hash = host::sha256_hex(&body, &body_bytes).await;
    let signed = signer::sign(
        &SignInput {
            method: &method,
            url: &url,
            headers: &headers,
            payload_sha256_hex: &hash,
            region: &region,
            service: &service,
            time_ms,
        },
        &creds,
        &mut signer::SigningKeyCache::default(),
    )
    .map_err(|e| match e {
        Error::Signing(why) => invalid_option("url", &format!("cannot be signed: {why}")),
        other => error_to_js(&other),
    })?;
    let out = Object::new();
    for (name, value) in signed.pairs() {
        let _ = Reflect::set(&out, &JsValue::from_str(name), &JsValue::from_str(value));
    }
    Ok(out.into())
}
