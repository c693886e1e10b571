//! Service-account scopes. `partner:write` includes `partner:read`.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    Read,
    Write,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "partner:read",
            Scope::Write => "partner:write",
        }
    }

    /// Whether holding `self` grants `needed`.
    pub fn grants(self, needed: Scope) -> bool {
        self == needed || (self == Scope::Write && needed == Scope::Read)
    }

    /// Parses a comma-separated list (`partner:read,partner:write`), deduplicated and
    /// sorted; an unknown or empty list is an error naming the culprit.
    pub fn parse_list(list: &str) -> Result<Vec<Scope>, String> {
        let mut scopes = Vec::new();
        for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let scope = part
                .parse::<Scope>()
                .map_err(|_| format!("unknown scope '{part}' (expected partner:read or partner:write)"))?;
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        if scopes.is_empty() {
            return Err("at least one scope is required".into());
        }
        scopes.sort();
        Ok(scopes)
    }

    pub fn join(scopes: &[Scope]) -> String {
        scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
    }
}

impl FromStr for Scope {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "partner:read" => Ok(Scope::Read),
            "partner:write" => Ok(Scope::Write),
            _ => Err(()),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_includes_read() {
        assert!(Scope::Write.grants(Scope::Read));
        assert!(!Scope::Read.grants(Scope::Write));
    }

    #[test]
    fn lists() {
        assert_eq!(
            Scope::parse_list("partner:write, partner:read,partner:write").unwrap(),
            vec![Scope::Read, Scope::Write]
        );
        assert!(Scope::parse_list("").is_err());
        assert!(Scope::parse_list("admin").is_err());
    }
}
