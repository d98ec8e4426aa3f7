//! The app's side of the formats worker (imports, exports, backup files): what each request
//! sends and what its answer holds. Starting the worker and matching answers is
//! `browser::worker`'s.

use crate::browser::worker::{ask, ask_for, request, request_with_files, set, text_of, WorkerSpec};
use crate::worker_protocol::{named_buffers, ImportResult, IMPORT_FILE, WORKER_LOADER};
use js_sys::{Array, Uint8Array};
use refsync_core::backup::Manifest;
use refsync_core::formats::{Format, Report};
use refsync_core::Reference;
use std::collections::HashMap;
use wasm_bindgen::prelude::*;

const FORMATS: WorkerSpec = WorkerSpec {
    loader: WORKER_LOADER,
    called: "the import and export worker",
};

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
    set(&message, "manifest", &JsValue::from_str(&json));
    let answer = ask_for(FORMATS, message, buffers).await?;
    named_buffers(&answer)
        .into_iter()
        .next()
        .map(|(_, zip)| zip)
        .ok_or_else(|| "the worker made no file".into())
}

/// A backup file read and checked: its manifest and the attachments' bytes, by SHA-256.
pub async fn restore(bytes: &[u8]) -> Result<(Manifest, HashMap<String, Vec<u8>>), String> {
    let buffer = Uint8Array::from(bytes).buffer();
    let message = request("restore");
    set(&message, "bytes", &buffer);
    let answer = ask_for(FORMATS, message, Array::of1(&buffer)).await?;
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
    set(&message, "now", &JsValue::from_f64(now as f64));
    if let Some(f) = format {
        set(&message, "format", &f.id().into());
    }
    let started = crate::browser::perf_now();
    crate::browser::worker::started(FORMATS).await?;
    crate::browser::measure("import-worker-start", started);
    let started = crate::browser::perf_now();
    let answer = ask_for(FORMATS, message, buffers).await?;
    crate::browser::measure("import-worker", started);
    let started = crate::browser::perf_now();
    let json = named_buffers(&answer)
        .into_iter()
        .find(|(name, _)| name == IMPORT_FILE)
        .map(|(_, json)| json)
        .ok_or("the worker's answer held no import")?;
    let result: ImportResult = serde_json::from_slice(&json)
        .map_err(|e| format!("the worker's answer could not be read ({e})"))?;
    crate::browser::measure("import-parse", started);
    let report = result.report();
    Ok((result.references, report))
}

/// `references` written in `format`.
pub async fn export(format: Format, references: &[Reference]) -> Result<String, String> {
    let json = serde_json::to_string(references).map_err(|e| e.to_string())?;
    let message = request("export");
    set(&message, "format", &format.id().into());
    set(&message, "references", &JsValue::from_str(&json));
    ask(FORMATS, message, Array::new()).await
}
