//! Where a large library's memory goes (issue 29's "the tab's memory after opening 250k"):
//! `memory_profile CORPUS_DIR [N]` builds the sample library of N references (250,000 by
//! default) as the app stores them (one JSON record each), then reads them back and indexes
//! them as the app's window does, counting every heap byte with a counting allocator. Prints
//! the bytes each part holds and the peak on the way, natively (64-bit: pointers and
//! `String`s are twice their wasm32 size, so the app's wasm memory is smaller than these).

// Counting bytes means wrapping the system allocator, and `GlobalAlloc` is an unsafe trait;
// this profiling tool is the only place the workspace allows it.
#![allow(unsafe_code)]

#[path = "support/the_41k_set.rs"]
mod the_41k_set;

use refsync_core::{query, Reference};
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        ALLOCS.fetch_sub(1, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // A realloc may copy: both blocks are live for a moment, as in dlmalloc on wasm32.
        let live = LIVE.fetch_add(new_size, Ordering::Relaxed) + new_size;
        PEAK.fetch_max(live, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What one step added: live bytes and allocations, and the peak above the start.
struct Step {
    live: usize,
    allocs: usize,
}

fn start() -> Step {
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
    Step {
        live: LIVE.load(Ordering::Relaxed),
        allocs: ALLOCS.load(Ordering::Relaxed),
    }
}

fn report(name: &str, from: Step, n: usize) {
    let live = LIVE.load(Ordering::Relaxed) as f64 - from.live as f64;
    let allocs = ALLOCS.load(Ordering::Relaxed) as f64 - from.allocs as f64;
    let peak = PEAK.load(Ordering::Relaxed) - from.live;
    println!(
        "MEMORY\t{name}\t{:.1} MB\t{:.0} B per reference\t{:.1} allocations per reference\tpeak {:.1} MB",
        live / 1_048_576.0,
        live / n as f64,
        allocs / n as f64,
        peak as f64 / 1_048_576.0
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "../shared/corpus".into()));
    let n: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(250_000);
    let records = the_41k_set::records(&the_41k_set::files(&dir));
    let stored: Vec<String> = refsync_core::sample::library(&records, n)
        .iter()
        .map(|r| serde_json::to_string(r).unwrap_or_default())
        .collect();
    drop(records);
    let json: usize = stored.iter().map(String::len).sum();
    println!(
        "MEMORY\tthe records as stored (JSON)\t{:.1} MB\t{:.0} B per reference",
        json as f64 / 1_048_576.0,
        json as f64 / n as f64
    );
    println!(
        "MEMORY\tsize_of::<Reference>() here\t{} B",
        std::mem::size_of::<Reference>()
    );

    let at = start();
    let mut refs = Vec::with_capacity(stored.len());
    refs.extend(
        stored
            .iter()
            .filter_map(|s| serde_json::from_str::<Reference>(s).ok()),
    );
    report("the references, read", at, n);

    // The parts of a reference, each cloned on its own (a clone allocates as a read does);
    // each figure includes its box, 24 bytes and one allocation per reference.
    type Part = fn(&Reference) -> Box<dyn std::any::Any>;
    let parts: [(&str, Part); 4] = [
        ("  of which fields (map, names, texts)", |r| {
            Box::new(r.fields.clone())
        }),
        ("  of which extra (map, names, texts)", |r| {
            Box::new(r.extra.clone())
        }),
        ("  of which creators", |r| Box::new(r.creators.clone())),
        ("  of which keywords", |r| Box::new(r.keywords.clone())),
    ];
    for (name, part) in parts {
        let at = start();
        let held: Vec<_> = refs.iter().map(part).collect();
        report(name, at, n);
        drop(held);
    }
    let (names, name_bytes) = refs
        .iter()
        .flat_map(|r| r.fields.keys().chain(r.extra.keys()))
        .fold((0usize, 0usize), |(n, b), name| (n + 1, b + name.len()));
    println!(
        "MEMORY\t  of which field names alone (fields and extra)\t{:.1} MB\t{:.0} B per reference\t{:.1} allocations per reference",
        name_bytes as f64 / 1_048_576.0,
        name_bytes as f64 / n as f64,
        names as f64 / n as f64
    );
    let maps: usize = refs
        .iter()
        .map(|r| usize::from(!r.fields.is_empty()) + usize::from(!r.extra.is_empty()))
        .sum();
    let texts: usize = refs.iter().map(|r| r.fields.len() + r.extra.len()).sum();
    println!(
        "MEMORY\t  fields and extra entries\t{:.1} per reference in {:.2} maps per reference",
        texts as f64 / n as f64,
        maps as f64 / n as f64
    );

    let at = start();
    let library = query::Library::from_references(refs);
    report("the window's library (references moved in, indexed)", at, n);
    println!("MEMORY\t({} references)", library.len());
}
