//! The core's rules for the rest of the package: `signRequest`, the stream reader and the
//! Cognito provider take their endpoints, stream fields, error classification and credential
//! refresh rule from here rather than keeping their own.

use wasm_bindgen::prelude::*;

use super::errors::{error_to_js, failure_to_js};
use super::text::join_headers;
use crate::core::engine::credentials::is_fresh;
use crate::core::kinesis::errors::request_failure;
use crate::core::model::endpoint::Endpoint;
use crate::core::model::target::{check_region, StreamTarget};
use crate::core::sigv4::any_request;
use crate::core::sigv4::signer::sha256_hex;
use crate::core::{ErrorCode, Options, Stats};

/// The names of `ProducerCore.stats()`'s numbers, then (after an empty line) every error code
/// in the order of the failure counts that follow them; newline-separated.
#[wasm_bindgen]
pub fn layout() -> String {
    let mut out = String::new();
    for name in Stats::number_names()
        .chain([""])
        .chain(ErrorCode::ALL.map(ErrorCode::as_str))
    {
        out.push_str(name);
        out.push('\n');
    }
    out.pop();
    out
}

/// SigV4 for any request. `request`: JSON of `{ method, url, region, service, credentials,
/// date? }` (date in epoch ms); `headers`: JSON `[[name, value], ...]`; `sha256Hex`: the body's
/// hash. Returns the headers to add, `name\nvalue\n...` (names and values of our own making).
#[wasm_bindgen(js_name = signRequestCore)]
pub fn sign_request(
    request: &str,
    headers: &str,
    sha256_hex: &str,
    now: f64,
) -> Result<String, JsValue> {
    let signed = any_request::header_pairs(headers)
        .and_then(|pairs| {
            let pairs: Vec<(&str, &str)> = pairs
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            let o = Options::from_json(request, "request")?;
            any_request::sign_request(&o, &pairs, sha256_hex, now.max(0.0) as u64)
        })
        .map_err(|e| error_to_js(&e))?;
    Ok(join_headers(&signed))
}

/// SHA-256 as lower-case hex, where the host has no digest to offer.
#[wasm_bindgen]
pub fn sha256(bytes: &[u8]) -> String {
    sha256_hex(bytes)
}

/// MD5 of `bytes`: the reader checks aggregated records with it.
#[wasm_bindgen]
pub fn md5(bytes: &[u8]) -> Vec<u8> {
    use md5::{Digest, Md5};
    Md5::digest(bytes).to_vec()
}

/// The `KinesisEdgeError` for an error answer (status, `x-amzn-ErrorType`, body), classified as
/// the producer classifies it.
#[wasm_bindgen(js_name = answerError)]
pub fn answer_error(status: u16, error_type: Option<String>, body: &[u8]) -> JsValue {
    failure_to_js(&request_failure(status, error_type.as_deref(), body))
}

/// The URL of `service` in `region`, or the validated custom `endpoint`.
#[wasm_bindgen(js_name = endpointUrl)]
pub fn endpoint_url(
    service: &str,
    region: &str,
    endpoint: Option<String>,
) -> Result<String, JsValue> {
    check_region(region)
        .and_then(|()| Endpoint::resolve(service, region, endpoint.as_deref()))
        .map(|e| e.url())
        .map_err(|e| error_to_js(&e))
}

/// The JSON object that names a stream in a request: `{"StreamName":..,"StreamARN":..}`.
#[wasm_bindgen(js_name = streamFields)]
pub fn stream_fields(
    region: &str,
    name: Option<String>,
    arn: Option<String>,
) -> Result<String, JsValue> {
    StreamTarget::new(name.as_deref(), arn.as_deref(), region)
        .map(|t| format!("{{{}}}", t.json_members()))
        .map_err(|e| error_to_js(&e))
}

/// Whether credentials expiring at `expiration` (epoch ms; none: never) may be used at `now`
/// without asking the provider again.
#[wasm_bindgen(js_name = credentialsFresh)]
pub fn credentials_fresh(expiration: Option<f64>, now: f64) -> bool {
    is_fresh(expiration.map(|e| e.max(0.0) as u64), now.max(0.0) as u64)
}
