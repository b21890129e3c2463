//! Splitting rows into multi-row statements of a few fixed sizes.
//!
//! Every distinct row count is a distinct SQL text, which the database parses and plans anew
//! and the driver caches per connection. Group commit produces every size from 1 to 2,000, so
//! plain `chunks(n)` would prepare hundreds of shapes (a 400-row PostgreSQL INSERT takes
//! milliseconds to plan). Splitting into sizes from a short fixed ladder keeps it to a handful.

/// Splits `rows` into chunks whose lengths are powers of two no larger than `max`, largest
/// first: any count becomes at most a few statements (its binary digits, plus whole chunks of
/// the largest size) and at most log2(max)+1 distinct statement shapes exist per table.
pub(crate) fn fixed_chunks<T>(rows: &[T], max: usize) -> Vec<&[T]> {
    let mut ladder = Vec::new();
    let mut size = 1usize << (usize::BITS - 1 - max.max(1).leading_zeros());
    while size >= 1 {
        ladder.push(size);
        size /= 2;
    }
    let mut out = Vec::new();
    let mut rest = rows;
    for size in ladder {
        while rest.len() >= size {
            let (head, tail) = rest.split_at(size);
            out.push(head);
            rest = tail;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_every_row_once_with_few_shapes() {
        for n in [0usize, 1, 2, 3, 37, 399, 400, 401, 1234, 2000] {
            let rows: Vec<usize> = (0..n).collect();
            let chunks = fixed_chunks(&rows, 400);
            let flat: Vec<usize> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
            assert_eq!(flat, rows, "n={n}");
            let mut shapes: Vec<usize> = chunks.iter().map(|c| c.len()).collect();
            shapes.sort();
            shapes.dedup();
            assert!(
                shapes.iter().all(|s| s.is_power_of_two() && *s <= 256),
                "n={n}: {shapes:?}"
            );
            assert!(
                chunks.len() <= n / 256 + 8,
                "n={n}: {} statements",
                chunks.len()
            );
        }
    }
}
