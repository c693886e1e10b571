//! Opaque, tamper-evident pagination cursors.
//!
//! A cursor carries a keyset position (the sort key and tie-break ID of the last row
//! served) and a truncated HMAC-SHA256 over that position and the list's *binding*: the
//! list name, its path IDs and its filters. The key is the org's own cursor key, so a
//! cursor is bound to its org as well; used on another list, with other filters, in
//! another org, or altered in any byte, it fails to verify.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// A keyset position: `key` is the sort value (a timestamp in ms, or 0 for lists
/// sorted by ID alone), `id` the tie-break.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    #[serde(rename = "k")]
    pub key: i64,
    #[serde(rename = "i")]
    pub id: String,
}

const TAG_LEN: usize = 16;

fn tag(key: &[u8], binding: &str, payload: &[u8]) -> [u8; TAG_LEN] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(binding.as_bytes());
    mac.update(b"\n");
    mac.update(payload);
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(&full[..TAG_LEN]);
    out
}

pub fn encode(key: &[u8], binding: &str, position: &Position) -> String {
    let payload = serde_json::to_vec(position).expect("a position serializes");
    let t = tag(key, binding, &payload);
    format!("{}.{}", URL_SAFE_NO_PAD.encode(&payload), URL_SAFE_NO_PAD.encode(t))
}

/// The position in `cursor`, or `None` when it is malformed or was not issued for
/// this binding under this key.
pub fn decode(key: &[u8], binding: &str, cursor: &str) -> Option<Position> {
    use subtle::ConstantTimeEq;
    let (payload_b64, tag_b64) = cursor.split_once('.')?;
    let payload = URL_SAFE_NO_PAD.decode(payload_b64).ok()?;
    let presented = URL_SAFE_NO_PAD.decode(tag_b64).ok()?;
    let expected = tag(key, binding, &payload);
    if presented.len() != TAG_LEN || !bool::from(expected.ct_eq(&presented)) {
        return None;
    }
    serde_json::from_slice(&payload).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip_and_binding() {
        let p = Position { key: 1_700_000_000_000, id: "summit-2026".into() };
        let c = encode(b"k1", "events", &p);
        assert_eq!(decode(b"k1", "events", &c), Some(p));
        assert_eq!(decode(b"k2", "events", &c), None, "another org's key");
        assert_eq!(decode(b"k1", "runs", &c), None, "another list");
    }

    proptest! {
        #[test]
        fn any_altered_character_is_rejected(idx in 0usize..64, replacement in "[A-Za-z0-9_.-]") {
            let p = Position { key: 42, id: "abc".into() };
            let c = encode(b"key", "sessions:ev", &p);
            let idx = idx % c.len();
            let mut altered: Vec<char> = c.chars().collect();
            let r = replacement.chars().next().unwrap();
            prop_assume!(altered[idx] != r);
            altered[idx] = r;
            let altered: String = altered.into_iter().collect();
            prop_assert_eq!(decode(b"key", "sessions:ev", &altered), None);
        }
    }
}
