use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    /// A row with the same unique key exists already.
    #[error("a row with the same key exists")]
    Conflict,
    /// The database URL names a backend this build does not support.
    #[error("unsupported database URL '{0}' (expected sqlite://PATH or postgres://…)")]
    UnsupportedUrl(String),
    /// The backend does not do this; the message says what to use instead.
    #[error("{0}")]
    Unsupported(String),
    /// The database failed or could not be reached; the message is for logs only.
    #[error("database error: {0}")]
    Backend(String),
}

impl StoreError {
    pub(crate) fn backend(e: impl std::fmt::Display) -> Self {
        StoreError::Backend(e.to_string())
    }
}
