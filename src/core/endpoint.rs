//! Endpoint URLs: the AWS default for a region, or any custom `http(s)://host[:port][/path]`.
//! Parsed by hand (a URL crate would cost more wasm than this whole module) and normalised
//! the way `fetch` sends it, so the signed `host` equals the `Host` header on the wire.

use crate::core::error::Error;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `scheme://authority`, with the default port dropped.
    origin: String,
    /// Path with a leading `/`; `/` when none was given.
    path: String,
}

impl Endpoint {
    /// The public endpoint of a region (`.amazonaws.com.cn` in the China partition).
    pub fn for_region(region: &str) -> Self {
        let suffix = if region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        Self {
            origin: format!("https://kinesis.{region}.{suffix}"),
            path: "/".to_owned(),
        }
    }

    pub fn parse(raw: &str) -> Result<Self, Error> {
        let bad = |why: &str| Error::invalid_option("endpoint", format!("{why} (got \"{raw}\")"));
        let (scheme, rest) = raw
            .split_once("://")
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
            Some(i) => rest.split_at(i),
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
            Endpoint::for_region("eu-west-1").url(),
            "https://kinesis.eu-west-1.amazonaws.com/"
        );
        assert_eq!(
            Endpoint::for_region("cn-north-1").url(),
            "https://kinesis.cn-north-1.amazonaws.com.cn/"
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
