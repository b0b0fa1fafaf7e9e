//! `signRequest`: SigV4 for any AWS call, for interop and for services the producer does not
//! cover. The options are checked here; the body's hash comes from the caller.

use crate::core::json::{Malformed, Reader};
use crate::core::model::credentials::Credentials;
use crate::core::model::error::Error;
use crate::core::model::options::{Options, Value};
use crate::core::sigv4::signer::{self, SignInput, SigningKeyCache};
use crate::core::Millis;

/// Headers handed over as JSON `[[name, value], ...]`.
pub fn header_pairs(json: &str) -> Result<Vec<(String, String)>, Error> {
    let mut pairs = Vec::new();
    let mut reader = Reader::new(json.as_bytes());
    let read = reader
        .array(&mut |r| {
            let mut pair = Vec::new();
            r.array(&mut |r| {
                pair.push(r.string()?.into_owned());
                Ok(())
            })?;
            let [name, value]: [String; 2] = pair.try_into().map_err(|_| Malformed)?;
            pairs.push((name, value));
            Ok(())
        })
        .and_then(|()| reader.end());
    read.map(|()| pairs)
        .map_err(|Malformed| Error::invalid_option("headers", "must be name and value strings"))
}

fn required<'a>(o: &'a Options, key: &str) -> Result<&'a str, Error> {
    o.text(key)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::invalid_option(key, "is required"))
}

/// Sign a request described by `o` (`method`, `url`, `region`, `service`, `credentials`, and
/// `date` in epoch ms, else `now`) with `headers` and the body's lower-case hex SHA-256.
/// Returns the headers to add: `authorization`, `x-amz-date`, and the session token if any.
pub fn sign_request(
    o: &Options,
    headers: &[(&str, &str)],
    payload_sha256_hex: &str,
    now: Millis,
) -> Result<Vec<(&'static str, String)>, Error> {
    o.allow_only(&["method", "url", "region", "service", "credentials", "date"])?;
    let method = o.text("method")?.unwrap_or("GET").to_ascii_uppercase();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(Error::invalid_option(
            "method",
            "must be an HTTP method name",
        ));
    }
    let url = required(o, "url")?;
    let region = required(o, "region")?;
    let service = required(o, "service")?;
    let credentials = match o.get("credentials") {
        Some(Value::Object(c)) => Credentials::from_options(c)?,
        _ => {
            return Err(Error::Credentials(
                "credentials must be { accessKeyId, secretAccessKey, sessionToken? } or a function returning it"
                    .into(),
            ))
        }
    };
    let time_ms = match o.number("date")? {
        None => now,
        Some(ms) if ms.is_finite() && ms >= 0.0 => ms as Millis,
        Some(_) => return Err(Error::invalid_option("date", "must be a valid date")),
    };
    let signed = signer::sign(
        &SignInput {
            method: &method,
            url,
            headers,
            payload_sha256_hex,
            region,
            service,
            time_ms,
        },
        &credentials,
        &mut SigningKeyCache::default(),
    )
    .map_err(|e| match e {
        Error::Signing(why) => Error::invalid_option("url", format!("cannot be signed: {why}")),
        other => other,
    })?;
    Ok(signed
        .pairs()
        .into_iter()
        .map(|(name, value)| (name, value.to_owned()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::sigv4::signer::sha256_hex;

    fn sign(json: &str) -> Result<Vec<(&'static str, String)>, Error> {
        let o = Options::from_json(json, "request").unwrap();
        sign_request(
            &o,
            &[("content-type", "application/json")],
            &sha256_hex(b""),
            1_700_000_000_000,
        )
    }

    const CREDS: &str = r#""credentials":{"accessKeyId":"AKID","secretAccessKey":"SECRET"}"#;

    #[test]
    fn signs_any_service() {
        let h = sign(&format!(r#"{{"method":"post","url":"https://sqs.eu-west-1.amazonaws.com/","region":"eu-west-1","service":"sqs",{CREDS}}}"#)).unwrap();
        assert_eq!(h[1], ("x-amz-date", "20231114T221320Z".to_owned()));
        assert!(
            h[0].1.contains(
                "/eu-west-1/sqs/aws4_request, SignedHeaders=content-type;host;x-amz-date,"
            ),
            "{}",
            h[0].1
        );
        let dated = sign(&format!(
            r#"{{"url":"https://h/","region":"r","service":"s","date":0,{CREDS}}}"#
        ))
        .unwrap();
        assert_eq!(dated[1].1, "19700101T000000Z");
    }

    #[test]
    fn header_pairs_from_json() {
        assert_eq!(
            header_pairs(r#"[["a","1"],["b","x\ny"]]"#).unwrap(),
            [
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), "x\ny".to_owned())
            ]
        );
        for bad in ["[[\"a\"]]", "[[\"a\",1]]", "{}", "[[\"a\",\"b\",\"c\"]]"] {
            assert_eq!(
                header_pairs(bad).unwrap_err().field(),
                Some("headers"),
                "{bad}"
            );
        }
    }

    #[test]
    fn refusals_name_the_field() {
        for (json, field) in [
            (
                format!(r#"{{"url":"https://h/","region":"r",{CREDS}}}"#),
                "service",
            ),
            (format!(r#"{{"region":"r","service":"s",{CREDS}}}"#), "url"),
            (
                format!(
                    r#"{{"method":"G T","url":"https://h/","region":"r","service":"s",{CREDS}}}"#
                ),
                "method",
            ),
            (
                format!(r#"{{"url":"relative","region":"r","service":"s",{CREDS}}}"#),
                "url",
            ),
            (
                format!(
                    r#"{{"url":"https://h/","region":"r","service":"s","date":"\u0000NaN",{CREDS}}}"#
                ),
                "date",
            ),
            (
                format!(r#"{{"url":"https://h/","region":"r","service":"s","body":1,{CREDS}}}"#),
                "body",
            ),
        ] {
            assert_eq!(sign(&json).unwrap_err().field(), Some(field), "{json}");
        }
        assert!(matches!(
            sign(r#"{"url":"https://h/","region":"r","service":"s"}"#),
            Err(Error::Credentials(_))
        ));
    }
}
