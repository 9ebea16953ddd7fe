//! A classifier's outputs read as its classes: the classes of a row ranked by output, the way
//! `instinct predict --label`/`--top-k` and [`Model::label_of`](crate::Model::label_of) name
//! them (numpy's `nanargmax`: the first of equal outputs wins, a NaN output never does; where
//! every output is NaN there is no class, where numpy would raise).

use std::cmp::Ordering;

/// The classes (output indices) of one row of outputs, from the largest output down, into
/// `order` (cleared first): NaN outputs left out, equal outputs (`-0.0` and `0.0` included)
/// in class order.
///
/// ```
/// let mut order = Vec::new();
/// instinct::labels::rank_classes(&[0.2, 0.5, f32::NAN, 0.5], &mut order);
/// assert_eq!(order, [1, 3, 0]);
/// ```
pub fn rank_classes(row: &[f32], order: &mut Vec<usize>) {
    order.clear();
    order.extend((0..row.len()).filter(|&c| !row[c].is_nan()));
    // A stable sort: equal values keep the lower class first.
    order.sort_by(|&a, &b| row[b].partial_cmp(&row[a]).unwrap_or(Ordering::Equal));
}

/// The class of the largest output of `row`, the first of equals; `None` when every output is
/// NaN (or there are none).
///
/// ```
/// assert_eq!(instinct::labels::best_class(&[0.1, 0.7, 0.7]), Some(1));
/// assert_eq!(instinct::labels::best_class(&[-0.0, 0.0]), Some(0));
/// assert_eq!(instinct::labels::best_class(&[f32::NAN]), None);
/// ```
pub fn best_class(row: &[f32]) -> Option<usize> {
    (0..row.len())
        .filter(|&c| !row[c].is_nan())
        .fold(None, |best, c| match best {
            Some(b) if row[b] >= row[c] => Some(b),
            _ => Some(c),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The best class is the first of the ranking, and the ranking is ordered.
        #[test]
        fn the_best_class_heads_the_ranking(row in proptest::collection::vec(
            prop_oneof![Just(f32::NAN), Just(0.0f32), Just(-0.0f32), -2.0f32..2.0], 0..8)) {
            let mut order = Vec::new();
            rank_classes(&row, &mut order);
            prop_assert_eq!(order.first().copied(), best_class(&row));
            prop_assert_eq!(order.len(), row.iter().filter(|v| !v.is_nan()).count());
            for pair in order.windows(2) {
                let (a, b) = (row[pair[0]], row[pair[1]]);
                prop_assert!(a > b || (a == b && pair[0] < pair[1]), "{:?}", row);
            }
        }
    }
}
