//! Work over many receipts on every core: verifying a store is CPU-bound (an HMAC and a
//! SHA-256 per receipt), and both stores share this one fan-out.

use std::thread;

/// `work` over `items` on every available core, results in input order. Each worker keeps
/// one scratch buffer for all its items. `None` if a worker died: callers fail closed.
pub(crate) fn parallel_map<I: Sync, T: Send>(
    items: &[I],
    work: impl Fn(&I, &mut Vec<u8>) -> T + Sync,
) -> Option<Vec<T>> {
    let workers = thread::available_parallelism()
        .map_or(1, usize::from)
        .min(items.len().div_ceil(64))
        .max(1);
    let chunk = items.len().div_ceil(workers).max(1);
    let work = &work;
    thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let mut buffer = Vec::new();
                    part.iter()
                        .map(|item| work(item, &mut buffer))
                        .collect::<Vec<T>>()
                })
            })
            .collect();
        let mut results = Vec::with_capacity(items.len());
        for handle in handles {
            results.extend(handle.join().ok()?);
        }
        Some(results)
    })
}
