//! Differential test: for random requests, the signature this crate builds (own canonical
//! request, `aws-sigv4`'s signing key and HMAC) must equal the one from `aws-sigv4`'s complete
//! HTTP signer with its default settings.
#![cfg(not(target_arch = "wasm32"))] // Native: reads files and uses proptest.

use std::time::{Duration, UNIX_EPOCH};

use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use kinesis_edge::core::sigv4::signer::{self, sha256_hex, SignInput, SigningKeyCache};
use kinesis_edge::core::Credentials;
use proptest::prelude::*;

fn crate_authorization(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    hash: &str,
    creds: (&str, &str, Option<&str>),
    region: &str,
    time_ms: u64,
) -> String {
    let identity: Identity =
        AwsCredentials::new(creds.0, creds.1, creds.2.map(Into::into), None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("kinesis")
        .time(UNIX_EPOCH + Duration::from_millis(time_ms))
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let request = SignableRequest::new(
        method,
        url,
        headers.iter().copied(),
        SignableBody::Precomputed(hash.to_owned()),
    )
    .unwrap();
    let (instructions, _) = sign(request, &params).unwrap().into_parts();
    let authorization = instructions
        .headers()
        .find(|(n, _)| *n == "authorization")
        .map(|(_, v)| v.to_owned());
    authorization.unwrap()
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_~-]{1,8}",
        Just(".".to_owned()),
        Just("..".to_owned()),
        Just("".to_owned()),
        "%[0-9A-F]{2}"
    ]
}

fn query_part() -> impl Strategy<Value = String> {
    "([a-zA-Z0-9_.~-]|%[0-9A-F]{2}|\\+){0,6}"
}

fn header() -> impl Strategy<Value = (String, String)> {
    (
        prop_oneof![
            "[A-Za-z][A-Za-z0-9-]{0,12}",
            Just("Content-Type".to_owned()),
            Just("User-Agent".to_owned())
        ],
        "[ ]{0,2}[a-zA-Z0-9/;=,.-]{0,6}([ ]{1,3}[a-zA-Z0-9]{1,4}){0,2}[ ]{0,2}",
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn same_signature_as_aws_sigv4(
        method in prop_oneof![Just("GET"), Just("POST"), Just("PUT"), Just("DELETE")],
        host in prop_oneof![Just("kinesis.us-east-1.amazonaws.com"), Just("127.0.0.1:4567"), Just("example.com:443")],
        segments in proptest::collection::vec(segment(), 0..5),
        trailing_slash in any::<bool>(),
        query in proptest::collection::vec((query_part(), proptest::option::of(query_part())), 0..4),
        headers in proptest::collection::vec(header(), 0..5),
        token in proptest::option::of("[A-Za-z0-9+/=]{8,40}"),
        time_ms in 0u64..4_102_444_800_000,
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut path = String::new();
        for s in &segments {
            path.push('/');
            path.push_str(s);
        }
        if trailing_slash || path.is_empty() {
            path.push('/');
        }
        let query: Vec<String> = query
            .iter()
            .map(|(k, v)| match v { Some(v) => format!("{k}={v}"), None => k.clone() })
            .collect();
        let url = if query.is_empty() {
            format!("https://{host}{path}")
        } else {
            format!("https://{host}{path}?{}", query.join("&"))
        };
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let hash = sha256_hex(&body);
        let expected = crate_authorization(method, &url, &headers, &hash, ("AKID", "SECRET", token.as_deref()), "eu-west-1", time_ms);
        let creds = Credentials::new("AKID".into(), "SECRET".into(), token.clone(), None).unwrap();
        let ours = signer::sign(
            &SignInput { method, url: &url, headers: &headers, payload_sha256_hex: &hash, region: "eu-west-1", service: "kinesis", time_ms },
            &creds,
            &mut SigningKeyCache::default(),
        ).unwrap();
        prop_assert_eq!(ours.authorization, expected, "url {}", url);
    }
}
