//! The encoder a process uses, loaded once in the background at start-up (hashing and
//! mapping the weights takes a moment) and shared by readiness checks and runs.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use mingle_encoder::{Encoder, MiniLm};

/// Where the encoder is: still loading, ready, or unavailable (and why).
#[derive(Clone)]
pub enum EncoderState {
    Loading,
    Ready(Arc<dyn Encoder>),
    Unavailable(String),
}

/// A shared slot for the process's encoder.
#[derive(Clone)]
pub struct EncoderSlot {
    state: Arc<RwLock<EncoderState>>,
}

impl Default for EncoderSlot {
    fn default() -> Self {
        Self { state: Arc::new(RwLock::new(EncoderState::Loading)) }
    }
}

impl EncoderSlot {
    pub fn state(&self) -> EncoderState {
        self.state.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// `"ok"`, or why the encoder cannot be used (for `/readyz`).
    pub fn status(&self) -> String {
        match self.state() {
            EncoderState::Ready(_) => "ok".into(),
            EncoderState::Loading => "loading".into(),
            EncoderState::Unavailable(why) => why,
        }
    }

    /// Puts a loaded encoder in place (another model, or a wrapped one in tests).
    pub fn set_ready(&self, encoder: Arc<dyn Encoder>) {
        self.set(EncoderState::Ready(encoder));
    }

    fn set(&self, state: EncoderState) {
        *self.state.write().unwrap_or_else(|p| p.into_inner()) = state;
    }

    /// Loads all-MiniLM-L6-v2 from `dir` on a blocking thread; the slot says how it went.
    pub fn load_in_background(&self, dir: PathBuf) -> tokio::task::JoinHandle<()> {
        let slot = self.clone();
        tokio::task::spawn_blocking(move || match MiniLm::load(&dir) {
            Ok(model) => {
                tracing::info!(model = model.model_id(), dir = %dir.display(), "encoder ready");
                slot.set(EncoderState::Ready(Arc::new(model)));
            }
            Err(e) => {
                tracing::warn!(error = %e, "encoder unavailable: enrichment and match runs will fail");
                slot.set(EncoderState::Unavailable(e.to_string()));
            }
        })
    }
}
