//! The app's side of the formats worker (imports, exports, backup files): started on first
//! use, one request at a time per call, answers matched by id.
//!
//! Invariant: every request gets an answer or an error — a worker that fails to start or
//! crashes rejects everything waiting, worded for the person.

use crate::worker_protocol::{named_buffers, ImportResult, WORKER_LOADER};
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use refsync_core::backup::Manifest;
use refsync_core::formats::{Format, Report};
use refsync_core::Reference;
use std::cell::RefCell;
use std::collections::HashMap;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{ErrorEvent, MessageEvent, Worker};

struct Running {
    worker: Worker,
    /// Resolves once the worker listens: messages sent before that would be lost.
    ready: Promise,
    ready_resolve: Option<Function>,
    /// Waiting requests: id to (resolve, reject).
    waiting: HashMap<u32, (Function, Function)>,
    next: u32,
}

thread_local! {
    static RUNNING: RefCell<Option<Running>> = const { RefCell::new(None) };
}

fn start() -> Result<(), String> {
    let worker = Worker::new(WORKER_LOADER)
        .map_err(|_| "the browser could not start the import and export worker".to_string())?;
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(|ev: MessageEvent| {
        let data = ev.data();
        if Reflect::get(&data, &"ready".into())
            .ok()
            .and_then(|v| v.as_bool())
            == Some(true)
        {
            let resolve =
                RUNNING.with(|r| r.borrow_mut().as_mut().and_then(|r| r.ready_resolve.take()));
            if let Some(resolve) = resolve {
                let _ = resolve.call0(&JsValue::NULL);
            }
            return;
        }
        let id = Reflect::get(&data, &"id".into())
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(-1.0) as u32;
        let waiter = RUNNING.with(|r| r.borrow_mut().as_mut().and_then(|r| r.waiting.remove(&id)));
        if let Some((resolve, _)) = waiter {
            let _ = resolve.call1(&JsValue::NULL, &data);
        }
    });
    let on_error = Closure::<dyn Fn(ErrorEvent)>::new(|ev: ErrorEvent| {
        let message = JsValue::from_str(&format!(
            "the import and export worker failed ({})",
            ev.message()
        ));
        // Everything waiting fails; the next request starts a fresh worker.
        let waiting = RUNNING.with(|r| r.borrow_mut().take().map(|r| r.waiting));
        for (_, (_, reject)) in waiting.into_iter().flatten() {
            let _ = reject.call1(&JsValue::NULL, &message);
        }
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    // They live as long as the page.
    on_message.forget();
    on_error.forget();
    let mut ready_resolve = None;
    let ready = Promise::new(&mut |resolve, _| ready_resolve = Some(resolve));
    RUNNING.with(|r| {
        *r.borrow_mut() = Some(Running {
            worker,
            ready,
            ready_resolve,
            waiting: HashMap::new(),
            next: 0,
        })
    });
    Ok(())
}

/// Send `message` (an object without its id) and wait for the answer's `text`.
async fn ask(message: Object, transfer: Array) -> Result<String, String> {
    Ok(text_of(&ask_for(message, transfer).await?))
}

/// An answer's `text`.
fn text_of(answer: &JsValue) -> String {
    Reflect::get(answer, &"text".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

/// Send `message` (an object without its id) and wait for the answer: an error if the
/// worker says it failed.
async fn ask_for(message: Object, transfer: Array) -> Result<JsValue, String> {
    if RUNNING.with(|r| r.borrow().is_none()) {
        start()?;
    }
    let ready = RUNNING.with(|r| r.borrow().as_ref().map(|r| r.ready.clone()));
    if let Some(ready) = ready {
        JsFuture::from(ready)
            .await
            .map_err(|_| "the import and export worker did not start".to_string())?;
    }
    let mut sent = Ok(());
    let promise = Promise::new(&mut |resolve, reject| {
        sent = RUNNING.with(|r| {
            let mut r = r.borrow_mut();
            let Some(running) = r.as_mut() else {
                return Err("the import and export worker is not running".to_string());
            };
            running.next += 1;
            let id = running.next;
            let _ = Reflect::set(&message, &"id".into(), &JsValue::from(id));
            running.waiting.insert(id, (resolve, reject));
            running
                .worker
                .post_message_with_transfer(&message, &transfer)
                .map_err(|_| "the browser could not hand the files to the worker".to_string())
        });
    });
    sent?;
    let answer = JsFuture::from(promise)
        .await
        .map_err(|e| e.as_string().unwrap_or_else(|| "the worker failed".into()))?;
    let ok = Reflect::get(&answer, &"ok".into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    if ok {
        Ok(answer)
    } else {
        Err(Reflect::get(&answer, &"error".into())
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_else(|| "the worker failed".into()))
    }
}

/// A request `op` carrying named buffers (`names` and `files`, as
/// [`named_buffers`] reads them), and the buffers to transfer with it.
fn request_with_files<'a>(
    op: &str,
    files: impl Iterator<Item = (&'a str, &'a [u8])>,
) -> (Object, Array) {
    let message = Object::new();
    let names = Array::new();
    let buffers = Array::new();
    for (name, bytes) in files {
        names.push(&JsValue::from_str(name));
        buffers.push(&Uint8Array::from(bytes).buffer());
    }
    let _ = Reflect::set(&message, &"op".into(), &op.into());
    let _ = Reflect::set(&message, &"names".into(), &names);
    let _ = Reflect::set(&message, &"files".into(), &buffers);
    (message, buffers)
}

/// A backup file (core's format) of `manifest` and the attachments' bytes, by SHA-256.
pub async fn backup(
    manifest: &Manifest,
    files: HashMap<String, Vec<u8>>,
) -> Result<Vec<u8>, String> {
    let json = serde_json::to_string(manifest).map_err(|e| e.to_string())?;
    let (message, buffers) = request_with_files(
        "backup",
        files
            .iter()
            .map(|(sha, bytes)| (sha.as_str(), bytes.as_slice())),
    );
    let _ = Reflect::set(&message, &"manifest".into(), &JsValue::from_str(&json));
    let answer = ask_for(message, buffers).await?;
    named_buffers(&answer)
        .into_iter()
        .next()
        .map(|(_, zip)| zip)
        .ok_or_else(|| "the worker made no file".into())
}

/// A backup file read and checked: its manifest and the attachments' bytes, by SHA-256.
pub async fn restore(bytes: &[u8]) -> Result<(Manifest, HashMap<String, Vec<u8>>), String> {
    let buffer = Uint8Array::from(bytes).buffer();
    let message = Object::new();
    let _ = Reflect::set(&message, &"op".into(), &"restore".into());
    let _ = Reflect::set(&message, &"bytes".into(), &buffer);
    let answer = ask_for(message, Array::of1(&buffer)).await?;
    let manifest: Manifest = serde_json::from_str(&text_of(&answer))
        .map_err(|e| format!("the worker's answer could not be read ({e})"))?;
    Ok((manifest, named_buffers(&answer).into_iter().collect()))
}

/// Import `files` (name, bytes) in `format`, or each in the format it is recognised as.
pub async fn import(
    files: Vec<(String, Vec<u8>)>,
    format: Option<Format>,
    now: u64,
) -> Result<(Vec<Reference>, Report), String> {
    let (message, buffers) = request_with_files(
        "import",
        files
            .iter()
            .map(|(name, bytes)| (name.as_str(), bytes.as_slice())),
    );
    let set = |k: &str, v: &JsValue| {
        let _ = Reflect::set(&message, &k.into(), v);
    };
    set("now", &JsValue::from_f64(now as f64));
    if let Some(f) = format {
        set("format", &f.id().into());
    }
    let json = ask(message, buffers).await?;
    let result: ImportResult = serde_json::from_str(&json)
        .map_err(|e| format!("the worker's answer could not be read ({e})"))?;
    let report = result.report();
    Ok((result.references, report))
}

/// `references` written in `format`.
pub async fn export(format: Format, references: &[Reference]) -> Result<String, String> {
    let json = serde_json::to_string(references).map_err(|e| e.to_string())?;
    let message = Object::new();
    let _ = Reflect::set(&message, &"op".into(), &"export".into());
    let _ = Reflect::set(&message, &"format".into(), &format.id().into());
    let _ = Reflect::set(&message, &"references".into(), &JsValue::from_str(&json));
    ask(message, Array::new()).await
}
