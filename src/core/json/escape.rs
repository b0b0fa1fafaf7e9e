//! Writing strings into JSON bodies, with their exact escaped length known beforehand (the
//! batcher counts every byte of a request against its limit).

/// Bytes `s` takes inside a JSON string literal.
pub fn escaped_len(s: &str) -> usize {
    s.bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum()
}

/// Append `s` escaped for a JSON string literal (without the quotes).
pub fn write_escaped(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // Keys are nearly always plain: one copy instead of a push per byte.
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0..=0x1f => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 15) as usize],
            ]),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_is_what_is_written() {
        for s in ["plain", "q\"b\\", "\n\r\t\u{8}\u{c}", "\u{1}\u{1f}", "é𝄞"] {
            let mut out = Vec::new();
            write_escaped(&mut out, s);
            assert_eq!(out.len(), escaped_len(s), "{s:?}");
            let back: String = serde_json::from_slice(&[b"\"", &out[..], b"\""].concat()).unwrap();
            assert_eq!(back, s);
        }
    }
}
