//! Boundary tests, run in Node by wasm-bindgen-test: JS errors, option and credential parsing,
//! and a producer driven end to end through a `fetch` written in JS.

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

use super::credentials;
use super::errors::{error_to_js, failure_to_js};
use super::options::producer_options;
use super::producer::WasmProducer;
use crate::core::classify::failure;
use crate::core::Error;

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(key)).unwrap()
}

fn js(body: &str) -> JsValue {
    Function::new_no_args(body)
        .call0(&JsValue::UNDEFINED)
        .unwrap()
}

#[wasm_bindgen_test]
fn errors_are_js_errors_with_code_and_name() {
    let e = error_to_js(&Error::invalid_option("lingerMs", "must be a number"));
    assert!(e.is_instance_of::<js_sys::Error>());
    assert_eq!(
        get(&e, "name").as_string().as_deref(),
        Some("KinesisEdgeError")
    );
    assert_eq!(
        get(&e, "code").as_string().as_deref(),
        Some("InvalidOption")
    );
    assert_eq!(get(&e, "field").as_string().as_deref(), Some("lingerMs"));
    let f = failure_to_js(&failure(
        Some("ProvisionedThroughputExceededException"),
        Some(400),
        "slow down",
    ));
    assert_eq!(get(&f, "code").as_string().as_deref(), Some("Throttled"));
    assert_eq!(
        get(&f, "awsCode").as_string().as_deref(),
        Some("ProvisionedThroughputExceededException")
    );
    assert_eq!(get(&f, "status").as_f64(), Some(400.0));
    assert_eq!(get(&f, "retryable").as_bool(), Some(true));
}

#[wasm_bindgen_test]
fn options_of_the_wrong_type_name_their_field() {
    for (body, field) in [
        ("return { region: 5 }", "region"),
        ("return { region: 'us-east-1', lingerMs: '10' }", "lingerMs"),
        (
            "return { region: 'us-east-1', streamName: ['a'] }",
            "streamName",
        ),
        ("return 'options'", "options"),
        ("return { aggregation: 'yes' }", "aggregation"),
        (
            "return { aggregation: { enabled: 1 } }",
            "aggregation.enabled",
        ),
        (
            "return { aggregation: { maxBytes: '1kb' } }",
            "aggregation.maxBytes",
        ),
        (
            "return { aggregation: { shardMapRefreshMs: {} } }",
            "aggregation.shardMapRefreshMs",
        ),
    ] {
        let err = producer_options(&js(body)).unwrap_err();
        assert_eq!(err.field(), Some(field), "{body}");
    }
    let ok = producer_options(&js(
        "return { region: 'us-east-1', streamName: 's', lingerMs: 5 }",
    ))
    .unwrap();
    assert_eq!(ok.linger_ms, Some(5.0));
    assert_eq!(ok.aggregation, None);
    for (body, enabled, max_bytes) in [
        ("return { aggregation: true }", Some(true), None),
        ("return { aggregation: false }", Some(false), None),
        (
            "return { aggregation: { maxBytes: 25000 } }",
            Some(true),
            Some(25_000.0),
        ),
        (
            "return { aggregation: { enabled: false, maxBytes: 25000 } }",
            Some(false),
            Some(25_000.0),
        ),
    ] {
        let o = producer_options(&js(body)).unwrap();
        assert_eq!(
            (o.aggregation, o.aggregation_max_bytes),
            (enabled, max_bytes),
            "{body}"
        );
    }
}

#[wasm_bindgen_test]
fn credential_expirations_in_every_form() {
    for body in [
        "return { accessKeyId: 'a', secretAccessKey: 's', expiration: new Date(86400000) }",
        "return { accessKeyId: 'a', secretAccessKey: 's', expiration: 86400000 }",
        "return { accessKeyId: 'a', secretAccessKey: 's', expiration: '1970-01-02T00:00:00Z' }",
    ] {
        assert_eq!(
            credentials::parse(&js(body)).unwrap().expiration(),
            Some(86_400_000),
            "{body}"
        );
    }
    let bad = credentials::parse(&js(
        "return { accessKeyId: 'a', secretAccessKey: 's', expiration: 'never' }",
    ));
    assert!(matches!(bad, Err(Error::Credentials(_))));
    assert!(credentials::parse(&js("return { accessKeyId: 'a', secretAccessKey: 7 }")).is_err());
}

#[wasm_bindgen_test]
fn constructor_refuses_missing_hooks_and_bad_records_without_trapping() {
    let options = js("return { region: 'us-east-1', streamName: 's', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } }");
    let err = WasmProducer::new(options.clone(), Object::new().into())
        .err()
        .unwrap();
    assert_eq!(get(&err, "field").as_string().as_deref(), Some("onAcks"));
    let hooks = js("return { onAcks() {}, onFail() {} }");
    let p = WasmProducer::new(options, hooks).unwrap();
    // An empty key, a bad hash key, and layouts pointing outside the buffer: errors, not traps.
    const NONE: u32 = u32::MAX;
    let buffer = b"datak01";
    #[rustfmt::skip]
    let layout = [
        0, 4, 4, 4, NONE, 0, // empty partition key
        0, 4, 4, 5, 5, 7, // explicit hash key "01"
        0, 99, 4, 5, NONE, 0, // data past the end
        5, 4, 4, 5, NONE, 0, // start after end
        0, 4, 4, 5, 6, 99, // hash key past the end
    ];
    let answer = p.put_batch(buffer, &layout).unwrap();
    assert_eq!(answer.get(0).as_f64(), Some(0.0));
    let codes: Vec<(f64, String)> = (1..answer.length())
        .step_by(2)
        .map(|i| {
            (
                answer.get(i).as_f64().unwrap(),
                get(&answer.get(i + 1), "code").as_string().unwrap(),
            )
        })
        .collect();
    let expected = [
        (0.0, "InvalidRecord"),
        (1.0, "InvalidRecord"),
        (2.0, "InvalidOption"),
        (3.0, "InvalidOption"),
        (4.0, "InvalidOption"),
    ];
    assert_eq!(codes, expected.map(|(i, c)| (i, c.to_owned())));
    assert_eq!(
        get(&p.stats().unwrap(), "recordsAccepted").as_f64(),
        Some(0.0)
    );
}

#[wasm_bindgen_test]
async fn put_flush_and_settle_through_a_js_fetch() {
    let world = js(r#"
        const out = { acks: [], fails: [], requests: [] };
        let done;
        out.done = new Promise((r) => (done = r));
        out.onAcks = (ids, seqs, shards) => { ids.forEach((id, i) => out.acks.push([id, seqs.split('\n')[i], shards.split('\n')[i]])); if (out.acks.length + out.fails.length === 2) done(); };
        out.onFail = (id, error) => { out.fails.push([id, error]); if (out.acks.length + out.fails.length === 2) done(); };
        // "two" (base64 dHdv) always fails with a retryable error, every attempt; the rest succeed.
        out.fetch = async (url, init) => {
            out.requests.push({ url, init });
            const sent = JSON.parse(new TextDecoder().decode(init.body)).Records;
            const records = sent.map((r) => r.Data === 'dHdv'
                ? { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }
                : { SequenceNumber: '49', ShardId: 'shardId-000000000000' });
            return new Response(JSON.stringify({ FailedRecordCount: 1, Records: records }), { status: 200 });
        };
        return out;
    "#);
    let options = Object::new();
    for (k, v) in [
        ("region", JsValue::from("eu-west-1")),
        ("streamName", JsValue::from("s")),
        ("lingerMs", JsValue::from(60_000)),
        // The second record keeps failing with a retryable error: it expires after 50 ms.
        ("recordTtlMs", JsValue::from(50)),
        ("fetch", get(&world, "fetch")),
        (
            "credentials",
            js("return { accessKeyId: 'a', secretAccessKey: 'b' }"),
        ),
    ] {
        Reflect::set(&options, &JsValue::from(k), &v).unwrap();
    }
    let p = WasmProducer::new(options.into(), world.clone()).unwrap();
    // Two records: bytes [1, 2, 3] with key "k", and "two" with key "k" and hash key "42".
    let buffer = [1, 2, 3, b'k', b't', b'w', b'o', b'4', b'2'];
    let answer = p
        .put_batch(&buffer, &[0, 3, 3, 4, u32::MAX, 0, 4, 7, 3, 4, 7, 9])
        .unwrap();
    assert_eq!(answer.length(), 1, "both accepted");
    let first = answer.get(0).as_f64().unwrap();
    let second = first + 1.0;
    p.flush();
    JsFuture::from(get(&world, "done").dyn_into::<Promise>().unwrap())
        .await
        .unwrap();
    let acks = js_sys::Array::from(&get(&world, "acks"));
    let ack = js_sys::Array::from(&acks.get(0));
    assert_eq!(ack.get(0).as_f64(), Some(first));
    assert_eq!(ack.get(1).as_string().as_deref(), Some("49"));
    let fails = js_sys::Array::from(&get(&world, "fails"));
    let fail = js_sys::Array::from(&fails.get(0));
    assert_eq!(fail.get(0).as_f64(), Some(second));
    assert_eq!(
        get(&fail.get(1), "code").as_string().as_deref(),
        Some("Expired")
    );
    assert_eq!(
        get(&fail.get(1), "lastCode").as_string().as_deref(),
        Some("ServiceUnavailable")
    );
    let request = js_sys::Array::from(&get(&world, "requests")).get(0);
    let headers = get(&get(&request, "init"), "headers");
    assert!(get(&headers, "authorization")
        .as_string()
        .unwrap()
        .contains("/eu-west-1/kinesis/aws4_request"));
    assert!(p.is_idle());
}
