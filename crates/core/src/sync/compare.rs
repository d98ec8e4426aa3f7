//! The two copies of a conflicted reference side by side, and the copy a person composes
//! from them field by field: what the web app's Sync Conflicts view and the CLI's
//! `conflicts show|resolve` both show and build.
//!
//! Invariants: every part of a reference that merging compares appears as exactly one row, so
//! a row-by-row choice can rebuild any mix of the two copies; a composed copy starts from the
//! online copy (the base the resolution is written on), so a part nobody picked stays as it is
//! online.

use crate::model::{format_creators_for_editing, Field, Reference, TextMap};
use crate::Key;
use std::collections::{BTreeMap, BTreeSet};

/// One part of a reference, as both copies hold it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// What [`compose`] calls it: "type", "creators", "keywords", "groups", "attachments",
    /// "rating", "read", "trashed", "merged_into", a field id ("title"), or "extra:<name>".
    pub id: String,
    /// What a person calls it.
    pub label: String,
    pub local: String,
    pub online: String,
    /// Free text that may be edited before keeping (fields and imported extras).
    pub editable: bool,
}

impl Row {
    pub fn differs(&self) -> bool {
        self.local != self.online
    }
}

/// What to keep of one row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pick {
    Local,
    Online,
    /// This text (editable rows only; other rows keep the online value).
    Text(String),
}

/// Every part either copy holds, in the order a reference is read: type, creators, the
/// fields in their usual order, keywords, groups, attachments, rating, read, Trash, extras.
/// `group_name` names a group key for display.
pub fn rows(
    local: &Reference,
    online: &Reference,
    group_name: impl Fn(&Key) -> String,
) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut push = |id: String, label: String, l: String, o: String, editable: bool| {
        if !l.is_empty() || !o.is_empty() {
            rows.push(Row {
                id,
                label,
                local: l,
                online: o,
                editable,
            });
        }
    };
    push(
        "type".into(),
        "Reference type".into(),
        local.ref_type.label().into(),
        online.ref_type.label().into(),
        false,
    );
    push(
        "creators".into(),
        "Authors and editors".into(),
        format_creators_for_editing(&local.creators),
        format_creators_for_editing(&online.creators),
        false,
    );
    let ids: BTreeSet<&String> =
        crate::sort::set_of(local.fields.keys().chain(online.fields.keys()));
    let mut ids: Vec<&String> = ids.into_iter().collect();
    // Known fields in the model's order, then any this version does not know.
    crate::sort::sort_by_key(&mut ids, |id| {
        (Field::from_id(id).map_or(usize::MAX, |f| f as usize), *id)
    });
    for id in ids {
        // The type's own name for the field ("Journal", not "Secondary Title"); both when
        // the two copies' types name it differently.
        let label = Field::from_id(id).map_or_else(
            || id.clone(),
            |f| {
                let (l, o) = (
                    local.ref_type.field_label(f),
                    online.ref_type.field_label(f),
                );
                if l == o {
                    l.to_string()
                } else {
                    format!("{l} / {o}")
                }
            },
        );
        push(
            id.clone(),
            label,
            local.fields.get(id).cloned().unwrap_or_default(),
            online.fields.get(id).cloned().unwrap_or_default(),
            true,
        );
    }
    push(
        "keywords".into(),
        "Keywords".into(),
        local.keywords.join("\n"),
        online.keywords.join("\n"),
        false,
    );
    let names = |groups: &BTreeSet<Key>| {
        let mut names: Vec<String> = groups.iter().map(&group_name).collect();
        crate::sort::sort_by_key(&mut names, |n| n.to_lowercase());
        names.join("\n")
    };
    push(
        "groups".into(),
        "Groups".into(),
        names(&local.groups),
        names(&online.groups),
        false,
    );
    let files = |n: usize| match n {
        0 => String::new(),
        1 => "1 file".into(),
        n => format!("{n} files"),
    };
    push(
        "attachments".into(),
        "Attachments".into(),
        files(local.attachments.len()),
        files(online.attachments.len()),
        false,
    );
    let stars = |n: u8| match n {
        0 => String::new(),
        n => format!("{n} of 5"),
    };
    push(
        "rating".into(),
        "Rating".into(),
        stars(local.rating),
        stars(online.rating),
        false,
    );
    let read = |r: bool| if r { "Read" } else { "Unread" }.to_string();
    push(
        "read".into(),
        "Read".into(),
        read(local.read),
        read(online.read),
        false,
    );
    let trash = |t: bool| if t { "In the Trash" } else { "" }.to_string();
    push(
        "trashed".into(),
        "Trash".into(),
        trash(local.trashed),
        trash(online.trashed),
        false,
    );
    let merged = |m: Option<Key>| {
        m.map(|_| "Merged into another reference".to_string())
            .unwrap_or_default()
    };
    push(
        "merged_into".into(),
        "Merged".into(),
        merged(local.merged_into),
        merged(online.merged_into),
        false,
    );
    let extras: BTreeSet<&String> =
        crate::sort::set_of(local.extra.keys().chain(online.extra.keys()));
    for name in extras {
        push(
            format!("extra:{name}"),
            name.clone(),
            local.extra.get(name).cloned().unwrap_or_default(),
            online.extra.get(name).cloned().unwrap_or_default(),
            true,
        );
    }
    rows
}

fn set_text(map: &mut TextMap, name: &str, value: Option<&String>) {
    match value.map(|v| v.trim_end()).filter(|v| !v.is_empty()) {
        Some(v) => {
            map.insert(name.to_string(), v.to_string());
        }
        None => {
            map.remove(name);
        }
    }
}

/// The copy made of `online` with each picked row taken from `local` or set to the given
/// text. Rows not in `picks` stay as they are online. `date_modified` is left for the caller.
pub fn compose(local: &Reference, online: &Reference, picks: &BTreeMap<String, Pick>) -> Reference {
    let mut out = online.clone();
    for (id, pick) in picks {
        let text = match pick {
            Pick::Online => continue,
            Pick::Text(t) => Some(t),
            Pick::Local => None,
        };
        match id.as_str() {
            "type" => out.ref_type = local.ref_type,
            "creators" => out.creators = local.creators.clone(),
            "keywords" => out.keywords = local.keywords.clone(),
            "groups" => out.groups = local.groups.clone(),
            "attachments" => out.attachments = local.attachments.clone(),
            "rating" => out.rating = local.rating,
            "read" => out.read = local.read,
            "trashed" => out.trashed = local.trashed,
            "merged_into" => out.merged_into = local.merged_into,
            other => {
                let (map, from, name) = match other.strip_prefix("extra:") {
                    Some(name) => (&mut out.extra, &local.extra, name),
                    None => (&mut out.fields, &local.fields, other),
                };
                set_text(map, name, text.or_else(|| from.get(name)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Creator, CreatorRole, Name};
    use crate::RefType;

    fn pair() -> (Reference, Reference) {
        let mut base = Reference::new(Key::new(1, [3; 10]), RefType::JournalArticle, 0);
        base.set(Field::Title, "A title");
        base.set(Field::Year, "2001");
        base.creators.push(Creator {
            name: Name::person("Kuhn", "Thomas"),
            role: CreatorRole::Author,
        });
        let mut local = base.clone();
        local.set(Field::Title, "Local title");
        local.set(Field::Pages, "1-10");
        local.rating = 4;
        let mut online = base;
        online.set(Field::Title, "Online title");
        online.keywords.push("online".into());
        online.add_extra("ris:Y3", "x");
        (local, online)
    }

    #[test]
    fn rows_list_every_part_once_and_mark_what_differs() {
        let (local, online) = pair();
        let rows = rows(&local, &online, |k| k.to_string());
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "type",
                "creators",
                "title",
                "year",
                "pages",
                "keywords",
                "rating",
                "read",
                "extra:ris:Y3"
            ]
        );
        let differing: Vec<&str> = rows
            .iter()
            .filter(|r| r.differs())
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(
            differing,
            ["title", "pages", "keywords", "rating", "extra:ris:Y3"]
        );
        let title = &rows[2];
        assert_eq!(
            (
                title.label.as_str(),
                title.local.as_str(),
                title.online.as_str()
            ),
            ("Title", "Local title", "Online title")
        );
        assert!(title.editable && !rows[0].editable);
    }

    #[test]
    fn rows_are_labelled_as_the_type_names_its_fields() {
        let (mut local, mut online) = pair();
        local.set(Field::SecondaryTitle, "Addiction");
        online.set(Field::SecondaryTitle, "Journal of Gambling Studies");
        let label = |l: &Reference, o: &Reference| {
            rows(l, o, |_| String::new())
                .into_iter()
                .find(|r| r.id == "secondary_title")
                .map(|r| r.label)
        };
        assert_eq!(label(&local, &online).as_deref(), Some("Journal"));
        online.ref_type = RefType::Book;
        assert_eq!(
            label(&local, &online).as_deref(),
            Some("Journal / Series Title")
        );
    }

    #[test]
    fn compose_takes_each_pick_and_keeps_the_rest_online() {
        let (local, online) = pair();
        let picks = BTreeMap::from([
            ("title".to_string(), Pick::Text("Merged title  ".into())),
            ("pages".to_string(), Pick::Local),
            ("rating".to_string(), Pick::Local),
            ("keywords".to_string(), Pick::Online),
            ("extra:ris:Y3".to_string(), Pick::Text(String::new())),
        ]);
        let merged = compose(&local, &online, &picks);
        assert_eq!(merged.title(), "Merged title");
        assert_eq!(merged.get(Field::Pages), "1-10");
        assert_eq!(merged.rating, 4);
        assert_eq!(merged.keywords, vec!["online"]);
        assert!(merged.extra.is_empty(), "an emptied extra is removed");
        assert_eq!(compose(&local, &online, &BTreeMap::new()), online);
        let all_local: BTreeMap<String, Pick> = rows(&local, &online, |_| String::new())
            .into_iter()
            .map(|r| (r.id, Pick::Local))
            .collect();
        let mut expect = local.clone();
        expect.date_modified = online.date_modified;
        expect.date_added = online.date_added;
        assert_eq!(compose(&local, &online, &all_local), expect);
    }
}
