//! Helpers shared by the native integration tests.
#![allow(dead_code)]

use kinesis_edge::core::Millis;

/// Epoch milliseconds of `YYYY-MM-DDTHH:MM:SSZ`.
pub fn parse_timestamp(ts: &str) -> Millis {
    let n = |r: std::ops::Range<usize>| ts[r].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    // Days from civil (Hinnant), the inverse of the core's date formatting, written separately.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19);
    secs as Millis * 1000
}

/// The `aws-signing-test-suite` shipped inside the `aws-sigv4` crate this build resolved,
/// found through Cargo.lock so the vectors always match the crate in use.
pub fn aws_suite_dir() -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).expect("Cargo.lock");
    let version = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"aws-sigv4\""))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
        .map(|v| v.trim_end_matches('"').to_owned())
        .expect("aws-sigv4 in Cargo.lock");
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(std::env::var("HOME").unwrap()).join(".cargo"));
    let registry = cargo_home.join("registry").join("src");
    for index in std::fs::read_dir(&registry).expect("cargo registry") {
        let dir = index
            .unwrap()
            .path()
            .join(format!("aws-sigv4-{version}"))
            .join("aws-signing-test-suite")
            .join("v4");
        if dir.is_dir() {
            return dir;
        }
    }
    panic!(
        "aws-signing-test-suite of aws-sigv4 {version} not found under {}",
        registry.display()
    );
}
