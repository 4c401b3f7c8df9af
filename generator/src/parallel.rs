//! Independent work (path items, tools) split over the machine's cores, with
//! results in input order so output never depends on scheduling.

/// `f` applied to every item, on every core, results in `items`' order. A
/// panic in a worker is re-raised here.
pub fn map_ordered<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    if workers == 1 || items.len() < 2 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(workers);
    let f = &f;
    let (first, rest) = items.split_at(chunk);
    std::thread::scope(|scope| {
        let handles: Vec<_> = rest
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        // The first share on this thread: it reuses memory this thread freed earlier.
        let mut out = Vec::with_capacity(items.len());
        out.extend(first.iter().map(f));
        for handle in handles {
            out.extend(handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_input_order() {
        let items: Vec<u32> = (0..1000).collect();
        assert_eq!(
            map_ordered(&items, |i| i * 2),
            (0..1000).map(|i| i * 2).collect::<Vec<_>>()
        );
        assert_eq!(map_ordered(&[7], |i| i + 1), vec![8]);
        assert!(map_ordered(&[] as &[u32], |i| *i).is_empty());
    }
}
