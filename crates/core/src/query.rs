//! The library's query layer: quick search, sorting, field search, smart and combination
//! groups, duplicate detection (issue 4). The web app and the CLI keep their references in a
//! [`Library`] and ask it.
//!
//! Invariants: every reference has one internal id while it is in the library; an edit gives
//! it a new id and leaves the old one dead (skipped everywhere), so that the word index and
//! the sort orders only ever grow at the end or by one insertion, never by a rebuild; dead
//! ids are compacted away in one rebuild once they outnumber the live ones.
//!
//! Because an id names one version of one reference, a copy kept elsewhere (the duplicates
//! worker's fingerprints) is brought up to date from a [`Mark`]: the ids made since, and the
//! ids that died since, in the order they died. A rebuild is another library (a new
//! [`Mark::library`]), and its changes are everything.

mod bits;
mod criteria;
mod dates;
mod duplicates;
pub mod fold;
mod groups;

pub use bits::Bits;
pub use duplicates::{
    find_sets, normalize_doi, normalize_isbns, normalize_pmid, DuplicateFields, DuplicateReason,
    DuplicateSet, Fingerprint,
};
pub use groups::GroupError;

use crate::{CreatorRole, Field, Key, Reference};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

/// What a list can be sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SortField {
    Author,
    Year,
    Title,
    Journal,
    Type,
    DateAdded,
}

impl SortField {
    pub const ALL: [SortField; 6] = [
        SortField::Author,
        SortField::Year,
        SortField::Title,
        SortField::Journal,
        SortField::Type,
        SortField::DateAdded,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// A sort: the field and the direction. Ties are broken by date added, then key, so the order
/// is always the same for the same library.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sort {
    pub field: SortField,
    pub descending: bool,
}

impl Default for Sort {
    /// Newest first, as a reference manager opens.
    fn default() -> Sort {
        Sort {
            field: SortField::DateAdded,
            descending: true,
        }
    }
}

/// What each sort compares, computed once per reference.
#[derive(Clone, Debug)]
struct SortKeys {
    author: String,
    /// Numeric years sort as numbers; others after them, as text.
    year: (Option<i64>, String),
    /// The folded title, whole (field search reads it); sorting skips `title_skip` bytes of
    /// leading punctuation.
    title: String,
    title_skip: usize,
    journal: String,
    ref_type: &'static str,
    date_added: u64,
    key: Key,
}

impl SortKeys {
    fn of(r: &Reference) -> SortKeys {
        let first = r
            .creators_with(CreatorRole::Author)
            .next()
            .or(r.creators.first());
        let author = first.map_or(String::new(), |c| match &c.name {
            crate::Name::Person { family, given, .. } => fold::fold(&format!("{family} {given}")),
            crate::Name::Literal(n) => fold::fold(n),
        });
        let year = r.year().trim();
        let title = fold::fold(r.title());
        let title_skip = title.len()
            - title
                .trim_start_matches(|c: char| !c.is_alphanumeric())
                .len();
        SortKeys {
            author,
            year: (year.parse().ok(), fold::fold(year)),
            title,
            title_skip,
            journal: fold::fold(r.get(Field::SecondaryTitle)),
            ref_type: r.ref_type.label(),
            date_added: r.date_added,
            key: r.key,
        }
    }

    /// Empty values sort last whichever the field, so a sorted list starts with something.
    fn cmp(&self, other: &SortKeys, field: SortField) -> Ordering {
        let text = |a: &str, b: &str| a.is_empty().cmp(&b.is_empty()).then_with(|| a.cmp(b));
        let primary = match field {
            SortField::Author => text(&self.author, &other.author),
            SortField::Year => {
                let rank = |y: &(Option<i64>, String)| (y.0.is_none(), y.1.is_empty());
                rank(&self.year)
                    .cmp(&rank(&other.year))
                    .then_with(|| self.year.0.cmp(&other.year.0))
                    .then_with(|| self.year.1.cmp(&other.year.1))
            }
            SortField::Title => text(
                &self.title[self.title_skip..],
                &other.title[other.title_skip..],
            ),
            SortField::Journal => text(&self.journal, &other.journal),
            SortField::Type => self.ref_type.cmp(other.ref_type),
            SortField::DateAdded => Ordering::Equal,
        };
        primary
            .then_with(|| self.date_added.cmp(&other.date_added))
            .then_with(|| self.key.cmp(&other.key))
    }
}

/// The folded text quick search finds a reference by (its words are the runs of letters and
/// digits).
fn search_text(r: &Reference) -> String {
    let mut text = String::new();
    for c in &r.creators {
        text.push_str(&c.name.to_string());
        text.push(' ');
    }
    for f in [
        Field::Title,
        Field::SecondaryTitle,
        Field::Year,
        Field::Abstract,
        Field::Notes,
        Field::Doi,
        Field::Label,
    ] {
        text.push_str(r.get(f));
        text.push(' ');
    }
    for k in &r.keywords {
        text.push_str(k);
        text.push(' ');
    }
    fold::fold(&text)
}

/// The distinct words of folded text, sorted.
fn distinct_words(folded: &str) -> Vec<&str> {
    let mut words: Vec<&str> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words.sort_unstable();
    words.dedup();
    words
}

/// A library held for querying: the references and their indexes.
#[derive(Default)]
pub struct Library {
    /// By internal id; `None` once the reference was replaced or removed.
    refs: Vec<Option<Reference>>,
    sort_keys: Vec<SortKeys>,
    by_key: HashMap<Key, u32>,
    /// Folded word to the ids holding it, ascending (dead ids included until compaction).
    postings: HashMap<Box<str>, Vec<u32>>,
    /// Every word in `postings`, sorted, for prefix lookups.
    vocabulary: Vec<Box<str>>,
    /// Per sort field, every id (dead ones too) in ascending order.
    orders: [Vec<u32>; 6],
    dead: usize,
    /// Every id that died, in the order it did (what [`Library::changes_since`] reports).
    died: Vec<u32>,
    instance: Instance,
}

/// Which library this is: no two [`Library`] values of one process share one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Instance(u64);

impl Default for Instance {
    fn default() -> Instance {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Instance(NEXT.fetch_add(1, AtomicOrdering::Relaxed))
    }
}

/// Where a [`Library`] stood: what [`Library::changes_since`] counts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    /// The library's own number: a rebuilt or another library has another.
    pub library: u64,
    next_id: u32,
    died: usize,
}

/// What changed in a [`Library`] since a [`Mark`].
#[derive(Debug)]
pub struct Changes<'a> {
    /// The mark was of another library (or there was none): forget every id held before,
    /// `added` is the whole library.
    pub everything: bool,
    /// References (by their new id) added or edited since, alive now, in id order.
    pub added: Vec<(u32, &'a Reference)>,
    /// Ids that died since (edited, removed), which a copy may hold.
    pub removed: Vec<u32>,
    /// Where the library stands now: the mark of the next call.
    pub now: Mark,
}

impl Library {
    pub fn new() -> Library {
        Library::default()
    }

    /// A library of `references` (the last of two with one key wins), built in one pass.
    pub fn from_references(references: impl IntoIterator<Item = Reference>) -> Library {
        let mut lib = Library::new();
        for r in references {
            if let Some(&old) = lib.by_key.get(&r.key) {
                lib.refs[old as usize] = None;
                lib.dead += 1;
                lib.died.push(old);
            }
            let id = lib.refs.len() as u32;
            lib.index_words(id, &r, false);
            lib.sort_keys.push(SortKeys::of(&r));
            lib.by_key.insert(r.key, id);
            lib.refs.push(Some(r));
        }
        lib.vocabulary = lib.postings.keys().cloned().collect();
        lib.vocabulary.sort_unstable();
        for field in SortField::ALL {
            let keys = &lib.sort_keys;
            let mut order: Vec<u32> = (0..lib.refs.len() as u32).collect();
            order.sort_by(|&a, &b| keys[a as usize].cmp(&keys[b as usize], field));
            lib.orders[field.index()] = order;
        }
        lib
    }

    /// Add `id` to the postings of `r`'s words; with `keep_sorted`, a new word also goes
    /// into the vocabulary at its place (a bulk build sorts the vocabulary once at the end).
    fn index_words(&mut self, id: u32, r: &Reference, keep_sorted: bool) {
        let text = search_text(r);
        for w in distinct_words(&text) {
            match self.postings.get_mut(w) {
                Some(ids) => ids.push(id),
                None => {
                    self.postings.insert(w.into(), vec![id]);
                    if keep_sorted {
                        let at = self.vocabulary.partition_point(|v| &**v < w);
                        self.vocabulary.insert(at, w.into());
                    }
                }
            }
        }
    }

    /// Add a reference, or replace the one with its key. Costs the reference's own words and
    /// one insertion per sort order, whatever the library's size.
    pub fn upsert(&mut self, r: Reference) {
        self.kill(&r.key);
        let id = self.refs.len() as u32;
        self.index_words(id, &r, true);
        let keys = SortKeys::of(&r);
        for field in SortField::ALL {
            let order = &mut self.orders[field.index()];
            let sort_keys = &self.sort_keys;
            let at = order
                .partition_point(|&o| sort_keys[o as usize].cmp(&keys, field) == Ordering::Less);
            order.insert(at, id);
        }
        self.sort_keys.push(keys);
        self.by_key.insert(r.key, id);
        self.refs.push(Some(r));
        self.compact_if_worth_it();
    }

    /// Remove the reference with `key` (a permanent delete); returns it.
    pub fn remove(&mut self, key: &Key) -> Option<Reference> {
        let id = self.by_key.remove(key)?;
        let r = self.refs.get_mut(id as usize)?.take();
        self.dead += 1;
        self.died.push(id);
        self.compact_if_worth_it();
        r
    }

    fn kill(&mut self, key: &Key) {
        if let Some(id) = self.by_key.remove(key) {
            if let Some(slot) = self.refs.get_mut(id as usize) {
                *slot = None;
                self.dead += 1;
                self.died.push(id);
            }
        }
    }

    fn compact_if_worth_it(&mut self) {
        if self.dead > 4096 && self.dead > self.len() {
            let live: Vec<Reference> = self.refs.drain(..).flatten().collect();
            *self = Library::from_references(live);
        }
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The id `key` has in this index now (ids change when a reference is edited).
    pub fn id_of(&self, key: &Key) -> Option<u32> {
        self.by_key.get(key).copied()
    }

    pub fn get(&self, key: &Key) -> Option<&Reference> {
        let id = *self.by_key.get(key)?;
        self.refs.get(id as usize)?.as_ref()
    }

    /// The reference with internal id `id`, while that version is alive.
    pub fn at(&self, id: u32) -> Option<&Reference> {
        self.refs.get(id as usize)?.as_ref()
    }

    /// Where the library stands now.
    pub fn mark(&self) -> Mark {
        Mark {
            library: self.instance.0,
            next_id: self.refs.len() as u32,
            died: self.died.len(),
        }
    }

    /// What changed since `since` (everything, from no mark or another library's).
    pub fn changes_since(&self, since: Option<Mark>) -> Changes<'_> {
        let now = self.mark();
        match since {
            Some(m) if m.library == now.library => Changes {
                everything: false,
                added: self
                    .refs
                    .iter()
                    .enumerate()
                    .skip(m.next_id as usize)
                    .filter_map(|(i, r)| r.as_ref().map(|r| (i as u32, r)))
                    .collect(),
                removed: self.died.get(m.died..).unwrap_or_default().to_vec(),
                now,
            },
            _ => Changes {
                everything: true,
                added: self.live().collect(),
                removed: Vec::new(),
                now,
            },
        }
    }

    /// Every reference, in no particular order.
    pub fn references(&self) -> impl Iterator<Item = &Reference> {
        self.refs.iter().flatten()
    }

    fn id_space(&self) -> usize {
        self.refs.len()
    }

    fn live(&self) -> impl Iterator<Item = (u32, &Reference)> {
        self.refs
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().map(|r| (i as u32, r)))
    }

    /// The keys of the references in `selection` (all when `None`), sorted.
    pub fn sorted(&self, selection: Option<&Bits>, sort: Sort) -> Vec<Key> {
        let order = &self.orders[sort.field.index()];
        let pick = |&id: &u32| -> Option<Key> {
            let r = self.refs.get(id as usize)?.as_ref()?;
            selection.is_none_or(|s| s.contains(id)).then_some(r.key)
        };
        if sort.descending {
            order.iter().rev().filter_map(pick).collect()
        } else {
            order.iter().filter_map(pick).collect()
        }
    }

    /// Quick search: every word typed must begin a word of the reference's authors, title,
    /// secondary title, year, keywords, abstract, notes, DOI or label; case and accents do not
    /// matter. An empty query matches everything.
    pub fn quick_search(&self, query: &str, sort: Sort) -> Vec<Key> {
        let selection = self.quick_search_ids(query);
        self.sorted(selection.as_ref(), sort)
    }

    /// The ids quick search finds (`None` for an empty query: everything).
    pub fn quick_search_ids(&self, query: &str) -> Option<Bits> {
        let mut words: Vec<String> = fold::words(query).collect();
        // Longer words first: they match fewer index entries, so the intersection shrinks
        // early; a word that is a prefix of another adds nothing.
        crate::sort::sort_by_key(&mut words, |w| std::cmp::Reverse(w.len()));
        words.dedup();
        let mut result: Option<Bits> = None;
        for w in &words {
            let mut matches = Bits::empty(self.id_space());
            let from = self.vocabulary.partition_point(|v| **v < *w.as_str());
            let words = self.vocabulary[from..]
                .iter()
                .take_while(|v| v.starts_with(w.as_str()));
            for ids in words.filter_map(|v| self.postings.get(v)) {
                for &id in ids {
                    if result.as_ref().is_none_or(|r| r.contains(id)) {
                        matches.insert(id);
                    }
                }
            }
            result = Some(matches);
        }
        result
    }

    /// The ids of every live reference.
    pub fn all_ids(&self) -> Bits {
        let mut b = Bits::empty(self.id_space());
        for (id, _) in self.live() {
            b.insert(id);
        }
        b
    }

    /// The ids of the live references `keep` says yes to (a collection such as Trash or
    /// Unfiled, to combine with a search or a group).
    pub fn ids_where(&self, keep: impl Fn(&Reference) -> bool) -> Bits {
        let mut b = Bits::empty(self.id_space());
        for (id, r) in self.live() {
            if keep(r) {
                b.insert(id);
            }
        }
        b
    }

    /// The keys of the references whose ids are in `selection`, in no particular order.
    pub fn keys_of(&self, selection: &Bits) -> Vec<Key> {
        selection
            .iter()
            .filter_map(|id| self.refs.get(id as usize)?.as_ref().map(|r| r.key))
            .collect()
    }
}

#[cfg(test)]
mod tests;
