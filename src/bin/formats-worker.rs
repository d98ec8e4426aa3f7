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
    use refsync_web::worker_protocol::{named_buffers, ImportResult};
    use std::collections::HashMap;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;

    /// A new key from the time and the worker's cryptographic random source.
    fn new_key(now: u64) -> Key {
        let mut random = [0u8; 10];
        let crypto = get(&js_sys::global(), "crypto")
            .dyn_into::<web_sys::Crypto>()
            .ok();
        let filled = crypto.is_some_and(|c| c.get_random_values_with_u8_array(&mut random).is_ok());
        if !filled {
            for b in &mut random {
                *b = (js_sys::Math::random() * 256.0) as u8;
            }
        }
        Key::new(now, random)
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
        let mut keys = move || new_key(now);
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
            "import" => import(message).map(Reply::from),
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
