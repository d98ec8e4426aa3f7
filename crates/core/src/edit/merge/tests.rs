#![allow(clippy::unwrap_used)]
use super::*;
use crate::edit::actions;
use crate::model::{Creator, CreatorRole, Name};
use crate::query::{DuplicateReason, Library};
use crate::sync::merge::merge_reference;
use crate::{Attachment, RefType};

use crate::edit::testing::{key, Lib};

fn article(n: u8, title: &str) -> Reference {
    let mut r = Reference::new(key(n), RefType::JournalArticle, u64::from(n));
    r.set(Field::Title, title);
    r.set(Field::Year, "1962");
    r.creators.push(Creator {
        name: Name::person("Kuhn", "Thomas"),
        role: CreatorRole::Author,
    });
    r
}

fn attachment(n: u8, parent: u8, role: AttachmentRole) -> Attachment {
    crate::edit::testing::file(n, parent, &format!("{n:064}"), role)
}

/// Two copies of one work, as a first sync of two libraries leaves them.
fn two_copies() -> Lib {
    let mut a = article(1, "The structure of scientific revolutions");
    a.set(Field::SecondaryTitle, "Chicago");
    a.set(Field::Notes, "Read for the seminar.");
    a.keywords = vec!["paradigm".into()];
    a.groups.insert(key(50));
    let mut b = article(2, "The Structure of Scientific Revolutions");
    b.set(Field::Doi, "10.1000/ssr");
    b.set(Field::Notes, "Read for the seminar.\n\nChapter 9 matters.");
    b.keywords = vec!["paradigm".into(), "science".into()];
    b.groups.insert(key(51));
    b.rating = 4;
    b.attachments = vec![key(30), key(31)];
    let mut lib = Lib {
        refs: vec![a, b],
        ..Lib::default()
    };
    lib.attachments
        .insert(key(30), attachment(30, 2, AttachmentRole::File));
    lib.attachments
        .insert(key(31), attachment(31, 2, AttachmentRole::Figure));
    lib
}

#[test]
fn a_merge_keeps_one_record_with_everything_and_trashes_the_rest() {
    let mut lib = two_copies();
    // A pick of the notes (as a compare window's default would make) does not undo the join.
    let picks = crate::sort::map_of([
        ("title".to_string(), Take::From(key(2))),
        ("notes".to_string(), Take::From(key(1))),
    ]);
    assert!(!is_picked("notes") && !is_picked("research_notes"));
    let writes = merge(&lib, key(1), &[key(2)], &picks, 100).unwrap();
    lib.apply(&writes);
    let kept = lib.get(key(1));
    // The picked value, the kept record's own values, empty fields filled from the other.
    assert_eq!(kept.title(), "The Structure of Scientific Revolutions");
    assert_eq!(kept.get(Field::SecondaryTitle), "Chicago");
    assert_eq!(kept.get(Field::Doi), "10.1000/ssr");
    // Unions, joined notes (each paragraph once), the highest rating.
    assert_eq!(kept.keywords, ["paradigm", "science"]);
    assert_eq!(kept.groups, crate::sort::set_of([key(50), key(51)]));
    assert_eq!(
        kept.get(Field::Notes),
        "Read for the seminar.\n\nChapter 9 matters."
    );
    assert_eq!(kept.rating, 4);
    assert_eq!(kept.attachments, [key(30), key(31)]);
    assert!(!kept.trashed);
    assert_eq!(kept.date_modified, 100);
    // Both files now belong to the kept record; the figure stays a figure.
    assert_eq!(lib.attachments[&key(30)].parent, key(1));
    assert_eq!(lib.attachments[&key(31)].role, AttachmentRole::Figure);
    // The other waits in the Trash, whole, saying where it went.
    let away = lib.get(key(2));
    assert!(away.trashed);
    assert_eq!(away.merged_into, Some(key(1)));
    assert_eq!(away.get(Field::Doi), "10.1000/ssr");
    assert!(away.attachments.is_empty());
    // Nothing is left for Possible Duplicates.
    assert!(Library::from_references(lib.refs.clone())
        .duplicates()
        .is_empty());
}

#[test]
fn restoring_a_merged_away_record_undoes_its_merge() {
    let mut lib = two_copies();
    lib.apply(&merge(&lib, key(1), &[key(2)], &BTreeMap::new(), 100).unwrap());
    lib.apply(&actions::restore(&lib, &[key(2)], 200));
    let back = lib.get(key(2));
    assert!(!back.trashed);
    assert_eq!(back.merged_into, None);
    assert_eq!(back.attachments, [key(30), key(31)]);
    assert_eq!(lib.attachments[&key(30)].parent, key(2));
    assert_eq!(lib.attachments[&key(30)].merged_from, None);
    assert!(lib.get(key(1)).attachments.is_empty());
}

#[test]
fn a_second_figure_moves_in_as_a_file() {
    let mut lib = two_copies();
    lib.refs[0].attachments = vec![key(32)];
    lib.attachments
        .insert(key(32), attachment(32, 1, AttachmentRole::Figure));
    lib.apply(&merge(&lib, key(1), &[key(2)], &BTreeMap::new(), 100).unwrap());
    assert_eq!(lib.attachments[&key(32)].role, AttachmentRole::Figure);
    assert_eq!(lib.attachments[&key(31)].role, AttachmentRole::File);
    assert_eq!(lib.get(key(1)).attachments, [key(32), key(30), key(31)]);
}

#[test]
fn a_merge_refuses_what_it_cannot_do_in_words() {
    let lib = two_copies();
    let none = BTreeMap::new();
    assert!(merge(&lib, key(9), &[key(2)], &none, 1)
        .unwrap_err()
        .contains("deleted meanwhile"));
    assert!(merge(&lib, key(1), &[key(1)], &none, 1)
        .unwrap_err()
        .contains("at least two"));
    let mut trashed = two_copies();
    trashed.refs[1].trashed = true;
    assert!(merge(&trashed, key(1), &[key(2)], &none, 1)
        .unwrap_err()
        .contains("Trash"));
}

#[test]
fn an_edited_text_wins_over_both_records() {
    let lib = two_copies();
    let picks = crate::sort::map_of([(
        "title".to_string(),
        Take::Text("The structure of scientific revolutions (2nd ed.)".into()),
    )]);
    let kept = merged(&lib.refs[0], &[&lib.refs[1]], &picks);
    assert_eq!(
        kept.title(),
        "The structure of scientific revolutions (2nd ed.)"
    );
}

#[test]
fn the_compare_rows_show_each_records_value_side_by_side() {
    let lib = two_copies();
    let rows = compare(&[&lib.refs[0], &lib.refs[1]], |k| k.to_string());
    let title = rows.iter().find(|r| r.id == "title").unwrap();
    assert!(title.differs());
    let doi = rows.iter().find(|r| r.id == "doi").unwrap();
    assert_eq!(doi.values, ["", "10.1000/ssr"]);
    let year = rows.iter().find(|r| r.id == "year").unwrap();
    assert!(!year.differs());
    // The model's order, whichever record holds a part first.
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    assert!(ids.iter().position(|i| *i == "title") < ids.iter().position(|i| *i == "doi"));
    assert!(!is_picked("groups") && is_picked("title"));
}

#[test]
fn not_duplicates_is_remembered_and_can_be_undone() {
    let mut lib = two_copies();
    assert_eq!(
        Library::from_references(lib.refs.clone())
            .duplicates()
            .len(),
        1
    );
    lib.apply(&not_duplicates(&lib, &[key(1), key(2)], 5));
    assert!(lib.get(key(1)).not_duplicates.contains(&key(2)));
    assert!(Library::from_references(lib.refs.clone())
        .duplicates()
        .is_empty());
    // A third copy matching both brings them back in one set: it may be either's twin.
    let mut third = article(3, "The structure of scientific revolutions");
    third.set(Field::Doi, "10.1000/ssr");
    lib.refs.push(third);
    let sets = Library::from_references(lib.refs.clone()).duplicates();
    assert_eq!(sets.len(), 1);
    assert_eq!(sets[0].keys, [key(1), key(2), key(3)]);
    lib.refs.pop();
    lib.apply(&duplicates_again(&lib, &[key(1), key(2)], 6));
    assert_eq!(
        Library::from_references(lib.refs.clone())
            .duplicates()
            .len(),
        1
    );
}

#[test]
fn an_import_is_told_which_records_are_already_here() {
    let lib = two_copies();
    let library = Library::from_references(lib.refs.clone());
    let mut again = article(7, "The structure of scientific revolutions.");
    again.set(Field::Doi, "https://doi.org/10.1000/SSR");
    let new = article(8, "The copernican revolution");
    let found = library.already_here(&[again, new]);
    assert_eq!(found[0], Some((key(1), DuplicateReason::Doi)));
    assert_eq!(found[1], None);
}

#[test]
fn identifier_merges_keep_the_fullest_record_of_each_set() {
    let mut lib = two_copies();
    lib.refs[0].set(Field::Doi, "10.1000/SSR");
    let sets = Library::from_references(lib.refs.clone()).duplicates();
    assert_eq!(sets[0].reason, DuplicateReason::Doi);
    assert_eq!(identifier_merges(&lib, &sets), vec![(key(2), vec![key(1)])]);
    // A set found only by likeness is left for a person to compare.
    lib.refs[0].fields.remove("doi");
    lib.refs[1].fields.remove("doi");
    let sets = Library::from_references(lib.refs.clone()).duplicates();
    assert!(identifier_merges(&lib, &sets).is_empty());
}

#[test]
fn an_edit_to_a_merged_away_copy_on_another_device_becomes_a_conflict() {
    let lib = two_copies();
    let base = lib.refs[1].clone();
    let mut here = Lib {
        refs: lib.refs.clone(),
        ..Lib::default()
    };
    here.attachments = lib.attachments.clone();
    here.apply(&merge(&here, key(1), &[key(2)], &BTreeMap::new(), 100).unwrap());
    let merged_away = here.get(key(2)).clone();
    let mut edited = base.clone();
    edited.set(Field::Pages, "1-210");
    for (local, remote) in [(&merged_away, &edited), (&edited, &merged_away)] {
        let m = merge_reference(&base, local, remote);
        assert!(
            m.conflicts.contains(&"merged_into".to_string()),
            "{:?}",
            m.conflicts
        );
    }
    // Trashing or rating it elsewhere is no edit worth a conflict.
    let mut rated = base.clone();
    rated.rating = 5;
    assert!(merge_reference(&base, &merged_away, &rated)
        .conflicts
        .is_empty());
}

#[test]
fn the_set_id_is_stable_and_short() {
    let lib = two_copies();
    let sets = Library::from_references(lib.refs.clone()).duplicates();
    let again =
        Library::from_references(lib.refs.iter().rev().cloned().collect::<Vec<_>>()).duplicates();
    assert_eq!(sets[0].id(), again[0].id());
    assert_eq!(sets[0].id().len(), 8);
}
