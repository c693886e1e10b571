//! The BERT forward pass of MiniLM, written for throughput on CPU.
//!
//! The texts of a batch are packed end to end, without padding: the dense layers (the
//! fused query/key/value projection, the attention output, the two feed-forward layers)
//! are then single large matrix products over every token of the batch, which is where a
//! CPU reaches its peak, and no work is spent on padding. Attention alone runs per text,
//! since a text only attends to itself. Matrix products use the `gemm` crate (the one
//! candle uses) on the calling thread; [`crate::MiniLm`] runs one batch per core.

use std::collections::HashMap;

use candle_core::Tensor;

use crate::kernels::{add_in_place, attention, gelu_in_place, layer_norm_rows};
use crate::EncoderError;

/// Shape of the model, read from its config.json.
#[derive(Clone, Copy, Debug, serde::Deserialize)]
pub(crate) struct Shape {
    pub hidden_size: usize,
    pub num_attention_heads: usize,
    pub num_hidden_layers: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
}

fn default_eps() -> f64 {
    1e-12
}

/// A dense layer `y = x·W + b`, its weight stored input-major (`[in][out]`) so that the
/// product reads both operands row by row.
struct Linear {
    weight: Vec<f32>,
    bias: Vec<f32>,
    inputs: usize,
    outputs: usize,
}

impl Linear {
    /// From PyTorch's layout: weight `[out][in]` (several stacked along `out` when fused).
    fn from_torch(parts: &[(Vec<f32>, Vec<f32>)], inputs: usize) -> Self {
        let outputs: usize = parts.iter().map(|(_, b)| b.len()).sum();
        let mut weight = vec![0.0; inputs * outputs];
        let mut bias = Vec::with_capacity(outputs);
        let mut col = 0;
        for (w, b) in parts {
            for o in 0..b.len() {
                for i in 0..inputs {
                    weight[i * outputs + col + o] = w[o * inputs + i];
                }
            }
            bias.extend_from_slice(b);
            col += b.len();
        }
        Self { weight, bias, inputs, outputs }
    }

    /// `y` (resized to `rows × outputs`) = `x` (`rows × inputs`) · W + b.
    fn forward(&self, x: &[f32], rows: usize, y: &mut Vec<f32>) {
        debug_assert_eq!(x.len(), rows * self.inputs);
        y.clear();
        for _ in 0..rows {
            y.extend_from_slice(&self.bias);
        }
        // SAFETY: the three buffers are distinct, sized rows×inputs, inputs×outputs and
        // rows×outputs, and the strides below describe exactly those row-major layouts.
        unsafe {
            gemm::gemm(
                rows,
                self.outputs,
                self.inputs,
                y.as_mut_ptr(),
                1,
                self.outputs as isize,
                true,
                x.as_ptr(),
                1,
                self.inputs as isize,
                self.weight.as_ptr(),
                1,
                self.outputs as isize,
                1.0f32,
                1.0f32,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    }
}

struct Norm {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

struct Layer {
    qkv: Linear,
    attention_out: Linear,
    attention_norm: Norm,
    intermediate: Linear,
    output: Linear,
    output_norm: Norm,
}

pub(crate) struct Bert {
    shape: Shape,
    word: Vec<f32>,
    position: Vec<f32>,
    token_type: Vec<f32>,
    embedding_norm: Norm,
    layers: Vec<Layer>,
}

/// Scratch buffers of one forward pass, reused across the batches of a thread.
#[derive(Default)]
pub(crate) struct Scratch {
    x: Vec<f32>,
    qkv: Vec<f32>,
    context: Vec<f32>,
    projected: Vec<f32>,
    wide: Vec<f32>,
    scores: Vec<f32>,
}

impl Bert {
    /// Builds the model from the tensors of model.safetensors (with or without the
    /// `bert.` prefix some exports carry).
    pub fn from_tensors(tensors: &HashMap<String, Tensor>, shape: Shape) -> Result<Self, EncoderError> {
        let prefix = if tensors.contains_key("embeddings.word_embeddings.weight") { "" } else { "bert." };
        let get = |name: &str| -> Result<Vec<f32>, EncoderError> {
            let t = tensors
                .get(&format!("{prefix}{name}"))
                .ok_or_else(|| EncoderError::Corrupt(format!("model.safetensors has no tensor {prefix}{name}")))?;
            t.to_dtype(candle_core::DType::F32)
                .and_then(|t| t.flatten_all())
                .and_then(|t| t.to_vec1::<f32>())
                .map_err(|e| EncoderError::Corrupt(format!("tensor {prefix}{name}: {e}")))
        };
        let h = shape.hidden_size;
        let linear = |names: &[&str], inputs: usize| -> Result<Linear, EncoderError> {
            let parts = names
                .iter()
                .map(|n| Ok((get(&format!("{n}.weight"))?, get(&format!("{n}.bias"))?)))
                .collect::<Result<Vec<_>, EncoderError>>()?;
            Ok(Linear::from_torch(&parts, inputs))
        };
        let norm = |name: &str| -> Result<Norm, EncoderError> {
            Ok(Norm { weight: get(&format!("{name}.weight"))?, bias: get(&format!("{name}.bias"))? })
        };
        let layers = (0..shape.num_hidden_layers)
            .map(|i| {
                let l = format!("encoder.layer.{i}");
                Ok(Layer {
                    qkv: linear(
                        &[
                            &format!("{l}.attention.self.query"),
                            &format!("{l}.attention.self.key"),
                            &format!("{l}.attention.self.value"),
                        ],
                        h,
                    )?,
                    attention_out: linear(&[&format!("{l}.attention.output.dense")], h)?,
                    attention_norm: norm(&format!("{l}.attention.output.LayerNorm"))?,
                    intermediate: linear(&[&format!("{l}.intermediate.dense")], h)?,
                    output: linear(&[&format!("{l}.output.dense")], shape.intermediate_size)?,
                    output_norm: norm(&format!("{l}.output.LayerNorm"))?,
                })
            })
            .collect::<Result<Vec<_>, EncoderError>>()?;
        let model = Self {
            shape,
            word: get("embeddings.word_embeddings.weight")?,
            position: get("embeddings.position_embeddings.weight")?,
            token_type: get("embeddings.token_type_embeddings.weight")?,
            embedding_norm: norm("embeddings.LayerNorm")?,
            layers,
        };
        if !model.word.len().is_multiple_of(h) || model.position.len() != shape.max_position_embeddings * h {
            return Err(EncoderError::Corrupt("embedding tables do not match config.json".into()));
        }
        Ok(model)
    }

    pub fn flops_per_token(&self) -> u64 {
        let l = &self.layers;
        let macs: usize = l
            .iter()
            .map(|l| {
                [&l.qkv, &l.attention_out, &l.intermediate, &l.output]
                    .iter()
                    .map(|d| d.inputs * d.outputs)
                    .sum::<usize>()
            })
            .sum();
        2 * macs as u64
    }

    /// One unit-length, mean-pooled embedding per text of `texts` (token IDs, each at
    /// most `max_position_embeddings` long).
    pub fn embed(&self, texts: &[&[u32]], s: &mut Scratch) -> Vec<Vec<f32>> {
        let h = self.shape.hidden_size;
        let eps = self.shape.layer_norm_eps as f32;
        let lens: Vec<usize> = texts.iter().map(|t| t.len()).collect();
        let rows: usize = lens.iter().sum();
        let vocabulary = self.word.len() / h;

        s.x.clear();
        for ids in texts {
            for (pos, &id) in ids.iter().enumerate() {
                let id = (id as usize).min(vocabulary - 1);
                let start = s.x.len();
                s.x.extend_from_slice(&self.word[id * h..(id + 1) * h]);
                add_in_place(&mut s.x[start..], &self.position[pos * h..(pos + 1) * h]);
                add_in_place(&mut s.x[start..], &self.token_type[..h]);
            }
        }
        layer_norm_rows(&mut s.x, h, &self.embedding_norm.weight, &self.embedding_norm.bias, eps);

        for layer in &self.layers {
            layer.qkv.forward(&s.x, rows, &mut s.qkv);
            s.context.resize(rows * h, 0.0);
            attention(&s.qkv, &mut s.context, &mut s.scores, &lens, h, self.shape.num_attention_heads);
            layer.attention_out.forward(&s.context, rows, &mut s.projected);
            add_in_place(&mut s.x, &s.projected);
            layer_norm_rows(&mut s.x, h, &layer.attention_norm.weight, &layer.attention_norm.bias, eps);

            layer.intermediate.forward(&s.x, rows, &mut s.wide);
            gelu_in_place(&mut s.wide);
            layer.output.forward(&s.wide, rows, &mut s.projected);
            add_in_place(&mut s.x, &s.projected);
            layer_norm_rows(&mut s.x, h, &layer.output_norm.weight, &layer.output_norm.bias, eps);
        }

        // Mean over each text's tokens, then L2 normalization.
        let mut out = Vec::with_capacity(texts.len());
        let mut row = 0;
        for ids in texts {
            let mut pooled = vec![0.0f32; h];
            for r in row..row + ids.len() {
                add_in_place(&mut pooled, &s.x[r * h..(r + 1) * h]);
            }
            row += ids.len();
            let norm = pooled.iter().map(|v| v * v).sum::<f32>().sqrt();
            // The count cancels in the normalization; only a zero vector needs care.
            let scale = if norm > 0.0 { 1.0 / norm } else { 0.0 };
            pooled.iter_mut().for_each(|v| *v *= scale);
            out.push(pooled);
        }
        out
    }
}
