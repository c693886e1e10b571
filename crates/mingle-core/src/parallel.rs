//! Work split over threads with the results in order: what the engine's scoring, a match
//! run's row building and the store's serializing of half a million pairs share.

/// The machine's cores (1 when unknown).
pub fn available() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `f` of every item, the items split into contiguous runs on `threads` threads; the
/// results come back in the items' order.
pub fn map<T: Send, U: Send>(items: Vec<T>, threads: usize, f: impl Fn(T) -> U + Sync) -> Vec<U> {
    let per = items.len().div_ceil(threads.max(1)).max(1);
    let mut items = items.into_iter();
    let runs: Vec<Vec<T>> =
        std::iter::from_fn(|| Some(items.by_ref().take(per).collect::<Vec<T>>()).filter(|run| !run.is_empty()))
            .collect();
    std::thread::scope(|scope| {
        let f = &f;
        let workers: Vec<_> =
            runs.into_iter().map(|run| scope.spawn(move || run.into_iter().map(f).collect::<Vec<U>>())).collect();
        workers.into_iter().flat_map(|w| w.join().expect("a worker thread panicked")).collect()
    })
}

/// `f` of every index of `0..n`, as [`map`].
pub fn map_indices<U: Send>(n: usize, threads: usize, f: impl Fn(usize) -> U + Sync) -> Vec<U> {
    map((0..n).collect(), threads, f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_order_whatever_the_threads() {
        for (n, threads) in [(0, 2), (1, 4), (7, 3), (7, 1), (64, 2), (5, 8)] {
            let items: Vec<String> = (0..n).map(|i| format!("item {i}")).collect();
            let expected: Vec<usize> = (0..n).map(|i| format!("item {i}").len() * 10 + i).collect();
            let got = map(items.into_iter().enumerate().collect(), threads, |(i, s): (usize, String)| s.len() * 10 + i);
            assert_eq!(got, expected, "{n} items on {threads} threads");
            assert_eq!(map_indices(n, threads, |i| i * i), (0..n).map(|i| i * i).collect::<Vec<_>>());
        }
    }
}
