//! A secret from the settings (a PIN, a password): never printed by `Debug`. A leaf, so that
//! every feature's settings can hold one without importing the configuration.

use serde::{Deserialize, Serialize};

/// A secret from the configuration: never printed by `Debug`. (`Serialize` serves only the
/// merge of the file with the flags, in memory.)
#[derive(Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self(s)
    }
}
