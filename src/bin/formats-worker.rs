//! The formats worker: imports, exports and backup files in a Web Worker, so the app's own
//! download stays small and a long import or a large backup never freezes the window. Built by
//! trunk as a worker (index.html: `data-type="worker"`); the protocol is in
//! `refsync_web::worker_protocol`.

#[cfg(target_arch = "wasm32")]
mod worker {
    use js_sys::{Array, Object, Reflect, Uint8Array};
    use refsync_core::backup;
    use refsync_core::formats::{self, Format, ImportContext, Source};
    use refsync_core::{Key, Reference};
    use refsync_web::worker_protocol::{named_buffers, ImportResult};
    use std::collections::HashMap;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    fn get(obj: &JsValue, name: &str) -> JsValue {
        Reflect::get(obj, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
    }

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

    /// What a request produced: text, and bytes by name (sent as transferred buffers).
    struct Reply {
        text: String,
        files: Vec<(String, Vec<u8>)>,
    }

    impl From<String> for Reply {
        fn from(text: String) -> Reply {
            Reply {
                text,
                files: Vec::new(),
            }
        }
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

    fn answer(scope: &DedicatedWorkerGlobalScope, id: &JsValue, result: Result<Reply, String>) {
        let out = Object::new();
        let _ = Reflect::set(&out, &"id".into(), id);
        let transfer = Array::new();
        match result {
            Ok(reply) => {
                let _ = Reflect::set(&out, &"ok".into(), &JsValue::TRUE);
                let _ = Reflect::set(&out, &"text".into(), &JsValue::from_str(&reply.text));
                let names = Array::new();
                let buffers = Array::new();
                for (name, bytes) in reply.files {
                    let buffer = Uint8Array::from(bytes.as_slice()).buffer();
                    names.push(&JsValue::from_str(&name));
                    buffers.push(&buffer);
                    transfer.push(&buffer);
                }
                let _ = Reflect::set(&out, &"names".into(), &names);
                let _ = Reflect::set(&out, &"files".into(), &buffers);
            }
            Err(e) => {
                let _ = Reflect::set(&out, &"ok".into(), &JsValue::FALSE);
                let _ = Reflect::set(&out, &"error".into(), &JsValue::from_str(&e));
            }
        }
        let _ = scope.post_message_with_transfer(&out, &transfer);
    }

    pub fn start() {
        console_error_panic_hook::set_once();
        let Ok(scope) = js_sys::global().dyn_into::<DedicatedWorkerGlobalScope>() else {
            return;
        };
        let reply_to = scope.clone();
        let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |ev: MessageEvent| {
            let message = ev.data();
            let id = get(&message, "id");
            let result = match get(&message, "op").as_string().as_deref() {
                Some("import") => import(&message).map(Reply::from),
                Some("export") => export(&message).map(Reply::from),
                Some("backup") => backup(&message),
                Some("restore") => restore(&message),
                _ => Err("an unknown request".into()),
            };
            answer(&reply_to, &id, result);
        });
        scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        // The worker lives as long as the page; so does its handler.
        on_message.forget();
        // Messages that arrived before the handler was set were dropped: the app waits for
        // this before sending anything.
        let ready = Object::new();
        let _ = Reflect::set(&ready, &"ready".into(), &JsValue::TRUE);
        let _ = scope.post_message(&ready);
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
