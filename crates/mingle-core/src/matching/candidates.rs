//! Candidate search: for every row `i`, the `k` rows `j ≠ i` with the highest
//! `x_i · y_j`, where the score matrix is symmetric (`x_i · y_j = x_j · y_i`, as the
//! matching's approximate score is built to be).
//!
//! Exact and brute force, by blocked matrix products: the rows are cut into blocks of
//! [`BLOCK`]; each pair of blocks `(I, J)` with `I ≤ J` is one product (`gemm`) whose
//! entries update the running top-k of the rows of `I` and of `J` — symmetry halves the
//! work. Threads take block pairs in turn, each keeping its own top-k of every row, and
//! the per-thread lists are merged at the end. Chosen over an approximate index
//! (HNSW and the like) because the score is not a metric over one vector per attendee
//! (it pairs A's needs with B's offers and B's needs with A's offers), because it is
//! deterministic, and because at 50,000 attendees the whole product takes seconds
//! (docs/benchmarks.md).

use std::cmp::Ordering;

use crate::vector::Matrix;

/// Rows per block: a 256 × 256 block of scores (256 KiB) stays in the core's cache.
pub const BLOCK: usize = 256;

/// Scores tested against a floor together before any is pushed.
const LANES: usize = 16;

/// `(score, index)` ordered best first: higher score, then lower index.
fn better(a: (f32, u32), b: (f32, u32)) -> bool {
    a.0 > b.0 || (a.0 == b.0 && a.1 < b.1)
}

fn order(a: &(f32, u32), b: &(f32, u32)) -> Ordering {
    b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))
}

/// The best `k` of the items pushed: keeps up to `2k`, then cuts back to `k` and
/// remembers the worst kept, which later pushes must beat. The result is the same
/// whatever the order of pushes.
#[derive(Debug, Clone)]
pub struct TopK {
    k: usize,
    items: Vec<(f32, u32)>,
    worst: Option<(f32, u32)>,
}

impl TopK {
    pub fn new(k: usize) -> Self {
        Self { k, items: Vec::new(), worst: None }
    }

    #[inline]
    pub fn push(&mut self, score: f32, index: u32) {
        if let Some(w) = self.worst {
            if !better((score, index), w) {
                return;
            }
        }
        self.items.push((score, index));
        if self.items.len() >= 2 * self.k.max(1) {
            self.cut();
        }
    }

    /// The lowest score a push must exceed to be kept (`-∞` before the first cut).
    #[inline]
    pub fn floor(&self) -> f32 {
        self.worst.map_or(f32::NEG_INFINITY, |w| w.0)
    }

    fn cut(&mut self) {
        if self.items.len() > self.k {
            self.items.select_nth_unstable_by(self.k, order);
            self.items.truncate(self.k);
        }
        if self.items.len() == self.k && self.k > 0 {
            self.worst = self.items.iter().copied().reduce(|w, x| if better(w, x) { x } else { w });
        }
    }

    pub fn merge(&mut self, other: TopK) {
        for (s, i) in other.items {
            self.push(s, i);
        }
    }

    /// The kept indices, best first.
    pub fn into_sorted(mut self) -> Vec<u32> {
        self.cut();
        self.items.sort_by(order);
        self.items.into_iter().map(|(_, i)| i).collect()
    }
}

/// For each row of `x`, the indices of the `k` best rows of `y` by `x_i · y_j`
/// (`j ≠ i`), best first. Assumes the score matrix is symmetric.
pub fn top_k_symmetric(x: &Matrix, y: &Matrix, k: usize, threads: usize) -> Vec<Vec<u32>> {
    assert_eq!(x.rows, y.rows);
    let n = x.rows;
    let blocks = n.div_ceil(BLOCK);
    let block_pairs: Vec<(usize, usize)> = (0..blocks).flat_map(|i| (i..blocks).map(move |j| (i, j))).collect();
    let threads = threads.clamp(1, block_pairs.len().max(1));
    let per_thread: Vec<Vec<TopK>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let block_pairs = &block_pairs;
                scope.spawn(move || {
                    let mut tops = vec![TopK::new(k); n];
                    let mut out = vec![0.0f32; BLOCK * BLOCK];
                    let mut floors = vec![0.0f32; BLOCK];
                    for &(bi, bj) in block_pairs.iter().skip(t).step_by(threads) {
                        let (ri, rj) = (bi * BLOCK..((bi + 1) * BLOCK).min(n), bj * BLOCK..((bj + 1) * BLOCK).min(n));
                        let (m, w) = (ri.len(), rj.len());
                        let out = &mut out[..m * w];
                        x.product_block(ri.clone(), y, rj.clone(), out);
                        // Most scores cannot enter a top-k once it has filled: each run of
                        // LANES scores is tested against the floor in one branch-free pass
                        // (which the compiler vectorizes) before any is pushed.
                        for (r, i) in ri.clone().enumerate() {
                            let row = &out[r * w..(r + 1) * w];
                            let top = &mut tops[i];
                            let mut floor = top.floor();
                            for (run, scores) in row.chunks(LANES).enumerate() {
                                if !scores.iter().fold(false, |any, &s| any | (s >= floor)) {
                                    continue;
                                }
                                for (c, &s) in scores.iter().enumerate() {
                                    let j = rj.start + run * LANES + c;
                                    if s >= floor && j != i {
                                        top.push(s, j as u32);
                                        floor = top.floor();
                                    }
                                }
                            }
                        }
                        if bi != bj {
                            // The same scores seen from the other block's rows, read row by
                            // row against each column's floor.
                            let floors = &mut floors[..w];
                            for (f, j) in floors.iter_mut().zip(rj.clone()) {
                                *f = tops[j].floor();
                            }
                            for r in 0..m {
                                let row = &out[r * w..(r + 1) * w];
                                for (run, (scores, fl)) in row.chunks(LANES).zip(floors.chunks_mut(LANES)).enumerate() {
                                    if !scores.iter().zip(fl.iter()).fold(false, |any, (&s, &f)| any | (s >= f)) {
                                        continue;
                                    }
                                    for (c, (&s, f)) in scores.iter().zip(fl.iter_mut()).enumerate() {
                                        if s >= *f {
                                            let j = rj.start + run * LANES + c;
                                            tops[j].push(s, (ri.start + r) as u32);
                                            *f = tops[j].floor();
                                        }
                                    }
                                }
                            }
                        }
                    }
                    tops
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a candidate search thread panicked")).collect()
    });
    let mut merged: Option<Vec<TopK>> = None;
    for tops in per_thread {
        merged = Some(match merged {
            None => tops,
            Some(mut m) => {
                for (a, b) in m.iter_mut().zip(tops) {
                    a.merge(b);
                }
                m
            }
        });
    }
    merged.unwrap_or_default().into_iter().map(TopK::into_sorted).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector::dot;
    use proptest::prelude::*;

    fn brute(x: &Matrix, y: &Matrix, k: usize) -> Vec<Vec<u32>> {
        (0..x.rows)
            .map(|i| {
                let mut all: Vec<(f32, u32)> =
                    (0..y.rows).filter(|j| *j != i).map(|j| (dot(x.row(i), y.row(j)), j as u32)).collect();
                all.sort_by(order);
                all.into_iter().take(k).map(|(_, j)| j).collect()
            })
            .collect()
    }

    /// `x_i = [u_i ; v_i]`, `y_j = [v_j ; u_j]`: `x_i·y_j = u_i·v_j + v_i·u_j`, symmetric.
    fn symmetric(n: usize, d: usize, seed: u64) -> (Matrix, Matrix) {
        let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let mut next = move || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        let u: Vec<Vec<f32>> = (0..n).map(|_| (0..d).map(|_| next()).collect()).collect();
        let v: Vec<Vec<f32>> = (0..n).map(|_| (0..d).map(|_| next()).collect()).collect();
        let x =
            Matrix { rows: n, cols: 2 * d, data: (0..n).flat_map(|i| [u[i].clone(), v[i].clone()].concat()).collect() };
        let y =
            Matrix { rows: n, cols: 2 * d, data: (0..n).flat_map(|i| [v[i].clone(), u[i].clone()].concat()).collect() };
        (x, y)
    }

    #[test]
    fn blocked_search_equals_brute_force_across_blocks_and_threads() {
        let (x, y) = symmetric(600, 6, 7);
        let expected = brute(&x, &y, 9);
        for threads in [1, 2, 3] {
            assert_eq!(top_k_symmetric(&x, &y, 9, threads), expected, "threads = {threads}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn top_k_keeps_the_best_whatever_the_push_order(scores in proptest::collection::vec(-5i32..5, 0..200), k in 1usize..12) {
            let mut top = TopK::new(k);
            for (i, s) in scores.iter().enumerate().rev() {
                top.push(*s as f32, i as u32);
            }
            let mut all: Vec<(f32, u32)> = scores.iter().enumerate().map(|(i, s)| (*s as f32, i as u32)).collect();
            all.sort_by(order);
            let expected: Vec<u32> = all.into_iter().take(k).map(|(_, i)| i).collect();
            prop_assert_eq!(top.into_sorted(), expected);
        }
    }
}
