//! The formats worker: imports, exports and backup files in a Web Worker, so the app's own
//! download stays small and a long import or a large backup never freezes the window. Built by
//! trunk as a worker (index.html: `data-type="worker"`); the protocol is in
//! `refsync_web::worker_protocol`.

#[cfg(target_arch = "wasm32")]
mod worker {
    use js_sys::Uint8Array;
    use refsync_core::backup;
    use refsync_core::formats::{self, Format, ImportContext, Source};
    use refsync_core::{Key, Reference};
    use refsync_web::worker_protocol::serve::{get, serve, Reply};
    use refsync_web::worker_protocol::{named_buffers, ImportResult, IMPORT_FILE};
    use std::collections::HashMap;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;

    /// New keys from the time and the worker's cryptographic random source, whose bytes are
    /// asked for 65,530 at a time (the most one call gives, 6,553 keys): a call per key was
    /// 0.1–0.2 s of a 41,000-entry import.
    struct Keys {
        now: u64,
        random: Vec<u8>,
        used: usize,
    }

    impl Keys {
        const BATCH: usize = 65_530;

        fn new(now: u64) -> Keys {
            Keys {
                now,
                random: Vec::new(),
                used: 0,
            }
        }

        fn next(&mut self) -> Key {
            if self.used + 10 > self.random.len() {
                self.random = vec![0u8; Self::BATCH];
                self.used = 0;
                let crypto = get(&js_sys::global(), "crypto")
                    .dyn_into::<web_sys::Crypto>()
                    .ok();
                let filled = crypto
                    .is_some_and(|c| c.get_random_values_with_u8_array(&mut self.random).is_ok());
                if !filled {
                    for b in &mut self.random {
                        *b = (js_sys::Math::random() * 256.0) as u8;
                    }
                }
            }
            let mut random = [0u8; 10];
            random.copy_from_slice(&self.random[self.used..self.used + 10]);
            self.used += 10;
            Key::new(self.now, random)
        }
    }

    fn import(message: &JsValue) -> Result<String, String> {
        let now = get(message, "now").as_f64().unwrap_or(0.0) as u64;
        let format = get(message, "format")
            .as_string()
            .and_then(|f| Format::from_id(&f));
        let files = named_buffers(message);
        let sources: Vec<Source<'_>> = files
            .iter()
            .map(|(name, bytes)| Source { name, bytes })
            .collect();
        let mut source = Keys::new(now);
        let mut keys = move || source.next();
        let mut ctx = ImportContext {
            now,
            new_key: &mut keys,
        };
        let imported = formats::import_files(&sources, format, &mut ctx, |_| {});
        let mut result = ImportResult {
            references: imported.references,
            ..ImportResult::default()
        };
        result.add_report(imported.report);
        serde_json::to_string(&result).map_err(|e| e.to_string())
    }

    fn export(message: &JsValue) -> Result<String, String> {
        let format = get(message, "format")
            .as_string()
            .and_then(|f| Format::from_id(&f))
            .ok_or("an unknown export format")?;
        let json = get(message, "references").as_string().unwrap_or_default();
        let references: Vec<Reference> = serde_json::from_str(&json).map_err(|e| e.to_string())?;
        Ok(formats::export(format, &references))
    }

    /// A backup file of the manifest (JSON, as the app wrote it) and the attachments' bytes.
    fn backup(message: &JsValue) -> Result<Reply, String> {
        let manifest = get(message, "manifest").as_string().unwrap_or_default();
        let files: HashMap<String, Vec<u8>> = named_buffers(message).into_iter().collect();
        let zip = backup::write_json(manifest.as_bytes(), &files).map_err(|e| e.to_string())?;
        Ok(Reply {
            text: String::new(),
            files: vec![("backup.zip".into(), zip)],
        })
    }

    /// A backup file read and checked: its manifest (JSON) and the attachments' bytes.
    fn restore(message: &JsValue) -> Result<Reply, String> {
        let bytes = Uint8Array::new(&get(message, "bytes")).to_vec();
        let (manifest, files) = backup::read(&bytes).map_err(|e| e.to_string())?;
        Ok(Reply {
            text: serde_json::to_string(&manifest).map_err(|e| e.to_string())?,
            files: files.into_iter().collect(),
        })
    }

    fn handle(op: &str, message: &JsValue) -> Result<Reply, String> {
        match op {
            "import" => import(message).map(|json| Reply {
                // As bytes, handed over whole: a string of tens of megabytes is decoded into
                // the page's strings, copied to the window and encoded again there.
                text: String::new(),
                files: vec![(IMPORT_FILE.into(), json.into_bytes())],
            }),
            "export" => export(message).map(Reply::from),
            "backup" => backup(message),
            "restore" => restore(message),
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
    eprintln!("formats-worker runs in the browser, as the web app's Web Worker");
}
