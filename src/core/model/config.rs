//! Producer options, their defaults and their validation: every option `KinesisProducer` takes,
//! including those only the JS side acts on (`lifecycle`, `spool`, `fetch`), is checked here
//! once. Out-of-range values are refused with the field and the limit, never clamped (a
//! silently changed limit hides a bug), and so are unknown names (a typo such as `lingerMS`).

use crate::core::model::credentials::Credentials;
use crate::core::model::endpoint::Endpoint;
use crate::core::model::error::Error;
use crate::core::model::metrics_options;
#[cfg(feature = "metrics")]
use crate::core::model::metrics_options::MetricsConfig;
use crate::core::model::options::{one_of, whole, Options, Value};
use crate::core::model::stream::{StreamSettings, DEFAULT_STREAM_RECORD_BYTES};
use crate::core::model::target::{check_region, StreamTarget};

pub const MIB: usize = 1024 * 1024;
/// `PutRecords` takes at most 500 records.
pub const MAX_RECORDS_PER_REQUEST: usize = 500;
/// The largest record and request a stream owner can configure.
pub const MAX_CONFIGURABLE_BYTES: usize = 10 * MIB;
/// Until the stream's own limit is known, `put` takes records up to the largest a stream may allow.
pub const DEFAULT_MAX_RECORD_BYTES: usize = MAX_CONFIGURABLE_BYTES;
/// A `PutRecords` call holds at most 10 MiB of data and partition keys (base64 not counted).
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 10 * MIB;
pub const DEFAULT_LINGER_MS: u64 = 100;
pub const MAX_LINGER_MS: u64 = 60_000;
pub const DEFAULT_MAX_IN_FLIGHT: usize = 4;
pub const MAX_IN_FLIGHT: usize = 64;
/// Smallest request limit accepted: room for the JSON framing and a few small records.
pub const MIN_REQUEST_BYTES: usize = 1024;
/// The KPL's default record time to live.
pub const DEFAULT_RECORD_TTL_MS: u64 = 30_000;
pub const MAX_RECORD_TTL_MS: u64 = 7 * 24 * 3_600_000;
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 10_000;
pub const MAX_REQUEST_TIMEOUT_MS: u64 = 600_000;
/// Buffer bounds that suit a browser tab: a few minutes of a busy dashboard's readings.
pub const DEFAULT_MAX_BUFFERED_RECORDS: usize = 10_000;
pub const DEFAULT_MAX_BUFFERED_BYTES: usize = 8 * MIB;
pub const MAX_BUFFERED_RECORDS: usize = 10_000_000;
pub const MAX_BUFFERED_BYTES: usize = 1024 * MIB;
pub const DEFAULT_CLOSE_TIMEOUT_MS: u64 = 30_000;
/// Aggregates of two PUT payload units exactly. The KPL's default is 51,200 bytes (50 KiB),
/// which would start a third, nearly empty 25,000-byte unit were units counted in decimal kB.
pub const DEFAULT_AGGREGATE_BYTES: usize = 50_000;
pub const MIN_AGGREGATE_BYTES: usize = 256;
pub const DEFAULT_SHARD_MAP_REFRESH_MS: u64 = 60_000;
pub const MIN_SHARD_MAP_REFRESH_MS: u64 = 1_000;
pub const DEFAULT_SPOOL_MAX_BYTES: usize = 10 * MIB;

/// Every option `KinesisProducer` takes.
pub const PRODUCER_OPTIONS: [&str; 26] = [
    "region",
    "streamName",
    "streamArn",
    "endpoint",
    "credentials",
    "lingerMs",
    "maxRecordsPerRequest",
    "maxRequestBytes",
    "maxRecordBytes",
    "maxInFlightRequests",
    "recordTtlMs",
    "requestTimeoutMs",
    "maxBufferedRecords",
    "maxBufferedBytes",
    "onBufferFull",
    "closeTimeoutMs",
    "ordering",
    "aggregation",
    "streamSettings",
    "rateLimit",
    "lifecycle",
    "spool",
    "spoolMaxBytes",
    "spoolName",
    "fetch",
    "metrics",
];
const AGGREGATION_OPTIONS: [&str; 3] = ["enabled", "maxBytes", "shardMapRefreshMs"];
const RATE_LIMIT_OPTIONS: [&str; 1] = ["percent"];
/// Rate limiting at the shard limits themselves: see `rate_limit` below for why not the KPL's 150.
pub const DEFAULT_RATE_LIMIT_PERCENT: u32 = 100;
const STREAM_SETTINGS_OPTIONS: [&str; 2] = ["recordDistributionStrategy", "maxRecordSizeInKiB"];

/// What order records of one partition key keep.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Ordering {
    /// Sent in arrival order, many per request; a retried record lands after later ones of its key.
    #[default]
    Arrival,
    /// One record per key in flight at a time, so each key's records are stored in order even
    /// through retries, at the cost of throughput for busy keys.
    PerKey,
}

/// What `put` does when the buffer is full.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WhenFull {
    /// The record waits, in order, until settling records make room.
    #[default]
    Wait,
    /// The record is refused at once with `BufferFull`.
    Reject,
}

/// The size limits a batch obeys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `maxRecordBytes`: what `put` takes before the stream's own limit is known.
    pub max_record_bytes: usize,
    /// The record limit assumed when the stream's cannot be learnt: `maxRecordBytes` when
    /// given, else a stream's default (1 MiB).
    pub assumed_record_bytes: usize,
    /// Data plus partition keys of one request, as Kinesis counts it.
    pub max_request_bytes: usize,
    pub max_records_per_request: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            assumed_record_bytes: DEFAULT_STREAM_RECORD_BYTES,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            max_records_per_request: MAX_RECORDS_PER_REQUEST,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AggregationConfig {
    /// Largest aggregated Kinesis record, as Kinesis counts it (data plus partition key).
    pub max_bytes: usize,
    pub shard_map_refresh_ms: u64,
}

/// Where credentials come from.
#[derive(Clone, Debug)]
pub enum CredentialsSource {
    Static(Credentials),
    /// A function the host calls when the producer asks for credentials.
    Provider,
}

/// The options only the host acts on, validated here with the rest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostOptions {
    /// Flush on `pagehide` / hidden (browsers).
    pub lifecycle: bool,
    /// `spool: 'indexeddb'`: the spool's size cap and database name.
    pub spool: Option<(usize, Option<String>)>,
    /// A `fetch` of the caller's replaces the runtime's transport.
    pub custom_fetch: bool,
}

/// Validated producer configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub region: String,
    pub target: StreamTarget,
    pub endpoint: Endpoint,
    pub credentials: CredentialsSource,
    pub linger_ms: u64,
    pub limits: Limits,
    pub max_in_flight_requests: usize,
    /// `None`: records never expire.
    pub record_ttl_ms: Option<u64>,
    pub request_timeout_ms: u64,
    /// Records accepted and not yet settled (buffered or in flight) may not exceed these.
    pub max_buffered_records: usize,
    pub max_buffered_bytes: usize,
    pub when_full: WhenFull,
    /// `None`: `close()` waits for ever.
    pub close_timeout_ms: Option<u64>,
    pub ordering: Ordering,
    /// `None`: one user record per Kinesis record.
    pub aggregation: Option<AggregationConfig>,
    /// `rateLimit`: per-shard rate limiting at this percent of the shard write limits.
    pub rate_limit: Option<u32>,
    /// `streamSettings`: the stream's settings as given (`None`: learnt with
    /// `DescribeStreamSummary`).
    pub stream_settings: Option<StreamSettings>,
    pub host: HostOptions,
    /// `None`: `metrics.level` is `'none'` (the default): nothing is counted or published.
    #[cfg(feature = "metrics")]
    pub metrics: Option<MetricsConfig>,
}

/// Milliseconds of `field`, `Infinity` giving `None` (for ever).
fn millis_or_forever(
    o: &Options,
    field: &str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<Option<u64>, Error> {
    match o.number(field)? {
        Some(v) if v == f64::INFINITY => Ok(None),
        _ => whole(o, field, default as usize, min as usize, max as usize)
            .map(|v| Some(v as u64))
            .map_err(|e| match e {
                Error::InvalidOption { field, reason } => Error::InvalidOption {
                    field,
                    reason: format!("{reason}, or Infinity"),
                },
                other => other,
            }),
    }
}

impl Config {
    /// Validate options as the caller gave them (see [`Options`]).
    pub fn from_options(o: &Options) -> Result<Self, Error> {
        o.allow_only(&PRODUCER_OPTIONS)?;
        let region = o
            .text("region")?
            .ok_or_else(|| Error::invalid_option("region", "is required"))?
            .to_owned();
        check_region(&region)?;
        let target = StreamTarget::new(o.text("streamName")?, o.text("streamArn")?, &region)?;
        let endpoint = Endpoint::resolve("kinesis", &region, o.text("endpoint")?)?;
        let credentials = match o.get("credentials") {
            None => {
                return Err(Error::Credentials(
                    "the credentials option is required".into(),
                ))
            }
            Some(Value::Function) => CredentialsSource::Provider,
            Some(Value::Object(c)) => CredentialsSource::Static(Credentials::from_options(c)?),
            Some(_) => {
                return Err(Error::Credentials(
                    "credentials must be { accessKeyId, secretAccessKey, sessionToken? } or a function returning it"
                        .into(),
                ))
            }
        };
        let linger_ms = whole(
            o,
            "lingerMs",
            DEFAULT_LINGER_MS as usize,
            0,
            MAX_LINGER_MS as usize,
        )? as u64;
        let max_record_bytes = whole(
            o,
            "maxRecordBytes",
            DEFAULT_MAX_RECORD_BYTES,
            1,
            MAX_CONFIGURABLE_BYTES,
        )?;
        let limits = Limits {
            max_record_bytes,
            assumed_record_bytes: if o.get("maxRecordBytes").is_some() {
                max_record_bytes
            } else {
                DEFAULT_STREAM_RECORD_BYTES
            },
            max_request_bytes: whole(
                o,
                "maxRequestBytes",
                DEFAULT_MAX_REQUEST_BYTES,
                MIN_REQUEST_BYTES,
                MAX_CONFIGURABLE_BYTES,
            )?,
            max_records_per_request: whole(
                o,
                "maxRecordsPerRequest",
                MAX_RECORDS_PER_REQUEST,
                1,
                MAX_RECORDS_PER_REQUEST,
            )?,
        };
        let max_in_flight_requests = whole(
            o,
            "maxInFlightRequests",
            DEFAULT_MAX_IN_FLIGHT,
            1,
            MAX_IN_FLIGHT,
        )?;
        let record_ttl_ms = millis_or_forever(
            o,
            "recordTtlMs",
            DEFAULT_RECORD_TTL_MS,
            1,
            MAX_RECORD_TTL_MS,
        )?;
        let request_timeout_ms = whole(
            o,
            "requestTimeoutMs",
            DEFAULT_REQUEST_TIMEOUT_MS as usize,
            1,
            MAX_REQUEST_TIMEOUT_MS as usize,
        )? as u64;
        let max_buffered_records = whole(
            o,
            "maxBufferedRecords",
            DEFAULT_MAX_BUFFERED_RECORDS,
            1,
            MAX_BUFFERED_RECORDS,
        )?;
        // At least one record of the size a stream takes must fit; `put` takes no record larger
        // than the buffer.
        let max_buffered_bytes = whole(
            o,
            "maxBufferedBytes",
            DEFAULT_MAX_BUFFERED_BYTES.max(limits.max_record_bytes),
            limits.assumed_record_bytes,
            MAX_BUFFERED_BYTES,
        )?;
        let when_full = one_of(
            o,
            "onBufferFull",
            &[("wait", WhenFull::Wait), ("reject", WhenFull::Reject)],
            WhenFull::Wait,
        )?;
        let close_timeout_ms = millis_or_forever(
            o,
            "closeTimeoutMs",
            DEFAULT_CLOSE_TIMEOUT_MS,
            0,
            MAX_RECORD_TTL_MS,
        )?;
        let ordering = one_of(
            o,
            "ordering",
            &[
                ("arrival", Ordering::Arrival),
                ("per-key", Ordering::PerKey),
            ],
            Ordering::Arrival,
        )?;
        let aggregation = aggregation(o, &limits)?;
        let stream_settings = stream_settings(o)?;
        let rate_limit = rate_limit(o)?;
        let host = host_options(o)?;
        #[cfg(feature = "metrics")]
        let metrics = metrics_options::metrics(o, &region)?;
        #[cfg(not(feature = "metrics"))]
        metrics_options::refuse_unless_off(o)?;
        Ok(Self {
            region,
            target,
            endpoint,
            credentials,
            linger_ms,
            limits,
            max_in_flight_requests,
            record_ttl_ms,
            request_timeout_ms,
            max_buffered_records,
            max_buffered_bytes,
            when_full,
            close_timeout_ms,
            ordering,
            aggregation,
            rate_limit,
            stream_settings,
            host,
            #[cfg(feature = "metrics")]
            metrics,
        })
    }

    /// A `close()` deadline given per call (`close({ timeoutMs })`), checked like `closeTimeoutMs`.
    pub fn close_timeout(timeout_ms: Option<f64>) -> Result<Option<u64>, Error> {
        let members = timeout_ms
            .map(|v| vec![("timeoutMs".to_owned(), Value::Number(v))])
            .unwrap_or_default();
        millis_or_forever(
            &Options::from_members(members),
            "timeoutMs",
            DEFAULT_CLOSE_TIMEOUT_MS,
            0,
            MAX_RECORD_TTL_MS,
        )
    }
}

/// `aggregation`: absent, a boolean, or `{ enabled = true, maxBytes, shardMapRefreshMs }`.
fn aggregation(o: &Options, limits: &Limits) -> Result<Option<AggregationConfig>, Error> {
    let settings = match o.get("aggregation") {
        None | Some(Value::Bool(false)) => return Ok(None),
        Some(Value::Bool(true)) => Options::default(),
        Some(Value::Object(a)) => a.clone(),
        Some(_) => {
            return Err(Error::invalid_option(
                "aggregation",
                "must be a boolean or { enabled, maxBytes, shardMapRefreshMs }",
            ))
        }
    };
    settings.allow_only(&AGGREGATION_OPTIONS)?;
    if settings.bool("enabled")? == Some(false) {
        return Ok(None);
    }
    Ok(Some(AggregationConfig {
        max_bytes: whole(
            &settings,
            "maxBytes",
            DEFAULT_AGGREGATE_BYTES.min(limits.max_record_bytes),
            MIN_AGGREGATE_BYTES,
            limits.max_record_bytes,
        )?,
        shard_map_refresh_ms: whole(
            &settings,
            "shardMapRefreshMs",
            DEFAULT_SHARD_MAP_REFRESH_MS as usize,
            MIN_SHARD_MAP_REFRESH_MS as usize,
            MAX_RECORD_TTL_MS as usize,
        )? as u64,
    }))
}

/// `rateLimit`: absent or false (off), true, or `{ percent }` (1-1000, default 100). The KPL
/// defaults to 150 and counts on retries for the rest; at 100 a lone producer is never
/// throttled and still fills the shard, and other writers are met by adapting to throttling.
fn rate_limit(o: &Options) -> Result<Option<u32>, Error> {
    let given = match o.get("rateLimit") {
        None | Some(Value::Bool(false)) => return Ok(None),
        Some(Value::Bool(true)) => Options::default(),
        Some(Value::Object(r)) => r.clone(),
        Some(_) => {
            return Err(Error::invalid_option(
                "rateLimit",
                "must be a boolean or { percent }",
            ))
        }
    };
    given.allow_only(&RATE_LIMIT_OPTIONS)?;
    let percent = whole(
        &given,
        "percent",
        DEFAULT_RATE_LIMIT_PERCENT as usize,
        1,
        1_000,
    )?;
    Ok(Some(percent as u32))
}

/// `streamSettings`: absent (asked of the stream), or `{ recordDistributionStrategy,
/// maxRecordSizeInKiB }` as the stream has them (each defaulting to a new stream's), which saves
/// the call (limited to 20 per second per account) when many producers start.
fn stream_settings(o: &Options) -> Result<Option<StreamSettings>, Error> {
    let given = match o.get("streamSettings") {
        None => return Ok(None),
        Some(Value::Object(s)) => s,
        Some(_) => {
            return Err(Error::invalid_option(
                "streamSettings",
                "must be { recordDistributionStrategy, maxRecordSizeInKiB }",
            ))
        }
    };
    given.allow_only(&STREAM_SETTINGS_OPTIONS)?;
    let kib = DEFAULT_STREAM_RECORD_BYTES / 1024;
    Ok(Some(StreamSettings {
        auto_distribution: one_of(
            given,
            "recordDistributionStrategy",
            &[("USER_PARTITION_KEY", false), ("AUTO", true)],
            false,
        )?,
        max_record_bytes: whole(
            given,
            "maxRecordSizeInKiB",
            kib,
            kib,
            MAX_CONFIGURABLE_BYTES / 1024,
        )? * 1024,
        ..StreamSettings::default()
    }))
}

fn host_options(o: &Options) -> Result<HostOptions, Error> {
    let spool = match o.get("spool") {
        None | Some(Value::Bool(false)) => None,
        Some(Value::Text(s)) if s == "indexeddb" => {
            let max_bytes = whole(
                o,
                "spoolMaxBytes",
                DEFAULT_SPOOL_MAX_BYTES,
                1,
                usize::MAX >> 1,
            )?;
            Some((max_bytes, o.text("spoolName")?.map(str::to_owned)))
        }
        Some(_) => {
            return Err(Error::invalid_option(
                "spool",
                "must be 'indexeddb' (or false)",
            ))
        }
    };
    Ok(HostOptions {
        lifecycle: o.bool("lifecycle")?.unwrap_or(true),
        spool,
        custom_fetch: o.function("fetch")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#""region":"us-east-1","streamName":"readings","credentials":{"accessKeyId":"AK","secretAccessKey":"S"}"#;

    fn config(extra: &str) -> Result<Config, Error> {
        let sep = if extra.is_empty() { "" } else { "," };
        Config::from_options(
            &Options::from_json(&format!("{{{BASE}{sep}{extra}}}"), "options").unwrap(),
        )
    }

    fn field_of(extra: &str) -> String {
        config(extra)
            .unwrap_err()
            .field()
            .unwrap_or("(none)")
            .to_owned()
    }

    #[test]
    fn defaults() {
        let c = config("").unwrap();
        assert_eq!(c.linger_ms, 100);
        assert_eq!(c.limits, Limits::default());
        assert_eq!(c.endpoint.url(), "https://kinesis.us-east-1.amazonaws.com/");
        assert_eq!(c.record_ttl_ms, Some(30_000));
        assert_eq!(
            (c.max_buffered_records, c.max_buffered_bytes),
            (10_000, 10 * MIB)
        );
        assert_eq!(c.request_timeout_ms, 10_000);
        assert_eq!(c.close_timeout_ms, Some(30_000));
        assert_eq!(c.when_full, WhenFull::Wait);
        assert_eq!(c.aggregation, None);
        assert_eq!(
            c.host,
            HostOptions {
                lifecycle: true,
                spool: None,
                custom_fetch: false
            }
        );
    }

    #[test]
    fn unknown_options_are_refused_by_name() {
        let err = config(r#""lingerMS":5"#).unwrap_err();
        assert_eq!(err.field(), Some("lingerMS"));
        assert!(err.to_string().contains("did you mean `lingerMs`"), "{err}");
        assert_eq!(
            field_of(r#""aggregation":{"maxbytes":300}"#),
            "aggregation.maxbytes"
        );
        assert_eq!(field_of(r#""retries":3"#), "retries");
    }

    #[test]
    fn rate_limit_and_stream_settings() {
        assert_eq!(config("").unwrap().rate_limit, None);
        assert_eq!(config(r#""rateLimit":true"#).unwrap().rate_limit, Some(100));
        let half = config(r#""rateLimit":{"percent":50}"#).unwrap();
        assert_eq!(half.rate_limit, Some(50));
        assert_eq!(
            field_of(r#""rateLimit":{"percent":0}"#),
            "rateLimit.percent"
        );
        assert_eq!(field_of(r#""rateLimit":{"rate":5}"#), "rateLimit.rate");
        assert_eq!(field_of(r#""rateLimit":150"#), "rateLimit");

        assert_eq!(config("").unwrap().stream_settings, None);
        let given = config(
            r#""streamSettings":{"recordDistributionStrategy":"AUTO","maxRecordSizeInKiB":10240}"#,
        );
        let given = given.unwrap().stream_settings.unwrap();
        assert!(given.auto_distribution);
        assert_eq!(given.max_record_bytes, 10 * MIB);
        assert_eq!(
            config(r#""streamSettings":{}"#).unwrap().stream_settings,
            Some(StreamSettings::default())
        );
        for (bad, field) in [
            (
                r#""streamSettings":{"maxRecordSizeInKiB":1023}"#,
                "streamSettings.maxRecordSizeInKiB",
            ),
            (
                r#""streamSettings":{"recordDistributionStrategy":"auto"}"#,
                "streamSettings.recordDistributionStrategy",
            ),
            (r#""streamSettings":true"#, "streamSettings"),
        ] {
            assert_eq!(field_of(bad), field, "{bad}");
        }
        // maxRecordBytes given: the limit assumed when the stream's cannot be learnt.
        let limits = config(r#""maxRecordBytes":3145728"#).unwrap().limits;
        assert_eq!(
            (limits.max_record_bytes, limits.assumed_record_bytes),
            (3 * MIB, 3 * MIB)
        );
        assert_eq!(Limits::default().assumed_record_bytes, MIB);
    }

    #[test]
    fn aggregation_bounds() {
        let c = config(r#""aggregation":true"#).unwrap();
        assert_eq!(
            c.aggregation,
            Some(AggregationConfig {
                max_bytes: 50_000,
                shard_map_refresh_ms: 60_000
            })
        );
        assert_eq!(
            config(r#""aggregation":{"enabled":false,"maxBytes":300}"#)
                .unwrap()
                .aggregation,
            None
        );
        // The default never passes the record limit; an explicit value may not either.
        let small = config(r#""aggregation":{},"maxRecordBytes":4096"#).unwrap();
        assert_eq!(small.aggregation.map(|a| a.max_bytes), Some(4096));
        assert_eq!(
            field_of(r#""aggregation":{"maxBytes":4097},"maxRecordBytes":4096"#),
            "aggregation.maxBytes"
        );
        assert_eq!(
            field_of(r#""aggregation":{"maxBytes":255}"#),
            "aggregation.maxBytes"
        );
        assert_eq!(field_of(r#""aggregation":"yes""#), "aggregation");
        assert_eq!(
            field_of(r#""aggregation":{"enabled":1}"#),
            "aggregation.enabled"
        );
        assert_eq!(
            field_of(r#""aggregation":{"shardMapRefreshMs":{}}"#),
            "aggregation.shardMapRefreshMs"
        );
    }

    #[test]
    fn numeric_edges() {
        assert!(config(r#""maxRecordsPerRequest":500"#).is_ok());
        for bad in ["501", "0", "1.5", "\"\\u0000NaN\"", "\"10\""] {
            assert_eq!(
                field_of(&format!(r#""maxRecordsPerRequest":{bad}"#)),
                "maxRecordsPerRequest",
                "{bad}"
            );
        }
        assert!(config(&format!(r#""maxRequestBytes":{}"#, 10 * MIB)).is_ok());
        assert_eq!(
            field_of(&format!(r#""maxRequestBytes":{}"#, 10 * MIB + 1)),
            "maxRequestBytes"
        );
        assert!(config(&format!(r#""maxRecordBytes":{}"#, 10 * MIB + 1)).is_err());
        assert!(config(r#""lingerMs":0"#).is_ok());
        assert_eq!(field_of(r#""lingerMs":-1"#), "lingerMs");
        assert_eq!(field_of(r#""lingerMs":"\u0000Infinity""#), "lingerMs");
        assert_eq!(
            config(r#""recordTtlMs":"\u0000Infinity""#)
                .unwrap()
                .record_ttl_ms,
            None
        );
        assert_eq!(config(r#""recordTtlMs":5"#).unwrap().record_ttl_ms, Some(5));
        assert_eq!(field_of(r#""recordTtlMs":0"#), "recordTtlMs");
        assert_eq!(
            field_of(r#""recordTtlMs":"\u0000-Infinity""#),
            "recordTtlMs"
        );
        assert_eq!(
            field_of(&format!(r#""maxBufferedBytes":{}"#, MIB - 1)),
            "maxBufferedBytes"
        );
        assert!(config(&format!(r#""maxBufferedBytes":{MIB}"#)).is_ok());
        assert_eq!(field_of(r#""requestTimeoutMs":0"#), "requestTimeoutMs");
        assert_eq!(
            config(r#""closeTimeoutMs":"\u0000Infinity""#)
                .unwrap()
                .close_timeout_ms,
            None
        );
        assert_eq!(
            config(r#""closeTimeoutMs":0"#).unwrap().close_timeout_ms,
            Some(0)
        );
        assert_eq!(field_of(r#""closeTimeoutMs":-1"#), "closeTimeoutMs");
        let err = config(r#""closeTimeoutMs":"soon""#).unwrap_err();
        assert!(err.to_string().contains("must be a number"), "{err}");
    }

    #[test]
    fn choices() {
        assert_eq!(
            config(r#""onBufferFull":"reject""#).unwrap().when_full,
            WhenFull::Reject
        );
        assert_eq!(field_of(r#""onBufferFull":"drop""#), "onBufferFull");
        assert_eq!(
            config(r#""ordering":"per-key""#).unwrap().ordering,
            Ordering::PerKey
        );
        let err = config(r#""ordering":"sorted""#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid option `ordering`: must be 'arrival' or 'per-key', got \"sorted\""
        );
    }

    #[test]
    fn host_options_are_checked_too() {
        let c = config(r#""lifecycle":false,"spool":"indexeddb","spoolMaxBytes":2000,"spoolName":"x","fetch":"\u0000function""#).unwrap();
        assert_eq!(
            c.host,
            HostOptions {
                lifecycle: false,
                spool: Some((2000, Some("x".into()))),
                custom_fetch: true
            }
        );
        assert_eq!(field_of(r#""spool":"localStorage""#), "spool");
        assert_eq!(
            field_of(r#""spool":"indexeddb","spoolMaxBytes":0"#),
            "spoolMaxBytes"
        );
        assert_eq!(field_of(r#""lifecycle":"no""#), "lifecycle");
        assert_eq!(field_of(r#""fetch":5"#), "fetch");
    }

    #[test]
    fn regions_endpoints_and_credentials() {
        let parse =
            |text: &str| Config::from_options(&Options::from_json(text, "options").unwrap());
        let no_region =
            parse(r#"{"streamName":"s","credentials":{"accessKeyId":"AK","secretAccessKey":"S"}}"#);
        assert_eq!(no_region.unwrap_err().field(), Some("region"));
        let no_credentials = parse(r#"{"region":"us-east-1","streamName":"s"}"#).unwrap_err();
        assert!(matches!(no_credentials, Error::Credentials(_)));
        assert_eq!(field_of(r#""region":"US East""#), "region");
        assert_eq!(field_of(r#""endpoint":"localhost:4567""#), "endpoint");
        let c = config(r#""endpoint":"http://127.0.0.1:4567""#).unwrap();
        assert_eq!(c.endpoint.url(), "http://127.0.0.1:4567/");
        assert!(matches!(
            config(r#""credentials":"\u0000function""#)
                .unwrap()
                .credentials,
            CredentialsSource::Provider
        ));
        assert!(matches!(
            config(r#""credentials":{"accessKeyId":"","secretAccessKey":"S"}"#),
            Err(Error::Credentials(_))
        ));
        assert!(matches!(
            config(r#""credentials":5"#),
            Err(Error::Credentials(_))
        ));
    }

    #[test]
    fn close_timeouts_per_call() {
        assert_eq!(Config::close_timeout(None), Ok(Some(30_000)));
        assert_eq!(Config::close_timeout(Some(f64::INFINITY)), Ok(None));
        assert_eq!(Config::close_timeout(Some(0.0)), Ok(Some(0)));
        assert_eq!(
            Config::close_timeout(Some(-5.0)).unwrap_err().field(),
            Some("timeoutMs")
        );
    }

    #[cfg(feature = "metrics")]
    #[test]
    fn metrics_off_by_default_and_checked_when_on() {
        assert_eq!(config("").unwrap().metrics, None);
        assert_eq!(
            config(r#""metrics":{"level":"none"}"#).unwrap().metrics,
            None
        );
        let m = config(r#""metrics":{"level":"summary"}"#)
            .unwrap()
            .metrics
            .unwrap();
        assert_eq!(
            (m.granularity, m.namespace.as_str(), m.interval_ms),
            (
                metrics_options::Granularity::Shard,
                "KinesisProducerLibrary",
                60_000
            )
        );
        assert_eq!(
            m.endpoint.url(),
            "https://monitoring.us-east-1.amazonaws.com/"
        );
        let m = config(
            r#""metrics":{"level":"detailed","granularity":"stream","namespace":"Kiosks","intervalMs":5000,"dimensions":{"Fleet":"lobby"},"endpoint":"http://127.0.0.1:5000"}"#,
        )
        .unwrap()
        .metrics
        .unwrap();
        assert_eq!(m.level, metrics_options::MetricsLevel::Detailed);
        assert_eq!(m.dimensions, vec![("Fleet".to_owned(), "lobby".to_owned())]);
        assert_eq!(m.endpoint.url(), "http://127.0.0.1:5000/");
        for (bad, field) in [
            (r#""metrics":true"#, "metrics"),
            (r#""metrics":{"level":"all"}"#, "metrics.level"),
            (
                r#""metrics":{"level":"summary","granularity":"host"}"#,
                "metrics.granularity",
            ),
            (
                r#""metrics":{"level":"summary","intervalMs":10}"#,
                "metrics.intervalMs",
            ),
            (
                r#""metrics":{"level":"summary","namespace":""}"#,
                "metrics.namespace",
            ),
            (
                r#""metrics":{"level":"summary","endpoint":"ftp://x"}"#,
                "metrics.endpoint",
            ),
            (
                r#""metrics":{"level":"summary","dimensions":{"ShardId":"x"}}"#,
                "metrics.dimensions.ShardId",
            ),
            (
                r#""metrics":{"level":"summary","dimensions":{"A":1}}"#,
                "metrics.dimensions.A",
            ),
            (
                r#""metrics":{"level":"summary","intervalMS":1000}"#,
                "metrics.intervalMS",
            ),
        ] {
            assert_eq!(field_of(bad), field, "{bad}");
        }
    }

    #[cfg(not(feature = "metrics"))]
    #[test]
    fn only_off_passes_without_the_feature() {
        assert!(config(r#""metrics":{"level":"none","namespace":"X"}"#).is_ok());
        assert!(config(r#""metrics":{}"#).is_ok());
        for bad in [r#""metrics":{"level":"summary"}"#, r#""metrics":true"#] {
            assert_eq!(field_of(bad), "metrics", "{bad}");
        }
        let e = config(r#""metrics":{"level":"detailed"}"#).unwrap_err();
        assert!(e.to_string().contains("kinesis-edge/metrics"), "{e}");
    }
}

// proptest is a native-only dev-dependency.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            (0u64..20_000_000).prop_map(|n| n.to_string()),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| format!("{f:e}")),
            Just("\"\\u0000Infinity\"".to_owned()),
            Just("\"\\u0000NaN\"".to_owned()),
            Just("true".to_owned()),
            "\"[a-z0-9:/.-]{0,30}\"",
            Just("{}".to_owned()),
        ]
    }

    proptest! {
        /// Any options give a config or a typed refusal, never a panic; an accepted config
        /// holds every limit.
        #[test]
        fn options_never_panic(
            picks in proptest::collection::vec((0..PRODUCER_OPTIONS.len(), value()), 0..12),
        ) {
            let members: Vec<String> = picks.iter().map(|(i, v)| format!("\"{}\":{v}", PRODUCER_OPTIONS[*i])).collect();
            let text = format!("{{{}}}", members.join(","));
            let Ok(o) = Options::from_json(&text, "options") else { return Ok(()) };
            match Config::from_options(&o) {
                Ok(c) => {
                    prop_assert!((1..=MAX_RECORDS_PER_REQUEST).contains(&c.limits.max_records_per_request));
                    prop_assert!(c.limits.max_request_bytes <= MAX_CONFIGURABLE_BYTES);
                    prop_assert!(c.max_buffered_bytes >= c.limits.max_record_bytes);
                    prop_assert!(c.linger_ms <= MAX_LINGER_MS);
                    if let Some(a) = c.aggregation {
                        prop_assert!((MIN_AGGREGATE_BYTES..=c.limits.max_record_bytes).contains(&a.max_bytes));
                    }
                }
                Err(e) => prop_assert!(e.field().is_some() || matches!(e, Error::Credentials(_)), "{e}"),
            }
        }
    }
}
