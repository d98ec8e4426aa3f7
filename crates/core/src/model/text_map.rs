//! [`TextMap`]: a reference's named texts (its `fields` and `extra`), name to text.
//!
//! Kept as one vector of pairs sorted by name rather than a `BTreeMap`: a reference holds
//! about nine such texts in one or two maps, and a `BTreeMap` node has room for eleven
//! whatever it holds (272 bytes in wasm32 before any text): the maps' nodes were 57 MB of the
//! 505 MB a tab held with 250,000 references open (docs/bench.md, issue 29, stop 47).
//! The vector is exactly as long as it needs to be once read. Lookups scan the handful of
//! names (see `find`); an insert moves the pairs after it, so a map built name by name in
//! random order costs moves quadratic in its length: nothing for the tens of names a real
//! reference has, seconds only for an entry of tens of thousands of distinct fields (reading
//! JSON sorts once instead).
//!
//! Invariant: names are ascending and distinct, so two maps with the same texts are equal
//! and serialize the same (as a JSON object in name order, as the `BTreeMap` did: stored and
//! synced records are unchanged). Reading a JSON object whose names repeat or come out of
//! order restores the invariant, the last value of a name winning, as a `BTreeMap` did.

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Name to text, sorted by name. See the module docs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextMap(Vec<(String, String)>);

/// One name's place in a [`TextMap`], to fill in if empty ([`TextMap::entry`]).
pub struct Entry<'a> {
    map: &'a mut TextMap,
    name: String,
    at: Result<usize, usize>,
}

impl<'a> Entry<'a> {
    pub fn or_insert_with(self, value: impl FnOnce() -> String) -> &'a mut String {
        let at = match self.at {
            Ok(at) => at,
            Err(at) => {
                self.map.0.insert(at, (self.name, value()));
                at
            }
        };
        &mut self.map.0[at].1
    }

    pub fn or_insert(self, value: String) -> &'a mut String {
        self.or_insert_with(|| value)
    }
}

type Pair = (String, String);
type Refs<'a> =
    std::iter::Map<std::slice::Iter<'a, Pair>, fn(&'a Pair) -> (&'a String, &'a String)>;

impl TextMap {
    pub fn new() -> TextMap {
        TextMap(Vec::new())
    }

    /// Where `name` is, or would go. For the handful of names a reference has, a scan from
    /// the start, as a `BTreeMap` searches a node: a binary search there made field lookups
    /// (every smart group, duplicate count and sort) 1.6x slower than the `BTreeMap`, the scan
    /// 0.8x. Long maps (an import can bring hundreds of extras) are searched by halves.
    #[inline]
    fn find(&self, name: &str) -> Result<usize, usize> {
        if self.0.len() > 16 {
            return self.0.binary_search_by(|(n, _)| n.as_str().cmp(name));
        }
        for (at, (n, _)) in self.0.iter().enumerate() {
            match n.as_str().cmp(name) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => return Ok(at),
                std::cmp::Ordering::Greater => return Err(at),
            }
        }
        Err(self.0.len())
    }

    #[inline]
    pub fn get(&self, name: &str) -> Option<&String> {
        self.find(name).ok().map(|at| &self.0[at].1)
    }

    #[inline]
    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// Set `name` to `value`; returns the text it replaced.
    pub fn insert(&mut self, name: String, value: String) -> Option<String> {
        match self.find(&name) {
            Ok(at) => Some(std::mem::replace(&mut self.0[at].1, value)),
            Err(at) => {
                self.0.insert(at, (name, value));
                None
            }
        }
    }

    pub fn remove(&mut self, name: &str) -> Option<String> {
        let at = self.find(name).ok()?;
        Some(self.0.remove(at).1)
    }

    pub fn entry(&mut self, name: String) -> Entry<'_> {
        let at = self.find(&name);
        Entry {
            map: self,
            name,
            at,
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every (name, text), by name.
    #[inline]
    pub fn iter(&self) -> Refs<'_> {
        self.0.iter().map(|(n, v)| (n, v))
    }

    #[inline]
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> + '_ {
        self.0.iter().map(|(n, _)| n)
    }

    #[inline]
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &String> + '_ {
        self.0.iter().map(|(_, v)| v)
    }

    /// Keep only the texts `keep` says yes to.
    pub fn retain(&mut self, mut keep: impl FnMut(&String, &mut String) -> bool) {
        self.0.retain_mut(|(n, v)| keep(n, v));
    }

    /// Restore the invariant over pairs in any order (the last of a repeated name wins) and
    /// give back the room a read left over.
    fn from_pairs(mut pairs: Vec<Pair>) -> TextMap {
        if !pairs.windows(2).all(|w| w[0].0 < w[1].0) {
            // Stable, so repeats stay in arrival order and the last one can be kept.
            crate::sort::sort_by(&mut pairs, |a, b| a.0.cmp(&b.0));
            let mut kept: Vec<Pair> = Vec::with_capacity(pairs.len());
            for pair in pairs {
                match kept.last_mut() {
                    Some(last) if last.0 == pair.0 => *last = pair,
                    _ => kept.push(pair),
                }
            }
            pairs = kept;
        }
        pairs.shrink_to_fit();
        TextMap(pairs)
    }
}

impl std::ops::Index<&str> for TextMap {
    type Output = String;

    /// The text of `name`; panics if there is none, as a map's index does.
    fn index(&self, name: &str) -> &String {
        match self.get(name) {
            Some(v) => v,
            None => panic!("no text named {name:?}"),
        }
    }
}

impl FromIterator<Pair> for TextMap {
    fn from_iter<I: IntoIterator<Item = Pair>>(pairs: I) -> TextMap {
        TextMap::from_pairs(pairs.into_iter().collect())
    }
}

impl Extend<Pair> for TextMap {
    /// Each pair set in turn (a name already here takes the new text), as a map's extend.
    fn extend<I: IntoIterator<Item = Pair>>(&mut self, pairs: I) {
        for (n, v) in pairs {
            self.insert(n, v);
        }
    }
}

impl IntoIterator for TextMap {
    type Item = Pair;
    type IntoIter = std::vec::IntoIter<Pair>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a TextMap {
    type Item = (&'a String, &'a String);
    type IntoIter = Refs<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl Serialize for TextMap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (n, v) in &self.0 {
            map.serialize_entry(n, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for TextMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TextMap, D::Error> {
        struct Pairs;
        impl<'de> Visitor<'de> for Pairs {
            type Value = TextMap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of texts")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TextMap, A::Error> {
                // Never trust the size hint for room: it comes from the input.
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some(pair) = map.next_entry::<String, String>()? {
                    pairs.push(pair);
                }
                Ok(TextMap::from_pairs(pairs))
            }
        }
        d.deserialize_map(Pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> TextMap {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_and_writes_as_the_btreemap_did() {
        let json = r#"{"doi":"10.1/x","title":"A","year":"2001"}"#;
        let m: TextMap = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), json);
        let old: std::collections::BTreeMap<String, String> = serde_json::from_str(json).unwrap();
        assert_eq!(m.iter().collect::<Vec<_>>(), old.iter().collect::<Vec<_>>());
        // Out of order and repeated: sorted, the last of a name kept, as a BTreeMap reads it.
        let messy = r#"{"year":"1","title":"A","year":"2"}"#;
        let m: TextMap = serde_json::from_str(messy).unwrap();
        let old: std::collections::BTreeMap<String, String> = serde_json::from_str(messy).unwrap();
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            serde_json::to_string(&old).unwrap()
        );
        assert!(serde_json::from_str::<TextMap>(r#"{"title":1}"#).is_err());
    }

    #[test]
    fn edits_keep_names_sorted_and_distinct() {
        let mut m = map(&[("title", "A")]);
        assert_eq!(m.insert("doi".into(), "d".into()), None);
        assert_eq!(m.insert("year".into(), "1".into()), None);
        assert_eq!(m.insert("title".into(), "B".into()), Some("A".into()));
        assert_eq!(m.keys().collect::<Vec<_>>(), ["doi", "title", "year"]);
        assert_eq!(m.entry("abstract".into()).or_insert(String::new()), "");
        m.entry("doi".into()).or_insert("ignored".into());
        assert_eq!(m["doi"], "d");
        m.extend([("doi".to_string(), "e".to_string())]);
        assert_eq!(m.get("doi").map(String::as_str), Some("e"));
        assert_eq!(m.remove("title"), Some("B".into()));
        m.retain(|n, _| n != "abstract");
        assert_eq!(m, map(&[("year", "1"), ("doi", "e")]));
        assert_eq!(m.len(), 2);
        assert!(!m.contains_key("title"));
    }

    #[test]
    fn a_long_map_is_searched_by_halves_and_finds_the_same() {
        let mut m = TextMap::new();
        let names: Vec<String> = (0..40)
            .map(|i| format!("extra:{}", (i * 17) % 40))
            .collect();
        for n in &names {
            assert_eq!(m.insert(n.clone(), n.to_uppercase()), None);
        }
        assert!(m.keys().zip(m.keys().skip(1)).all(|(a, b)| a < b));
        for n in &names {
            assert_eq!(m.get(n), Some(&n.to_uppercase()));
        }
        assert!(!m.contains_key("extra:40") && !m.contains_key("a") && !m.contains_key("z"));
        assert_eq!(m.remove("extra:7"), Some("EXTRA:7".into()));
        assert_eq!(m.len(), 39);
    }
}
