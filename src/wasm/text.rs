//! Text the boundary hands to JS in one string.

/// `s` as a JSON string literal.
pub fn json_string(s: &str) -> String {
    let mut out = vec![b'"'];
    crate::core::json::write_escaped(&mut out, s);
    out.push(b'"');
    String::from_utf8(out).unwrap_or_default()
}

/// Headers as `name\nvalue\nname\nvalue...`: names and values of the core's making, which hold
/// no line break (header values cannot).
pub fn join_headers(headers: &[(&'static str, String)]) -> String {
    let mut out = String::new();
    for (name, value) in headers {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(name);
        out.push('\n');
        out.push_str(value);
    }
    out
}
