//! Duplicate detection. Exact: the same DOI, PMID or ISBN once normalised (DOI case and URL
//! prefixes, ISBN-10 as ISBN-13). Probable: the same year and first author's family name and
//! titles that differ only by case, accents, punctuation or a few typing slips. Trashed
//! references are left out. It only reports groups; merging is the user's call.

use super::fold::fold;
use super::Library;
use crate::{Field, Key};
use std::collections::HashMap;

/// Why references were grouped (the strongest evidence found in the group).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DuplicateReason {
    Doi,
    Pmid,
    Isbn,
    /// Same year and first author, nearly the same title.
    Probable,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicateSet {
    pub reason: DuplicateReason,
    pub keys: Vec<Key>,
}

/// "https://doi.org/10.1000/ABC" and "doi:10.1000/abc" are the same DOI.
pub fn normalize_doi(s: &str) -> Option<String> {
    let s = s.trim().to_lowercase();
    let s = [
        "https://doi.org/",
        "http://doi.org/",
        "https://dx.doi.org/",
        "http://dx.doi.org/",
        "doi.org/",
        "doi:",
    ]
    .iter()
    .find_map(|p| s.strip_prefix(p))
    .unwrap_or(&s)
    .trim()
    .trim_end_matches(['.', ',', ';']);
    (s.starts_with("10.") && s.len() > 4).then(|| s.to_string())
}

pub fn normalize_pmid(s: &str) -> Option<String> {
    let s = s.trim().trim_start_matches("PMID:").trim();
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.trim_start_matches('0').to_string())
}

/// Every ISBN in the field, as ISBN-13 digits.
pub fn normalize_isbns(s: &str) -> Vec<String> {
    s.split([';', ',', ' ', '\n'])
        .filter_map(|part| {
            let d: String = part
                .chars()
                .filter(|c| c.is_ascii_digit() || *c == 'X' || *c == 'x')
                .collect();
            match d.len() {
                13 if d.bytes().all(|b| b.is_ascii_digit()) => Some(d),
                10 => {
                    let body = format!("978{}", &d[..9]);
                    let sum: u32 = body
                        .bytes()
                        .enumerate()
                        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
                        .sum();
                    Some(format!("{body}{}", (10 - sum % 10) % 10))
                }
                _ => None,
            }
        })
        .collect()
}

/// Title as compared: folded, letters and digits only, single spaces.
fn title_key(s: &str) -> String {
    fold(s)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Edit distance, or `None` once it exceeds `max`.
fn within_distance(a: &str, b: &str, max: usize) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return false;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            row_min = row_min.min(cur[j]);
        }
        if row_min > max {
            return false;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()] <= max
}

/// Typing slips allowed in a title of this length.
fn slips(len: usize) -> usize {
    (len / 30).clamp(1, 4)
}

struct UnionFind {
    parent: Vec<usize>,
    reason: Vec<Option<DuplicateReason>>,
}

impl UnionFind {
    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize, why: DuplicateReason) {
        let (ra, rb) = (self.find(a), self.find(b));
        let best = [self.reason[ra], self.reason[rb], Some(why)]
            .into_iter()
            .flatten()
            .min();
        if ra != rb {
            self.parent[rb] = ra;
        }
        self.reason[ra] = best;
    }
}

/// Blocks bigger than this only match identical titles (a pairwise pass would be quadratic).
const MAX_BLOCK_FOR_TYPOS: usize = 400;

impl Library {
    /// Groups of references that are probably the same work, most certain first.
    pub fn duplicates(&self) -> Vec<DuplicateSet> {
        let docs: Vec<(u32, &crate::Reference)> = self.live().filter(|(_, r)| !r.trashed).collect();
        let mut uf = UnionFind {
            parent: (0..docs.len()).collect(),
            reason: vec![None; docs.len()],
        };
        let mut seen: HashMap<(DuplicateReason, String), usize> = HashMap::new();
        let mut link =
            |uf: &mut UnionFind, why: DuplicateReason, value: String, i: usize| match seen
                .get(&(why, value.clone()))
            {
                Some(&j) => uf.union(j, i, why),
                None => {
                    seen.insert((why, value), i);
                }
            };
        let mut blocks: HashMap<(String, String), Vec<(usize, String)>> = HashMap::new();
        for (i, (_, r)) in docs.iter().enumerate() {
            if let Some(doi) = normalize_doi(r.get(Field::Doi)) {
                link(&mut uf, DuplicateReason::Doi, doi, i);
            }
            if let Some(pmid) = normalize_pmid(r.get(Field::Pmid)) {
                link(&mut uf, DuplicateReason::Pmid, pmid, i);
            }
            for isbn in normalize_isbns(r.get(Field::Isbn)) {
                link(&mut uf, DuplicateReason::Isbn, isbn, i);
            }
            let title = title_key(r.title());
            if title.len() < 8 {
                continue;
            }
            let family = r
                .creators
                .first()
                .map(|c| fold(c.name.sort_name()))
                .unwrap_or_default();
            blocks
                .entry((fold(r.year().trim()), family))
                .or_default()
                .push((i, title));
        }
        for block in blocks.values() {
            let mut exact: HashMap<&str, usize> = HashMap::new();
            for (i, t) in block {
                match exact.get(t.as_str()) {
                    Some(&j) => uf.union(j, *i, DuplicateReason::Probable),
                    None => {
                        exact.insert(t, *i);
                    }
                }
            }
            if block.len() <= MAX_BLOCK_FOR_TYPOS {
                let distinct: Vec<(&str, usize)> = exact.iter().map(|(t, i)| (*t, *i)).collect();
                for (x, &(ta, ia)) in distinct.iter().enumerate() {
                    for &(tb, ib) in &distinct[x + 1..] {
                        if within_distance(ta, tb, slips(ta.len().min(tb.len()))) {
                            uf.union(ia, ib, DuplicateReason::Probable);
                        }
                    }
                }
            }
        }
        let mut sets: HashMap<usize, Vec<usize>> = HashMap::new();
        for i in 0..docs.len() {
            let root = uf.find(i);
            sets.entry(root).or_default().push(i);
        }
        let mut out: Vec<DuplicateSet> = sets
            .into_iter()
            .filter(|(_, members)| members.len() > 1)
            .map(|(root, members)| DuplicateSet {
                reason: uf.reason[root].unwrap_or(DuplicateReason::Probable),
                keys: members.iter().map(|&i| docs[i].1.key).collect(),
            })
            .collect();
        for s in &mut out {
            crate::sort::sort(&mut s.keys);
        }
        crate::sort::sort_by(&mut out, |a, b| {
            a.reason.cmp(&b.reason).then_with(|| a.keys.cmp(&b.keys))
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_normalise() {
        assert_eq!(
            normalize_doi("https://doi.org/10.1000/ABC."),
            Some("10.1000/abc".into())
        );
        assert_eq!(normalize_doi("doi:10.1000/abc"), Some("10.1000/abc".into()));
        assert_eq!(normalize_doi("not a doi"), None);
        assert_eq!(normalize_isbns("0-306-40615-2"), vec!["9780306406157"]);
        assert_eq!(
            normalize_isbns("978-0-306-40615-7 (pbk.)"),
            vec!["9780306406157"]
        );
        assert_eq!(normalize_pmid(" 0012345 "), Some("12345".into()));
    }

    #[test]
    fn small_typos_are_within_distance() {
        assert!(within_distance(
            "the structure of scientific revolutions",
            "the structure of scientfic revolutions",
            1
        ));
        assert!(!within_distance(
            "the structure of scientific revolutions",
            "the logic of scientific discovery",
            4
        ));
    }
}
