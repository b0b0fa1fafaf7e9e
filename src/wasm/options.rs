//! Reading JS option objects field by field, so that a wrong type is refused with the name of
//! the field (a generic deserializer would say only "invalid type").

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};

use crate::core::{Error, ProducerOptions};

pub fn field(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

pub fn opt_string(obj: &JsValue, key: &'static str) -> Result<Option<String>, Error> {
    let v = field(obj, key);
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    v.as_string()
        .map(Some)
        .ok_or_else(|| Error::invalid_option(key, "must be a string"))
}

pub fn opt_number(obj: &JsValue, key: &'static str) -> Result<Option<f64>, Error> {
    let v = field(obj, key);
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    v.as_f64()
        .map(Some)
        .ok_or_else(|| Error::invalid_option(key, "must be a number"))
}

/// `aggregation`: absent, a boolean, or `{ enabled = true, maxBytes, shardMapRefreshMs }`.
fn aggregation(obj: &JsValue, options: &mut ProducerOptions) -> Result<(), Error> {
    let v = field(obj, "aggregation");
    if v.is_undefined() || v.is_null() {
        return Ok(());
    }
    if let Some(on) = v.as_bool() {
        options.aggregation = Some(on);
        return Ok(());
    }
    if !v.is_object() {
        return Err(Error::invalid_option(
            "aggregation",
            "must be a boolean or { enabled, maxBytes, shardMapRefreshMs }",
        ));
    }
    let enabled = field(&v, "enabled");
    let enabled = if enabled.is_undefined() {
        true
    } else {
        enabled
            .as_bool()
            .ok_or_else(|| Error::invalid_option("aggregation.enabled", "must be a boolean"))?
    };
    let number = |key: &'static str, shown: &'static str| {
        opt_number(&v, key).map_err(|_| Error::invalid_option(shown, "must be a number"))
    };
    options.aggregation = Some(enabled);
    options.aggregation_max_bytes = number("maxBytes", "aggregation.maxBytes")?;
    options.shard_map_refresh_ms = number("shardMapRefreshMs", "aggregation.shardMapRefreshMs")?;
    Ok(())
}

pub fn require_object(value: &JsValue, what: &'static str) -> Result<(), Error> {
    if value.is_object() {
        Ok(())
    } else {
        Err(Error::invalid_option(what, "must be an object"))
    }
}

pub fn producer_options(obj: &JsValue) -> Result<ProducerOptions, Error> {
    require_object(obj, "options")?;
    let mut options = ProducerOptions {
        region: opt_string(obj, "region")?,
        stream_name: opt_string(obj, "streamName")?,
        stream_arn: opt_string(obj, "streamArn")?,
        endpoint: opt_string(obj, "endpoint")?,
        linger_ms: opt_number(obj, "lingerMs")?,
        max_records_per_request: opt_number(obj, "maxRecordsPerRequest")?,
        max_request_bytes: opt_number(obj, "maxRequestBytes")?,
        max_record_bytes: opt_number(obj, "maxRecordBytes")?,
        max_in_flight_requests: opt_number(obj, "maxInFlightRequests")?,
        record_ttl_ms: opt_number(obj, "recordTtlMs")?,
        request_timeout_ms: opt_number(obj, "requestTimeoutMs")?,
        max_buffered_records: opt_number(obj, "maxBufferedRecords")?,
        max_buffered_bytes: opt_number(obj, "maxBufferedBytes")?,
        ordering: opt_string(obj, "ordering")?,
        ..ProducerOptions::default()
    };
    aggregation(obj, &mut options)?;
    Ok(options)
}

/// An expiration given as a `Date`, epoch milliseconds, or an ISO-8601 string.
pub fn expiration_ms(v: &JsValue) -> Result<Option<u64>, Error> {
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    let ms = if let Some(n) = v.as_f64() {
        n
    } else if let Some(s) = v.as_string() {
        js_sys::Date::parse(&s)
    } else if v.is_instance_of::<js_sys::Date>() {
        js_sys::Date::from(v.clone()).get_time()
    } else {
        f64::NAN
    };
    if ms.is_finite() && ms >= 0.0 {
        Ok(Some(ms as u64))
    } else {
        Err(Error::Credentials(
            "expiration must be a Date, epoch milliseconds or an ISO-8601 string".into(),
        ))
    }
}
