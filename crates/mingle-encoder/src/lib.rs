//! mingle's sentence encoder: text in, a unit-length embedding out, fully offline.
//!
//! [`Encoder`] is what the rest of mingle uses; [`MiniLm`] implements it with
//! all-MiniLM-L6-v2 run in process: WordPiece tokens (`tokenizers`), the weights read by
//! candle, the 6-layer BERT forward pass packed for throughput (`bert`, `kernels`), mean
//! pooling over each text's tokens, L2 normalization.
//! Another model can be added behind the same trait.

mod bert;
mod kernels;
mod minilm;

pub use minilm::MiniLm;

use std::path::PathBuf;

/// `$XDG_CACHE_HOME/mingle/models/all-MiniLM-L6-v2`, else under `~/.cache`: always an
/// absolute per-user path, never relative to the working directory. Where
/// `scripts/fetch-model` installs the model.
pub fn default_model_dir() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| std::env::temp_dir().join("mingle-cache"));
    cache.join("mingle").join("models").join("all-MiniLM-L6-v2")
}

/// `$MINGLE_MODEL_DIR`, else [`default_model_dir`]: where the tests, benchmarks and
/// examples find the installed model (the binary reads the same variable through its
/// configuration).
pub fn installed_model_dir() -> PathBuf {
    std::env::var_os("MINGLE_MODEL_DIR").map(PathBuf::from).unwrap_or_else(default_model_dir)
}

/// Why an encoder is not available or failed.
#[derive(Debug, thiserror::Error)]
pub enum EncoderError {
    /// A model file is missing: the model was never installed (`scripts/fetch-model`).
    #[error("model file missing: {0} (install the model with scripts/fetch-model, or set MINGLE_MODEL_DIR)")]
    Missing(String),
    /// A model file is there but not the one expected (a partial download, a different
    /// model).
    #[error("model file corrupt: {0}")]
    Corrupt(String),
    /// The model failed while loading or encoding.
    #[error("encoder failure: {0}")]
    Failed(String),
}

/// A sentence encoder.
pub trait Encoder: Send + Sync {
    /// Names the model and its exact weights: embeddings cached under one ID are only
    /// ever reused by the same model.
    fn model_id(&self) -> &str;
    /// Length of each embedding.
    fn dimension(&self) -> usize;
    /// One L2-normalized embedding per text, in the order given.
    fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EncoderError>;
}

/// Cosine similarity of two unit vectors (their dot product).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    mingle_core::vector::dot(a, b)
}
