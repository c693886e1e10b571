//! What the encoder benchmarks and the `embed` example share: loading the installed model.

use std::path::PathBuf;

use mingle_encoder::MiniLm;

fn model_dir() -> PathBuf {
    std::env::var_os("MINGLE_MODEL_DIR").map(PathBuf::from).unwrap_or_else(|| {
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache"));
        cache.join("mingle/models/all-MiniLM-L6-v2")
    })
}

/// The encoder mingle uses (the answer adapter applied).
pub fn load() -> MiniLm {
    MiniLm::load(&model_dir()).unwrap_or_else(|e| panic!("{e}"))
}

/// The published model alone, for baselines.
#[allow(dead_code)] // the throughput benchmark and the example use `load` only
pub fn load_base() -> MiniLm {
    MiniLm::load_base(&model_dir()).unwrap_or_else(|e| panic!("{e}"))
}
