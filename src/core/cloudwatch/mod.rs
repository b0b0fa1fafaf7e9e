//! CloudWatch's query protocol (form-encoded requests, XML answers), for `PutMetricData`: the
//! producer's metrics, published as statistic sets.

pub mod put_metric_data;

/// The service name signed for.
pub const SERVICE: &str = "monitoring";
pub const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";
