//! The app's side of a Web Worker built from this crate (the formats worker, the citations
//! worker): started on first use, requests matched to answers by id.
//!
//! Invariant: every request gets an answer or an error — a worker that fails to start or
//! crashes rejects everything waiting, worded for the person, and the next request starts a
//! fresh one.

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use std::cell::RefCell;
use std::collections::HashMap;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Event, MessageEvent, Worker};

/// A worker: its loader script and what it is called in messages to the person.
#[derive(Clone, Copy, Debug)]
pub struct WorkerSpec {
    pub loader: &'static str,
    /// "the import and export worker".
    pub called: &'static str,
}

struct Running {
    worker: Worker,
    /// Resolves once the worker listens: messages sent before that would be lost; rejects
    /// when it fails first (its script or its wasm could not be fetched).
    ready: Promise,
    ready_resolve: Option<Function>,
    ready_reject: Option<Function>,
    /// Waiting requests: id to (resolve, reject).
    waiting: HashMap<u32, (Function, Function)>,
    next: u32,
}

thread_local! {
    /// The running workers, by loader.
    static RUNNING: RefCell<HashMap<&'static str, Running>> = RefCell::new(HashMap::new());
}

fn with_running<T>(spec: WorkerSpec, f: impl FnOnce(Option<&mut Running>) -> T) -> T {
    RUNNING.with(|r| f(r.borrow_mut().get_mut(spec.loader)))
}

fn start(spec: WorkerSpec) -> Result<(), String> {
    let worker = Worker::new(spec.loader)
        .map_err(|_| format!("the browser could not start {}", spec.called))?;
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |ev: MessageEvent| {
        let data = ev.data();
        if Reflect::get(&data, &"ready".into())
            .ok()
            .and_then(|v| v.as_bool())
            == Some(true)
        {
            if let Some(resolve) = with_running(spec, |r| r.and_then(|r| r.ready_resolve.take())) {
                let _ = resolve.call0(&JsValue::NULL);
            }
            return;
        }
        let id = Reflect::get(&data, &"id".into())
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(-1.0) as u32;
        if let Some((resolve, _)) = with_running(spec, |r| r.and_then(|r| r.waiting.remove(&id))) {
            let _ = resolve.call1(&JsValue::NULL, &data);
        }
    });
    // An error in the worker's code is an `ErrorEvent`; a script that could not be fetched is
    // a plain `Event`, with no message.
    let on_error = Closure::<dyn Fn(Event)>::new(move |ev: Event| {
        let message = Reflect::get(&ev, &"message".into())
            .ok()
            .and_then(|m| m.as_string())
            .filter(|m| !m.is_empty());
        let message = JsValue::from_str(&match message {
            Some(m) => format!("{} failed ({m})", spec.called),
            None => format!("{} could not be loaded", spec.called),
        });
        // Everything waiting fails, starting included; the next request starts a fresh worker.
        let Some(running) = RUNNING.with(|r| r.borrow_mut().remove(spec.loader)) else {
            return;
        };
        running.worker.terminate();
        let waiting = running.waiting.into_values().map(|(_, reject)| reject);
        for reject in running.ready_reject.into_iter().chain(waiting) {
            let _ = reject.call1(&JsValue::NULL, &message);
        }
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    // They live as long as the page.
    on_message.forget();
    on_error.forget();
    let (mut ready_resolve, mut ready_reject) = (None, None);
    let ready = Promise::new(&mut |resolve, reject| {
        ready_resolve = Some(resolve);
        ready_reject = Some(reject);
    });
    RUNNING.with(|r| {
        r.borrow_mut().insert(
            spec.loader,
            Running {
                worker,
                ready,
                ready_resolve,
                ready_reject,
                waiting: HashMap::new(),
                next: 0,
            },
        )
    });
    Ok(())
}

/// An answer's `text`.
pub fn text_of(answer: &JsValue) -> String {
    Reflect::get(answer, &"text".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

/// Send `message` (an object without its id) and wait for the answer's `text`.
pub async fn ask(spec: WorkerSpec, message: Object, transfer: Array) -> Result<String, String> {
    Ok(text_of(&ask_for(spec, message, transfer).await?))
}

/// Send `message` (an object without its id), with `transfer`'s buffers handed over, and wait
/// for the answer: an error if the worker says it failed.
pub async fn ask_for(
    spec: WorkerSpec,
    message: Object,
    transfer: Array,
) -> Result<JsValue, String> {
    started(spec).await?;
    answer(send(spec, &message, &transfer)?).await
}

/// Start the worker if it is not running, and wait until it listens.
pub async fn started(spec: WorkerSpec) -> Result<(), String> {
    if with_running(spec, |r| r.is_none()) {
        start(spec)?;
    }
    if let Some(ready) = with_running(spec, |r| r.map(|r| r.ready.clone())) {
        JsFuture::from(ready).await.map_err(|e| {
            e.as_string()
                .unwrap_or_else(|| format!("{} did not start", spec.called))
        })?;
    }
    Ok(())
}

/// Post `message` now to the worker, which must be [`started`]: its answer, to wait for with
/// [`answer`]. Several may be sent before the first is answered; they are answered in order.
pub fn send(spec: WorkerSpec, message: &Object, transfer: &Array) -> Result<Promise, String> {
    let mut sent = Ok(());
    let promise = Promise::new(&mut |resolve, reject| {
        sent = with_running(spec, |running| {
            let Some(running) = running else {
                return Err(format!("{} is not running", spec.called));
            };
            running.next += 1;
            let id = running.next;
            let _ = Reflect::set(message, &"id".into(), &JsValue::from(id));
            running.waiting.insert(id, (resolve, reject));
            running
                .worker
                .post_message_with_transfer(message, transfer)
                .map_err(|_| format!("the browser could not hand the work to {}", spec.called))
        });
    });
    sent?;
    Ok(promise)
}

/// The answer [`send`] promised: an error if the worker says it failed.
pub async fn answer(promise: Promise) -> Result<JsValue, String> {
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
/// [`crate::worker_protocol::named_buffers`] reads them), and the buffers to transfer with it.
pub fn request_with_files<'a>(
    op: &str,
    files: impl Iterator<Item = (&'a str, &'a [u8])>,
) -> (Object, Array) {
    let message = request(op);
    let names = Array::new();
    let buffers = Array::new();
    for (name, bytes) in files {
        names.push(&JsValue::from_str(name));
        buffers.push(&Uint8Array::from(bytes).buffer());
    }
    let _ = Reflect::set(&message, &"names".into(), &names);
    let _ = Reflect::set(&message, &"files".into(), &buffers);
    (message, buffers)
}

/// A request `op`, its other fields set with [`set`].
pub fn request(op: &str) -> Object {
    let message = Object::new();
    let _ = Reflect::set(&message, &"op".into(), &op.into());
    message
}

/// One field of a request.
pub fn set(message: &Object, name: &str, value: &JsValue) {
    let _ = Reflect::set(message, &name.into(), value);
}
