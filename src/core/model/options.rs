//! Options as the caller gave them: a tree of JSON values, read field by field so that a wrong
//! type, an out-of-range value or an unknown name is refused with the option's name.
//!
//! The JS side hands options over as JSON text. What JSON cannot carry arrives as a marker
//! string starting with NUL: `"\0function"` for a function (a credentials provider, a `fetch`),
//! `"\0Infinity"`, `"\0-Infinity"`, `"\0NaN"` for numbers JSON has no form for, and
//! `"\0<typeof>"` for anything else (a symbol, a bigint).

use crate::core::json::{Malformed, Reader};
use crate::core::model::error::Error;

/// One option's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Bool(bool),
    Number(f64),
    Text(String),
    Object(Options),
    Function,
    /// A JS value of another type, by its `typeof`.
    Other(String),
}

impl Value {
    fn kind(&self) -> &str {
        match self {
            Self::Bool(_) => "a boolean",
            Self::Number(_) => "a number",
            Self::Text(_) => "a string",
            Self::Object(_) => "an object",
            Self::Function => "a function",
            Self::Other(t) => t,
        }
    }
}

/// An options object: its members in order, `null` and `undefined` ones left out (they mean
/// "the default"), and the path that names its fields in messages (`aggregation.`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Options {
    prefix: String,
    members: Vec<(String, Value)>,
}

const MARKER: char = '\0';

impl Options {
    /// Parse options handed over as JSON (see the module documentation). `what` names the whole
    /// object in the refusal when it is not one.
    pub fn from_json(text: &str, what: &str) -> Result<Self, Error> {
        let not_object = || Error::invalid_option(what, "must be an object");
        let mut reader = Reader::new(text.as_bytes());
        if reader.peek() != Ok(crate::core::json::Kind::Object) {
            return Err(not_object());
        }
        let options = read_object(&mut reader, String::new())
            .and_then(|o| reader.end().map(|()| o))
            .map_err(|Malformed| not_object())?;
        Ok(options)
    }

    /// Options built in code (tests, defaults): `members` as given.
    pub fn from_members(members: Vec<(String, Value)>) -> Self {
        Self {
            prefix: String::new(),
            members,
        }
    }

    /// The full name of member `name`, as messages show it.
    pub fn field(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Refuse any member not in `known`, suggesting the known name it differs from only in case.
    pub fn allow_only(&self, known: &[&str]) -> Result<(), Error> {
        for (name, _) in &self.members {
            if known.contains(&name.as_str()) {
                continue;
            }
            let hint = known
                .iter()
                .find(|k| k.eq_ignore_ascii_case(name))
                .map(|k| format!("; did you mean `{}`?", self.field(k)))
                .unwrap_or_default();
            return Err(Error::invalid_option(
                self.field(name),
                format!("is not an option{hint}"),
            ));
        }
        Ok(())
    }

    /// Every member, in the order given.
    pub fn members(&self) -> &[(String, Value)] {
        &self.members
    }

    /// Member `name`; the last one when named twice, as `JSON.parse` keeps it.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.members
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    fn wrong(&self, name: &str, expected: &str, got: &Value) -> Error {
        Error::invalid_option(
            self.field(name),
            format!("must be {expected}, got {}", got.kind()),
        )
    }

    pub fn number(&self, name: &str) -> Result<Option<f64>, Error> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(Some(*n)),
            Some(other) => Err(self.wrong(name, "a number", other)),
        }
    }

    pub fn text(&self, name: &str) -> Result<Option<&str>, Error> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Text(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong(name, "a string", other)),
        }
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, Error> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.wrong(name, "a boolean", other)),
        }
    }

    pub fn function(&self, name: &str) -> Result<bool, Error> {
        match self.get(name) {
            None => Ok(false),
            Some(Value::Function) => Ok(true),
            Some(other) => Err(self.wrong(name, "a function", other)),
        }
    }
}

fn read_object(reader: &mut Reader<'_>, prefix: String) -> Result<Options, Malformed> {
    let mut members = Vec::new();
    reader.object(&mut |r, name| {
        if let Some(value) = read_value(r, &format!("{prefix}{name}."))? {
            members.push((name.into_owned(), value));
        }
        Ok(())
    })?;
    Ok(Options { prefix, members })
}

/// A value; `None` for `null` (the default). Arrays are not option values: `Other("array")`.
fn read_value(reader: &mut Reader<'_>, path: &str) -> Result<Option<Value>, Malformed> {
    use crate::core::json::Kind;
    Ok(Some(match reader.peek()? {
        Kind::Null => return reader.null().map(|()| None),
        Kind::Bool => Value::Bool(reader.bool()?),
        Kind::Number => Value::Number(reader.number()?),
        Kind::Object => Value::Object(read_object(reader, path.to_owned())?),
        Kind::Array => {
            reader.skip()?;
            Value::Other("an array".into())
        }
        Kind::String => {
            let s = reader.string()?;
            match s.strip_prefix(MARKER) {
                None => Value::Text(s.into_owned()),
                Some("function") => Value::Function,
                Some("Infinity") => Value::Number(f64::INFINITY),
                Some("-Infinity") => Value::Number(f64::NEG_INFINITY),
                Some("NaN") => Value::Number(f64::NAN),
                Some(other) => Value::Other(format!("a {other}")),
            }
        }
    }))
}

// Readers of option values, with the refusals every option shares.

/// A whole number of `field`, or `default` when absent.
pub fn whole(
    o: &Options,
    field: &str,
    default: usize,
    min: usize,
    max: usize,
) -> Result<usize, Error> {
    let Some(v) = o.number(field)? else {
        return Ok(default);
    };
    if !v.is_finite() || v.fract() != 0.0 || v < min as f64 || v > max as f64 {
        return Err(Error::invalid_option(
            o.field(field),
            format!(
                "must be a whole number from {min} to {max}, got {}",
                describe_number(v)
            ),
        ));
    }
    Ok(v as usize)
}

/// A number as a message shows it, without the float formatter (kilobytes of wasm).
fn describe_number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if v.fract() == 0.0 && v.abs() < 1e18 {
        (v as i64).to_string()
    } else {
        "a fraction".into()
    }
}

/// `field`: one of `choices` by name, or `default` when absent.
pub fn one_of<T: Copy>(
    o: &Options,
    field: &str,
    choices: &[(&str, T)],
    default: T,
) -> Result<T, Error> {
    let Some(given) = o.text(field)? else {
        return Ok(default);
    };
    choices
        .iter()
        .find(|(name, _)| *name == given)
        .map(|&(_, v)| v)
        .ok_or_else(|| {
            let mut expected = String::new();
            for (name, _) in choices {
                if !expected.is_empty() {
                    expected.push_str(" or ");
                }
                expected.push_str(&format!("'{name}'"));
            }
            Error::invalid_option(
                o.field(field),
                format!("must be {expected}, got \"{given}\""),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_markers() {
        let o = Options::from_json(
            r#"{"a":1.5,"b":"x","c":true,"d":null,"f":"\u0000function","i":"\u0000Infinity",
                "n":"\u0000NaN","s":"\u0000symbol","l":[1],"o":{"k":2}}"#,
            "options",
        )
        .unwrap();
        assert_eq!(o.number("a"), Ok(Some(1.5)));
        assert_eq!(o.text("b"), Ok(Some("x")));
        assert_eq!(o.bool("c"), Ok(Some(true)));
        assert_eq!(o.get("d"), None, "null is the default");
        assert_eq!(o.function("f"), Ok(true));
        assert_eq!(o.number("i"), Ok(Some(f64::INFINITY)));
        assert!(o.number("n").unwrap().unwrap().is_nan());
        let err = o.number("s").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid option `s`: must be a number, got a symbol"
        );
        assert_eq!(
            o.text("l").unwrap_err().to_string(),
            "invalid option `l`: must be a string, got an array"
        );
        let Some(Value::Object(inner)) = o.get("o") else {
            panic!()
        };
        assert_eq!(inner.number("k"), Ok(Some(2.0)));
        assert_eq!(inner.field("k"), "o.k");
    }

    #[test]
    fn unknown_names_are_refused_with_a_hint() {
        let o = Options::from_json(r#"{"region":"x","lingerMS":5}"#, "options").unwrap();
        let err = o.allow_only(&["region", "lingerMs"]).unwrap_err();
        assert_eq!(err.field(), Some("lingerMS"));
        assert!(
            err.to_string().contains("did you mean `lingerMs`?"),
            "{err}"
        );
        let inner = Options::from_json(r#"{"a":{"maxbytes":1}}"#, "options").unwrap();
        let Some(Value::Object(a)) = inner.get("a") else {
            panic!()
        };
        assert_eq!(
            a.allow_only(&["maxBytes"]).unwrap_err().field(),
            Some("a.maxbytes")
        );
    }

    #[test]
    fn not_an_object() {
        for text in ["5", "\"x\"", "[]", "{", ""] {
            let err = Options::from_json(text, "options").unwrap_err();
            assert_eq!(err.field(), Some("options"), "{text}");
        }
    }
}
