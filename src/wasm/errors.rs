//! Core errors as JS `Error` objects: `name` is always `KinesisEdgeError`, `code` is the stable
//! [`ErrorCode`] string, and `field`, `awsCode`, `status`, `retryable`, `lastCode` are set when
//! known.

use js_sys::Reflect;
use wasm_bindgen::JsValue;

use crate::core::{Error, ErrorCode, Failure};

pub const ERROR_NAME: &str = "KinesisEdgeError";

fn set(target: &JsValue, key: &str, value: &JsValue) {
    // Setting a property on a fresh Error cannot fail; nothing to do if it somehow did.
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

fn base(code: ErrorCode, message: &str) -> JsValue {
    let err = js_sys::Error::new(message);
    err.set_name(ERROR_NAME);
    let err: JsValue = err.into();
    set(&err, "code", &JsValue::from_str(code.as_str()));
    err
}

pub fn error_to_js(err: &Error) -> JsValue {
    if let Error::Failed(f) = err {
        return failure_to_js(f);
    }
    let js = base(err.code(), &err.to_string());
    if let Some(field) = err.field() {
        set(&js, "field", &JsValue::from_str(field));
    }
    js
}

pub fn failure_to_js(f: &Failure) -> JsValue {
    let js = base(f.code, &f.to_string());
    set(
        &js,
        "retryable",
        &JsValue::from_bool(f.retry.is_retryable()),
    );
    if let Some(aws) = &f.aws_code {
        set(&js, "awsCode", &JsValue::from_str(aws));
    }
    if let Some(status) = f.status {
        set(&js, "status", &JsValue::from_f64(f64::from(status)));
    }
    if let Some(last) = f.last_code {
        set(&js, "lastCode", &JsValue::from_str(last.as_str()));
    }
    js
}
