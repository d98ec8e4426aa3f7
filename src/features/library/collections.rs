//! What the left pane can select, and which references each shows.
//!
//! Invariant: trashed references appear only in the Trash (and the Trash shows nothing
//! else), whatever group or search is chosen, as in EndNote.

use super::LibraryData;
use refsync_core::query::{Bits, DuplicateSet, Sort};
use refsync_core::{GroupKind, Key};
use std::collections::HashSet;

/// How long a reference counts as recently added.
pub const RECENT_DAYS: u64 = 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Collection {
    All,
    Unfiled,
    Recent,
    Trash,
    Duplicates,
    /// References the last syncs could not merge, waiting for the person (EndNote's Sync
    /// Conflicts group).
    Conflicts,
    Group(Key),
}

/// What a collection shows: the keys in order, or why it cannot be shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    pub keys: Vec<Key>,
    pub problem: Option<String>,
}

impl Collection {
    /// How the open collection is kept across reloads ("all", "group:<key>", ...).
    pub fn to_text(self) -> String {
        match self {
            Collection::All => "all".into(),
            Collection::Unfiled => "unfiled".into(),
            Collection::Recent => "recent".into(),
            Collection::Trash => "trash".into(),
            Collection::Duplicates => "duplicates".into(),
            Collection::Conflicts => "conflicts".into(),
            Collection::Group(k) => format!("group:{k}"),
        }
    }

    pub fn from_text(text: &str) -> Option<Collection> {
        Some(match text {
            "all" => Collection::All,
            "unfiled" => Collection::Unfiled,
            "recent" => Collection::Recent,
            "trash" => Collection::Trash,
            "duplicates" => Collection::Duplicates,
            "conflicts" => Collection::Conflicts,
            other => Collection::Group(Key::parse(other.strip_prefix("group:")?).ok()?),
        })
    }

    /// Whether the collection can be shown in `data` (a group may have been deleted, the
    /// conflicts settled, since it was kept).
    pub fn exists_in(self, data: &LibraryData) -> bool {
        match self {
            Collection::Group(k) => data.groups.contains_key(&k),
            Collection::Conflicts => !data.conflicts.is_empty(),
            _ => true,
        }
    }

    pub fn title(self, data: &LibraryData) -> String {
        match self {
            Collection::All => "All References".into(),
            Collection::Unfiled => "Unfiled".into(),
            Collection::Recent => "Recently Added".into(),
            Collection::Trash => "Trash".into(),
            Collection::Duplicates => "Possible Duplicates".into(),
            Collection::Conflicts => "Sync Conflicts".into(),
            Collection::Group(k) => data
                .groups
                .get(&k)
                .map_or_else(|| "Group".into(), |g| g.name.clone()),
        }
    }

    /// The references to list, searched and sorted.
    /// The collection's references that match `search` (and hold `keyword`, when the keyword
    /// pane filters), sorted; `keep` are references that
    /// stay listed while they are in the collection even if they no longer match (the one
    /// being edited, whose title is changing under the search). Possible Duplicates lists
    /// `duplicates`, the sets the duplicates worker found (`Library::duplicates`).
    #[allow(clippy::too_many_arguments)]
    pub fn listing(
        self,
        data: &LibraryData,
        duplicates: &[DuplicateSet],
        search: &str,
        sort: Sort,
        now: u64,
        keep: &[Key],
        keyword: Option<&str>,
    ) -> Listing {
        let refs = &data.refs;
        let mut problem = None;
        match self {
            Collection::Duplicates => return duplicate_listing(data, duplicates, search),
            Collection::Conflicts => return conflicts(data, search),
            _ => {}
        }
        let mut ids: Bits = match self {
            Collection::All => refs.ids_where(|r| !r.trashed),
            Collection::Unfiled => refs.ids_where(|r| !r.trashed && r.groups.is_empty()),
            Collection::Recent => {
                let since = now.saturating_sub(RECENT_DAYS * 24 * 3600 * 1000);
                refs.ids_where(|r| !r.trashed && r.date_added >= since)
            }
            Collection::Trash => refs.ids_where(|r| r.trashed),
            Collection::Duplicates | Collection::Conflicts => Bits::empty(0),
            Collection::Group(g) => match refs.group_ids(&data.groups, g) {
                Ok(mut ids) => {
                    ids.and_not(&refs.ids_where(|r| r.trashed));
                    ids
                }
                Err(e) => {
                    problem = Some(e.to_string());
                    Bits::empty(0)
                }
            },
        };
        if let Some(keyword) = keyword {
            ids.and(&refs.ids_where(|r| r.keywords.iter().any(|k| k == keyword)));
        }
        if let Some(mut found) = refs.quick_search_ids(search) {
            for id in keep.iter().filter_map(|k| refs.id_of(k)) {
                found.insert(id);
            }
            ids.and(&found);
        }
        Listing {
            keys: refs.sorted(Some(&ids), sort),
            problem,
        }
    }

    /// A custom group, whose members can be removed from it.
    pub fn custom_group(self, data: &LibraryData) -> Option<Key> {
        match self {
            Collection::Group(k) => data
                .groups
                .get(&k)
                .filter(|g| g.kind == GroupKind::Custom)
                .map(|g| g.key),
            _ => None,
        }
    }
}

/// Conflicted references by title; a search matches the title or the authors of either copy
/// (a copy deleted on one side is in no index).
fn conflicts(data: &LibraryData, search: &str) -> Listing {
    let needle = search.trim().to_lowercase();
    let mut found: Vec<(String, Key)> = data
        .conflicts
        .keys()
        .filter_map(|k| data.shown_reference(k).map(|r| (r, *k)))
        .filter(|(r, _)| {
            needle.is_empty()
                || r.title().to_lowercase().contains(&needle)
                || r.author_summary().to_lowercase().contains(&needle)
        })
        .map(|(r, k)| (r.title().to_lowercase(), k))
        .collect();
    refsync_core::sort::sort(&mut found);
    Listing {
        keys: found.into_iter().map(|(_, k)| k).collect(),
        problem: None,
    }
}

/// Probable duplicates, set after set (each set's references together).
fn duplicate_listing(data: &LibraryData, sets: &[DuplicateSet], search: &str) -> Listing {
    let refs = &data.refs;
    let found: Option<HashSet<Key>> = refs
        .quick_search_ids(search)
        .map(|f| refs.keys_of(&f).into_iter().collect());
    let mut seen = HashSet::new();
    let mut keys = Vec::new();
    for set in sets {
        for &k in &set.keys {
            if found.as_ref().is_none_or(|f| f.contains(&k)) && seen.insert(k) {
                keys.push(k);
            }
        }
    }
    Listing {
        keys,
        problem: None,
    }
}
