//! Endpoint URLs: the AWS default of a service in a region, or any custom
//! `http(s)://host[:port][/path]`. Parsed by hand (a URL crate would cost more wasm than this
//! whole module) and normalised the way `fetch` sends it, so the signed `host` equals the `Host`
//! header on the wire. The producer, the stream reader and the Cognito provider all take their
//! endpoints from here.

use crate::core::model::error::Error;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `scheme://authority`, with the default port dropped.
    origin: String,
    /// Path with a leading `/`; `/` when none was given.
    path: String,
}

impl Endpoint {
    /// The public endpoint of `service` (`kinesis`, `cognito-identity`, ...) in `region`
    /// (`.amazonaws.com.cn` in the China partition).
    pub fn for_service(service: &str, region: &str) -> Self {
        let suffix = if region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        Self {
            origin: format!("https://{service}.{region}.{suffix}"),
            path: "/".to_owned(),
        }
    }

    /// `custom` when given (validated), else the service's public endpoint in `region`.
    pub fn resolve(service: &str, region: &str, custom: Option<&str>) -> Result<Self, Error> {
        match custom {
            Some(url) => Self::parse(url),
            None => Ok(Self::for_service(service, region)),
        }
    }

    pub fn parse(raw: &str) -> Result<Self, Error> {
        let bad = |why: &str| Error::invalid_option("endpoint", format!("{why} (got \"{raw}\")"));
        let (scheme, rest) = raw
            .split_once(':')
            .and_then(|(scheme, rest)| Some((scheme, rest.strip_prefix("//")?)))
            .ok_or_else(|| bad("must be an absolute http:// or https:// URL"))?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "https" => "443",
            "http" => "80",
            _ => return Err(bad("scheme must be http or https")),
        };
        if rest.contains(['?', '#']) {
            return Err(bad("must not have a query or fragment"));
        }
        let (authority, path) = match rest.find('/') {
            // `find` gives a char boundary; the checked split keeps a panic's formatting out of wasm.
            Some(i) => rest.split_at_checked(i).unwrap_or((rest, "/")),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(bad("must name a host and no user info"));
        }
        if !authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
        {
            return Err(bad(
                "host must be ASCII (use the punycode form of an international name)",
            ));
        }
        let authority = authority.to_ascii_lowercase();
        let authority = match authority.rsplit_once(':') {
            // Not an IPv6 literal's colon: that port is the default, which fetch omits from Host.
            Some((host, port)) if !port.contains(']') => {
                if port.is_empty()
                    || !port.bytes().all(|b| b.is_ascii_digit())
                    || port.parse::<u16>().is_err()
                {
                    return Err(bad("port must be a number from 0 to 65535"));
                }
                if port == default_port {
                    host.to_owned()
                } else {
                    authority.clone()
                }
            }
            _ => authority.clone(),
        };
        if path.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(bad("path must be URL-encoded"));
        }
        Ok(Self {
            origin: format!("{scheme}://{authority}"),
            path: path.to_owned(),
        })
    }

    /// The URL requests go to.
    pub fn url(&self) -> String {
        format!("{}{}", self.origin, self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_endpoints() {
        assert_eq!(
            Endpoint::for_service("kinesis", "eu-west-1").url(),
            "https://kinesis.eu-west-1.amazonaws.com/"
        );
        assert_eq!(
            Endpoint::for_service("kinesis", "cn-north-1").url(),
            "https://kinesis.cn-north-1.amazonaws.com.cn/"
        );
        assert_eq!(
            Endpoint::resolve("cognito-identity", "cn-northwest-1", None)
                .unwrap()
                .url(),
            "https://cognito-identity.cn-northwest-1.amazonaws.com.cn/"
        );
        assert_eq!(
            Endpoint::resolve("kinesis", "us-east-1", Some("http://127.0.0.1:4567"))
                .unwrap()
                .url(),
            "http://127.0.0.1:4567/"
        );
    }

    #[test]
    fn custom_endpoints() {
        assert_eq!(
            Endpoint::parse("http://127.0.0.1:4567").unwrap().url(),
            "http://127.0.0.1:4567/"
        );
        assert_eq!(
            Endpoint::parse("HTTPS://VPCE.Example.com:443/")
                .unwrap()
                .url(),
            "https://vpce.example.com/"
        );
        assert_eq!(
            Endpoint::parse("http://[::1]:8080/kinesis").unwrap().url(),
            "http://[::1]:8080/kinesis"
        );
        assert_eq!(
            Endpoint::parse("http://[::1]").unwrap().url(),
            "http://[::1]/"
        );
    }

    #[test]
    fn refused_endpoints() {
        for bad in [
            "127.0.0.1:4567",
            "ftp://host",
            "http://",
            "http://user@host",
            "http://host:99999",
            "http://host:",
            "http://host/a b",
            "http://host/?q=1",
            "http://hôst",
        ] {
            let err = Endpoint::parse(bad).unwrap_err();
            assert_eq!(err.field(), Some("endpoint"), "{bad}");
        }
    }
}
