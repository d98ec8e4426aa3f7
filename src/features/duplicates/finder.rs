//! Possible Duplicates found off the window's thread. The duplicates worker
//! (`src/bin/duplicates-worker.rs`) keeps a fingerprint of every reference; once the whole
//! library is read, and again whenever it has been still for a moment after a change, the
//! window sends it what changed since the last count (core's `Library::changes_since`: the
//! references edited or added, the ids gone) and puts the sets it answers in
//! `Library::found_duplicates`.
//!
//! Invariants: nothing is counted before the library is `Ready` (a large library's first
//! screen is not the library); one count runs at a time, and a change during it brings
//! another after it; a count that fails for any reason forgets what the worker was sent, so
//! the next one sends everything (the worker refuses an update it cannot apply, such as one
//! after it was restarted); the window's work is cut into messages of [`CHUNK`] references,
//! each a short task, so the window answers keys and clicks while a large library is sent.

use crate::browser;
use crate::browser::worker::{answer, request, send, set, started, text_of, WorkerSpec};
use crate::features::library::{Library, LoadState};
use crate::worker_protocol::{DuplicatesUpdate, DUPLICATES_OUT_OF_STEP, DUPLICATES_WORKER_LOADER};
use js_sys::{Array, Uint8Array};
use leptos::prelude::*;
use leptos::task::spawn_local;
use refsync_core::query::{DuplicateFields, DuplicateSet, Mark};

const DUPLICATES: WorkerSpec = WorkerSpec {
    loader: DUPLICATES_WORKER_LOADER,
    called: "the duplicates worker",
};

/// How long the library stays unchanged before Possible Duplicates is counted again: a count
/// for every keystroke of an edit would only be thrown away.
const SETTLE_MS: u64 = 800;

/// References per message to the worker: each message is one task of the window's, ~30 ms
/// (measured at 250,000: 20,000 a message made tasks of 58 ms).
const CHUNK: usize = 10_000;

/// The window's side of the finder.
#[derive(Default)]
struct Finder {
    /// Where the library stood at the last update the worker applied.
    sent: Option<Mark>,
    running: bool,
    /// The library changed while a count ran.
    again: bool,
    /// Bumped by every change; a wait that ends under another one's number is stale.
    generation: u64,
}

/// Keep `lib.found_duplicates` current for as long as the library is shown.
pub fn find_duplicates(lib: Library) {
    let finder = StoredValue::new(Finder::default());
    Effect::new(move |_| {
        let ready = lib.load.with(|l| *l == LoadState::Ready);
        lib.data.track();
        if !ready {
            return;
        }
        let Some(g) = finder.try_update_value(|f| {
            f.generation += 1;
            f.generation
        }) else {
            return;
        };
        spawn_local(async move {
            browser::sleep(SETTLE_MS).await;
            if finder.try_with_value(|f| f.generation) != Some(g) {
                return;
            }
            count_until_still(lib, finder).await;
        });
    });
}

async fn count_until_still(lib: Library, finder: StoredValue<Finder>) {
    let busy = finder.try_update_value(|f| {
        let busy = f.running;
        f.again |= busy;
        f.running = true;
        busy
    });
    if busy != Some(false) {
        return;
    }
    // A worker that was restarted, or a count cut short, needs everything once more.
    let mut retried = false;
    loop {
        finder.update_value(|f| f.again = false);
        let started = browser::perf_now();
        // The library was closed (another one opened): nothing more to count.
        let Some(since) = finder.try_with_value(|f| f.sent) else {
            return;
        };
        match count(lib, since).await {
            Ok(Counted::Sets(sets, now)) => {
                browser::measure("duplicates-count", started);
                finder.update_value(|f| f.sent = Some(now));
                lib.found_duplicates.set(Some(sets));
                lib.duplicates_failed.set(None);
            }
            Ok(Counted::Unchanged(now)) => finder.update_value(|f| f.sent = Some(now)),
            Err(e) => {
                finder.update_value(|f| f.sent = None);
                let out_of_step = e == DUPLICATES_OUT_OF_STEP;
                if !out_of_step {
                    // Not fetched (offline before the service worker kept it) or failed: the
                    // pane says so, the count stays as it was, and the next change tries again.
                    web_sys::console::warn_1(&format!("Possible Duplicates: {e}").into());
                    lib.duplicates_failed.set(Some(e));
                }
                if out_of_step && !retried {
                    retried = true;
                    finder.update_value(|f| f.again = true);
                }
            }
        }
        if !finder.try_with_value(|f| f.again).unwrap_or(false) {
            break;
        }
    }
    finder.update_value(|f| f.running = false);
}

enum Counted {
    Sets(Vec<DuplicateSet>, Mark),
    /// No reference changed since the last count (the change was to a group, say).
    Unchanged(Mark),
}

/// Send the worker what changed since `since`, in chunks, and read the sets it answers.
async fn count(lib: Library, since: Option<Mark>) -> Result<Counted, String> {
    let found_before = lib
        .found_duplicates
        .try_with_untracked(Option::is_some)
        .unwrap_or(false);
    let Some((everything, ids, removed, now)) = lib.data.try_with_untracked(|d| {
        let changes = d.refs.changes_since(since);
        let ids: Vec<u32> = changes
            .added
            .iter()
            .filter(|(_, r)| !r.trashed)
            .map(|(id, _)| *id)
            .collect();
        (changes.everything, ids, changes.removed, changes.now)
    }) else {
        return Err("the library was closed".into());
    };
    if !everything && ids.is_empty() && removed.is_empty() && found_before {
        return Ok(Counted::Unchanged(now));
    }
    let chunks: Vec<&[u32]> = if ids.is_empty() {
        vec![&[]]
    } else {
        ids.chunks(CHUNK).collect()
    };
    let last = chunks.len() - 1;
    let mut removed = Some(removed);
    started(DUPLICATES).await?;
    // Each message is sent as soon as it is made, and the window gets a turn before the next:
    // the worker reads one while the window writes the next.
    let mut answers = Vec::with_capacity(chunks.len());
    for (i, chunk) in chunks.into_iter().enumerate() {
        let bytes = lib
            .data
            .try_with_untracked(|d| {
                // The library was replaced (read again, compacted) since the mark: its ids are
                // another library's; the change that did it brings another count.
                if d.refs.mark().library != now.library {
                    return Err("the library changed during the count".to_string());
                }
                let added = chunk
                    .iter()
                    .filter_map(|&id| d.refs.at(id).map(|r| (id, DuplicateFields::of(r))))
                    .collect();
                let update = DuplicatesUpdate {
                    library: now.library,
                    everything: everything && i == 0,
                    added,
                    removed: removed.take().unwrap_or_default(),
                    find: i == last,
                };
                serde_json::to_vec(&update).map_err(|e| e.to_string())
            })
            .ok_or("the library was closed")??;
        let buffer = Uint8Array::from(bytes.as_slice()).buffer();
        let message = request("update");
        set(&message, "update", &buffer);
        answers.push(send(DUPLICATES, &message, &Array::of1(&buffer))?);
        if i < last {
            browser::yield_now().await;
        }
    }
    let mut sets_json = String::new();
    for promise in answers {
        sets_json = text_of(&answer(promise).await?);
    }
    let sets: Vec<DuplicateSet> = serde_json::from_str(&sets_json)
        .map_err(|e| format!("the worker's answer could not be read ({e})"))?;
    Ok(Counted::Sets(sets, now))
}
