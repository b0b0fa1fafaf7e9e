//! A pull reader over JSON text: the caller walks the shape it expects (`object`, `array`,
//! `string`, ...) and skips what it does not need. Strict about the grammar, so a truncated or
//! garbled answer is told from a valid one; strings without escapes are borrowed, not copied.

use std::borrow::Cow;

/// The text is not the JSON the caller expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed;

type Result<T> = std::result::Result<T, Malformed>;

/// Nesting deeper than this is refused rather than risking the stack.
const MAX_DEPTH: u32 = 128;

/// What the next value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    depth: u32,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            pos: 0,
            depth: 0,
        }
    }

    /// What is left to read, for a caller that recognises a common shape faster itself.
    pub fn rest(&self) -> &'a [u8] {
        &self.bytes[self.pos.min(self.bytes.len())..]
    }

    /// Step over `n` bytes of [`Reader::rest`] the caller has read itself.
    pub fn advance(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.bytes.len());
    }

    #[inline(always)]
    fn skip_space(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    #[inline(always)]
    fn next_byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    #[inline(always)]
    fn expect(&mut self, b: u8) -> Result<()> {
        self.skip_space();
        if self.next_byte() == Some(b) {
            Ok(())
        } else {
            Err(Malformed)
        }
    }

    /// The kind of the next value.
    #[inline(always)]
    pub fn peek(&mut self) -> Result<Kind> {
        self.skip_space();
        Ok(match self.bytes.get(self.pos).ok_or(Malformed)? {
            b'{' => Kind::Object,
            b'[' => Kind::Array,
            b'"' => Kind::String,
            b'-' | b'0'..=b'9' => Kind::Number,
            b't' | b'f' => Kind::Bool,
            b'n' => Kind::Null,
            _ => return Err(Malformed),
        })
    }

    #[inline(always)]
    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Malformed);
        }
        Ok(())
    }

    /// Read an object, calling `member(reader, key)` for each member; it must read or skip the
    /// member's value.
    ///
    /// The callbacks are `dyn`: one copy of the loop serves every caller (a generic one per
    /// caller was kilobytes of wasm).
    pub fn object(
        &mut self,
        member: &mut dyn FnMut(&mut Self, Cow<'a, str>) -> Result<()>,
    ) -> Result<()> {
        self.expect(b'{')?;
        self.enter()?;
        self.skip_space();
        if self.bytes.get(self.pos) == Some(&b'}') {
            self.pos += 1;
        } else {
            loop {
                let key = self.string()?;
                self.expect(b':')?;
                member(self, key)?;
                self.skip_space();
                match self.next_byte() {
                    Some(b',') => continue,
                    Some(b'}') => break,
                    _ => return Err(Malformed),
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// Read an array, calling `element(reader)` for each element; it must read or skip it.
    pub fn array(&mut self, element: &mut dyn FnMut(&mut Self) -> Result<()>) -> Result<()> {
        self.expect(b'[')?;
        self.enter()?;
        self.skip_space();
        if self.bytes.get(self.pos) == Some(&b']') {
            self.pos += 1;
        } else {
            loop {
                element(self)?;
                self.skip_space();
                match self.next_byte() {
                    Some(b',') => continue,
                    Some(b']') => break,
                    _ => return Err(Malformed),
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// Read a string, unescaped.
    pub fn string(&mut self) -> Result<Cow<'a, str>> {
        self.expect(b'"')?;
        let start = self.pos;
        let rest = &self.bytes[start..];
        let end = rest
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
            .ok_or(Malformed)?;
        if rest[end] == b'"' {
            self.pos = start + end + 1;
            return std::str::from_utf8(&rest[..end])
                .map(Cow::Borrowed)
                .map_err(|_| Malformed);
        }
        let mut out = rest[..end].to_vec();
        self.pos = start + end;
        loop {
            match self.next_byte().ok_or(Malformed)? {
                b'"' => break,
                b'\\' => self.escape(&mut out)?,
                b if b < 0x20 => return Err(Malformed),
                b => out.push(b),
            }
        }
        String::from_utf8(out)
            .map(Cow::Owned)
            .map_err(|_| Malformed)
    }

    fn escape(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let c = match self.next_byte().ok_or(Malformed)? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let high = self.hex4()?;
                let code = if (0xD800..0xDC00).contains(&high) {
                    if self.next_byte() != Some(b'\\') || self.next_byte() != Some(b'u') {
                        return Err(Malformed);
                    }
                    let low = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return Err(Malformed);
                    }
                    0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                } else {
                    high
                };
                char::from_u32(code).ok_or(Malformed)?
            }
            _ => return Err(Malformed),
        };
        let mut utf8 = [0; 4];
        out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32> {
        let mut v = 0;
        for _ in 0..4 {
            let d = (self.next_byte().ok_or(Malformed)? as char)
                .to_digit(16)
                .ok_or(Malformed)?;
            v = v * 16 + d;
        }
        Ok(v)
    }

    /// Read a number. Parsed by hand (the standard float parser is kilobytes of wasm): exact
    /// for integers up to 2^53, close enough beyond for range checks.
    pub fn number(&mut self) -> Result<f64> {
        self.skip_space();
        let negative = self.bytes.get(self.pos) == Some(&b'-');
        if negative {
            self.pos += 1;
        }
        let mut value = 0f64;
        let mut exponent = 0i32;
        let int_digits = self.digits(|d| value = value * 10.0 + f64::from(d));
        let leading_zero = int_digits > 1 && self.bytes[self.pos - int_digits] == b'0';
        if int_digits == 0 || leading_zero {
            return Err(Malformed);
        }
        if self.bytes.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            let fraction = self.digits(|d| {
                value = value * 10.0 + f64::from(d);
                exponent -= 1;
            });
            if fraction == 0 {
                return Err(Malformed);
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.pos) {
            self.pos += 1;
            let sign = match self.bytes.get(self.pos) {
                Some(b'-') => -1,
                Some(b'+') => 1,
                _ => 0,
            };
            if sign != 0 {
                self.pos += 1;
            }
            let mut e = 0i32;
            if self.digits(|d| e = (e * 10 + i32::from(d)).min(10_000)) == 0 {
                return Err(Malformed);
            }
            exponent += if sign < 0 { -e } else { e };
        }
        let scaled = if exponent >= 0 {
            value * 10f64.powi(exponent.min(400))
        } else {
            value / 10f64.powi((-exponent).min(400))
        };
        Ok(if negative { -scaled } else { scaled })
    }

    #[inline(always)]
    fn digits(&mut self, mut each: impl FnMut(u8)) -> usize {
        let start = self.pos;
        while let Some(&b @ b'0'..=b'9') = self.bytes.get(self.pos) {
            each(b - b'0');
            self.pos += 1;
        }
        self.pos - start
    }

    fn literal(&mut self, word: &[u8]) -> Result<()> {
        self.skip_space();
        if self.bytes[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(Malformed)
        }
    }

    pub fn bool(&mut self) -> Result<bool> {
        match self.peek()? {
            Kind::Bool if self.bytes[self.pos] == b't' => self.literal(b"true").map(|()| true),
            Kind::Bool => self.literal(b"false").map(|()| false),
            _ => Err(Malformed),
        }
    }

    pub fn null(&mut self) -> Result<()> {
        self.literal(b"null")
    }

    /// Read and drop any value.
    pub fn skip(&mut self) -> Result<()> {
        match self.peek()? {
            Kind::Object => self.object(&mut |r, _| r.skip()),
            Kind::Array => self.array(&mut Self::skip),
            Kind::String => self.string().map(drop),
            Kind::Number => self.number().map(drop),
            Kind::Bool => self.bool().map(drop),
            Kind::Null => self.null(),
        }
    }

    /// The next value if it is a string; any other value is skipped.
    pub fn string_or_skip(&mut self) -> Result<Option<Cow<'a, str>>> {
        if self.peek()? == Kind::String {
            self.string().map(Some)
        } else {
            self.skip().map(|()| None)
        }
    }

    /// Nothing but whitespace may follow the value read.
    pub fn end(&mut self) -> Result<()> {
        self.skip_space();
        if self.pos == self.bytes.len() {
            Ok(())
        } else {
            Err(Malformed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads any value into serde_json's model, to compare with serde_json's own reading.
    fn read(r: &mut Reader<'_>) -> Result<serde_json::Value> {
        use serde_json::Value as V;
        Ok(match r.peek()? {
            Kind::Object => {
                let mut map = serde_json::Map::new();
                r.object(&mut |r, k| {
                    map.insert(k.into_owned(), read(r)?);
                    Ok(())
                })?;
                V::Object(map)
            }
            Kind::Array => {
                let mut items = Vec::new();
                r.array(&mut |r| {
                    items.push(read(r)?);
                    Ok(())
                })?;
                V::Array(items)
            }
            Kind::String => V::String(r.string()?.into_owned()),
            Kind::Number => serde_json::json!(r.number()?),
            Kind::Bool => V::Bool(r.bool()?),
            Kind::Null => r.null().map(|()| V::Null)?,
        })
    }

    fn parse(text: &str) -> Result<serde_json::Value> {
        let mut r = Reader::new(text.as_bytes());
        let v = read(&mut r)?;
        r.end()?;
        Ok(v)
    }

    #[test]
    fn reads_what_serde_json_reads() {
        for text in [
            r#"{"a":[1,2.5,-3e2,0,true,false,null],"b":{"c":"d\"\\\/\b\f\n\r\tx"},"e":[]}"#,
            r#" { "u" : "\u00e9\ud834\udd1e" , "n": -0.25E+1 } "#,
            r#""plain""#,
            "[[[[]]]]",
            r#"{"k":12345678901234567}"#,
        ] {
            let theirs: serde_json::Value = serde_json::from_str(text).unwrap();
            let ours = parse(text).unwrap();
            assert_eq!(normalise(&ours), normalise(&theirs), "{text}");
        }
    }

    /// Numbers compared as f64 (serde_json keeps integers as integers).
    fn normalise(v: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value as V;
        match v {
            V::Number(n) => serde_json::json!(n.as_f64().unwrap()),
            V::Array(a) => V::Array(a.iter().map(normalise).collect()),
            V::Object(o) => V::Object(o.iter().map(|(k, v)| (k.clone(), normalise(v))).collect()),
            other => other.clone(),
        }
    }

    #[test]
    fn refuses_what_is_not_json() {
        for text in [
            "",
            "{",
            "[1,]",
            "{\"a\"}",
            "{\"a\":1,}",
            "01",
            "1.",
            "-",
            ".5",
            "1e",
            "tru",
            "nul",
            "\"abc",
            "\"a\u{1}b\"",
            "\"\\x\"",
            "\"\\ud834\"",
            "\"\\ud834\\u0041\"",
            "[1 2]",
            "{1:2}",
            "\"\\u12g4\"",
            "1 2",
        ] {
            assert!(parse(text).is_err(), "{text:?}");
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(parse(&deep).is_err(), "too deep");
    }

    #[test]
    fn borrowed_unless_escaped() {
        let mut r = Reader::new(br#"["plain","es\"caped"]"#);
        let mut seen = Vec::new();
        r.array(&mut |r| {
            seen.push(matches!(r.string()?, Cow::Borrowed(_)));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, [true, false]);
    }
}

// proptest is a native-only dev-dependency.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn skip_all(text: &[u8]) -> Result<()> {
        let mut r = Reader::new(text);
        r.skip()?;
        r.end()
    }

    proptest! {
        /// Any bytes: accepted exactly when serde_json accepts them, and never a panic.
        #[test]
        fn agrees_with_serde_json_on_validity(text in r#"[\[\]{}",:0-9.eE+\- a-z\\u]{0,40}"#) {
            let ours = skip_all(text.as_bytes()).is_ok();
            let theirs = serde_json::from_str::<serde_json::Value>(&text).is_ok();
            prop_assert_eq!(ours, theirs, "{}", text);
        }

        #[test]
        fn never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = skip_all(&bytes);
        }
    }
}
