//! Canonical JSON, so that two request bodies that differ only in key order or
//! whitespace compare equal (idempotency replays).

use serde_json::Value;
use sha2::{Digest, Sha256};

use std::io::Write;

/// Serializes `value` with object keys sorted at every depth and no whitespace.
pub fn to_canonical_string(value: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(value, &mut out).expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// Streams the canonical form of `value` into `out` (a hasher, say), so a large body
/// need not be copied into a string first.
pub fn write_canonical(value: &Value, out: &mut impl Write) -> std::io::Result<()> {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.write_all(b"{")?;
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                serde_json::to_writer(&mut *out, key)?;
                out.write_all(b":")?;
                write_canonical(&map[key], out)?;
            }
            out.write_all(b"}")
        }
        Value::Array(items) => {
            out.write_all(b"[")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                write_canonical(item, out)?;
            }
            out.write_all(b"]")
        }
        // A whole number is written as an integer (RFC 8785 writes `5.0` as `5` too):
        // JSON does not tell `5.0` from `5`, so neither may a replay's fingerprint.
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            // Below 2^127 an i128 holds every whole f64 exactly.
            Some(f) if f.fract() == 0.0 && f.abs() < 1.7e38 => write!(out, "{}", f as i128),
            _ => Ok(serde_json::to_writer(&mut *out, n)?),
        },
        scalar => Ok(serde_json::to_writer(&mut *out, scalar)?),
    }
}

/// SHA-256 (hex) of a request: the length-prefixed `parts` (method, path), then the
/// canonical body.
pub fn request_fingerprint(parts: &[&str], body: &Value) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    write_canonical(body, &mut hasher).expect("hashing cannot fail");
    hex(&hasher.finalize())
}

/// SHA-256 (hex) of the parts, each length-prefixed so that no two lists collide.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex(&hasher.finalize())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_are_integers() {
        let a: Value = serde_json::from_str(r#"{"n": 5.0, "m": [-0.0, 2.5, 1e3, 1e16]}"#).unwrap();
        assert_eq!(to_canonical_string(&a), r#"{"m":[0,2.5,1000,10000000000000000],"n":5}"#);
        let b: Value = serde_json::from_str(r#"{"n": 5, "m": [0, 2.5, 1000, 10000000000000000]}"#).unwrap();
        assert_eq!(to_canonical_string(&a), to_canonical_string(&b));
    }

    #[test]
    fn key_order_and_whitespace_do_not_matter() {
        let a: Value = serde_json::from_str(r#"{"b": [1, {"y": 2, "x": 1}], "a": "é"}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":"é","b":[1,{"x":1,"y":2}]}"#).unwrap();
        assert_eq!(to_canonical_string(&a), to_canonical_string(&b));
        assert_eq!(to_canonical_string(&a), r#"{"a":"é","b":[1,{"x":1,"y":2}]}"#);
    }

    #[test]
    fn request_fingerprints_ignore_formatting() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": [true, null]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":[true,null],"b":1}"#).unwrap();
        assert_eq!(request_fingerprint(&["PUT", "/x"], &a), request_fingerprint(&["PUT", "/x"], &b));
        assert_ne!(request_fingerprint(&["PUT", "/x"], &a), request_fingerprint(&["PUT", "/y"], &a));
    }

    #[test]
    fn fingerprints_are_length_prefixed() {
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]));
    }
}
