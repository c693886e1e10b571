//! What the API accepts, in one place: every length bound and pattern the validators
//! enforce. The OpenAPI document publishes these same constants, and the tests below
//! hold each published pattern to the validator it describes, so the document and the
//! code cannot drift apart.

// Lengths count Unicode scalar values.
pub const EVENT_TITLE_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 4000;
pub const TIMEZONE_MAX: usize = 128;
pub const VISIBILITY_MAX: usize = 32;
pub const URL_SLUG_MAX: usize = 128;
pub const CONTEXT_FIELD_MAX: usize = 4000;
pub const SESSION_TITLE_MAX: usize = 200;
pub const TIMESTAMP_MAX: usize = 64;
pub const ATTENDEE_NAME_MAX: usize = 240;
pub const ATTENDEE_EMAIL_MAX: usize = 320;
pub const ATTENDEE_LINKEDIN_URL_MAX: usize = 2048;
pub const ATTENDEE_TITLE_MAX: usize = 512;
pub const ATTENDEE_COMPANY_MAX: usize = 512;
pub const WEBHOOK_URL_MAX: usize = 2048;
pub const REASON_MAX: usize = 2000;
/// The `goal` filter of an event's match list.
pub const GOAL_FILTER_MAX: usize = 200;
pub const IDEMPOTENCY_KEY_MAX: usize = 255;

/// `raw_data` texts with a meaning, and the longest each may be.
pub const RAW_GOAL_MAX: usize = 1000;
pub const RAW_BIO_MAX: usize = 4000;
pub const RAW_ROLE_MAX: usize = 200;
pub const RAW_VISIBILITY_MAX: usize = 32;

pub const PARTNER_ID_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$";
pub const PARTNER_KIND_PATTERN: &str = "^[A-Za-z][A-Za-z0-9_-]{0,63}$";
pub const IDEMPOTENCY_KEY_PATTERN: &str = "^[ -~]{1,255}$";
pub const DATE_PATTERN: &str = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$";

/// Control characters a text refuses (all but tab, line feed and carriage return), as
/// the inside of a regex character class.
const CONTROL: &str = r"\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F";
/// White space (Unicode `White_Space`) a text may hold, as a class body.
const SPACE: &str = r"\u0009\u000A\u000D\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";
/// Characters that show nothing besides white space: zero-width spaces and joiners, the
/// word joiner, the byte-order mark, the soft hyphen, the Mongolian vowel separator.
const INVISIBLE: &str = r"\u00AD\u180E\u200B-\u200D\u2060\uFEFF";

/// A text field: no control characters other than tab and line breaks.
pub fn text_pattern() -> String {
    format!("^[^{CONTROL}]*$")
}

/// A required text field: a text that shows at least one character.
pub fn required_text_pattern() -> String {
    format!("^[^{CONTROL}]*[^{CONTROL}{SPACE}{INVISIBLE}][^{CONTROL}]*$")
}

/// An attendee's email: `local@domain.tld`, one `@`, no white space inside, the
/// domain holding a dot and neither starting nor ending with one; surrounding white
/// space is allowed (and trimmed).
pub fn email_pattern() -> String {
    let part = format!("[^@{CONTROL}{SPACE}]");
    let edge = format!("[^@.{CONTROL}{SPACE}]");
    format!("^[{SPACE}]*{part}+@{edge}{part}*\\.{part}*{edge}[{SPACE}]*$")
}

/// A webhook URL as the API accepts it outside insecure mode: `https://`, a DNS host
/// name whose last label begins with a letter (an IP literal is refused: webhooks go to
/// named public hosts), an optional port, then any printable ASCII path, query and
/// fragment.
pub const WEBHOOK_URL_PATTERN: &str = "^https://([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)*\
    [A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\
    (:([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?\
    ([/?#][!-~]*)?$";

/// Every IANA time zone name `timezone` accepts.
pub fn timezone_names() -> Vec<&'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect()
}

/// Whether `url` has the shape `WEBHOOK_URL_PATTERN` describes.
pub fn is_webhook_url_shape(url: &str) -> bool {
    static SHAPE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    SHAPE.get_or_init(|| regex::Regex::new(WEBHOOK_URL_PATTERN).expect("a valid pattern")).is_match(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{IdempotencyKey, PartnerId, PartnerKind};
    use crate::validate::{has_control_characters, is_blank};
    use regex::Regex;

    fn re(p: &str) -> Regex {
        Regex::new(p).unwrap()
    }

    /// Every character up to U+3100, and the special ones beyond.
    fn chars() -> impl Iterator<Item = char> {
        (0u32..0x3100).chain([0xFEFF, 0xFFFD, 0x1F600]).filter_map(char::from_u32)
    }

    #[test]
    fn the_text_patterns_are_the_validators() {
        let (text, required) = (re(&text_pattern()), re(&required_text_pattern()));
        for c in chars() {
            for s in [c.to_string(), format!("a{c}"), format!("{c} {c}")] {
                assert_eq!(text.is_match(&s), !has_control_characters(&s), "{s:?}");
                let ok = !has_control_characters(&s) && !is_blank(&s);
                assert_eq!(required.is_match(&s), ok, "{s:?}");
            }
        }
        assert!(!required.is_match(""));
    }

    #[test]
    fn the_email_pattern_is_the_validator() {
        let email = re(&email_pattern());
        let mut samples: Vec<String> = [
            "a@b.c",
            " a@b.c\t",
            "a@b..c",
            "a@.b",
            "a@b.",
            "a@b",
            "@b.c",
            "a@@b.c",
            "a b@c.d",
            "a@b.c@d.e",
            "\u{3000}x@y.z",
            "x@y.z\u{00A0}",
            "é@ü.ß",
            "a@b.c d",
            "\u{200B}@b.c",
            "a@b\u{2028}.c",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for c in chars().filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r')) {
            samples.extend([format!("a{c}@b.c"), format!("a@b{c}.c"), format!("{c}a@b.c"), format!("a@b.c{c}")]);
        }
        for s in samples {
            assert_eq!(email.is_match(&s), crate::import::looks_like_email(&s), "{s:?}");
        }
    }

    #[test]
    fn the_id_patterns_are_the_parsers() {
        let (id, kind, key) = (re(PARTNER_ID_PATTERN), re(PARTNER_KIND_PATTERN), re(IDEMPOTENCY_KEY_PATTERN));
        let long = "a".repeat(128);
        let longer = "a".repeat(256);
        let mut samples = vec![String::new(), long.clone(), format!("{long}a"), longer.clone(), "a\n".into()];
        for c in chars() {
            samples.extend([c.to_string(), format!("a{c}"), format!("{c}a")]);
        }
        for s in samples {
            assert_eq!(id.is_match(&s), PartnerId::parse(&s).is_some(), "{s:?}");
            assert_eq!(kind.is_match(&s), PartnerKind::parse(&s).is_some(), "{s:?}");
            assert_eq!(key.is_match(&s), IdempotencyKey::parse(&s).is_some(), "{s:?}");
        }
    }

    #[test]
    fn webhook_urls_of_the_published_shape_parse() {
        for ok in [
            "https://example.com",
            "https://hooks.example.com:8443/in?x=1#f",
            "https://a-b.c0.example/p/%zz/[x]",
            "https://x",
            "https://e.xample:65535/",
        ] {
            assert!(is_webhook_url_shape(ok), "{ok}");
            assert!(url::Url::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.com",
            "HTTPS://example.com",
            "https://127.0.0.1/h",
            "https://[::1]/h",
            "https://999999999999",
            "https://example.com:65536",
            "https://-a.com",
            "https://a.com/ x",
            "https://user@a.com",
            "https://a.com\n",
        ] {
            assert!(!is_webhook_url_shape(bad), "{bad}");
        }
    }
}
