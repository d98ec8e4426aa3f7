//! Cross-format checks on the real corpus: the BibLaTeX-to-CSL mapping against the expected
//! CSL that pandoc-citeproc's test files carry, the same 1,000 records exported by Zotero in
//! three formats, and CSL-JSON exports validated against the official schema.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "corpus/common.rs"]
#[allow(dead_code)]
mod common;

use common::*;
use refsync_core::formats::{csl_json, Format};
use refsync_core::{Field, Reference};
use serde_json::Value;
use std::collections::BTreeMap;

/// Text as compared: no HTML tags, no case, dashes as hyphens, single spaces.
fn norm(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if in_tag => {}
            '–' | '—' => out.push('-'),
            '’' => out.push('\''),
            // Quotation marks and pandoc's Markdown (emphasis, escapes) are presentation.
            '“' | '”' | '"' | '‘' | '«' | '»' | '*' | '\\' | '^' | '~' => {}
            c => out.extend(c.to_lowercase()),
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(norm(s)),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A CSL value in one comparable form: names as "family|given|particle|suffix" lists, dates
/// as "y-m-d" lists, everything else as normalised text.
fn canonical(key: &str, v: &Value) -> String {
    match v {
        Value::Array(items) if items.iter().all(Value::is_object) => {
            let parts: Vec<String> = items
                .iter()
                .map(|item| {
                    let get = |k: &str| item.get(k).and_then(scalar).unwrap_or_default();
                    if matches!(key, "issued" | "accessed" | "original-date" | "event-date") {
                        [get("year"), get("month"), get("day")]
                            .iter()
                            .filter(|p| !p.is_empty())
                            .cloned()
                            .collect::<Vec<_>>()
                            .join("-")
                            + &get("literal")
                    } else {
                        let particle = [get("dropping-particle"), get("non-dropping-particle")]
                            .iter()
                            .filter(|p| !p.is_empty())
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(" ");
                        format!(
                            "{}|{}|{}|{}|{}",
                            get("family"),
                            get("given"),
                            particle,
                            get("suffix"),
                            get("literal")
                        )
                    }
                })
                .collect();
            parts.join("; ")
        }
        Value::Object(o) if o.contains_key("date-parts") => {
            let ranges = o["date-parts"].as_array().cloned().unwrap_or_default();
            ranges
                .iter()
                .map(|r| {
                    r.as_array()
                        .map(|p| p.iter().filter_map(scalar).collect::<Vec<_>>().join("-"))
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>()
                .join("; ")
        }
        Value::Object(o) => o
            .get("raw")
            .or(o.get("literal"))
            .and_then(scalar)
            .unwrap_or_default(),
        other => scalar(other).unwrap_or_default(),
    }
}

#[test]
fn biblatex_to_csl_matches_pandoc_citeproc_expectations() {
    let mut files: Vec<String> = corpus_files()
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| p.starts_with("bibtex/pandoc-citeproc-biblio2yaml/"))
        .collect();
    files.sort();
    assert!(files.len() > 100, "{}", files.len());
    let (mut matched, mut total) = (0usize, 0usize);
    let mut per_key: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut compared_items = 0;
    for path in &files {
        let text = String::from_utf8_lossy(&read(path)).into_owned();
        let Some((bib, yaml)) = text.split_once("\n---\n") else {
            continue;
        };
        let yaml = yaml.split("\n...").next().unwrap_or("");
        let expected: serde_yaml::Value = match serde_yaml::from_str(yaml) {
            Ok(v) => v,
            Err(e) => panic!("{path}: expected CSL does not parse: {e}"),
        };
        let expected: Value = serde_json::to_value(expected).unwrap();
        let Some(refs) = expected.get("references").and_then(Value::as_array) else {
            continue;
        };
        let ours = import(Format::Bibtex, &[(path, bib.as_bytes())]);
        let by_key: BTreeMap<&str, &Reference> = ours
            .references
            .iter()
            .map(|r| (r.get(Field::CitationKey), r))
            .collect();
        for want in refs {
            let id = want.get("id").and_then(Value::as_str).unwrap_or("");
            let Some(r) = by_key.get(id) else {
                // An entry we did not import at all: every field is a miss.
                total += want.as_object().map_or(0, |o| o.len().saturating_sub(1));
                continue;
            };
            compared_items += 1;
            let got = csl_json::to_item(r);
            for (key, value) in want.as_object().into_iter().flatten() {
                if key == "id" {
                    continue;
                }
                let ok = got
                    .get(key)
                    .is_some_and(|g| canonical(key, g) == canonical(key, value));
                total += 1;
                matched += usize::from(ok);
                let e = per_key.entry(key.clone()).or_default();
                e.0 += usize::from(ok);
                e.1 += 1;
                if !ok && std::env::var_os("REFSYNC_SHOW_MISSES").is_some() {
                    println!(
                        "  miss {id} {key}: want {:?}, got {:?}",
                        canonical(key, value),
                        got.get(key).map(|g| canonical(key, g))
                    );
                }
            }
        }
    }
    let rate = matched as f64 / total.max(1) as f64;
    println!("BibLaTeX -> CSL oracle: {matched} of {total} expected fields match ({:.1}%) over {compared_items} entries", rate * 100.0);
    for (key, (ok, n)) in &per_key {
        if ok < n {
            println!("  {key}: {ok}/{n}");
        }
    }
    // The committed figure (docs/formats.md): a drop means the mapping got worse.
    assert!(rate >= 0.91, "the match rate fell to {:.1}%", rate * 100.0);
}

/// Field-by-field agreement of two imports of (supposedly) the same records, matched by DOI
/// or title: (records matched, values equal, values compared, per-field differences).
fn agreement(
    a: &[Reference],
    b: &[Reference],
    show: &str,
) -> (usize, usize, usize, BTreeMap<String, usize>) {
    let key = |r: &Reference| {
        let doi = r.get(Field::Doi).to_lowercase();
        if doi.is_empty() {
            norm(r.title())
        } else {
            doi
        }
    };
    let b_index: BTreeMap<String, &Reference> = b.iter().map(|r| (key(r), r)).collect();
    let fields = [
        Field::Title,
        Field::SecondaryTitle,
        Field::Year,
        Field::Volume,
        Field::Issue,
        Field::Pages,
        Field::Doi,
        Field::Abstract,
        Field::Issn,
        Field::Url,
        Field::Publisher,
    ];
    let (mut records, mut same, mut all) = (0, 0, 0);
    let mut diffs: BTreeMap<String, usize> = BTreeMap::new();
    for r in a {
        let Some(x) = b_index.get(&key(r)) else {
            continue;
        };
        records += 1;
        let mut check = |name: &str, u: String, v: String| {
            all += 1;
            if u == v {
                same += 1;
            } else {
                let n = diffs.entry(name.to_string()).or_default();
                *n += 1;
                if *n == 1 {
                    println!(
                        "  {show} {name}: {:?} / {:?}",
                        u.chars().take(120).collect::<String>(),
                        v.chars().take(120).collect::<String>()
                    );
                }
            }
        };
        for f in fields {
            check(f.id(), norm(r.get(f)), norm(x.get(f)));
        }
        let names = |x: &Reference| {
            x.creators
                .iter()
                .map(|c| norm(&c.name.to_string()))
                .collect::<Vec<_>>()
                .join("; ")
        };
        check("creators", names(r), names(x));
        check(
            "type",
            format!("{:?}", r.ref_type),
            format!("{:?}", x.ref_type),
        );
        check(
            "keywords",
            norm(&r.keywords.join("; ")),
            norm(&x.keywords.join("; ")),
        );
    }
    (records, same, all, diffs)
}

/// asysd's 1,000 records exported by Zotero as RIS and as BibTeX must import alike. Its
/// EndNote XML file is a different snapshot of the set (1,233 records, PubMed's spelling of
/// titles and journals), so it is compared and reported, with a looser bound.
#[test]
fn the_same_records_in_three_formats_import_alike() {
    let ris = import(
        Format::Ris,
        &[("zotero_export.ris", &read("ris/asysd/zotero_export.ris"))],
    );
    let bib = import(
        Format::Bibtex,
        &[("zotero_export.bib", &read("bibtex/asysd/zotero_export.bib"))],
    );
    let xml = import(
        Format::EndnoteXml,
        &[(
            "zotero_export.xml",
            &read("endnote-xml/asysd/zotero_export.xml"),
        )],
    );
    println!(
        "asysd Zotero export: RIS {}, BibTeX {}, EndNote XML {} references",
        ris.references.len(),
        bib.references.len(),
        xml.references.len()
    );
    for (name, other) in [("BibTeX", &bib), ("EndNote XML", &xml)] {
        let (records, same, all, diffs) = agreement(&ris.references, &other.references, name);
        println!(
            "RIS vs {name}: {records} records matched; {same} of {all} values agree ({:.1}%)",
            100.0 * same as f64 / all.max(1) as f64
        );
        for (field, n) in &diffs {
            println!("  {field}: differs in {n} records");
        }
        if name == "BibTeX" {
            assert_eq!(records, 1000, "every record is in both");
            assert!(
                same as f64 >= 0.99 * all as f64,
                "RIS and BibTeX disagree: {same} of {all}"
            );
        } else {
            assert!(
                records >= 500,
                "only {records} records matched RIS and EndNote XML"
            );
        }
    }
}

/// A small JSON Schema checker for the subset csl-data.json uses: type, enum, properties,
/// additionalProperties, required, items, minItems, maxItems, anyOf, $ref.
fn validate(schema: &Value, root: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/definitions/");
        return validate(&root["definitions"][name], root, v, path, errors);
    }
    if let Some(options) = schema.get("anyOf").and_then(Value::as_array) {
        let ok = options.iter().any(|o| {
            let mut e = Vec::new();
            validate(o, root, v, path, &mut e);
            e.is_empty()
        });
        if !ok {
            errors.push(format!("{path}: matches none of anyOf"));
        }
        return;
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let actual = match v {
            Value::String(_) => "string",
            Value::Number(_) => "number",
            Value::Bool(_) => "boolean",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
            Value::Null => "null",
        };
        if !(types.contains(&actual) || actual == "number" && types.contains(&"integer")) {
            errors.push(format!("{path}: {actual} is not {types:?}"));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(v) {
            errors.push(format!("{path}: {v} is not allowed"));
        }
    }
    if let Value::Object(o) = v {
        let props = schema.get("properties").and_then(Value::as_object);
        for (k, x) in o {
            match props.and_then(|p| p.get(k)) {
                Some(s) => validate(s, root, x, &format!("{path}.{k}"), errors),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errors.push(format!("{path}: property {k} is not allowed"));
                }
                None => {}
            }
        }
        for req in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(k) = req.as_str() {
                if !o.contains_key(k) {
                    errors.push(format!("{path}: {k} is required"));
                }
            }
        }
    }
    if let Value::Array(a) = v {
        if let Some(items) = schema.get("items") {
            for (i, x) in a.iter().enumerate() {
                validate(items, root, x, &format!("{path}[{i}]"), errors);
            }
        }
        let len = a.len() as u64;
        if schema
            .get("minItems")
            .and_then(Value::as_u64)
            .is_some_and(|m| len < m)
            || schema
                .get("maxItems")
                .and_then(Value::as_u64)
                .is_some_and(|m| len > m)
        {
            errors.push(format!("{path}: {len} items is out of bounds"));
        }
    }
}

#[test]
fn csl_json_exports_of_every_format_validate_against_the_schema() {
    let schema: Value = serde_json::from_slice(&read("csl-json/csl-schema/csl-data.json")).unwrap();
    let mut checked = 0;
    let mut errors = Vec::new();
    for (path, format) in corpus_files() {
        if path.starts_with("csl-json/csl-schema/") {
            continue;
        }
        let got = import(format, &[(&path, &read(&path))]);
        let json: Value = serde_json::from_str(&refsync_core::formats::export(
            Format::CslJson,
            &got.references,
        ))
        .unwrap();
        let mut e = Vec::new();
        validate(&schema, &schema, &json, "$", &mut e);
        checked += got.references.len();
        errors.extend(e.into_iter().take(3).map(|e| format!("{path}: {e}")));
    }
    println!("{checked} references exported as CSL-JSON and validated");
    assert!(
        errors.is_empty(),
        "{}",
        errors
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_schema_checker_rejects_what_it_should() {
    let schema: Value = serde_json::from_slice(&read("csl-json/csl-schema/csl-data.json")).unwrap();
    for bad in [
        serde_json::json!([{"id": "a", "type": "not-a-type"}]),
        serde_json::json!([{"type": "book"}]),
        serde_json::json!([{"id": "a", "type": "book", "unknown": 1}]),
        serde_json::json!([{"id": "a", "type": "book", "author": [{"family": "X", "x": 1}]}]),
        serde_json::json!([{"id": "a", "type": "book", "issued": {"date-parts": [[2020], [2021], [2022]]}}]),
    ] {
        let mut e = Vec::new();
        validate(&schema, &schema, &bad, "$", &mut e);
        assert!(!e.is_empty(), "{bad} was accepted");
    }
}
