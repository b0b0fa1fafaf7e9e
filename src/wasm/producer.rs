//! `Producer`, the wasm half of `KinesisProducer`: it drives the core with the host's clock,
//! timers and `fetch`, and reports each record's settlement through two callbacks
//! (`onAcks(ids, sequenceNumbers, shardIds, subSequenceNumbers)` once per answer, `onFail(id, error)` per failed
//! record), so that the JS wrapper owns the promises and an answer of 500 acknowledgements
//! crosses the boundary once.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use js_sys::{Function, Uint8Array};
use serde::Serialize as _;
use wasm_bindgen::prelude::*;

use super::credentials::CredentialSource;
use super::errors::{error_to_js, failure_to_js, invalid_option};
use super::host::{self, HttpResponse, PostError};
use super::options::{field, producer_options};
use crate::core::classify::transport_failure;
use crate::core::config::DEFAULT_REQUEST_TIMEOUT_MS;
use crate::core::signer::sha256_hex;
use crate::core::{
    Answer, Credentials, Error, ErrorCode, Failure, Outcome, PreparedRequest, Producer,
    ProducerConfig, Record, Settlement,
};

struct Timer {
    at: u64,
    handle: JsValue,
}

struct Shared {
    core: RefCell<Producer>,
    credentials: CredentialSource,
    fetch: (Function, JsValue),
    on_acks: Function,
    on_fail: Function,
    timer: RefCell<Option<Timer>>,
    /// Abort controllers of the requests in flight, so that `abandon` can stop them.
    aborts: RefCell<Vec<(u64, JsValue)>>,
    /// Body bytes of keepalive requests in flight (the browser allows 64 KiB in all).
    keepalive_bytes: Cell<usize>,
    /// The linger timer's callback, made once; it holds only a weak reference.
    tick: RefCell<Option<Closure<dyn FnMut()>>>,
}

#[wasm_bindgen]
pub struct WasmProducer {
    shared: Rc<Shared>,
}

fn callback(hooks: &JsValue, key: &'static str) -> Result<Function, JsValue> {
    field(hooks, key)
        .dyn_into::<Function>()
        .map_err(|_| invalid_option(key, "must be a function"))
}

#[wasm_bindgen]
impl WasmProducer {
    /// `options` as documented for `KinesisProducer`; `hooks` is `{ onAcks, onFail }`.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue, hooks: JsValue) -> Result<WasmProducer, JsValue> {
        let config = producer_options(&options)
            .and_then(ProducerConfig::from_options)
            .map_err(|e| error_to_js(&e))?;
        let credentials = field(&options, "credentials");
        if credentials.is_undefined() || credentials.is_null() {
            return Err(error_to_js(&Error::Credentials(
                "the credentials option is required".into(),
            )));
        }
        let credentials = CredentialSource::from_js(&credentials).map_err(|e| error_to_js(&e))?;
        let user_fetch = field(&options, "fetch");
        if !(user_fetch.is_undefined() || user_fetch.is_null() || user_fetch.is_function()) {
            return Err(invalid_option("fetch", "must be a function"));
        }
        let fetch = host::fetch_function(&user_fetch).ok_or_else(|| {
            invalid_option(
                "fetch",
                "no global fetch in this runtime; pass the fetch option",
            )
        })?;
        let shared = Rc::new(Shared {
            core: RefCell::new(Producer::new(config, host::random_seed())),
            credentials,
            fetch,
            on_acks: callback(&hooks, "onAcks")?,
            on_fail: callback(&hooks, "onFail")?,
            timer: RefCell::new(None),
            aborts: RefCell::new(Vec::new()),
            keepalive_bytes: Cell::new(0),
            tick: RefCell::new(None),
        });
        let weak: Weak<Shared> = Rc::downgrade(&shared);
        let tick = Closure::<dyn FnMut()>::new(move || {
            if let Some(shared) = weak.upgrade() {
                if let Ok(mut t) = shared.timer.try_borrow_mut() {
                    *t = None;
                }
                pump(&shared);
            }
        });
        *shared.tick.borrow_mut() = Some(tick);
        Ok(WasmProducer { shared })
    }

    /// Accept many records in one crossing. `buffer` holds every record's bytes; `layout` has
    /// six offsets per record into it: data start and end, partition key start and end, explicit
    /// hash key start and end (start `u32::MAX` when there is none). Valid records get
    /// consecutive ids; the result is `[firstId, index, error, index, error, ...]` listing the
    /// refused records with their errors. After a `BufferFull`, every later record is refused
    /// with it as well. Nothing is sent or settled here: the caller records the new ids first,
    /// then calls `pump`.
    #[wasm_bindgen(js_name = putBatch)]
    pub fn put_batch(&self, buffer: &[u8], layout: &[u32]) -> Result<js_sys::Array, JsValue> {
        let out = js_sys::Array::new();
        let refuse = |index: usize, err: &Error| {
            out.push(&JsValue::from_f64(index as f64));
            out.push(&error_to_js(err));
        };
        {
            let mut core = self
                .shared
                .core
                .try_borrow_mut()
                .map_err(|_| JsValue::from(js_sys::Error::new("producer busy")))?;
            out.push(&JsValue::from_f64(core.next_record_id() as f64));
            let now = host::now();
            // Once the buffer is full, later records are refused too, so none overtakes an
            // earlier one that is waiting for room.
            let mut full: Option<Error> = None;
            for (index, offsets) in layout.chunks_exact(6).enumerate() {
                if let Some(err) = &full {
                    refuse(index, err);
                    continue;
                }
                match record_at(buffer, offsets).and_then(|record| core.put(record, now)) {
                    Ok(_) => {}
                    Err(err) => {
                        refuse(index, &err);
                        if err.code() == ErrorCode::BufferFull {
                            full = Some(err);
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// Expire what is past its TTL, start the requests that are due, and arm the timer.
    #[wasm_bindgen(js_name = pump)]
    pub fn pump_now(&self) {
        pump(&self.shared);
    }

    /// Send everything accepted so far without waiting for `lingerMs`.
    pub fn flush(&self) {
        if let Ok(mut core) = self.shared.core.try_borrow_mut() {
            core.flush();
        }
        pump(&self.shared);
    }

    /// The host's `online` event: a backoff that failed connections built up ends now.
    #[wasm_bindgen(js_name = networkRestored)]
    pub fn network_restored(&self) {
        if let Ok(mut core) = self.shared.core.try_borrow_mut() {
            core.network_restored();
        }
        pump(&self.shared);
    }

    /// The page is going away (`pagehide`, or hidden): send what fits the keepalive budget now,
    /// as keepalive requests signed synchronously (cached credentials, SHA-256 in wasm), since
    /// the page may run nothing after this returns. `budget`: keepalive body bytes this producer
    /// may have in flight (the page's 64 KiB less other producers' share); its own keepalive
    /// requests still in flight count against it. Returns the records left unsent.
    #[wasm_bindgen(js_name = flushForUnload)]
    pub fn flush_for_unload(&self, budget: u32) -> u32 {
        let now = host::now();
        let Some(credentials) = self.shared.credentials.current(now) else {
            return self.buffered();
        };
        loop {
            let remaining = (budget as usize).saturating_sub(self.shared.keepalive_bytes.get());
            let request = match self.shared.core.try_borrow_mut() {
                Ok(mut core) => core.next_unload_request(now, remaining),
                Err(_) => None,
            };
            let Some(request) = request else { break };
            let hash = sha256_hex(&request.body);
            let batch_id = request.batch_id;
            match dispatch(&self.shared, &request, &credentials, &hash, true) {
                Ok(started) => {
                    let shared = Rc::clone(&self.shared);
                    wasm_bindgen_futures::spawn_local(async move {
                        let outcome = finish(&shared, batch_id, started).await;
                        settle(&shared, batch_id, outcome);
                    });
                }
                Err(failure) => {
                    // Back to the buffer (a retryable failure): the spool or the next page has it.
                    if let Ok(mut core) = self.shared.core.try_borrow_mut() {
                        let settled = core.on_failure(batch_id, failure, now);
                        drop(core);
                        deliver(&self.shared, settled);
                    }
                    break;
                }
            }
        }
        self.buffered()
    }

    /// Body bytes of this producer's keepalive requests in flight (producers of a page share
    /// the browser's budget).
    #[wasm_bindgen(getter, js_name = keepaliveBytes)]
    pub fn keepalive_bytes(&self) -> u32 {
        self.shared.keepalive_bytes.get() as u32
    }

    fn buffered(&self) -> u32 {
        self.shared
            .core
            .try_borrow()
            .map_or(0, |c| c.stats(host::now()).buffered_records as u32)
    }

    /// Refuse new records and send the rest.
    pub fn close(&self) {
        if let Ok(mut core) = self.shared.core.try_borrow_mut() {
            core.close();
        }
        pump(&self.shared);
    }

    /// Settle every record not yet settled as failed with `Closed` (a close deadline passed).
    pub fn abandon(&self) {
        // Stop the requests still waiting for answers: their sockets and timers must not keep
        // the host busy after close().
        let aborts = self
            .shared
            .aborts
            .try_borrow_mut()
            .map(|mut a| std::mem::take(&mut *a));
        for (_, controller) in aborts.unwrap_or_default() {
            host::abort(&controller);
        }
        let settled = match self.shared.core.try_borrow_mut() {
            Ok(mut core) => core.abandon(),
            Err(_) => Vec::new(),
        };
        deliver(&self.shared, settled);
        arm_timer(&self.shared, host::now());
    }

    /// Nothing buffered and nothing in flight.
    #[wasm_bindgen(js_name = isIdle)]
    pub fn is_idle(&self) -> bool {
        self.shared
            .core
            .try_borrow()
            .map(|c| c.is_idle())
            .unwrap_or(false)
    }

    pub fn stats(&self) -> Result<JsValue, JsValue> {
        let stats = self
            .shared
            .core
            .try_borrow()
            .map(|c| c.stats(host::now()))
            .map_err(|_| JsValue::from(js_sys::Error::new("producer busy")))?;
        // Plain objects for maps too (`failuresByCode`), and null for absent percentiles.
        let serializer = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
        stats
            .serialize(&serializer)
            .map_err(|e| JsValue::from(js_sys::Error::new(&e.to_string())))
    }
}

/// The record described by six offsets into `buffer` (see `putBatch`).
fn record_at(buffer: &[u8], offsets: &[u32]) -> Result<Record, Error> {
    let slice = |start: u32, end: u32| buffer.get(start as usize..end as usize);
    let malformed = || Error::invalid_option("putBatch", "record layout out of range");
    let text = |start, end| {
        slice(start, end)
            .and_then(|b| std::str::from_utf8(b).ok())
            .map(str::to_owned)
            .ok_or_else(malformed)
    };
    let [data_start, data_end, key_start, key_end, hash_start, hash_end] = offsets else {
        return Err(malformed());
    };
    Ok(Record {
        data: slice(*data_start, *data_end)
            .ok_or_else(malformed)?
            .to_vec(),
        partition_key: text(*key_start, *key_end)?,
        explicit_hash_key: if *hash_start == u32::MAX {
            None
        } else {
            Some(text(*hash_start, *hash_end)?)
        },
    })
}

/// Start every request that is due, then arm the linger timer for the next one.
fn pump(shared: &Rc<Shared>) {
    let now = host::now();
    let expired = match shared.core.try_borrow_mut() {
        Ok(mut core) => core.expire(now),
        Err(_) => Vec::new(),
    };
    deliver(shared, expired);
    loop {
        let request = match shared.core.try_borrow_mut() {
            Ok(mut core) => core.next_request(now),
            Err(_) => None,
        };
        let Some(request) = request else { break };
        let shared = Rc::clone(shared);
        wasm_bindgen_futures::spawn_local(async move { send(shared, request).await });
    }
    arm_timer(shared, now);
}

/// Keep exactly one linger timer, due when the core next wants to be woken, and none when it
/// does not (a pending timer would keep a Node process alive for up to `lingerMs`).
fn arm_timer(shared: &Shared, now: u64) {
    let wake = shared.core.try_borrow().ok().and_then(|c| c.wake_at());
    let Ok(mut timer) = shared.timer.try_borrow_mut() else {
        return;
    };
    match (timer.as_ref(), wake) {
        (Some(t), Some(at)) if t.at <= at => return,
        (None, None) => return,
        _ => {}
    }
    if let Some(old) = timer.take() {
        host::clear_timeout(&old.handle);
    }
    let (Some(at), Ok(tick)) = (wake, shared.tick.try_borrow()) else {
        return;
    };
    if let Some(f) = tick.as_ref() {
        let delay = at.saturating_sub(now) as f64;
        *timer =
            host::set_timeout(f.as_ref().unchecked_ref(), delay).map(|handle| Timer { at, handle });
    }
}

async fn send(shared: Rc<Shared>, request: PreparedRequest) {
    let outcome = match prepare(&shared, &request).await {
        Ok((credentials, hash)) => match dispatch(&shared, &request, &credentials, &hash, false) {
            Ok(started) => finish(&shared, request.batch_id, started).await,
            Err(f) => Err(f),
        },
        Err(f) => Err(f),
    };
    settle(&shared, request.batch_id, outcome);
}

/// Hand an answer (or the failure to get one) to the core, deliver what settled, send more.
fn settle(shared: &Rc<Shared>, batch_id: u64, outcome: Result<HttpResponse, Failure>) {
    let now = host::now();
    let settlements = match shared.core.try_borrow_mut() {
        Err(_) => Vec::new(),
        Ok(mut core) => {
            let settlements = match &outcome {
                Ok(r) => {
                    let answer = Answer {
                        status: r.status,
                        error_type: r.error_type.as_deref(),
                        date_ms: r.date_ms,
                        body: &r.body,
                    };
                    core.on_response(batch_id, answer, now)
                }
                Err(failure) => core.on_failure(batch_id, failure.clone(), now),
            };
            if core.take_refresh_credentials() {
                shared.credentials.invalidate();
            }
            settlements
        }
    };
    deliver(shared, settlements);
    pump(shared);
}

/// Credentials and the body's SHA-256 (the host's digests are asynchronous).
async fn prepare(
    shared: &Shared,
    request: &PreparedRequest,
) -> Result<(Credentials, String), Failure> {
    let timeout_ms = shared
        .core
        .try_borrow()
        .map_or(DEFAULT_REQUEST_TIMEOUT_MS, |c| {
            c.config().request_timeout_ms
        });
    let credentials = shared
        .credentials
        .get(host::now(), timeout_ms)
        .await
        .map_err(|e| e.to_failure())?;
    let body = Uint8Array::from(request.body.as_slice());
    let hash = host::sha256_hex(&body, &request.body).await;
    Ok((credentials, hash))
}

/// A request on its way: the fetch's promise, its deadline, and its keepalive body size.
struct Started {
    returned: JsValue,
    deadline: host::Deadline,
    keepalive_bytes: usize,
}

/// Sign `request` and start its fetch, now.
fn dispatch(
    shared: &Shared,
    request: &PreparedRequest,
    credentials: &Credentials,
    hash: &str,
    keepalive: bool,
) -> Result<Started, Failure> {
    let (signed, timeout_ms) = {
        let mut core = shared
            .core
            .try_borrow_mut()
            .map_err(|_| transport_failure(ErrorCode::Signing, "producer busy"))?;
        // Abandoned while its credentials were on their way (a close() deadline): its records
        // were settled as Closed, so it must not reach Kinesis.
        if !core.is_awaiting(request.batch_id) {
            return Err(transport_failure(
                ErrorCode::Closed,
                "the producer was closed",
            ));
        }
        let signed = core
            .sign(request, credentials, hash, host::now())
            .map_err(|e| e.to_failure())?;
        (signed, core.config().request_timeout_ms)
    };
    let mut headers: Vec<(&str, &str)> = request.headers.clone();
    headers.extend(signed.pairs());
    let deadline = host::Deadline::start(timeout_ms);
    let body = Uint8Array::from(request.body.as_slice());
    let returned = host::start_post(
        &shared.fetch,
        &request.url,
        &headers,
        &body,
        &deadline,
        keepalive,
    )
    .map_err(|e| post_failure(e, timeout_ms))?;
    if let Ok(mut aborts) = shared.aborts.try_borrow_mut() {
        aborts.push((request.batch_id, deadline.controller()));
    }
    let keepalive_bytes = if keepalive { request.body.len() } else { 0 };
    shared
        .keepalive_bytes
        .set(shared.keepalive_bytes.get() + keepalive_bytes);
    Ok(Started {
        returned,
        deadline,
        keepalive_bytes,
    })
}

async fn finish(shared: &Shared, batch_id: u64, started: Started) -> Result<HttpResponse, Failure> {
    let answer = host::finish_post(&started.returned, &started.deadline).await;
    if let Ok(mut aborts) = shared.aborts.try_borrow_mut() {
        aborts.retain(|(id, _)| *id != batch_id);
    }
    shared.keepalive_bytes.set(
        shared
            .keepalive_bytes
            .get()
            .saturating_sub(started.keepalive_bytes),
    );
    let timeout_ms = shared
        .core
        .try_borrow()
        .map_or(0, |c| c.config().request_timeout_ms);
    answer.map_err(|e| post_failure(e, timeout_ms))
}

fn post_failure(e: PostError, timeout_ms: u64) -> Failure {
    match e {
        PostError::Network(why) => {
            transport_failure(ErrorCode::Network, &format!("fetch failed: {why}"))
        }
        PostError::Timeout => transport_failure(
            ErrorCode::Timeout,
            &format!(
                "no answer within requestTimeoutMs ({timeout_ms} ms); the request was aborted"
            ),
        ),
    }
}

/// Report settlements: acknowledgements in one call, as ids, two `\n`-joined strings (the
/// core admits only digit sequence numbers and printable shard ids, so `\n` cannot occur) and
/// subsequence numbers (-1: not aggregated).
fn deliver(shared: &Shared, settlements: Vec<Settlement>) {
    let mut ids = Vec::new();
    let mut sub_sequence_numbers = Vec::new();
    let mut sequence_numbers = String::new();
    let mut shard_ids = String::new();
    for s in settlements {
        match s.outcome {
            Outcome::Acked(ack) => {
                if !ids.is_empty() {
                    sequence_numbers.push('\n');
                    shard_ids.push('\n');
                }
                ids.push(s.id as f64);
                sub_sequence_numbers.push(ack.sub_sequence_number.map_or(-1.0, f64::from));
                sequence_numbers.push_str(&ack.sequence_number);
                shard_ids.push_str(&ack.shard_id);
            }
            Outcome::Failed(f) => {
                // A throwing callback must not stop the other records from settling.
                let _ = shared.on_fail.call2(
                    &JsValue::UNDEFINED,
                    &JsValue::from_f64(s.id as f64),
                    &failure_to_js(&f),
                );
            }
        }
    }
    if !ids.is_empty() {
        let _ = shared.on_acks.call4(
            &JsValue::UNDEFINED,
            &js_sys::Float64Array::from(ids.as_slice()),
            &JsValue::from_str(&sequence_numbers),
            &JsValue::from_str(&shard_ids),
            &js_sys::Float64Array::from(sub_sequence_numbers.as_slice()),
        );
    }
}

impl Drop for WasmProducer {
    fn drop(&mut self) {
        if let Ok(mut timer) = self.shared.timer.try_borrow_mut() {
            if let Some(t) = timer.take() {
                host::clear_timeout(&t.handle);
            }
        }
    }
}
