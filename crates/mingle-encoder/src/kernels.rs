//! The parts of the forward pass around the matrix products: layer normalization, GELU,
//! attention within each text.
//!
//! Each is written branch-free over plain slices so the compiler vectorizes it, and is
//! compiled twice: for the baseline x86-64 and for AVX2 with FMA, picked at run time (the
//! release binary must run on any x86-64, yet the machines mingle targets have AVX2).
//! Sums are kept in eight lanes so that they vectorize too (a single running sum would
//! force the additions into order).

use mingle_core::multiversion;
use mingle_core::vector::{dot_lanes as dot, sum_lanes as sum, LANES};

#[inline(always)]
fn sum_sq_dev(xs: &[f32], mean: f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let chunks = xs.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            let d = c[l] - mean;
            acc[l] += d * d;
        }
    }
    acc.iter().sum::<f32>() + rest.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>()
}

/// `e^x` for the range the model produces, to about 2e-7 relative: 2^n by the exponent
/// bits times a degree-6 polynomial on the remainder. Branch-free, so it vectorizes
/// (the C library's `expf` does not).
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // Adding and subtracting 1.5·2^23 rounds to the nearest integer without a call.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2_E + ROUND) - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    f32::from_bits(((n as i32 + 127) << 23) as u32) * p
}

multiversion! {
    /// `a += b`, element-wise.
    pub fn add_in_place(a: &mut [f32], b: &[f32]) {
        a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
    }
}

multiversion! {
    /// GELU with the exact error function, as BERT uses (not the tanh approximation):
    /// erf by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7).
    pub fn gelu_in_place(xs: &mut [f32]) {
        const P: f32 = 0.327_591_1;
        const A: [f32; 5] = [0.254_829_6, -0.284_496_74, 1.421_413_8, -1.453_152_1, 1.061_405_4];
        for v in xs.iter_mut() {
            let x = *v;
            let z = x.abs() * std::f32::consts::FRAC_1_SQRT_2;
            let t = 1.0 / (1.0 + P * z);
            let poly = t * (A[0] + t * (A[1] + t * (A[2] + t * (A[3] + t * A[4]))));
            let erf = (1.0 - poly * exp(-z * z)).copysign(x);
            *v = 0.5 * x * (1.0 + erf);
        }
    }
}

multiversion! {
    /// Layer normalization of each `width`-long row of `x`, in place.
    pub fn layer_norm_rows(x: &mut [f32], width: usize, weight: &[f32], bias: &[f32], eps: f32) {
        for row in x.chunks_exact_mut(width) {
            let mean = sum(row) / width as f32;
            let var = sum_sq_dev(row, mean) / width as f32;
            let inv = 1.0 / (var + eps).sqrt();
            for ((v, w), b) in row.iter_mut().zip(weight).zip(bias) {
                *v = (*v - mean) * inv * w + b;
            }
        }
    }
}

multiversion! {
    /// Self-attention of each text over its own tokens. `qkv` holds, per token, the
    /// query, key and value side by side (`3 × hidden` wide); texts are packed one after
    /// another, `lens` long. Writes `context` (`tokens × hidden`).
    pub fn attention(qkv: &[f32], context: &mut [f32], scores: &mut Vec<f32>, lens: &[usize], hidden: usize, heads: usize) {
        let d = hidden / heads;
        let scale = 1.0 / (d as f32).sqrt();
        let stride = 3 * hidden;
        context.fill(0.0);
        let mut start = 0;
        for &n in lens {
            scores.resize(n, 0.0);
            for head in 0..heads {
                let (q_off, k_off, v_off) = (head * d, hidden + head * d, 2 * hidden + head * d);
                for i in 0..n {
                    let q = &qkv[(start + i) * stride + q_off..][..d];
                    for (j, score) in scores.iter_mut().enumerate() {
                        *score = dot(q, &qkv[(start + j) * stride + k_off..][..d]) * scale;
                    }
                    let max = scores.iter().copied().fold(f32::MIN, f32::max);
                    scores.iter_mut().for_each(|v| *v = exp(*v - max));
                    let inv = 1.0 / sum(scores);
                    let out = &mut context[(start + i) * hidden + head * d..][..d];
                    for (j, p) in scores.iter().enumerate() {
                        let v = &qkv[(start + j) * stride + v_off..][..d];
                        let p = p * inv;
                        out.iter_mut().zip(v).for_each(|(o, v)| *o += p * v);
                    }
                }
            }
            start += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_the_library_across_the_range() {
        for i in -8700..=8800 {
            let x = i as f32 / 100.0;
            let (fast, exact) = (exp(x), x.exp());
            assert!(((fast - exact) / exact).abs() < 1e-6, "exp({x}) = {fast}, expected {exact}");
        }
    }

    #[test]
    fn gelu_matches_the_erf_definition() {
        let xs: Vec<f32> = (-600..=600).map(|i| i as f32 / 100.0).collect();
        let mut fast = xs.clone();
        gelu_in_place(&mut fast);
        for (x, g) in xs.iter().zip(fast) {
            let exact = 0.5 * (*x as f64) * (1.0 + erf(*x as f64 / std::f64::consts::SQRT_2));
            assert!((g as f64 - exact).abs() < 2e-6, "gelu({x}) = {g}, expected {exact}");
        }
    }

    #[test]
    fn attention_weights_values_by_softmax_of_scaled_scores() {
        // One head of width 1, one text of two tokens: q = (1, 2), k = (3, 4), v = (5, 7).
        let qkv = [1.0, 3.0, 5.0, 2.0, 4.0, 7.0];
        let mut context = [9.0; 2];
        attention(&qkv, &mut context, &mut Vec::new(), &[2], 1, 1);
        for (i, q) in [1.0f32, 2.0].iter().enumerate() {
            let (a, b) = ((q * 3.0).exp(), (q * 4.0).exp());
            let expected = (a * 5.0 + b * 7.0) / (a + b);
            assert!((context[i] - expected).abs() < 1e-5, "{} vs {expected}", context[i]);
        }
    }

    #[test]
    fn layer_norm_gives_its_definition() {
        let mut x = vec![1.0, 2.0, 3.0, 4.0, 10.0, 10.0, 10.0, 10.0];
        layer_norm_rows(&mut x, 4, &[1.0; 4], &[0.5; 4], 1e-12);
        let sd = 1.25f32.sqrt();
        assert!((x[0] - (-1.5 / sd + 0.5)).abs() < 1e-6 && (x[3] - (1.5 / sd + 0.5)).abs() < 1e-6);
        assert_eq!(&x[4..], &[0.5; 4], "a constant row normalizes to the bias");
    }

    /// erf to double precision (Numerical Recipes' erfc, Chebyshev fit), for the test.
    fn erf(x: f64) -> f64 {
        let z = x.abs();
        let t = 1.0 / (1.0 + 0.5 * z);
        let r = t
            * (-z * z - 1.26551223
                + t * (1.00002368
                    + t * (0.37409196
                        + t * (0.09678418
                            + t * (-0.18628806
                                + t * (0.27886807
                                    + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
                .exp();
        if x >= 0.0 {
            1.0 - r
        } else {
            r - 1.0
        }
    }
}
