//! What the encoder benchmarks and the `embed` example share: loading the installed model.

use mingle_encoder::{installed_model_dir as model_dir, MiniLm};

/// The encoder mingle uses (the answer adapter applied).
pub fn load() -> MiniLm {
    MiniLm::load(&model_dir()).unwrap_or_else(|e| panic!("{e}"))
}

/// The published model alone, for baselines.
#[allow(dead_code)] // the throughput benchmark and the example use `load` only
pub fn load_base() -> MiniLm {
    MiniLm::load_base(&model_dir()).unwrap_or_else(|e| panic!("{e}"))
}
