//! The `metrics` option (CloudWatch metrics). Parsed only in builds with the `metrics` feature
//! (the package's `kinesis-edge/metrics` entries); the default build, which carries none of the
//! metrics' code, accepts only "off" and points anything else at that entry.

#[cfg(feature = "metrics")]
use crate::core::model::endpoint::Endpoint;
use crate::core::model::error::Error;
#[cfg(feature = "metrics")]
use crate::core::model::options::{one_of, whole};
use crate::core::model::options::{Options, Value};

/// `metrics` in a build without them: absent, or with `level` absent or `'none'`, passes (so
/// code written for either entry runs unchanged with metrics off); anything else is refused.
#[cfg(not(feature = "metrics"))]
pub fn refuse_unless_off(o: &Options) -> Result<(), Error> {
    let off = match o.get("metrics") {
        None => true,
        Some(Value::Object(m)) => match m.get("level") {
            None => true,
            Some(Value::Text(level)) => level == "none",
            Some(_) => false,
        },
        Some(_) => false,
    };
    if off {
        return Ok(());
    }
    Err(Error::invalid_option(
        "metrics",
        "needs the `kinesis-edge/metrics` entry: import from it, not `kinesis-edge`",
    ))
}

/// `metrics.level`: which of the KPL's metrics are published.
#[cfg(feature = "metrics")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MetricsLevel {
    Summary,
    Detailed,
}

/// `metrics.granularity`: the dimension sets each metric is published under, each including
/// those before it (as the KPL does): none, `StreamName`, `StreamName` and `ShardId`.
#[cfg(feature = "metrics")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Granularity {
    Global,
    Stream,
    Shard,
}

/// `metrics`: what is published to CloudWatch, where and how often.
#[cfg(feature = "metrics")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsConfig {
    pub level: MetricsLevel,
    pub granularity: Granularity,
    pub namespace: String,
    pub interval_ms: u64,
    /// Added to every metric, in the order given.
    pub dimensions: Vec<(String, String)>,
    pub endpoint: Endpoint,
}

#[cfg(feature = "metrics")]
const METRICS_OPTIONS: [&str; 6] = [
    "level",
    "granularity",
    "namespace",
    "intervalMs",
    "dimensions",
    "endpoint",
];
#[cfg(feature = "metrics")]
pub const DEFAULT_METRICS_NAMESPACE: &str = "KinesisProducerLibrary";
#[cfg(feature = "metrics")]
pub const DEFAULT_METRICS_INTERVAL_MS: u64 = 60_000;
/// CloudWatch keeps data points per second at best; a shorter interval only costs calls.
#[cfg(feature = "metrics")]
pub const MIN_METRICS_INTERVAL_MS: u64 = 1_000;
/// The KPL's largest `MetricsUploadDelay`: a longer interval would blur CloudWatch's 1-minute
/// periods (and hold a closed page's counts for longer).
#[cfg(feature = "metrics")]
pub const MAX_METRICS_INTERVAL_MS: u64 = 60_000;
/// CloudWatch takes 30 dimensions per metric; `StreamName`, `ShardId` and `ErrorCode` take 3.
#[cfg(feature = "metrics")]
pub const MAX_EXTRA_DIMENSIONS: usize = 27;

/// `metrics`: absent or `{ level: 'none' }` (the default: a page multiplied by its visitors must
/// not publish by surprise), else `{ level, granularity, namespace, intervalMs, dimensions,
/// endpoint }`.
#[cfg(feature = "metrics")]
pub fn metrics(o: &Options, region: &str) -> Result<Option<MetricsConfig>, Error> {
    let m = match o.get("metrics") {
        None => return Ok(None),
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(Error::invalid_option(
                "metrics",
                "must be { level, granularity, namespace, intervalMs, dimensions, endpoint }",
            ))
        }
    };
    m.allow_only(&METRICS_OPTIONS)?;
    // Both as numbers: one instance of `one_of` (wasm bytes).
    let level = one_of(
        m,
        "level",
        &[("none", 0), ("summary", 1), ("detailed", 2)],
        0,
    )?;
    let granularity = match one_of(
        m,
        "granularity",
        &[("global", 0u8), ("stream", 1), ("shard", 2)],
        2,
    )? {
        0 => Granularity::Global,
        1 => Granularity::Stream,
        _ => Granularity::Shard,
    };
    let namespace = m.text("namespace")?.unwrap_or(DEFAULT_METRICS_NAMESPACE);
    if namespace.is_empty() || namespace.len() > 255 || namespace.starts_with(':') {
        return Err(Error::invalid_option(
            m.field("namespace"),
            "must be 1 to 255 characters, not starting with ':'",
        ));
    }
    let interval_ms = whole(
        m,
        "intervalMs",
        DEFAULT_METRICS_INTERVAL_MS as usize,
        MIN_METRICS_INTERVAL_MS as usize,
        MAX_METRICS_INTERVAL_MS as usize,
    )? as u64;
    let endpoint =
        Endpoint::resolve("monitoring", region, m.text("endpoint")?).map_err(|e| match e {
            Error::InvalidOption { reason, .. } => {
                Error::invalid_option(m.field("endpoint"), reason)
            }
            other => other,
        })?;
    let dimensions = match m.get("dimensions") {
        None => Vec::new(),
        Some(Value::Object(d)) => extra_dimensions(d)?,
        Some(_) => {
            return Err(Error::invalid_option(
                m.field("dimensions"),
                "must be an object of dimension names to values",
            ))
        }
    };
    if level == 0 {
        return Ok(None);
    }
    Ok(Some(MetricsConfig {
        level: if level == 1 {
            MetricsLevel::Summary
        } else {
            MetricsLevel::Detailed
        },
        granularity,
        namespace: namespace.to_owned(),
        interval_ms,
        dimensions,
        endpoint,
    }))
}

/// `metrics.dimensions`: names of 1 to 255 characters other than the producer's own, values of
/// 1 to 1,024 (CloudWatch's limits).
#[cfg(feature = "metrics")]
fn extra_dimensions(d: &Options) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    for (name, value) in d.members() {
        match value {
            Value::Text(v)
                if (1..=255).contains(&name.len())
                    && !name.starts_with(':')
                    && !["StreamName", "ShardId", "ErrorCode"].contains(&name.as_str())
                    && (1..=1024).contains(&v.len()) =>
            {
                out.push((name.clone(), v.clone()));
            }
            _ => {
                return Err(Error::invalid_option(
                    d.field(name),
                    "must be a string of 1 to 1,024 characters, named with 1 to 255 (not StreamName, ShardId or ErrorCode)",
                ))
            }
        }
    }
    if out.len() > MAX_EXTRA_DIMENSIONS {
        return Err(Error::invalid_option(
            "metrics.dimensions",
            "at most 27 dimensions (CloudWatch takes 30 per metric)",
        ));
    }
    Ok(out)
}
