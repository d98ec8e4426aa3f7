//! Print what importing some files gives: `cargo run -p refsync-core --example import_report
//! -- FORMAT FILE...` (FORMAT: ris, bibtex, endnote-xml, enw, medline, csl-json). Files of one
//! format are imported together, as an import of several files is.

use refsync_core::formats::{self, Format, ImportContext, Source};
use refsync_core::Key;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(format) = args.first().and_then(|f| Format::from_id(f)) else {
        eprintln!("usage: import_report FORMAT FILE...");
        std::process::exit(2);
    };
    let files: Vec<(String, Vec<u8>)> = args[1..]
        .iter()
        .map(|p| match std::fs::read(p) {
            Ok(bytes) => (p.clone(), bytes),
            Err(e) => {
                eprintln!("{p}: {e}");
                std::process::exit(1);
            }
        })
        .collect();
    let sources: Vec<Source<'_>> = files
        .iter()
        .map(|(name, bytes)| Source { name, bytes })
        .collect();
    let mut n = 0u64;
    let mut keys = || {
        n += 1;
        Key::new(n, [0; 10])
    };
    let mut ctx = ImportContext {
        now: 0,
        new_key: &mut keys,
    };
    let started = std::time::Instant::now();
    let got = formats::import(format, &sources, &mut ctx);
    let elapsed = started.elapsed();
    println!(
        "{} ({} records read) in {:.0?}",
        got.report.summary(),
        got.report.read,
        elapsed
    );
    for s in &got.report.skipped {
        println!("skipped {}:{}: {}", s.file, s.line, s.reason);
    }
    for w in &got.report.warnings {
        println!("warning {}:{}: {}", w.file, w.line, w.message);
    }
    if std::env::var_os("SHOW").is_some() {
        for r in &got.references {
            println!("{}", serde_json::to_string(r).unwrap_or_default());
        }
    }
}
