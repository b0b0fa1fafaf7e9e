//! The SigV4 canonical request and string to sign, built by hand. The `aws-sigv4` crate's
//! `http_request` signer does this too, but it links the `http` crate and friends (~30 KB of
//! gzipped wasm) and hides both strings; here they are plain values the tests compare with the
//! AWS test suite, and a property test checks the final signature against the crate's own.
//! Rules (the crate's defaults for non-S3 services): path dot-segments removed and the path
//! encoded a second time; query pairs decoded, re-encoded and sorted; header names lower-cased,
//! values trimmed with inner runs of spaces folded; `host`, `x-amz-date` and the session token
//! added; `authorization`, `user-agent`, `x-amzn-trace-id`, `transfer-encoding` left unsigned.

use crate::core::model::error::Error;

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Headers that proxies and runtimes change, so they are never signed.
const UNSIGNED_HEADERS: [&str; 4] = [
    "authorization",
    "user-agent",
    "x-amzn-trace-id",
    "transfer-encoding",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Canonical {
    /// The canonical request text.
    pub request: String,
    /// `;`-joined names of the signed headers.
    pub signed_headers: String,
}

/// The parts of an absolute URL that signing reads.
struct UrlParts<'a> {
    /// Host with the port, minus a default port, as the `Host` header carries it.
    host: String,
    path: &'a str,
    query: &'a str,
}

fn split_url(url: &str) -> Result<UrlParts<'_>, Error> {
    let bad = |why: &str| Error::Signing(format!("url {why}"));
    let (scheme, rest) = url
        .split_once(':')
        .and_then(|(scheme, rest)| Some((scheme, rest.strip_prefix("//")?)))
        .ok_or_else(|| bad("must be absolute"))?;
    let rest = rest.split('#').next().unwrap_or(rest);
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    // `find` gives a char boundary; the checked split keeps a panic's formatting out of wasm.
    let (authority, path_and_query) = rest.split_at_checked(end).unwrap_or((rest, ""));
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    if authority.is_empty() || !authority.is_ascii() {
        return Err(bad("must have an ASCII host"));
    }
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => "",
    };
    let host = match authority.strip_suffix(default_port) {
        Some(host) if !default_port.is_empty() => host,
        _ => authority,
    };
    Ok(UrlParts {
        host: host.to_owned(),
        path,
        query,
    })
}

/// RFC 3986 dot-segment removal, also folding empty segments, keeping a trailing slash.
fn normalize_path(path: &str) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    if !(path.contains('.') || path.as_bytes().windows(2).any(|w| w == b"//"))
        && path.starts_with('/')
    {
        return path.to_owned();
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    let trailing = ["/", "/.", "/./", "/..", "/../"]
        .iter()
        .any(|e| path.ends_with(e));
    if out.is_empty() || trailing {
        out.push('/');
    }
    out
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Percent-encode every byte but the unreserved ones (and `/` when `keep_slash`).
pub fn encode(s: &str, keep_slash: bool, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte.
fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let hex = |c: u8| (c as char).to_digit(16);
        match b {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b),
            },
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A few elements only (headers, query pairs): insertion sort is stable and a few dozen bytes
/// of wasm, where `slice::sort` links kilobytes per element type.
fn insertion_sort<T>(v: &mut [T], less: impl Fn(&T, &T) -> bool) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && less(&v[j], &v[j - 1]) {
            v.swap(j, j - 1);
            j -= 1;
        }
    }
}

fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let mut key = String::new();
            let mut value = String::new();
            encode(&form_decode(k), false, &mut key);
            encode(&form_decode(v), false, &mut value);
            (key, value)
        })
        .collect();
    insertion_sort(&mut pairs, |a, b| a < b);
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// Trim spaces at both ends and fold runs of spaces into one.
fn trim_all(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut previous_space = false;
    for c in value.trim_matches(' ').chars() {
        if c == ' ' && previous_space {
            continue;
        }
        previous_space = c == ' ';
        out.push(c);
    }
    out
}

fn check_header(name: &str, value: &str) -> Result<(), Error> {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(Error::Signing(format!(
            "header name \"{name}\" is not a valid HTTP token"
        )));
    }
    if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(Error::Signing(format!(
            "header \"{name}\" has a control character in its value"
        )));
    }
    Ok(())
}

/// Build the canonical request. `added` are the signer's own headers (`x-amz-date`, the
/// session token), which replace any of the same name in `headers`.
pub fn canonical_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    added: &[(&str, &str)],
    payload_sha256_hex: &str,
) -> Result<Canonical, Error> {
    let parts = split_url(url)?;
    // (lower-case name, values in order); few headers, so a sorted Vec beats a map.
    let mut map: Vec<(String, Vec<String>)> = Vec::with_capacity(headers.len() + added.len() + 1);
    for (name, value) in headers {
        check_header(name, value)?;
        let name = name.to_ascii_lowercase();
        if added.iter().any(|(a, _)| *a == name) {
            continue;
        }
        let value = trim_all(value);
        match map.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values.push(value),
            None => map.push((name, vec![value])),
        }
    }
    if !map.iter().any(|(n, _)| n == "host") {
        map.push(("host".to_owned(), vec![parts.host.clone()]));
    }
    for (name, value) in added {
        map.push(((*name).to_owned(), vec![trim_all(value)]));
    }
    map.retain(|(n, _)| !UNSIGNED_HEADERS.contains(&n.as_str()));
    insertion_sort(&mut map, |a, b| a.0 < b.0);

    let mut request = String::with_capacity(256);
    request.push_str(method);
    request.push('\n');
    encode(&normalize_path(parts.path), true, &mut request);
    request.push('\n');
    request.push_str(&canonical_query(parts.query));
    request.push('\n');
    let mut signed_headers = String::new();
    for (name, values) in &map {
        request.push_str(name);
        request.push(':');
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                request.push(',');
            }
            request.push_str(value);
        }
        request.push('\n');
        if !signed_headers.is_empty() {
            signed_headers.push(';');
        }
        signed_headers.push_str(name);
    }
    request.push('\n');
    request.push_str(&signed_headers);
    request.push('\n');
    request.push_str(payload_sha256_hex);
    Ok(Canonical {
        request,
        signed_headers,
    })
}

/// The string to sign for a canonical request signed at `amz_date` within `scope`.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request_sha256_hex: &str) -> String {
    format!("{ALGORITHM}\n{amz_date}\n{scope}\n{canonical_request_sha256_hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(normalize_path(""), "/");
        assert_eq!(normalize_path("/a/./b/../c/"), "/a/c/");
        assert_eq!(normalize_path("//example//"), "/example/");
        assert_eq!(normalize_path("/.."), "/");
        assert_eq!(normalize_path("/a/.."), "/");
    }

    #[test]
    fn queries() {
        assert_eq!(canonical_query("b=2&a=1&a=0"), "a=0&a=1&b=2");
        assert_eq!(canonical_query("k&x=a+b%20c&&"), "k=&x=a%20b%20c");
        assert_eq!(canonical_query("%zz=%4"), "%25zz=%254");
    }

    #[test]
    fn urls() {
        let p = split_url("https://Host.example:443/p?q#f").unwrap();
        assert_eq!(
            (p.host.as_str(), p.path, p.query),
            ("Host.example", "/p", "q")
        );
        assert_eq!(
            split_url("http://127.0.0.1:4567").unwrap().host,
            "127.0.0.1:4567"
        );
        assert!(split_url("/relative").is_err());
    }

    #[test]
    fn header_checks() {
        let r = canonical_request("GET", "https://h/", &[("bad name", "v")], &[], "x");
        assert!(r.is_err());
        let r = canonical_request("GET", "https://h/", &[("x-a", "line\nbreak")], &[], "x");
        assert!(r.is_err());
    }
}
