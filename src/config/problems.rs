//! What can be wrong with a configuration, and how the one conversion pass
//! collects every problem instead of stopping at the first.

use std::fmt;
use std::path::PathBuf;

use super::ENV_CONFIG;

/// One problem with the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
    #[error("no config file given: pass --config PATH or set {ENV_CONFIG}")]
    Missing,
}

pub(super) fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key: key.to_owned(), message: message.into() }
}

/// Every problem found in one configuration, in file order; `Display` puts
/// one per line.
#[derive(Debug)]
pub struct ConfigErrors(pub(super) Vec<ConfigError>);

impl ConfigErrors {
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The keys named, in order (`Invalid` problems only).
    pub fn keys(&self) -> Vec<&str> {
        keys_of(&self.0)
    }
}

pub(super) fn keys_of(errors: &[ConfigError]) -> Vec<&str> {
    errors
        .iter()
        .filter_map(|e| match e {
            ConfigError::Invalid { key, .. } => Some(key.as_str()),
            _ => None,
        })
        .collect()
}

/// Whether `key` is one of `refused` or inside one (`a.b` is inside `a`).
pub(super) fn is_under(key: &str, refused: &[String]) -> bool {
    refused
        .iter()
        .any(|r| key.strip_prefix(r.as_str()).is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '['])))
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(error: ConfigError) -> Self {
        ConfigErrors(vec![error])
    }
}

impl IntoIterator for ConfigErrors {
    type Item = ConfigError;
    type IntoIter = std::vec::IntoIter<ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// Collects problems during the one conversion pass; a section converts to
/// its typed form only if it added none.
#[derive(Default)]
pub(super) struct Problems(pub(super) Vec<ConfigError>);

impl Problems {
    pub(super) fn add(&mut self, key: &str, message: impl Into<String>) {
        self.0.push(invalid(key, message));
    }

    /// `Some(value)`, or `None` with the error recorded.
    pub(super) fn take<T>(&mut self, result: Result<T, ConfigError>) -> Option<T> {
        result.map_err(|e| self.0.push(e)).ok()
    }

    pub(super) fn mark(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing was added since `mark`.
    pub(super) fn clean_since(&self, mark: usize) -> bool {
        self.0.len() == mark
    }
}
