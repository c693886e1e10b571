//! Dense f32 vectors: the dot product every layer shares (the encoder's attention, the
//! goal head, matching), normalization, and row-major matrices with the blocked product
//! that candidate search runs on.
//!
//! Kernels are written over plain slices with eight-lane accumulators so the compiler
//! vectorizes them, and compiled twice: for baseline x86-64 and for AVX2 with FMA,
//! picked at run time ([`multiversion!`]).

/// Defines `pub fn $name(args)` that runs the body compiled for AVX2+FMA when the CPU
/// has them, and the baseline build otherwise.
#[macro_export]
macro_rules! multiversion {
    ($(#[$meta:meta])* pub fn $name:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        pub fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn generic($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) $(-> $ret)? {
                    generic($($arg),*)
                }
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    // SAFETY: the features it was compiled for were just detected.
                    return unsafe { avx2($($arg),*) };
                }
            }
            generic($($arg),*)
        }
    };
}

/// Accumulator lanes: eight f32s, one AVX register.
pub const LANES: usize = 8;

/// Sum of a slice, in eight lanes (inlined into the caller's kernel).
#[inline(always)]
pub fn sum_lanes(xs: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let chunks = xs.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            acc[l] += c[l];
        }
    }
    acc.iter().sum::<f32>() + rest.iter().sum::<f32>()
}

/// Dot product of two equally long slices, in eight lanes (inlined into the caller's
/// kernel, so it takes the caller's instruction set).
#[inline(always)]
pub fn dot_lanes(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let rest: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f32>() + rest
}

multiversion! {
    /// Dot product of two equally long slices (the cosine of two unit vectors).
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        dot_lanes(a, b)
    }
}

multiversion! {
    /// `Σ aᵢ bᵢ wᵢ` over three equally long slices. (A kernel that also summed `a·b` in
    /// the same pass measured 2.5 times slower than this and `dot` one after the other.)
    pub fn weighted_dot(a: &[f32], b: &[f32], w: &[f32]) -> f32 {
        let mut acc = [0.0f32; LANES];
        let (ca, cb, cw) = (a.chunks_exact(LANES), b.chunks_exact(LANES), w.chunks_exact(LANES));
        let rest: f32 =
            ca.remainder().iter().zip(cb.remainder()).zip(cw.remainder()).map(|((x, y), u)| x * y * u).sum();
        for ((x, y), u) in ca.zip(cb).zip(cw) {
            for l in 0..LANES {
                acc[l] += x[l] * y[l] * u[l];
            }
        }
        acc.iter().sum::<f32>() + rest
    }
}

/// Scales `v` to unit length; a zero vector stays zero.
pub fn normalize(v: &mut [f32]) {
    let norm = dot(v, v).sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// A row-major matrix of f32.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f32>,
}

impl Matrix {
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Self { rows, cols, data: vec![0.0; rows * cols] }
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    pub fn row_mut(&mut self, i: usize) -> &mut [f32] {
        &mut self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Fills every row with `f(row index, row)`, the rows split into contiguous runs
    /// over `threads` threads.
    pub fn fill_rows(&mut self, threads: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
        if self.rows == 0 || self.cols == 0 {
            return;
        }
        let per = self.rows.div_ceil(threads.max(1));
        let cols = self.cols;
        std::thread::scope(|scope| {
            for (t, run) in self.data.chunks_mut(per * cols).enumerate() {
                let f = &f;
                scope.spawn(move || {
                    for (k, row) in run.chunks_mut(cols).enumerate() {
                        f(t * per + k, row);
                    }
                });
            }
        });
    }

    /// `out = self[rows] · other[cols]ᵀ` for a block of rows of each: `out` is
    /// `a_rows.len() × b_rows.len()`, row-major. One thread; callers split blocks
    /// across threads.
    pub fn product_block(
        &self,
        a_rows: std::ops::Range<usize>,
        other: &Matrix,
        b_rows: std::ops::Range<usize>,
        out: &mut [f32],
    ) {
        assert_eq!(self.cols, other.cols, "inner dimensions differ");
        let (m, n, k) = (a_rows.len(), b_rows.len(), self.cols);
        assert_eq!(out.len(), m * n);
        if m == 0 || n == 0 {
            return;
        }
        let a = &self.data[a_rows.start * k..a_rows.end * k];
        let b = &other.data[b_rows.start * k..b_rows.end * k];
        // SAFETY: the strides describe the slices above exactly: `a` is m×k row-major
        // (row stride k, column stride 1), `b` is n×k row-major read as its transpose
        // k×n (row stride 1, column stride k), `out` is m×n row-major. gemm reads a
        // and b and writes dst within those bounds only.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                out.as_mut_ptr(),
                1,
                n as isize,
                false,
                a.as_ptr(),
                1,
                k as isize,
                b.as_ptr(),
                k as isize,
                1,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_the_definition_at_every_length() {
        for n in [0, 1, 7, 8, 9, 384, 385] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let expected: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
            assert!((dot(&a, &b) as f64 - expected).abs() < 1e-4, "n = {n}");
        }
    }

    #[test]
    fn weighted_dot_matches_its_definition() {
        for n in [0, 7, 8, 9, 384, 385] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let w: Vec<f32> = (0..n).map(|i| 1.0 + (i as f32 * 0.5).sin()).collect();
            let expected: f64 = (0..n).map(|i| a[i] as f64 * b[i] as f64 * w[i] as f64).sum();
            assert!((weighted_dot(&a, &b, &w) as f64 - expected).abs() < 1e-4, "n = {n}");
        }
    }

    #[test]
    fn fill_rows_hands_every_row_its_own_index_whatever_the_threads() {
        for (rows, threads) in [(7, 3), (7, 1), (2, 4), (0, 2), (64, 2)] {
            let mut m = Matrix::zeros(rows, 3);
            m.fill_rows(threads, |i, row| row.iter_mut().enumerate().for_each(|(c, v)| *v = (i * 10 + c) as f32));
            let expected: Vec<f32> = (0..rows).flat_map(|i| (0..3).map(move |c| (i * 10 + c) as f32)).collect();
            assert_eq!(m.data, expected, "{rows} rows on {threads} threads");
        }
    }

    #[test]
    fn normalize_gives_unit_length_and_leaves_zero_alone() {
        let mut v = vec![3.0, 4.0];
        normalize(&mut v);
        assert_eq!(v, vec![0.6, 0.8]);
        let mut z = vec![0.0; 3];
        normalize(&mut z);
        assert_eq!(z, vec![0.0; 3]);
    }

    #[test]
    fn the_block_product_equals_row_dots() {
        let a = Matrix { rows: 5, cols: 19, data: (0..95).map(|i| (i as f32 * 0.3).sin()).collect() };
        let b = Matrix { rows: 7, cols: 19, data: (0..133).map(|i| (i as f32 * 0.7).cos()).collect() };
        let mut out = vec![0.0; 3 * 4];
        a.product_block(1..4, &b, 2..6, &mut out);
        for i in 0..3 {
            for j in 0..4 {
                let expected = dot(a.row(1 + i), b.row(2 + j));
                assert!((out[i * 4 + j] - expected).abs() < 1e-4);
            }
        }
    }
}
