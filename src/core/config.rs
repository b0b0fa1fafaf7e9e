//! Producer options, their defaults and their validation. Out-of-range values are refused
//! with the field and the limit, never clamped: a silently changed limit hides a bug.

use crate::core::aggregation::{self, AggregationConfig};
use crate::core::body;
use crate::core::endpoint::Endpoint;
use crate::core::error::Error;

pub const MIB: usize = 1024 * 1024;
/// `PutRecords` takes at most 500 records.
pub const MAX_RECORDS_PER_REQUEST: usize = 500;
/// The largest record and request a stream owner can configure.
pub const MAX_CONFIGURABLE_BYTES: usize = 10 * MIB;
pub const DEFAULT_MAX_RECORD_BYTES: usize = MIB;
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 5 * MIB;
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
/// Buffer bounds that suit a browser tab: a few minutes of a busy dashboard's readings.
pub const DEFAULT_MAX_BUFFERED_RECORDS: usize = 10_000;
pub const DEFAULT_MAX_BUFFERED_BYTES: usize = 8 * MIB;
pub const MAX_BUFFERED_RECORDS: usize = 10_000_000;
pub const MAX_BUFFERED_BYTES: usize = 1024 * MIB;
pub const MAX_REQUEST_TIMEOUT_MS: u64 = 600_000;

/// Options as the caller gives them. Numbers arrive as JS numbers, so they are `f64` here
/// and validated as integers in range.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProducerOptions {
    pub region: Option<String>,
    pub stream_name: Option<String>,
    pub stream_arn: Option<String>,
    pub endpoint: Option<String>,
    pub linger_ms: Option<f64>,
    pub max_records_per_request: Option<f64>,
    pub max_request_bytes: Option<f64>,
    pub max_record_bytes: Option<f64>,
    pub max_in_flight_requests: Option<f64>,
    /// `Infinity` keeps retrying for ever.
    pub record_ttl_ms: Option<f64>,
    pub request_timeout_ms: Option<f64>,
    pub max_buffered_records: Option<f64>,
    pub max_buffered_bytes: Option<f64>,
    /// `"arrival"` (default) or `"per-key"`.
    pub ordering: Option<String>,
    /// `aggregation.enabled`, `aggregation.maxBytes`, `aggregation.shardMapRefreshMs`.
    pub aggregation: Option<bool>,
    pub aggregation_max_bytes: Option<f64>,
    pub shard_map_refresh_ms: Option<f64>,
}

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

/// The size limits a batch obeys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_record_bytes: usize,
    pub max_request_bytes: usize,
    pub max_records_per_request: usize,
    /// Bytes of a request body that are not record entries (framing and stream fields).
    pub request_overhead: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            max_records_per_request: MAX_RECORDS_PER_REQUEST,
            request_overhead: 0,
        }
    }
}

impl Limits {
    pub fn new(
        max_record_bytes: usize,
        max_request_bytes: usize,
        max_records_per_request: usize,
    ) -> Result<Self, Error> {
        check_range(
            "maxRecordBytes",
            max_record_bytes,
            1,
            MAX_CONFIGURABLE_BYTES,
        )?;
        check_range(
            "maxRequestBytes",
            max_request_bytes,
            MIN_REQUEST_BYTES,
            MAX_CONFIGURABLE_BYTES,
        )?;
        check_range(
            "maxRecordsPerRequest",
            max_records_per_request,
            1,
            MAX_RECORDS_PER_REQUEST,
        )?;
        Ok(Self {
            max_record_bytes,
            max_request_bytes,
            max_records_per_request,
            request_overhead: 0,
        })
    }
}

fn check_range(field: &'static str, value: usize, min: usize, max: usize) -> Result<(), Error> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(Error::invalid_option(
            field,
            format!("must be from {min} to {max}, got {value}"),
        ))
    }
}

/// A whole number from an `f64` option, or the default when absent.
fn whole(
    field: &'static str,
    value: Option<f64>,
    default: usize,
    min: usize,
    max: usize,
) -> Result<usize, Error> {
    let Some(v) = value else { return Ok(default) };
    if !v.is_finite() || v.fract() != 0.0 || v < min as f64 || v > max as f64 {
        return Err(Error::invalid_option(
            field,
            format!(
                "must be a whole number from {min} to {max}, got {}",
                describe_number(v)
            ),
        ));
    }
    Ok(v as usize)
}

/// A number as a message shows it, without the float formatter (kilobytes of wasm).
fn describe_number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if v.fract() == 0.0 && v.abs() < 1e18 {
        (v as i64).to_string()
    } else {
        "a fraction".into()
    }
}

/// Where records go: a stream name, an ARN, or both (the ARN is needed cross-account).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamTarget {
    pub name: Option<String>,
    pub arn: Option<String>,
}

impl StreamTarget {
    pub fn new(name: Option<String>, arn: Option<String>, region: &str) -> Result<Self, Error> {
        if name.is_none() && arn.is_none() {
            return Err(Error::invalid_option(
                "streamName",
                "give streamName, streamArn, or both",
            ));
        }
        if let Some(n) = &name {
            check_stream_name("streamName", n)?;
        }
        if let Some(a) = &arn {
            let (arn_region, arn_name) = parse_stream_arn(a)?;
            if arn_region != region {
                return Err(Error::invalid_option(
                    "streamArn",
                    format!(
                        "is in region \"{arn_region}\" but the producer signs for region \"{region}\""
                    ),
                ));
            }
            if name.as_deref().is_some_and(|n| n != arn_name) {
                return Err(Error::invalid_option(
                    "streamName",
                    "names a different stream than streamArn",
                ));
            }
        }
        Ok(Self { name, arn })
    }
}

fn check_stream_name(field: &'static str, name: &str) -> Result<(), Error> {
    let ok = (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_option(
            field,
            format!("must be 1 to 128 characters of [a-zA-Z0-9_.-], got \"{name}\""),
        ))
    }
}

/// `arn:<partition>:kinesis:<region>:<12 digits>:stream/<name>` → (region, name).
fn parse_stream_arn(arn: &str) -> Result<(&str, &str), Error> {
    let bad = || {
        Error::invalid_option(
            "streamArn",
            format!("must look like arn:aws:kinesis:<region>:<12-digit account>:stream/<name>, got \"{arn}\""),
        )
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts[..] else {
        return Err(bad());
    };
    let name = resource.strip_prefix("stream/").ok_or_else(bad)?;
    let ok = prefix == "arn"
        && !partition.is_empty()
        && partition
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-')
        && service == "kinesis"
        && check_region(region).is_ok()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit());
    if !ok {
        return Err(bad());
    }
    check_stream_name("streamArn", name)?;
    Ok((region, name))
}

fn check_region(region: &str) -> Result<(), Error> {
    let ok = (1..=64).contains(&region.len())
        && region.starts_with(|c: char| c.is_ascii_lowercase())
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_option(
            "region",
            format!("must be an AWS region such as \"us-east-1\", got \"{region}\""),
        ))
    }
}

/// Validated producer configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct ProducerConfig {
    pub region: String,
    pub target: StreamTarget,
    pub endpoint: Endpoint,
    pub linger_ms: u64,
    pub limits: Limits,
    pub max_in_flight_requests: usize,
    /// `None`: records never expire.
    pub record_ttl_ms: Option<u64>,
    pub request_timeout_ms: u64,
    /// Records accepted and not yet settled (buffered or in flight) may not exceed these.
    pub max_buffered_records: usize,
    pub max_buffered_bytes: usize,
    pub ordering: Ordering,
    /// `None`: one user record per Kinesis record.
    pub aggregation: Option<AggregationConfig>,
}

impl ProducerConfig {
    pub fn from_options(options: ProducerOptions) -> Result<Self, Error> {
        let region = options
            .region
            .ok_or_else(|| Error::invalid_option("region", "is required"))?;
        check_region(&region)?;
        let target = StreamTarget::new(options.stream_name, options.stream_arn, &region)?;
        let endpoint = match &options.endpoint {
            Some(url) => Endpoint::parse(url)?,
            None => Endpoint::for_region(&region),
        };
        let linger_ms = whole(
            "lingerMs",
            options.linger_ms,
            DEFAULT_LINGER_MS as usize,
            0,
            MAX_LINGER_MS as usize,
        )? as u64;
        let mut limits = Limits::new(
            whole(
                "maxRecordBytes",
                options.max_record_bytes,
                DEFAULT_MAX_RECORD_BYTES,
                1,
                MAX_CONFIGURABLE_BYTES,
            )?,
            whole(
                "maxRequestBytes",
                options.max_request_bytes,
                DEFAULT_MAX_REQUEST_BYTES,
                MIN_REQUEST_BYTES,
                MAX_CONFIGURABLE_BYTES,
            )?,
            whole(
                "maxRecordsPerRequest",
                options.max_records_per_request,
                MAX_RECORDS_PER_REQUEST,
                1,
                MAX_RECORDS_PER_REQUEST,
            )?,
        )?;
        limits.request_overhead = body::request_overhead(&target);
        let max_in_flight_requests = whole(
            "maxInFlightRequests",
            options.max_in_flight_requests,
            DEFAULT_MAX_IN_FLIGHT,
            1,
            MAX_IN_FLIGHT,
        )?;
        let record_ttl_ms = match options.record_ttl_ms {
            Some(v) if v == f64::INFINITY => None,
            other => Some(whole(
                "recordTtlMs",
                other,
                DEFAULT_RECORD_TTL_MS as usize,
                1,
                MAX_RECORD_TTL_MS as usize,
            )? as u64),
        };
        let request_timeout_ms = whole(
            "requestTimeoutMs",
            options.request_timeout_ms,
            DEFAULT_REQUEST_TIMEOUT_MS as usize,
            1,
            MAX_REQUEST_TIMEOUT_MS as usize,
        )? as u64;
        let max_buffered_records = whole(
            "maxBufferedRecords",
            options.max_buffered_records,
            DEFAULT_MAX_BUFFERED_RECORDS,
            1,
            MAX_BUFFERED_RECORDS,
        )?;
        // At least one record of the largest size must fit, or such a record could never be taken.
        let max_buffered_bytes = whole(
            "maxBufferedBytes",
            options.max_buffered_bytes,
            DEFAULT_MAX_BUFFERED_BYTES.max(limits.max_record_bytes),
            limits.max_record_bytes,
            MAX_BUFFERED_BYTES,
        )?;
        let ordering = match options.ordering.as_deref() {
            None | Some("arrival") => Ordering::Arrival,
            Some("per-key") => Ordering::PerKey,
            Some(other) => {
                return Err(Error::invalid_option(
                    "ordering",
                    format!("must be \"arrival\" or \"per-key\", got \"{other}\""),
                ))
            }
        };
        let aggregation = match options.aggregation {
            Some(true) => Some(AggregationConfig {
                max_bytes: whole(
                    "aggregation.maxBytes",
                    options.aggregation_max_bytes,
                    aggregation::DEFAULT_MAX_BYTES.min(limits.max_record_bytes),
                    aggregation::MIN_MAX_BYTES,
                    limits.max_record_bytes,
                )?,
                shard_map_refresh_ms: whole(
                    "aggregation.shardMapRefreshMs",
                    options.shard_map_refresh_ms,
                    aggregation::DEFAULT_SHARD_MAP_REFRESH_MS as usize,
                    aggregation::MIN_SHARD_MAP_REFRESH_MS as usize,
                    MAX_RECORD_TTL_MS as usize,
                )? as u64,
            }),
            _ => None,
        };
        Ok(Self {
            region,
            target,
            endpoint,
            linger_ms,
            limits,
            max_in_flight_requests,
            record_ttl_ms,
            request_timeout_ms,
            max_buffered_records,
            max_buffered_bytes,
            ordering,
            aggregation,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> ProducerOptions {
        ProducerOptions {
            region: Some("us-east-1".into()),
            stream_name: Some("readings".into()),
            ..Default::default()
        }
    }

    fn field_of(o: ProducerOptions) -> &'static str {
        ProducerConfig::from_options(o)
            .unwrap_err()
            .field()
            .unwrap()
    }

    #[test]
    fn defaults() {
        let c = ProducerConfig::from_options(opts()).unwrap();
        assert_eq!(c.linger_ms, 100);
        assert_eq!(c.limits.max_record_bytes, MIB);
        assert_eq!(c.limits.max_request_bytes, 5 * MIB);
        assert_eq!(c.limits.max_records_per_request, 500);
        assert_eq!(c.endpoint.url(), "https://kinesis.us-east-1.amazonaws.com/");
        assert_eq!(c.limits.request_overhead, body::request_overhead(&c.target));
        assert_eq!(c.record_ttl_ms, Some(30_000));
        assert_eq!(
            (c.max_buffered_records, c.max_buffered_bytes),
            (10_000, 8 * MIB)
        );
        assert_eq!(c.request_timeout_ms, 10_000);
        assert_eq!(c.aggregation, None);
    }

    #[test]
    fn aggregation_bounds() {
        let on = |max_bytes: Option<f64>, record: Option<f64>| ProducerOptions {
            aggregation: Some(true),
            aggregation_max_bytes: max_bytes,
            max_record_bytes: record,
            ..opts()
        };
        let c = ProducerConfig::from_options(on(None, None)).unwrap();
        assert_eq!(
            c.aggregation,
            Some(AggregationConfig {
                max_bytes: 50_000,
                shard_map_refresh_ms: 60_000
            })
        );
        // The default never passes the record limit; an explicit value may not either.
        let small = ProducerConfig::from_options(on(None, Some(4096.0))).unwrap();
        assert_eq!(small.aggregation.map(|a| a.max_bytes), Some(4096));
        assert_eq!(
            field_of(on(Some(4097.0), Some(4096.0))),
            "aggregation.maxBytes"
        );
        assert_eq!(field_of(on(Some(255.0), None)), "aggregation.maxBytes");
        let exact = ProducerConfig::from_options(on(Some(MIB as f64), None)).unwrap();
        assert_eq!(exact.aggregation.map(|a| a.max_bytes), Some(MIB));
    }

    #[test]
    fn stream_names() {
        for ok in ["a", "A-b_c.9", &"x".repeat(128)] {
            assert!(check_stream_name("streamName", ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "ü", "a/b", &"x".repeat(129)] {
            assert!(check_stream_name("streamName", bad).is_err(), "{bad}");
        }
        assert_eq!(
            field_of(ProducerOptions {
                stream_name: None,
                ..opts()
            }),
            "streamName"
        );
    }

    #[test]
    fn arns() {
        let arn = "arn:aws:kinesis:us-east-1:123456789012:stream/readings";
        let c = ProducerConfig::from_options(ProducerOptions {
            stream_name: None,
            stream_arn: Some(arn.into()),
            ..opts()
        })
        .unwrap();
        assert_eq!(c.target.arn.as_deref(), Some(arn));
        // Both: the names must agree.
        assert!(ProducerConfig::from_options(ProducerOptions {
            stream_arn: Some(arn.into()),
            ..opts()
        })
        .is_ok());
        let other = "arn:aws:kinesis:us-east-1:123456789012:stream/other";
        assert_eq!(
            field_of(ProducerOptions {
                stream_arn: Some(other.into()),
                ..opts()
            }),
            "streamName"
        );
        for bad in [
            "arn:aws:kinesis:us-east-1:12345678901:stream/readings",
            "arn:aws:sqs:us-east-1:123456789012:stream/readings",
            "arn:aws:kinesis:us-east-1:123456789012:readings",
            "arn:aws:kinesis:eu-west-1:123456789012:stream/readings",
            "arn:aws:kinesis:us-east-1:123456789012:stream/",
        ] {
            assert_eq!(
                field_of(ProducerOptions {
                    stream_arn: Some(bad.into()),
                    ..opts()
                }),
                "streamArn",
                "{bad}"
            );
        }
    }

    #[test]
    fn numeric_edges() {
        let with = |f: fn(&mut ProducerOptions, f64), v: f64| {
            let mut o = opts();
            f(&mut o, v);
            ProducerConfig::from_options(o)
        };
        let set_records: fn(&mut ProducerOptions, f64) = |o, v| o.max_records_per_request = Some(v);
        assert!(with(set_records, 500.0).is_ok());
        assert_eq!(
            with(set_records, 501.0).unwrap_err().field(),
            Some("maxRecordsPerRequest")
        );
        assert!(with(set_records, 0.0).is_err());
        assert!(with(set_records, 1.5).is_err());
        assert!(with(set_records, f64::NAN).is_err());
        let set_request: fn(&mut ProducerOptions, f64) = |o, v| o.max_request_bytes = Some(v);
        assert!(with(set_request, (10 * MIB) as f64).is_ok());
        assert_eq!(
            with(set_request, (10 * MIB + 1) as f64)
                .unwrap_err()
                .field(),
            Some("maxRequestBytes")
        );
        let set_record: fn(&mut ProducerOptions, f64) = |o, v| o.max_record_bytes = Some(v);
        assert!(with(set_record, (10 * MIB) as f64).is_ok());
        assert!(with(set_record, (10 * MIB + 1) as f64).is_err());
        let set_linger: fn(&mut ProducerOptions, f64) = |o, v| o.linger_ms = Some(v);
        assert!(with(set_linger, 0.0).is_ok());
        assert!(with(set_linger, -1.0).is_err());
        assert!(with(set_linger, f64::INFINITY).is_err());
        let set_ttl: fn(&mut ProducerOptions, f64) = |o, v| o.record_ttl_ms = Some(v);
        assert_eq!(with(set_ttl, f64::INFINITY).unwrap().record_ttl_ms, None);
        assert_eq!(with(set_ttl, 5.0).unwrap().record_ttl_ms, Some(5));
        assert_eq!(with(set_ttl, 0.0).unwrap_err().field(), Some("recordTtlMs"));
        assert!(with(set_ttl, f64::NEG_INFINITY).is_err());
        let set_bytes: fn(&mut ProducerOptions, f64) = |o, v| o.max_buffered_bytes = Some(v);
        assert_eq!(
            with(set_bytes, (MIB - 1) as f64).unwrap_err().field(),
            Some("maxBufferedBytes")
        );
        assert!(with(set_bytes, MIB as f64).is_ok());
        let set_timeout: fn(&mut ProducerOptions, f64) = |o, v| o.request_timeout_ms = Some(v);
        assert_eq!(
            with(set_timeout, 0.0).unwrap_err().field(),
            Some("requestTimeoutMs")
        );
    }

    #[test]
    fn regions_and_endpoints() {
        assert_eq!(
            field_of(ProducerOptions {
                region: None,
                ..opts()
            }),
            "region"
        );
        assert_eq!(
            field_of(ProducerOptions {
                region: Some("US East".into()),
                ..opts()
            }),
            "region"
        );
        assert_eq!(
            field_of(ProducerOptions {
                endpoint: Some("localhost:4567".into()),
                ..opts()
            }),
            "endpoint"
        );
        let c = ProducerConfig::from_options(ProducerOptions {
            endpoint: Some("http://127.0.0.1:4567".into()),
            ..opts()
        })
        .unwrap();
        assert_eq!(c.endpoint.url(), "http://127.0.0.1:4567/");
    }
}

// proptest is a native-only dev-dependency.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn number() -> impl Strategy<Value = Option<f64>> {
        proptest::option::of(prop_oneof![
            any::<f64>(),
            (0u64..20_000_000).prop_map(|n| n as f64),
            Just(f64::INFINITY),
            Just(f64::NAN),
            Just(-0.0),
        ])
    }

    fn text() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(prop_oneof![
            "\\PC{0,140}",
            "[a-z0-9-]{1,20}",
            "(http|https|ftp)://[a-z0-9.:\\[\\]@/?#-]{0,30}",
            "arn:aws:kinesis:[a-z0-9-]{1,12}:[0-9]{10,13}:stream/[a-zA-Z0-9_.-]{0,130}",
        ])
    }

    proptest! {
        /// Any options give a config or a typed refusal naming a field, never a panic; an
        /// accepted config holds every limit.
        #[test]
        fn options_never_panic(
            region in text(), stream_name in text(), stream_arn in text(), endpoint in text(),
            linger_ms in number(), records in number(), request_bytes in number(), record_bytes in number(),
            in_flight in number(), ttl in number(), timeout in number(), buffered in number(), buffered_bytes in number(),
            aggregation in proptest::option::of(any::<bool>()), aggregate_bytes in number(), refresh in number(),
        ) {
            let options = ProducerOptions {
                region, stream_name, stream_arn, endpoint, linger_ms,
                max_records_per_request: records, max_request_bytes: request_bytes, max_record_bytes: record_bytes,
                max_in_flight_requests: in_flight, record_ttl_ms: ttl, request_timeout_ms: timeout,
                max_buffered_records: buffered, max_buffered_bytes: buffered_bytes, ordering: None,
                aggregation, aggregation_max_bytes: aggregate_bytes, shard_map_refresh_ms: refresh,
            };
            match ProducerConfig::from_options(options) {
                Ok(c) => {
                    prop_assert!((1..=MAX_RECORDS_PER_REQUEST).contains(&c.limits.max_records_per_request));
                    prop_assert!(c.limits.max_request_bytes <= MAX_CONFIGURABLE_BYTES);
                    prop_assert!(c.max_buffered_bytes >= c.limits.max_record_bytes);
                    prop_assert!(c.linger_ms <= MAX_LINGER_MS);
                    if let Some(a) = c.aggregation {
                        prop_assert!((aggregation::MIN_MAX_BYTES..=c.limits.max_record_bytes).contains(&a.max_bytes));
                    }
                }
                Err(e) => prop_assert!(e.field().is_some(), "{e}"),
            }
        }
    }
}
