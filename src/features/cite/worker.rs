//! The app's side of the citations worker: what each request sends and what its answer
//! holds. Starting the worker and matching answers is `browser::worker`'s.

use crate::browser::worker::{ask, ask_for, request, set, text_of, WorkerSpec};
use crate::worker_protocol::{
    named_buffers, CiteRequest, CiteResult, PaperResult, StyleEntry, CITE_WORKER_LOADER,
};
use js_sys::{Array, Uint8Array};
use wasm_bindgen::JsValue;

const CITE: WorkerSpec = WorkerSpec {
    loader: CITE_WORKER_LOADER,
    called: "the citations worker",
};

fn read<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, String> {
    serde_json::from_str(json).map_err(|e| format!("the worker's answer could not be read ({e})"))
}

fn with_request(op: &str, req: &CiteRequest) -> Result<js_sys::Object, String> {
    let json = serde_json::to_string(req).map_err(|e| e.to_string())?;
    let message = request(op);
    set(&message, "request", &JsValue::from_str(&json));
    Ok(message)
}

/// The built-in styles, by title.
pub async fn styles() -> Result<Vec<StyleEntry>, String> {
    read(&ask(CITE, request("styles"), Array::new()).await?)
}

/// The references of `req` cited together and listed, in each of its outputs.
pub async fn cite(req: &CiteRequest) -> Result<CiteResult, String> {
    read(&ask(CITE, with_request("cite", req)?, Array::new()).await?)
}

/// Format Paper: the manuscript `name` (its `bytes`) against `req`'s references; the report
/// and the formatted file (name, bytes).
pub async fn paper(
    req: &CiteRequest,
    name: &str,
    bytes: &[u8],
) -> Result<(PaperResult, (String, Vec<u8>)), String> {
    let message = with_request("paper", req)?;
    let buffer = Uint8Array::from(bytes).buffer();
    set(&message, "name", &JsValue::from_str(name));
    set(&message, "bytes", &buffer);
    let answer = ask_for(CITE, message, Array::of1(&buffer)).await?;
    let result = read(&text_of(&answer))?;
    let file = named_buffers(&answer)
        .into_iter()
        .next()
        .ok_or("the worker made no file")?;
    Ok((result, file))
}
