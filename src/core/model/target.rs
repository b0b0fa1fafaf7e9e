//! Where records go: a region, and a stream named by its name, its ARN, or both (the ARN is
//! needed cross-account).

use crate::core::model::error::Error;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamTarget {
    pub name: Option<String>,
    pub arn: Option<String>,
}

impl StreamTarget {
    pub fn new(name: Option<&str>, arn: Option<&str>, region: &str) -> Result<Self, Error> {
        if name.is_none() && arn.is_none() {
            return Err(Error::invalid_option(
                "streamName",
                "give streamName, streamArn, or both",
            ));
        }
        if let Some(n) = name {
            check_stream_name("streamName", n)?;
        }
        if let Some(a) = arn {
            let (arn_region, arn_name) = parse_stream_arn(a)?;
            if arn_region != region {
                return Err(Error::invalid_option(
                    "streamArn",
                    format!(
                        "is in region \"{arn_region}\" but the producer signs for region \"{region}\""
                    ),
                ));
            }
            if name.is_some_and(|n| n != arn_name) {
                return Err(Error::invalid_option(
                    "streamName",
                    "names a different stream than streamArn",
                ));
            }
        }
        Ok(Self {
            name: name.map(str::to_owned),
            arn: arn.map(str::to_owned),
        })
    }

    /// The stream's name: as given, or the ARN's (CloudWatch's `StreamName` dimension).
    #[cfg(feature = "metrics")]
    pub fn stream_name(&self) -> &str {
        let from_arn = || {
            parse_stream_arn(self.arn.as_deref()?)
                .ok()
                .map(|(_, name)| name)
        };
        self.name.as_deref().or_else(from_arn).unwrap_or_default()
    }

    /// The members that name the stream in a request body: `"StreamName":"..","StreamARN":".."`
    /// (no braces). Names and ARNs are validated to need no escaping.
    pub fn json_members(&self) -> String {
        let name = self
            .name
            .as_ref()
            .map(|n| format!("\"StreamName\":\"{n}\""));
        let arn = self.arn.as_ref().map(|a| format!("\"StreamARN\":\"{a}\""));
        name.into_iter().chain(arn).collect::<Vec<_>>().join(",")
    }
}

fn check_stream_name(field: &str, name: &str) -> Result<(), Error> {
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

/// An AWS region name such as `us-east-1`.
pub fn check_region(region: &str) -> Result<(), Error> {
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

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:kinesis:us-east-1:123456789012:stream/readings";

    #[test]
    fn stream_names() {
        for ok in ["a", "A-b_c.9", &"x".repeat(128)] {
            assert!(check_stream_name("streamName", ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "ü", "a/b", &"x".repeat(129)] {
            assert!(check_stream_name("streamName", bad).is_err(), "{bad}");
        }
        let none = StreamTarget::new(None, None, "us-east-1").unwrap_err();
        assert_eq!(none.field(), Some("streamName"));
    }

    #[cfg(feature = "metrics")]
    #[test]
    fn the_stream_name_is_the_arn_s_when_no_name_is_given() {
        let by_arn = StreamTarget::new(None, Some(ARN), "us-east-1").unwrap();
        assert_eq!(by_arn.stream_name(), "readings");
        let by_name = StreamTarget::new(Some("readings"), None, "us-east-1").unwrap();
        assert_eq!(by_name.stream_name(), "readings");
    }

    #[test]
    fn arns() {
        let t = StreamTarget::new(None, Some(ARN), "us-east-1").unwrap();
        assert_eq!(t.arn.as_deref(), Some(ARN));
        assert!(StreamTarget::new(Some("readings"), Some(ARN), "us-east-1").is_ok());
        let other = "arn:aws:kinesis:us-east-1:123456789012:stream/other";
        assert_eq!(
            StreamTarget::new(Some("readings"), Some(other), "us-east-1")
                .unwrap_err()
                .field(),
            Some("streamName")
        );
        for bad in [
            "arn:aws:kinesis:us-east-1:12345678901:stream/readings",
            "arn:aws:sqs:us-east-1:123456789012:stream/readings",
            "arn:aws:kinesis:us-east-1:123456789012:readings",
            "arn:aws:kinesis:eu-west-1:123456789012:stream/readings",
            "arn:aws:kinesis:us-east-1:123456789012:stream/",
        ] {
            assert_eq!(
                StreamTarget::new(None, Some(bad), "us-east-1")
                    .unwrap_err()
                    .field(),
                Some("streamArn"),
                "{bad}"
            );
        }
    }

    #[test]
    fn body_members() {
        let both = StreamTarget::new(Some("readings"), Some(ARN), "us-east-1").unwrap();
        assert_eq!(
            both.json_members(),
            format!("\"StreamName\":\"readings\",\"StreamARN\":\"{ARN}\"")
        );
        let name = StreamTarget::new(Some("s"), None, "us-east-1").unwrap();
        assert_eq!(name.json_members(), "\"StreamName\":\"s\"");
    }

    #[test]
    fn regions() {
        assert!(check_region("cn-north-1").is_ok());
        for bad in ["", "US East", "1-east", "us_east"] {
            assert_eq!(
                check_region(bad).unwrap_err().field(),
                Some("region"),
                "{bad}"
            );
        }
    }
}
