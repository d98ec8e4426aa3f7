//! One stable sort for every list the browser sorts.
//!
//! The standard library's stable sort is generic over the element and the comparison, so each
//! `sort_by_key` call site with its own types compiles its own ~4 KB copy of the algorithm; the
//! web app had 28 of them (over 100 KB before optimization, most of the download's margin).
//! Here the algorithm runs once, on indices, behind a `dyn` comparison: each call site costs
//! a few hundred bytes. Lists sorted this way are small (groups, names, conflicts) or sorted
//! rarely (a backup's manifest); a hot path that sorts 50,000 rows per keystroke (the query
//! index) sorts its own index arrays directly.
//!
//! Invariant: the same order as `slice::sort_by` with the same comparison (stable: equal
//! elements keep their order).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

/// Sort `items` by `compare`, stably.
pub fn sort_by<T>(items: &mut Vec<T>, compare: impl Fn(&T, &T) -> Ordering) {
    if items.len() < 2 {
        return;
    }
    let order = {
        let items: &[T] = items;
        order_of(items.len(), &|a, b| compare(&items[a], &items[b]))
    };
    let mut slots: Vec<Option<T>> = items.drain(..).map(Some).collect();
    items.extend(order.into_iter().filter_map(|i| slots[i].take()));
}

/// Sort `items` by the key `key` gives, stably.
pub fn sort_by_key<T, K: Ord>(items: &mut Vec<T>, key: impl Fn(&T) -> K) {
    sort_by(items, |a, b| key(a).cmp(&key(b)));
}

/// Sort `items` in their natural order.
pub fn sort<T: Ord>(items: &mut Vec<T>) {
    sort_by(items, T::cmp);
}

/// A set of `items`, inserted one by one. `collect()` into a `BTreeSet` sorts a buffer first,
/// compiling its own copy of the stable sort for each element type (see above).
pub fn set_of<T: Ord>(items: impl IntoIterator<Item = T>) -> BTreeSet<T> {
    let mut set = BTreeSet::new();
    for item in items {
        set.insert(item);
    }
    set
}

/// A map of `pairs`, inserted one by one (a later pair replaces an earlier one of the same
/// key, as `collect()` does), for the reason [`set_of`] gives.
pub fn map_of<K: Ord, V>(pairs: impl IntoIterator<Item = (K, V)>) -> BTreeMap<K, V> {
    let mut map = BTreeMap::new();
    for (k, v) in pairs {
        map.insert(k, v);
    }
    map
}

/// The positions `0..len` in the order `compare` (on positions) gives. Not generic, so the
/// sorting algorithm is compiled once.
fn order_of(len: usize, compare: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    order.sort_by(|&a, &b| compare(a, b));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_like_the_standard_sort_and_keeps_ties_in_order() {
        let mut ours = vec![(3, 'a'), (1, 'b'), (3, 'c'), (2, 'd'), (1, 'e')];
        let mut std = ours.clone();
        sort_by_key(&mut ours, |p| p.0);
        std.sort_by_key(|p| p.0);
        assert_eq!(ours, std);
        assert_eq!(ours, vec![(1, 'b'), (1, 'e'), (2, 'd'), (3, 'a'), (3, 'c')]);
        let mut words = vec!["pear".to_string(), "apple".into(), "fig".into()];
        sort(&mut words);
        assert_eq!(words, ["apple", "fig", "pear"]);
        let mut none: Vec<u8> = Vec::new();
        sort(&mut none);
        assert!(none.is_empty());
    }
}
