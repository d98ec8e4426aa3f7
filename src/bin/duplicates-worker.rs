//! The duplicates worker: finds Possible Duplicates off the window's thread, so that counting a
//! quarter of a million references never freezes the window. It keeps a fingerprint of every
//! reference (core's `Fingerprint`, by the library's internal id) between counts and is sent
//! only what changed (`refsync_web::worker_protocol::DuplicatesUpdate`); the window's side is
//! `src/features/duplicates/finder.rs`.
//!
//! Invariant: the fingerprints held are of one library (`held`), brought up to date in the
//! order the updates were sent; an update that does not start from everything is refused
//! unless it is of that library.

#[cfg(target_arch = "wasm32")]
mod worker {
    use js_sys::Uint8Array;
    use refsync_core::query::{find_sets, Fingerprint};
    use refsync_web::worker_protocol::serve::{get, serve, Reply};
    use refsync_web::worker_protocol::{DuplicatesUpdate, DUPLICATES_OUT_OF_STEP};
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    #[derive(Default)]
    struct Held {
        library: Option<u64>,
        /// By id: `find_sets` is given them in the library's id order, as core's
        /// `Library::duplicates` is, so both find the same sets.
        prints: BTreeMap<u32, Fingerprint>,
    }

    thread_local! {
        static HELD: RefCell<Held> = RefCell::new(Held::default());
    }

    fn update(message: &wasm_bindgen::JsValue) -> Result<String, String> {
        let bytes = Uint8Array::new(&get(message, "update")).to_vec();
        let update: DuplicatesUpdate<'_> = serde_json::from_slice(&bytes)
            .map_err(|e| format!("the update could not be read ({e})"))?;
        HELD.with(|held| {
            let mut held = held.borrow_mut();
            if update.everything {
                held.prints.clear();
                held.library = Some(update.library);
            } else if held.library != Some(update.library) {
                // Forget a half-held library: the window starts over from everything.
                *held = Held::default();
                return Err(DUPLICATES_OUT_OF_STEP.to_string());
            }
            for id in &update.removed {
                held.prints.remove(id);
            }
            for (id, fields) in &update.added {
                held.prints.insert(*id, Fingerprint::from_fields(fields));
            }
            if !update.find {
                return Ok(String::new());
            }
            let sets = find_sets(&held.prints.values().collect::<Vec<_>>());
            serde_json::to_string(&sets).map_err(|e| e.to_string())
        })
    }

    fn handle(op: &str, message: &wasm_bindgen::JsValue) -> Result<Reply, String> {
        match op {
            "update" => update(message).map(Reply::from),
            _ => Err("an unknown request".into()),
        }
    }

    pub fn start() {
        serve(handle);
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {
    worker::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("duplicates-worker runs in the browser, as the web app's Web Worker");
}
