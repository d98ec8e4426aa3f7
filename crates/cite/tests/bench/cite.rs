//! Citation speed, the same natively and in the browser (issue 26's targets): a bibliography
//! of 1,000 references in APA, and switching the style of a 50-reference selection. Prints
//! `BENCH` lines for `cargo xtask bench`; asserts no time.

use refsync_cite::{format, Cite, Output, Style};
use refsync_core::model::{Creator, CreatorRole, Name};
use refsync_core::{Field, Key, RefType, Reference};

const FAMILIES: [&str; 12] = [
    "Kuhn",
    "Popper",
    "Lakatos",
    "Feyerabend",
    "Hacking",
    "Longino",
    "Haraway",
    "Latour",
    "Müller",
    "Øvergaard",
    "García Márquez",
    "Nakamura",
];
const WORDS: [&str; 12] = [
    "structure",
    "logic",
    "discovery",
    "revolutions",
    "methods",
    "evidence",
    "models",
    "ice",
    "sheets",
    "climate",
    "bank",
    "filtration",
];
const KINDS: [RefType; 5] = [
    RefType::JournalArticle,
    RefType::Book,
    RefType::BookSection,
    RefType::Thesis,
    RefType::Report,
];

/// `n` references of several kinds, authors and years, made deterministically.
pub fn references(n: usize) -> Vec<Reference> {
    (0..n)
        .map(|i| {
            let mut r = Reference::new(Key::new(i as u64 + 1, [4; 10]), KINDS[i % KINDS.len()], 0);
            let title: Vec<&str> = (0..6)
                .map(|w| WORDS[(i * 7 + w * 3) % WORDS.len()])
                .collect();
            r.set(Field::Title, format!("On the {} ({i})", title.join(" ")));
            r.set(Field::Year, (1950 + i % 70).to_string());
            r.set(
                Field::SecondaryTitle,
                format!("Journal of {}", WORDS[i % WORDS.len()]),
            );
            r.set(Field::Volume, (i % 90 + 1).to_string());
            r.set(Field::Pages, format!("{}-{}", i % 300 + 1, i % 300 + 20));
            r.set(Field::Publisher, "University Press");
            for a in 0..(1 + i % 4) {
                r.creators.push(Creator {
                    name: Name::person(FAMILIES[(i + a) % FAMILIES.len()], "Anna B."),
                    role: CreatorRole::Author,
                });
            }
            r
        })
        .collect()
}

/// The median, fastest and slowest of `runs` timings of `f`, in milliseconds.
fn time(runs: usize, now: &dyn Fn() -> f64, mut f: impl FnMut()) -> (f64, f64, f64) {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let start = now();
            f();
            now() - start
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[0], times[times.len() - 1])
}

pub fn run(place: &str, runs: usize, now: &dyn Fn() -> f64, print: &dyn Fn(String)) {
    let thousand = references(1000);
    let apa = Style::builtin("apa").expect("apa is built in");
    let (median, min, max) = time(runs, now, || {
        let f = format(&thousand, &apa, None, &[], Output::Html).expect("formats");
        assert_eq!(f.bibliography.len(), 1000);
    });
    print(format!(
        "BENCH {place}\tbibliography of 1,000 references, APA (HTML)\t1000\t{median:.1}\t{min:.1}\t{max:.1}"
    ));
    let fifty: Vec<Reference> = thousand.into_iter().take(50).collect();
    let cites: Vec<Vec<Cite>> = fifty.iter().map(|r| vec![Cite::of(r.key)]).collect();
    for name in [
        "chicago-author-date",
        "ieee",
        "modern-language-association",
        "nature",
    ] {
        let (median, min, max) = time(runs, now, || {
            // Switching style: the style is read (from the built-in archive) and 50
            // citations and entries are made.
            let style = Style::builtin(name).expect("built in");
            let f = format(&fifty, &style, None, &cites, Output::Html).expect("formats");
            assert_eq!(f.citations.len(), 50);
        });
        print(format!(
            "BENCH {place}\tswitch to {name} for 50 references (citations and bibliography)\t50\t{median:.1}\t{min:.1}\t{max:.1}"
        ));
    }
}
