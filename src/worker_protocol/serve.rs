//! A worker's side of the conversation: listen, answer each request by id, say when ready.
//! Both workers (`src/bin/formats-worker.rs`, `src/bin/cite-worker.rs`) are this loop around
//! their own handler.

use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

/// A field of a message (undefined when absent).
pub fn get(obj: &JsValue, name: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// A text field of a message ("" when absent).
pub fn text(obj: &JsValue, name: &str) -> String {
    get(obj, name).as_string().unwrap_or_default()
}

/// What a request produced: text, and bytes by name (sent as transferred buffers).
#[derive(Debug, Default)]
pub struct Reply {
    pub text: String,
    pub files: Vec<(String, Vec<u8>)>,
}

impl From<String> for Reply {
    fn from(text: String) -> Reply {
        Reply {
            text,
            files: Vec::new(),
        }
    }
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

/// Answer every request with `handle(op, message)`, then tell the app the worker listens.
pub fn serve(handle: fn(&str, &JsValue) -> Result<Reply, String>) {
    console_error_panic_hook::set_once();
    let Ok(scope) = js_sys::global().dyn_into::<DedicatedWorkerGlobalScope>() else {
        return;
    };
    let reply_to = scope.clone();
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |ev: MessageEvent| {
        let message = ev.data();
        let id = get(&message, "id");
        let op = text(&message, "op");
        answer(&reply_to, &id, handle(&op, &message));
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The worker lives as long as the page; so does its handler.
    on_message.forget();
    // Messages that arrived before the handler was set were dropped: the app waits for this
    // before sending anything.
    let ready = Object::new();
    let _ = Reflect::set(&ready, &"ready".into(), &JsValue::TRUE);
    let _ = scope.post_message(&ready);
}
