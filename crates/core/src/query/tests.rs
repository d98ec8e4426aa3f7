use super::*;
use crate::{parse_creators, Connector, Criterion, Group, GroupExpr, GroupKind, Op, RefType};

fn key(n: u64) -> Key {
    Key::new(n, [0; 10])
}

fn r(n: u64, authors: &str, year: &str, title: &str) -> Reference {
    let mut r = Reference::new(key(n), RefType::JournalArticle, n * 1000);
    r.creators = parse_creators(authors, CreatorRole::Author);
    r.set(Field::Year, year);
    r.set(Field::Title, title);
    r
}

fn sample() -> Library {
    let mut a = r(1, "Müller, Hans", "2019", "Über Gletscher");
    a.set(Field::SecondaryTitle, "Nature");
    a.keywords = vec!["glaciology".into()];
    let mut b = r(
        2,
        "Smith, Jane; Jones, Ann",
        "2021",
        "Glacier retreat in the Alps",
    );
    b.set(Field::Doi, "10.1000/xyz");
    b.set(Field::SecondaryTitle, "Science");
    let mut c = r(3, "Anders, Bo", "in press", "Ice cores");
    c.set(Field::Abstract, "We drilled ice in Greenland.");
    c.ref_type = RefType::Book;
    let d = r(4, "", "", "");
    Library::from_references([a, b, c, d])
}

fn asc(field: SortField) -> Sort {
    Sort {
        field,
        descending: false,
    }
}

#[test]
fn quick_search_folds_case_and_accents_and_matches_prefixes() {
    let lib = sample();
    assert_eq!(lib.quick_search("muller", Sort::default()), vec![key(1)]);
    assert_eq!(lib.quick_search("MÜLL", Sort::default()), vec![key(1)]);
    assert_eq!(lib.quick_search("uber", Sort::default()), vec![key(1)]);
    assert_eq!(
        lib.quick_search("glac", asc(SortField::DateAdded)),
        vec![key(1), key(2)]
    );
}

#[test]
fn quick_search_needs_every_word_and_reaches_every_searched_field() {
    let lib = sample();
    assert_eq!(
        lib.quick_search("glacier alps", Sort::default()),
        vec![key(2)]
    );
    assert!(lib
        .quick_search("glacier greenland", Sort::default())
        .is_empty());
    assert_eq!(
        lib.quick_search("10.1000/xyz", Sort::default()),
        vec![key(2)]
    );
    assert_eq!(
        lib.quick_search("greenland", Sort::default()),
        vec![key(3)],
        "abstract"
    );
    assert_eq!(
        lib.quick_search("glaciology", Sort::default()),
        vec![key(1)],
        "keywords"
    );
    assert_eq!(
        lib.quick_search("science", Sort::default()),
        vec![key(2)],
        "journal"
    );
    assert_eq!(
        lib.quick_search("jones", Sort::default()),
        vec![key(2)],
        "second author"
    );
    assert_eq!(
        lib.quick_search("2021", Sort::default()),
        vec![key(2)],
        "year"
    );
    assert_eq!(
        lib.quick_search("  ", Sort::default()).len(),
        4,
        "an empty query is everything"
    );
}

#[test]
fn every_sort_in_both_directions_with_empty_values_last() {
    let lib = sample();
    assert_eq!(
        lib.quick_search("", asc(SortField::Author)),
        vec![key(3), key(1), key(2), key(4)]
    );
    assert_eq!(
        lib.quick_search("", asc(SortField::Year)),
        vec![key(1), key(2), key(3), key(4)]
    );
    assert_eq!(
        lib.quick_search("", asc(SortField::Title)),
        vec![key(2), key(3), key(1), key(4)]
    );
    assert_eq!(
        lib.quick_search("", asc(SortField::Journal)),
        vec![key(1), key(2), key(3), key(4)]
    );
    assert_eq!(
        lib.quick_search("", asc(SortField::Type)),
        vec![key(3), key(1), key(2), key(4)]
    );
    assert_eq!(
        lib.quick_search("", asc(SortField::DateAdded)),
        vec![key(1), key(2), key(3), key(4)]
    );
    let desc = Sort {
        field: SortField::DateAdded,
        descending: true,
    };
    assert_eq!(
        lib.quick_search("", desc),
        vec![key(4), key(3), key(2), key(1)]
    );
}

#[test]
fn ties_keep_one_stable_order() {
    let refs: Vec<Reference> = (1..=5).map(|n| r(n, "Same, A", "2000", "Same")).collect();
    let lib = Library::from_references(refs.iter().rev().cloned());
    let once = lib.quick_search("", asc(SortField::Author));
    assert_eq!(
        once,
        (1..=5).map(key).collect::<Vec<_>>(),
        "ties by date added"
    );
    assert_eq!(lib.quick_search("same", asc(SortField::Author)), once);
}

#[test]
fn edits_and_removals_update_the_index_without_a_rebuild() {
    let mut lib = sample();
    let mut b = lib.get(&key(2)).cloned().unwrap();
    b.set(Field::Title, "Permafrost thaw");
    lib.upsert(b);
    assert!(
        lib.quick_search("alps", Sort::default()).is_empty(),
        "old words are gone"
    );
    assert_eq!(
        lib.quick_search("permafrost", Sort::default()),
        vec![key(2)]
    );
    assert_eq!(
        lib.quick_search("", asc(SortField::Title)),
        vec![key(3), key(2), key(1), key(4)]
    );
    assert_eq!(lib.len(), 4);
    lib.upsert(r(9, "Zed, Z", "1999", "Alpine lakes"));
    assert_eq!(lib.quick_search("alp", Sort::default()), vec![key(9)]);
    assert_eq!(lib.remove(&key(1)).map(|r| r.key), Some(key(1)));
    assert!(lib.quick_search("muller", Sort::default()).is_empty());
    assert_eq!(lib.len(), 4);
}

#[test]
fn many_edits_compact_and_keep_answering_the_same() {
    let mut lib =
        Library::from_references((1..=100).map(|n| r(n, "A, B", "2000", &format!("title {n}"))));
    for round in 0..60 {
        for n in 1..=100 {
            lib.upsert(r(n, "A, B", "2000", &format!("title {n} round {round}")));
        }
    }
    assert_eq!(lib.len(), 100);
    assert_eq!(lib.quick_search("round 59", Sort::default()).len(), 100);
    // Only "title 58 round 59" has both words now: the 100 references of round 58 are gone.
    assert_eq!(lib.quick_search("round 58", Sort::default()), vec![key(58)]);
    assert!(lib.refs.len() < 100 * 60, "dead entries were compacted");
}

fn crit(connector: Connector, field: &str, op: Op, value: &str) -> Criterion {
    Criterion {
        connector,
        field: field.into(),
        op,
        value: value.into(),
    }
}

fn ids(lib: &Library, criteria: &[Criterion]) -> Vec<Key> {
    lib.search(criteria, asc(SortField::DateAdded))
}

#[test]
fn each_operator() {
    let lib = sample();
    use Connector::And;
    assert_eq!(
        ids(&lib, &[crit(And, "title", Op::Contains, "GLETSCH")]),
        vec![key(1)]
    );
    assert_eq!(
        ids(&lib, &[crit(And, "title", Op::Is, "ice cores")]),
        vec![key(3)]
    );
    assert_eq!(ids(&lib, &[crit(And, "title", Op::Is, "ice")]), vec![]);
    assert_eq!(
        ids(&lib, &[crit(And, "title", Op::BeginsWith, "glacier")]),
        vec![key(2)]
    );
    assert_eq!(
        ids(&lib, &[crit(And, "year", Op::GreaterThan, "2019")]),
        vec![key(2), key(3)],
        "numbers compare as numbers; text after"
    );
    assert_eq!(
        ids(&lib, &[crit(And, "year", Op::LessThan, "2020")]),
        vec![key(1)]
    );
    assert_eq!(
        ids(&lib, &[crit(And, "title", Op::IsEmpty, "")]),
        vec![key(4)]
    );
    assert_eq!(
        ids(&lib, &[crit(And, "author", Op::Contains, "muller")]),
        vec![key(1)]
    );
    assert_eq!(
        ids(&lib, &[crit(And, "keywords", Op::Is, "glaciology")]),
        vec![key(1)]
    );
    assert_eq!(
        ids(&lib, &[crit(And, "type", Op::Is, "book")]),
        vec![key(3)]
    );
    assert_eq!(
        ids(&lib, &[crit(And, "any_field", Op::Contains, "greenland")]),
        vec![key(3)]
    );
    assert_eq!(
        ids(&lib, &[crit(And, "date_added", Op::LessThan, "1970-01-02")]).len(),
        4
    );
    assert_eq!(
        ids(
            &lib,
            &[crit(And, "date_added", Op::GreaterThan, "1970-01-02")]
        ),
        vec![]
    );
}

#[test]
fn connectors_apply_left_to_right() {
    let lib = sample();
    use Connector::*;
    let glaciers = crit(And, "title", Op::Contains, "glacier");
    let uber = crit(Or, "title", Op::Contains, "über");
    assert_eq!(
        ids(&lib, &[glaciers.clone(), uber.clone()]),
        vec![key(1), key(2)]
    );
    assert_eq!(
        ids(&lib, &[glaciers.clone(), crit(And, "year", Op::Is, "2021")]),
        vec![key(2)]
    );
    assert_eq!(
        ids(
            &lib,
            &[glaciers.clone(), uber, crit(Not, "year", Op::Is, "2019")]
        ),
        vec![key(2)]
    );
    assert_eq!(
        ids(&lib, &[crit(Not, "title", Op::IsEmpty, "")]),
        vec![key(1), key(2), key(3)],
        "a leading Not is everything but"
    );
    assert_eq!(ids(&lib, &[]), vec![], "no criteria, nothing");
}

fn group(n: u64, kind: GroupKind) -> Group {
    Group {
        key: key(100 + n),
        name: format!("g{n}"),
        set: None,
        kind,
        shared: false,
        date_modified: 0,
    }
}

#[test]
fn custom_smart_and_combination_groups_evaluate_live() {
    let mut lib = sample();
    let custom = group(1, GroupKind::Custom);
    let smart = group(
        2,
        GroupKind::Smart {
            criteria: vec![crit(Connector::And, "year", Op::GreaterThan, "2018")],
        },
    );
    let both = group(
        3,
        GroupKind::Combination {
            expression: GroupExpr::And(vec![
                GroupExpr::Group(custom.key),
                GroupExpr::Group(smart.key),
            ]),
        },
    );
    let either = group(
        4,
        GroupKind::Combination {
            expression: GroupExpr::Or(vec![
                GroupExpr::Group(custom.key),
                GroupExpr::Group(smart.key),
            ]),
        },
    );
    let not_custom = group(
        5,
        GroupKind::Combination {
            expression: GroupExpr::Not(Box::new(GroupExpr::Group(custom.key))),
        },
    );
    let groups: HashMap<Key, Group> = [
        custom.clone(),
        smart.clone(),
        both.clone(),
        either.clone(),
        not_custom.clone(),
    ]
    .into_iter()
    .map(|g| (g.key, g))
    .collect();
    let members = |lib: &Library, g: &Group| {
        lib.group_members(&groups, g.key, asc(SortField::DateAdded))
            .unwrap()
    };

    for n in [1, 3] {
        let mut x = lib.get(&key(n)).cloned().unwrap();
        x.groups.insert(custom.key);
        lib.upsert(x);
    }
    assert_eq!(members(&lib, &custom), vec![key(1), key(3)]);
    assert_eq!(members(&lib, &smart), vec![key(1), key(2), key(3)]);
    assert_eq!(members(&lib, &both), vec![key(1), key(3)]);
    assert_eq!(members(&lib, &either), vec![key(1), key(2), key(3)]);
    assert_eq!(members(&lib, &not_custom), vec![key(2), key(4)]);
    assert_eq!(lib.custom_group_counts().get(&custom.key), Some(&2));

    // Live: an edit changes the smart group and the combinations built on it.
    let mut b = lib.get(&key(2)).cloned().unwrap();
    b.set(Field::Year, "1990");
    lib.upsert(b);
    assert_eq!(members(&lib, &smart), vec![key(1), key(3)]);
    assert_eq!(members(&lib, &either), vec![key(1), key(3)]);
}

#[test]
fn combination_cycles_are_reported_not_followed() {
    let lib = sample();
    let a = group(
        1,
        GroupKind::Combination {
            expression: GroupExpr::Group(key(102)),
        },
    );
    let b = group(
        2,
        GroupKind::Combination {
            expression: GroupExpr::Or(vec![GroupExpr::Group(key(103)), GroupExpr::Group(key(101))]),
        },
    );
    let c = group(3, GroupKind::Custom);
    let selfish = group(
        4,
        GroupKind::Combination {
            expression: GroupExpr::Not(Box::new(GroupExpr::Group(key(104)))),
        },
    );
    let gone = group(
        5,
        GroupKind::Combination {
            expression: GroupExpr::Group(key(999)),
        },
    );
    let groups: HashMap<Key, Group> = [a, b, c, selfish, gone]
        .into_iter()
        .map(|g| (g.key, g))
        .collect();
    assert_eq!(
        lib.group_ids(&groups, key(101)),
        Err(GroupError::Cycle(vec![key(101), key(102), key(101)]))
    );
    assert_eq!(
        lib.group_ids(&groups, key(104)),
        Err(GroupError::Cycle(vec![key(104), key(104)]))
    );
    assert_eq!(
        lib.group_ids(&groups, key(105)).map(|b| b.count()),
        Ok(0),
        "a deleted group counts as empty"
    );
    assert_eq!(
        lib.group_ids(&groups, key(998)),
        Err(GroupError::Missing(key(998)))
    );
}

#[test]
fn duplicates_by_identifier_and_by_near_identical_title() {
    let mut a = r(
        1,
        "Kuhn, Thomas",
        "1962",
        "The Structure of Scientific Revolutions",
    );
    a.set(Field::Isbn, "0-226-45808-3");
    let mut b = r(
        2,
        "Kuhn, T.",
        "1962",
        "The structure of scientific revolutions.",
    );
    b.set(Field::Isbn, "978-0-226-45808-3");
    let c = r(
        3,
        "KUHN, Thomas S.",
        "1962",
        "The Structure of Scientfic Revolutions",
    );
    let d = r(
        4,
        "Kuhn, Thomas",
        "1970",
        "The Structure of Scientific Revolutions",
    );
    let mut e = r(5, "Smith, J", "2020", "Deep learning for glaciers");
    e.set(Field::Doi, "https://doi.org/10.1000/ABC");
    let mut f = r(
        6,
        "Smyth, J",
        "2021",
        "Deep-learning for glaciers (preprint)",
    );
    f.set(Field::Doi, "10.1000/abc");
    let mut g = r(7, "Other, O", "2001", "Unrelated");
    g.set(Field::Pmid, "123");
    let mut h = r(8, "Else, E", "2005", "Also unrelated");
    h.set(Field::Pmid, "00123");
    let mut trashed = r(
        9,
        "Kuhn, Thomas",
        "1962",
        "The Structure of Scientific Revolutions",
    );
    trashed.trashed = true;
    let lib = Library::from_references([a, b, c, d, e, f, g, h, trashed]);
    let sets = lib.duplicates();
    assert_eq!(
        sets,
        vec![
            DuplicateSet {
                reason: DuplicateReason::Doi,
                keys: vec![key(5), key(6)]
            },
            DuplicateSet {
                reason: DuplicateReason::Pmid,
                keys: vec![key(7), key(8)]
            },
            DuplicateSet {
                reason: DuplicateReason::Isbn,
                keys: vec![key(1), key(2), key(3)]
            },
        ],
        "the 1970 edition is not a duplicate of 1962; the trashed copy is left out"
    );
}

#[test]
fn a_collection_filter_skips_replaced_and_removed_references() {
    let mut lib = sample();
    let mut edited = lib.get(&key(2)).cloned().unwrap();
    edited.trashed = true;
    lib.upsert(edited);
    lib.remove(&key(3));
    let trash = lib.ids_where(|r| r.trashed);
    assert_eq!(lib.keys_of(&trash), vec![key(2)]);
    let kept = lib.ids_where(|r| !r.trashed);
    assert_eq!(
        lib.sorted(Some(&kept), asc(SortField::DateAdded)),
        vec![key(1), key(4)]
    );
}

/// What the duplicates worker does with [`Library::changes_since`]: fingerprints by id,
/// brought up to date from the last mark, trashed references left out.
#[derive(Default)]
struct KeptCopy {
    mark: Option<Mark>,
    prints: std::collections::BTreeMap<u32, Fingerprint>,
    /// How many references the last update carried.
    carried: usize,
}

impl KeptCopy {
    fn update(&mut self, lib: &Library) -> Vec<DuplicateSet> {
        let changes = lib.changes_since(self.mark);
        if changes.everything {
            self.prints.clear();
        }
        for id in &changes.removed {
            self.prints.remove(id);
        }
        self.carried = changes.added.len();
        for (id, r) in changes.added.iter().filter(|(_, r)| !r.trashed) {
            // As it travels: written, read back, then fingerprinted.
            let json = serde_json::to_string(&DuplicateFields::of(r)).unwrap();
            let fields: DuplicateFields<'_> = serde_json::from_str(&json).unwrap();
            self.prints.insert(*id, Fingerprint::from_fields(&fields));
        }
        self.mark = Some(changes.now);
        find_sets(&self.prints.values().collect::<Vec<_>>())
    }
}

#[test]
fn a_copy_kept_from_marks_finds_the_sets_the_library_finds_through_edits_and_a_rebuild() {
    let kuhn = |n, title: &str| r(n, "Kuhn, Thomas", "1962", title);
    let mut lib = Library::from_references([
        kuhn(1, "The Structure of Scientific Revolutions"),
        kuhn(2, "The structure of scientific revolutions."),
        r(
            3,
            "Popper, Karl",
            "1959",
            "The Logic of Scientific Discovery",
        ),
        r(
            4,
            "Lakatos, Imre",
            "1978",
            "The Methodology of Scientific Research Programmes",
        ),
    ]);
    let mut copy = KeptCopy::default();
    assert_eq!(copy.update(&lib), lib.duplicates());
    assert_eq!(copy.update(&lib).len(), 1, "the two Kuhns");
    assert_eq!(copy.carried, 0, "nothing changed, nothing carried");

    // An edit makes a second set; only the edited reference travels.
    let mut popper = r(5, "Popper, K.", "1959", "The logic of scientific discovery");
    popper.set(Field::Doi, "10.1000/lsd");
    lib.upsert(popper);
    assert_eq!(copy.update(&lib), lib.duplicates());
    assert_eq!(copy.carried, 1);
    assert_eq!(copy.update(&lib).len(), 2);

    // Trashed, removed, marked apart: each set goes, as the library's own count says.
    let mut trashed = lib.get(&key(5)).cloned().unwrap();
    trashed.trashed = true;
    lib.upsert(trashed);
    assert_eq!(copy.update(&lib), lib.duplicates());
    assert_eq!(copy.update(&lib).len(), 1);
    let mut apart = lib.get(&key(2)).cloned().unwrap();
    apart.not_duplicates.insert(key(1));
    lib.upsert(apart);
    lib.remove(&key(4));
    assert_eq!(copy.update(&lib), Vec::new());
    assert_eq!(lib.duplicates(), Vec::new());

    // Thousands of edits compact the library into another one: the copy starts over.
    let before = lib.mark();
    for n in 0..5_000u64 {
        lib.upsert(kuhn(
            100 + n % 3,
            &format!("Edition {} of a very long title", n % 3),
        ));
    }
    assert_ne!(lib.mark().library, before.library, "compacted");
    let sets = copy.update(&lib);
    assert_eq!(sets, lib.duplicates());
    assert_eq!(copy.carried, lib.len());
    assert_eq!(
        copy.prints.len(),
        lib.len() - 1,
        "all but the one in the Trash"
    );
}

#[test]
fn changes_since_a_mark_name_each_new_version_and_each_dead_one() {
    let mut lib = sample();
    let start = lib.mark();
    let none = lib.changes_since(Some(start));
    assert!(!none.everything && none.added.is_empty() && none.removed.is_empty());
    let old = lib.id_of(&key(2)).unwrap();
    let mut b = lib.get(&key(2)).cloned().unwrap();
    b.set(Field::Volume, "9");
    lib.upsert(b);
    lib.remove(&key(3));
    let other = Library::new();
    let dead = other.changes_since(Some(start));
    assert!(
        dead.everything,
        "a mark of another library is not this one's"
    );
    let changes = lib.changes_since(Some(start));
    let new = lib.id_of(&key(2)).unwrap();
    assert_eq!(
        changes
            .added
            .iter()
            .map(|(id, r)| (*id, r.key))
            .collect::<Vec<_>>(),
        vec![(new, key(2))]
    );
    assert_eq!(changes.removed.len(), 2);
    assert!(changes.removed.contains(&old));
    assert_eq!(lib.at(new).map(|r| r.get(Field::Volume)), Some("9"));
    assert_eq!(lib.at(old), None);
}

#[test]
fn sets_found_a_moment_ago_lose_what_was_since_merged_trashed_or_marked_apart() {
    let kuhn = |n| {
        r(
            n,
            "Kuhn, Thomas",
            "1962",
            "The Structure of Scientific Revolutions",
        )
    };
    let popper = |n| {
        r(
            n,
            "Popper, Karl",
            "1959",
            "The Logic of Scientific Discovery",
        )
    };
    let mut lib = Library::from_references([
        kuhn(1),
        kuhn(2),
        kuhn(3),
        kuhn(4),
        kuhn(5),
        popper(6),
        popper(7),
    ]);
    let found = lib.duplicates();
    assert_eq!(found.len(), 2);
    assert_eq!(lib.still_duplicates(&found), found, "nothing changed");
    // 1 and 2 merged into 3 (they wait in the Trash); 4 and 5 marked apart from each other
    // but not from 3; 6 and 7 marked apart.
    for n in [1, 2] {
        let mut away = lib.get(&key(n)).cloned().unwrap();
        away.trashed = true;
        lib.upsert(away);
    }
    let mut four = lib.get(&key(4)).cloned().unwrap();
    four.not_duplicates.insert(key(5));
    lib.upsert(four);
    let mut six = lib.get(&key(6)).cloned().unwrap();
    six.not_duplicates.insert(key(7));
    lib.upsert(six);
    let still = lib.still_duplicates(&found);
    assert_eq!(
        still.iter().map(|s| s.keys.clone()).collect::<Vec<_>>(),
        vec![vec![key(3), key(4), key(5)]]
    );
    lib.remove(&key(3));
    assert_eq!(
        lib.still_duplicates(&found),
        Vec::new(),
        "4 and 5 are apart"
    );
}
