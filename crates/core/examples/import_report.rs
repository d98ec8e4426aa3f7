//! Print what importing some files gives: `cargo run -p refsync-core --example import_report
//! -- FORMAT FILE...` (FORMAT: ris, bibtex, endnote-xml, enw, medline, csl-json). Files of one
//! format are imported together, as an import of several files is. `SHOW=1` prints each
//! reference as JSON; `EXPORT=bibtex` (any format id) prints the export.

use refsync_core::formats::{self, Format, Source};

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
    let started = std::time::Instant::now();
    let got = formats::import_with_sequential_keys(format, &sources);
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
    // EXPORT=<format> prints the references exported in that format.
    if let Some(out) = std::env::var("EXPORT")
        .ok()
        .and_then(|f| Format::from_id(&f))
    {
        print!("{}", formats::export(out, &got.references));
    }
    if std::env::var_os("SHOW").is_some() {
        for r in &got.references {
            println!("{}", serde_json::to_string(r).unwrap_or_default());
        }
    }
}
