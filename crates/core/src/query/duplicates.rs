//! Duplicate detection. Exact: the same DOI, PMID or ISBN once normalised (DOI case and URL
//! prefixes, ISBN-10 as ISBN-13). Probable: the same first author's family name (its last
//! word) and either the same year and titles that differ only by case, accents, punctuation or
//! a few typing slips (never in their numbers; none in a short title), or years one apart and
//! the same title. Trashed references are left out, and so is any pair a person marked as not
//! duplicates. It only reports sets; merging is the person's call (`edit::merge`).
//! Measured on labelled pairs from the corpus: docs/queries.md, "How good the detector is".
//!
//! Two steps: each reference becomes a [`Fingerprint`] (its identifiers normalised, its title,
//! first author, year and journal folded), then [`find_sets`] groups fingerprints. The web app
//! runs both in its duplicates worker, which keeps the fingerprints between counts and is sent
//! only what changed ([`DuplicateFields`] of the references added, the ids of those gone:
//! `Library::changes_since`); the CLI and the sync engine call [`Library::duplicates`]. Either
//! way the sets are the same: fingerprints are grouped in the library's id order.

use super::fold::fold;
use super::Library;
use crate::{Field, Key, RefType, Reference};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::HashMap;

/// Why references were grouped (the strongest evidence found in the group).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DuplicateReason {
    Doi,
    Pmid,
    Isbn,
    /// Same year and first author, nearly the same title.
    Probable,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    // A short title one letter off is another work as often as a typo ("Reply on RC1").
    if len < SHORT_TITLE {
        0
    } else {
        (len / 30).clamp(1, 4)
    }
}

/// Titles shorter than this (once folded) must match exactly, and only in the same year.
const SHORT_TITLE: usize = 20;

/// The numbers in a title: "Part 1" and "Part 2" are two works however close their letters.
fn numbers(title: &str) -> String {
    title.chars().filter(char::is_ascii_digit).collect()
}

/// Two records that may be one item: of one kind (a generic record matches any; a paper and
/// the proceedings of its meeting are one kind) and, where both name a journal or meeting,
/// the same one up to how databases write it ("Addiction (Abingdon, England)", "Water
/// Science & Technology"): one's words all among the other's. A talk and the later paper, a
/// report and the thesis, one title in two journals, are two items.
fn same_venue(a: &Fingerprint, b: &Fingerprint) -> bool {
    if let (Some(x), Some(y)) = (a.kind, b.kind) {
        if x != y {
            return false;
        }
    }
    // Folded here, not in every fingerprint: only references already alike are compared.
    let (va, vb) = (venue_words(&a.venue), venue_words(&b.venue));
    if va.is_empty() || vb.is_empty() {
        return true;
    }
    let (wa, wb): (Vec<&str>, Vec<&str>) = (va.split(' ').collect(), vb.split(' ').collect());
    let within = |x: &[&str], y: &[&str]| x.iter().all(|w| y.contains(w));
    within(&wa, &wb) || within(&wb, &wa)
}

/// The words of a journal or meeting's name that tell it apart, folded, joined by spaces.
fn venue_words(name: &str) -> String {
    title_key(name)
        .split(' ')
        .filter(|w| !w.is_empty() && !matches!(*w, "the" | "and" | "of" | "a" | "journal" | "j"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first author as blocks compare them: the last word of the folded family name, so
/// "Palmer du Preez" and "Preez", or "Murray Boyle" and "Boyle", as databases split them
/// differently, meet.
fn family_key(family: &str) -> String {
    fold(family)
        .split_whitespace()
        .last()
        .unwrap_or_default()
        .to_string()
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

/// Two references a person said are not duplicates (either side's mark is enough).
fn apart(a: &Fingerprint, b: &Fingerprint) -> bool {
    a.apart.contains(&b.key) || b.apart.contains(&a.key)
}

/// What duplicate detection reads of one reference: borrowed from it, or read back from the
/// message that carried it to the duplicates worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicateFields<'a> {
    pub key: Key,
    #[serde(rename = "type")]
    pub ref_type: RefType,
    #[serde(borrow, default)]
    pub title: Cow<'a, str>,
    /// The first creator's family name (or the whole name of an organisation).
    #[serde(borrow, default)]
    pub first_author: Cow<'a, str>,
    #[serde(borrow, default)]
    pub year: Cow<'a, str>,
    #[serde(borrow, default)]
    pub secondary_title: Cow<'a, str>,
    #[serde(borrow, default)]
    pub doi: Cow<'a, str>,
    #[serde(borrow, default)]
    pub pmid: Cow<'a, str>,
    #[serde(borrow, default)]
    pub isbn: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_duplicates: Vec<Key>,
}

impl<'a> DuplicateFields<'a> {
    pub fn of(r: &'a Reference) -> DuplicateFields<'a> {
        DuplicateFields {
            key: r.key,
            ref_type: r.ref_type,
            title: Cow::Borrowed(r.title()),
            first_author: Cow::Borrowed(r.creators.first().map_or("", |c| c.name.sort_name())),
            year: Cow::Borrowed(r.year()),
            secondary_title: Cow::Borrowed(r.get(Field::SecondaryTitle)),
            doi: Cow::Borrowed(r.get(Field::Doi)),
            pmid: Cow::Borrowed(r.get(Field::Pmid)),
            isbn: Cow::Borrowed(r.get(Field::Isbn)),
            not_duplicates: r.not_duplicates.iter().copied().collect(),
        }
    }
}

/// One reference as the detector compares it: what [`find_sets`] needs, normalised once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    key: Key,
    doi: Option<String>,
    pmid: Option<String>,
    isbns: Vec<String>,
    /// [`title_key`]
    title: String,
    /// [`family_key`]
    family: String,
    /// Folded.
    year: String,
    /// Kinds that may be one item compare equal; `None` (a generic record) matches any.
    kind: Option<RefType>,
    /// The journal or meeting as written ([`same_venue`] folds it).
    venue: String,
    apart: Vec<Key>,
}

impl Fingerprint {
    pub fn of(r: &Reference) -> Fingerprint {
        Fingerprint::from_fields(&DuplicateFields::of(r))
    }

    pub fn from_fields(f: &DuplicateFields<'_>) -> Fingerprint {
        let kind = match f.ref_type {
            RefType::ConferencePaper | RefType::ConferenceProceedings => {
                Some(RefType::ConferencePaper)
            }
            RefType::Generic => None,
            t => Some(t),
        };
        Fingerprint {
            key: f.key,
            doi: normalize_doi(&f.doi),
            pmid: normalize_pmid(&f.pmid),
            isbns: normalize_isbns(&f.isbn),
            title: title_key(&f.title),
            family: family_key(&f.first_author),
            year: fold(f.year.trim()),
            kind,
            venue: f.secondary_title.to_string(),
            apart: f.not_duplicates.clone(),
        }
    }

    pub fn key(&self) -> Key {
        self.key
    }
}

impl Library {
    /// Groups of references that are probably the same work, most certain first. Two
    /// references marked as not duplicates are never paired directly (a third that matches
    /// both still brings them into one set: it may be a copy of either).
    pub fn duplicates(&self) -> Vec<DuplicateSet> {
        find_sets(&self.fingerprints().iter().collect::<Vec<_>>())
    }

    /// What detection compares: each reference not in the Trash, in id order.
    fn fingerprints(&self) -> Vec<Fingerprint> {
        self.live()
            .filter(|(_, r)| !r.trashed)
            .map(|(_, r)| Fingerprint::of(r))
            .collect()
    }

    /// `sets` (found a moment ago) as they stand now: members removed or in the Trash left
    /// out, and a set with no two members left that may be one work (fewer than two, or every
    /// pair marked not duplicates) dropped. What a person just merged or marked apart leaves
    /// the view at once, before the sets are found again.
    pub fn still_duplicates(&self, sets: &[DuplicateSet]) -> Vec<DuplicateSet> {
        let mark_apart = |a: &crate::Reference, b: &crate::Reference| {
            a.not_duplicates.contains(&b.key) || b.not_duplicates.contains(&a.key)
        };
        sets.iter()
            .filter_map(|set| {
                let members: Vec<&crate::Reference> = set
                    .keys
                    .iter()
                    .filter_map(|k| self.get(k))
                    .filter(|r| !r.trashed)
                    .collect();
                let together = members
                    .iter()
                    .enumerate()
                    .any(|(i, a)| members[i + 1..].iter().any(|b| !mark_apart(a, b)));
                together.then(|| DuplicateSet {
                    reason: set.reason,
                    keys: members.iter().map(|r| r.key).collect(),
                })
            })
            .collect()
    }

    /// For each of `incoming` (references not yet in the library, as an import read them),
    /// the reference already here it duplicates and why, by the same rules as
    /// [`Library::duplicates`]; `None` for one that is new.
    pub fn already_here(
        &self,
        incoming: &[crate::Reference],
    ) -> Vec<Option<(Key, DuplicateReason)>> {
        let mut prints = self.fingerprints();
        let existing = prints.len();
        if existing == 0 {
            // Nothing here to duplicate (an import into an empty library: 41,000 incoming
            // references were 0.4 s of fingerprints and sets that could find nothing).
            return vec![None; incoming.len()];
        }
        prints.extend(incoming.iter().map(Fingerprint::of));
        let docs: Vec<&Fingerprint> = prints.iter().collect();
        let mut out = vec![None; incoming.len()];
        let position: std::collections::BTreeMap<Key, usize> =
            crate::sort::map_of(incoming.iter().enumerate().map(|(i, r)| (r.key, i)));
        let here = crate::sort::set_of(docs[..existing].iter().map(|r| r.key));
        for set in find_sets(&docs) {
            // The set's first reference already here (sets are sorted by key: the oldest).
            let Some(first) = set.keys.iter().find(|k| here.contains(k)) else {
                continue;
            };
            for k in &set.keys {
                if let Some(&i) = position.get(k) {
                    out[i] = Some((*first, set.reason));
                }
            }
        }
        out
    }
}

/// The references that share one value (an identifier, a title in a block). By an
/// identifier, those with no "not duplicates" mark are all joined already, so a newcomer
/// joins the first of them and is checked one by one only against the marked few: linear,
/// not quadratic, when many references share a DOI. By likeness each pair's kind and journal
/// must agree, so a newcomer is checked one by one, against at most [`MAX_PAIRWISE`].
#[derive(Default)]
struct Holders {
    first_plain: Option<usize>,
    plain: Vec<usize>,
    marked: Vec<usize>,
}

impl Holders {
    fn all(&self) -> impl Iterator<Item = usize> + '_ {
        self.plain.iter().chain(&self.marked).copied()
    }

    /// Join `i` to the holders it may be a copy of: by an identifier, every one not marked
    /// apart from it; by likeness (`why` is [`DuplicateReason::Probable`]), also only one of
    /// the same kind in the same journal or meeting ([`same_venue`]).
    fn link(&self, uf: &mut UnionFind, docs: &[&Fingerprint], why: DuplicateReason, i: usize) {
        let likeness = why == DuplicateReason::Probable;
        let marked = !docs[i].apart.is_empty();
        let joins =
            |j: usize| !apart(docs[i], docs[j]) && (!likeness || same_venue(docs[i], docs[j]));
        if marked || likeness {
            for &j in self.plain.iter().take(MAX_PAIRWISE) {
                if joins(j) {
                    uf.union(j, i, why);
                }
            }
        } else if let Some(j) = self.first_plain {
            uf.union(j, i, why);
        }
        for &j in self.marked.iter().take(MAX_PAIRWISE) {
            if joins(j) {
                uf.union(j, i, why);
            }
        }
    }

    /// [`Holders::link`] `i`, then hold it too.
    fn join(&mut self, uf: &mut UnionFind, docs: &[&Fingerprint], why: DuplicateReason, i: usize) {
        self.link(uf, docs, why, i);
        let marked = !docs[i].apart.is_empty();
        if marked {
            self.marked.push(i);
        } else {
            self.first_plain.get_or_insert(i);
            self.plain.push(i);
        }
    }
}

/// How many holders of one value a reference is compared with one by one (a title shared by
/// thousands, "Editorial", would otherwise be quadratic).
const MAX_PAIRWISE: usize = 64;

/// Group `docs` into sets of probable duplicates, most certain first (each set's keys sorted).
/// The outcome depends on the order of `docs` only where a value is shared by more than
/// [`MAX_PAIRWISE`]: give them in one order (the library's ids') to get the same sets.
pub fn find_sets(docs: &[&Fingerprint]) -> Vec<DuplicateSet> {
    let mut uf = UnionFind {
        parent: (0..docs.len()).collect(),
        reason: vec![None; docs.len()],
    };
    let mut seen: HashMap<(DuplicateReason, &str), Holders> = HashMap::new();
    let mut blocks: HashMap<(&str, &str), Vec<(usize, &str)>> = HashMap::new();
    let mut near_years: HashMap<(&str, &str), Vec<(usize, i32)>> = HashMap::new();
    for (i, r) in docs.iter().enumerate() {
        let identifiers = (r.doi.iter().map(|v| (DuplicateReason::Doi, v)))
            .chain(r.pmid.iter().map(|v| (DuplicateReason::Pmid, v)))
            .chain(r.isbns.iter().map(|v| (DuplicateReason::Isbn, v)));
        for (why, value) in identifiers {
            seen.entry((why, value.as_str()))
                .or_default()
                .join(&mut uf, docs, why, i);
        }
        let (title, family, year) = (r.title.as_str(), r.family.as_str(), r.year.as_str());
        if title.len() < 8 {
            continue;
        }
        if let (false, true, Ok(y)) = (
            family.is_empty(),
            title.len() >= SHORT_TITLE,
            year.parse::<i32>(),
        ) {
            near_years.entry((family, title)).or_default().push((i, y));
        }
        blocks.entry((year, family)).or_default().push((i, title));
    }
    // The same title and first author a year apart: online first, then in an issue.
    for holders in near_years.values() {
        if holders.len() > MAX_BLOCK_FOR_TYPOS {
            continue;
        }
        for (x, &(a, ya)) in holders.iter().enumerate() {
            for &(b, yb) in &holders[x + 1..] {
                if ya.abs_diff(yb) == 1 && same_venue(docs[a], docs[b]) && !apart(docs[a], docs[b])
                {
                    uf.union(a, b, DuplicateReason::Probable);
                }
            }
        }
    }
    for block in blocks.values() {
        // Each distinct title once, with every reference that has it.
        let mut exact: HashMap<&str, Holders> = HashMap::new();
        for (i, t) in block {
            exact
                .entry(t)
                .or_default()
                .join(&mut uf, docs, DuplicateReason::Probable, *i);
        }
        if block.len() <= MAX_BLOCK_FOR_TYPOS {
            let mut distinct: Vec<(&str, &Holders)> = exact.iter().map(|(t, h)| (*t, h)).collect();
            crate::sort::sort_by_key(&mut distinct, |(t, _)| *t);
            for (x, &(ta, ha)) in distinct.iter().enumerate() {
                for &(tb, hb) in &distinct[x + 1..] {
                    if numbers(ta) == numbers(tb)
                        && within_distance(ta, tb, slips(ta.len().min(tb.len())))
                    {
                        for a in ha.all() {
                            hb.link(&mut uf, docs, DuplicateReason::Probable, a);
                        }
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
            keys: members.iter().map(|&i| docs[i].key).collect(),
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

impl DuplicateReason {
    /// Why a set was found, as a person reads it.
    pub fn words(self) -> &'static str {
        match self {
            DuplicateReason::Doi => "Same DOI",
            DuplicateReason::Pmid => "Same PubMed ID",
            DuplicateReason::Isbn => "Same ISBN",
            DuplicateReason::Probable => "Nearly the same title, year and first author",
        }
    }

    /// Sure enough to merge without comparing each set (an identifier, not a likeness).
    pub fn by_identifier(self) -> bool {
        matches!(self, DuplicateReason::Doi | DuplicateReason::Pmid)
    }
}

impl DuplicateSet {
    /// A short name for the set, the same on every device while its members stay: what
    /// `refsync duplicates merge SET` takes.
    pub fn id(&self) -> String {
        // FNV-1a over the members' keys: stable across builds (std's hasher is not).
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for k in &self.keys {
            for b in k.as_str().bytes().chain([b',']) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        format!("{:08x}", h >> 32)
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
