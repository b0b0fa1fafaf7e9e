//! What the host gives: `fetch`, timers, the clock and SHA-256, all found on the global
//! object (`window()` does not exist in workers), looked up once per producer.

use std::cell::RefCell;

use js_sys::{Function, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::core::{signer, Millis};

thread_local! {
    /// A synchronous SHA-256 (bytes -> hex) installed by the entry point when the runtime has
    /// one (node:crypto); otherwise WebCrypto is used, and wasm SHA-256 as the last resort.
    static SHA256_HOOK: RefCell<Option<Function>> = const { RefCell::new(None) };
}

pub fn set_sha256_hook(f: Option<Function>) {
    SHA256_HOOK.with(|h| *h.borrow_mut() = f);
}

fn global() -> Object {
    js_sys::global()
}

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// The host clock. Before 1970 or NaN counts as 0: signing will then fail loudly, not trap.
pub fn now() -> Millis {
    let ms = js_sys::Date::now();
    if ms.is_finite() && ms > 0.0 {
        ms as Millis
    } else {
        0
    }
}

/// SHA-256 of `bytes` as lower-case hex, with the fastest digest the host offers.
pub async fn sha256_hex(bytes: &Uint8Array, fallback: &[u8]) -> String {
    let hook = SHA256_HOOK.with(|h| h.borrow().clone());
    if let Some(f) = hook {
        if let Some(hex) = f
            .call1(&JsValue::NULL, bytes)
            .ok()
            .and_then(|v| v.as_string())
        {
            if hex.len() == 64 {
                return hex;
            }
        }
    }
    if let Some(hex) = webcrypto_sha256(bytes).await {
        return hex;
    }
    signer::sha256_hex(fallback)
}

async fn webcrypto_sha256(bytes: &Uint8Array) -> Option<String> {
    // `crypto.subtle` is missing on plain-http pages (not a secure context) and in old runtimes.
    let subtle = get(&get(&global(), "crypto"), "subtle");
    let digest = get(&subtle, "digest").dyn_into::<Function>().ok()?;
    let promise = digest
        .call2(&subtle, &JsValue::from_str("SHA-256"), bytes)
        .ok()?
        .dyn_into::<js_sys::Promise>()
        .ok()?;
    let buffer = JsFuture::from(promise).await.ok()?;
    Some(signer::hex(&Uint8Array::new(&buffer).to_vec()))
}

/// The `fetch` to use: the caller's, or the global one bound to the global object.
pub fn fetch_function(user: &JsValue) -> Option<(Function, JsValue)> {
    if let Some(f) = user.dyn_ref::<Function>() {
        return Some((f.clone(), JsValue::UNDEFINED));
    }
    let g: JsValue = global().into();
    get(&g, "fetch").dyn_into::<Function>().ok().map(|f| (f, g))
}

/// What came back from `fetch`.
pub struct HttpResponse {
    pub status: u16,
    pub error_type: Option<String>,
    /// The `Date` header as epoch milliseconds.
    pub date_ms: Option<u64>,
    pub body: Vec<u8>,
}

/// Why no response came back.
pub enum PostError {
    /// `fetch` rejected or threw (connection refused, reset, DNS, CORS).
    Network(String),
    /// No complete answer within the timeout; the request was aborted.
    Timeout,
}

/// Aborts a request through an `AbortController` when its timer fires first, or when the
/// producer gives up on it (`abort`).
pub struct Deadline {
    controller: JsValue,
    handle: Option<JsValue>,
    fired: std::rc::Rc<std::cell::Cell<bool>>,
    _on_timeout: Option<wasm_bindgen::closure::Closure<dyn FnMut()>>,
}

impl Deadline {
    pub fn start(timeout_ms: u64) -> Self {
        let g: JsValue = global().into();
        let controller = get(&g, "AbortController")
            .dyn_into::<Function>()
            .ok()
            .and_then(|ctor| Reflect::construct(&ctor, &js_sys::Array::new()).ok())
            .unwrap_or(JsValue::UNDEFINED);
        let fired = std::rc::Rc::new(std::cell::Cell::new(false));
        let (flag, target) = (fired.clone(), controller.clone());
        let on_timeout = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || {
            flag.set(true);
            abort(&target);
        });
        let handle = set_timeout(on_timeout.as_ref().unchecked_ref(), timeout_ms as f64);
        Self {
            controller,
            handle,
            fired,
            _on_timeout: Some(on_timeout),
        }
    }

    fn signal(&self) -> JsValue {
        get(&self.controller, "signal")
    }

    /// Whether the timeout has passed (rather than an abort from elsewhere).
    pub fn fired(&self) -> bool {
        self.fired.get()
    }

    /// The controller, for aborting the request from elsewhere.
    pub fn controller(&self) -> JsValue {
        self.controller.clone()
    }

    fn error(&self, e: &JsValue) -> PostError {
        if self.fired() {
            PostError::Timeout
        } else {
            PostError::Network(super::errors::describe(e))
        }
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            clear_timeout(&h);
        }
    }
}

/// Abort a request through its controller (see [`Deadline::controller`]).
pub fn abort(controller: &JsValue) {
    if let Ok(abort) = get(controller, "abort").dyn_into::<Function>() {
        let _ = abort.call0(controller);
    }
}

/// Start a POST of `body` with `headers`, aborted when `deadline` passes or is aborted; the
/// fetch is called before this returns (a page that is going away may run nothing later).
/// `keepalive`: the request may outlive the page (the browser caps such bodies at 64 KiB in all).
pub fn start_post(
    fetch: &(Function, JsValue),
    url: &str,
    headers: &[(&str, &str)],
    body: &Uint8Array,
    deadline: &Deadline,
    keepalive: bool,
) -> Result<JsValue, PostError> {
    let header_obj = Object::new();
    for (name, value) in headers {
        let _ = Reflect::set(
            &header_obj,
            &JsValue::from_str(name),
            &JsValue::from_str(value),
        );
    }
    let init = Object::new();
    let set = |key: &str, value: &JsValue| {
        let _ = Reflect::set(&init, &JsValue::from_str(key), value);
    };
    set("method", &JsValue::from_str("POST"));
    set("headers", &header_obj);
    set("body", body);
    set("signal", &deadline.signal());
    if keepalive {
        set("keepalive", &JsValue::TRUE);
    }
    fetch
        .0
        .call2(&fetch.1, &JsValue::from_str(url), &init)
        .map_err(|e| deadline.error(&e))
}

/// The answer to a request [`start_post`] started.
pub async fn finish_post(
    returned: &JsValue,
    deadline: &Deadline,
) -> Result<HttpResponse, PostError> {
    // A fetch that ignores the signal (a user's own) still loses the race against the deadline.
    let response = JsFuture::from(race_deadline(returned, deadline))
        .await
        .map_err(|e| deadline.error(&e))?;
    let headers = get(&response, "headers")
        .dyn_into::<web_sys::Headers>()
        .ok();
    let header = |name: &str| headers.as_ref().and_then(|h| h.get(name).ok().flatten());
    let status = get(&response, "status").as_f64().unwrap_or(0.0) as u16;
    let error_type = header("x-amzn-errortype");
    let date_ms = header("date")
        .map(|d| js_sys::Date::parse(&d))
        .filter(|ms| ms.is_finite() && *ms > 0.0)
        .map(|ms| ms as u64);
    let response: web_sys::Response = response.unchecked_into();
    let buffer = response.array_buffer().map_err(|e| deadline.error(&e))?;
    let buffer = JsFuture::from(race_deadline(&buffer.into(), deadline))
        .await
        .map_err(|e| deadline.error(&e))?;
    Ok(HttpResponse {
        status,
        error_type,
        date_ms,
        body: Uint8Array::new(&buffer).to_vec(),
    })
}

/// `Promise.race([promise, <rejects when the deadline's signal aborts>])`.
pub fn race_deadline(promise: &JsValue, deadline: &Deadline) -> js_sys::Promise {
    let signal = deadline.signal();
    let aborted = js_sys::Promise::new(&mut |_resolve, reject| {
        if let Ok(add) = get(&signal, "addEventListener").dyn_into::<Function>() {
            let _ = add.call2(&signal, &JsValue::from_str("abort"), &reject);
        }
    });
    js_sys::Promise::race(&js_sys::Array::of2(
        &js_sys::Promise::resolve(promise),
        &aborted,
    ))
}

/// A seed for the core's jitter, from the host's randomness.
pub fn random_seed() -> u64 {
    let high = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    let low = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    (high << 32) | low
}

/// `setTimeout(callback, delay)` on the global object; returns the handle for [`clear_timeout`].
pub fn set_timeout(callback: &Function, delay_ms: f64) -> Option<JsValue> {
    let g: JsValue = global().into();
    let f = get(&g, "setTimeout").dyn_into::<Function>().ok()?;
    f.call2(&g, callback, &JsValue::from_f64(delay_ms)).ok()
}

pub fn clear_timeout(handle: &JsValue) {
    let g: JsValue = global().into();
    if let Ok(f) = get(&g, "clearTimeout").dyn_into::<Function>() {
        let _ = f.call1(&g, handle);
    }
}
