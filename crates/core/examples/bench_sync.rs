//! The sync engine's own cost, without a network or a disk, for `cargo xtask bench`:
//! `bench_sync CORPUS_DIR [RUNS] [SIZES]` (SIZES like `1000,10000,50000`). On sample libraries
//! made from the 41k BibTeX set (`refsync_core::sample`): three-way merges of references
//! edited on both sides, and core's engine over the in-memory store and service (a device
//! sending its whole library, a new device receiving it, a sync with nothing new). Prints
//! `BENCH` lines; what the network and storage add is measured by the server and app benches.

#[path = "support/the_41k_set.rs"]
mod the_41k_set;

use refsync_core::protocol::Object;
use refsync_core::sync::{
    merge_reference, sync, MemoryRemote, MemoryService, MemoryStore, SyncOutcome,
};
use refsync_core::{sample, Field, Reference};
use std::cell::RefCell;
use std::future::Future;
use std::path::PathBuf;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

/// Every future here completes without waiting: the store and the service are in memory.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("an in-memory future waited"),
    }
}

fn report(scenario: &str, count: usize, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    println!(
        "BENCH native\t{scenario}\t{count}\t{:.3}\t{:.3}\t{:.3}",
        ms[ms.len() / 2],
        ms[0],
        ms[ms.len() - 1]
    );
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed().as_secs_f64() * 1000.0)
}

fn sync_once(store: &MemoryStore, remote: &MemoryRemote, name: &str) -> SyncOutcome {
    let mut n = 0;
    let mut key = || {
        n += 1;
        format!("{name}-{n}")
    };
    match block_on(sync(store, remote, &mut key)) {
        Ok(outcome) => outcome,
        Err(e) => {
            eprintln!("bench_sync: the in-memory sync failed: {e}");
            std::process::exit(1);
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "../shared/corpus".into()));
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(5).max(1);
    let sizes: Vec<usize> = args
        .next()
        .unwrap_or_else(|| "1000,10000,50000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let records = the_41k_set::records(&the_41k_set::files(&dir));

    for n in sizes {
        let k = format!("{}k", n / 1000);
        let refs = sample::library(&records, n);

        // Each reference edited on both sides, different fields: a clean three-way merge.
        let pairs: Vec<(Reference, Reference)> = refs
            .iter()
            .map(|r| {
                let mut local = r.clone();
                local.set(Field::Pages, "1-10");
                local.keywords.push("read".into());
                let mut remote = r.clone();
                remote.set(Field::Notes, "checked online");
                remote.rating = 3;
                (local, remote)
            })
            .collect();
        let mut merge = Vec::new();
        for _ in 0..runs {
            let (conflicts, ms) = timed(|| {
                refs.iter()
                    .zip(&pairs)
                    .map(|(base, (l, r))| merge_reference(base, l, r).conflicts.len())
                    .sum::<usize>()
            });
            assert_eq!(conflicts, 0, "the sample edits do not clash");
            merge.push(ms);
        }
        report(
            &format!("merge: {k} references edited on both sides (three-way)"),
            n,
            merge,
        );

        let (mut send, mut receive, mut idle) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let service = Rc::new(RefCell::new(MemoryService::new()));
            let mut remote = MemoryRemote::new(service);
            remote.page_size = refsync_core::protocol::DEFAULT_PAGE;
            let a = MemoryStore::default();
            for r in &refs {
                a.edit(Object::Reference(r.clone()));
            }
            let (sent, ms) = timed(|| sync_once(&a, &remote, "a"));
            assert_eq!(sent.sent as usize, n);
            send.push(ms);
            let b = MemoryStore::default();
            let (got, ms) = timed(|| sync_once(&b, &remote, "b"));
            assert_eq!(got.received as usize, n);
            receive.push(ms);
            let (_, ms) = timed(|| sync_once(&b, &remote, "b"));
            idle.push(ms);
        }
        report(
            &format!("engine (in memory): a device sends its {k} references"),
            n,
            send,
        );
        report(
            &format!("engine (in memory): first sync of {k} into a new device"),
            n,
            receive,
        );
        report(
            &format!("engine (in memory): sync with nothing new ({k})"),
            1,
            idle,
        );
    }
}
