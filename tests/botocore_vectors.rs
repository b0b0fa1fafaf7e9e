//! Kinesis requests signed by botocore (tests/vectors/gen_botocore_vectors.py): the core signer
//! must produce the same canonical request, string to sign and Authorization header.
#![cfg(not(target_arch = "wasm32"))] // Native: reads files and uses proptest.

mod common;

use base64::Engine as _;
use kinesis_edge::core::sigv4::signer::{self, sha256_hex, SignInput, SigningKeyCache};
use kinesis_edge::core::Credentials;
use serde_json::Value;

#[test]
fn botocore_kinesis_vectors() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/kinesis-botocore.json"
    );
    let vectors: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let s = |v: &Value| v.as_str().unwrap().to_owned();
    let cases = vectors["cases"].as_array().unwrap();
    assert!(cases.len() >= 5);
    // One cache across all cases: reuse must never leak a key into another scope.
    let mut cache = SigningKeyCache::default();
    for case in cases {
        let name = s(&case["name"]);
        let token = case["session_token"]
            .as_bool()
            .unwrap()
            .then(|| s(&vectors["session_token"]));
        let creds = Credentials::new(
            s(&vectors["access_key_id"]),
            s(&vectors["secret_access_key"]),
            token,
            None,
        )
        .unwrap();
        let body = base64::engine::general_purpose::STANDARD
            .decode(s(&case["body_base64"]))
            .unwrap();
        let headers: Vec<(String, String)> = case["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| (s(&h[0]), s(&h[1])))
            .collect();
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let hash = sha256_hex(&body);
        let (url, region) = (s(&case["url"]), s(&case["region"]));
        let input = SignInput {
            method: "POST",
            url: &url,
            headers: &headers,
            payload_sha256_hex: &hash,
            region: &region,
            service: "kinesis",
            time_ms: common::parse_timestamp(&s(&case["time"])),
        };
        let sts = signer::string_to_sign(&input, &creds).unwrap();
        assert_eq!(
            sts.canonical.request,
            s(&case["canonical_request"]),
            "{name}: canonical request"
        );
        assert_eq!(
            sts.text,
            s(&case["string_to_sign"]),
            "{name}: string to sign"
        );
        let signed = signer::sign(&input, &creds, &mut cache).unwrap();
        assert_eq!(
            signed.authorization,
            s(&case["authorization"]),
            "{name}: authorization"
        );
    }
}

/// The body in the vectors is the one the core writes for the same records, so the vectors
/// cover the exact bytes kinesis-edge sends, not just a request of the same shape.
#[test]
fn vector_bodies_are_core_bodies() {
    use kinesis_edge::core::kinesis::put_records::Framing;
    use kinesis_edge::core::model::target::StreamTarget;
    use kinesis_edge::core::Record;
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/kinesis-botocore.json"
    );
    let vectors: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let case = &vectors["cases"][0];
    let body = base64::engine::general_purpose::STANDARD
        .decode(case["body_base64"].as_str().unwrap())
        .unwrap();
    let target = StreamTarget::new(Some("readings"), None, "us-east-1").unwrap();
    let record = Record::new(br#"{"t":21.5}"#, "device-1", None);
    assert_eq!(Framing::new(&target).write([&record], 0), body);
}
