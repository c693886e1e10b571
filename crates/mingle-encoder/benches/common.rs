//! What both encoder benchmarks share: loading the installed model.

use std::path::PathBuf;

use mingle_encoder::MiniLm;

pub fn load() -> MiniLm {
    let dir = std::env::var_os("MINGLE_MODEL_DIR").map(PathBuf::from).unwrap_or_else(|| {
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache"));
        cache.join("mingle/models/all-MiniLM-L6-v2")
    });
    MiniLm::load(&dir).unwrap_or_else(|e| panic!("{e}"))
}
