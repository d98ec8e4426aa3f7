//! The few browser facilities the app needs beyond Leptos: the clock, randomness for new
//! object keys, downloads, timers, and what tabs of the app share (Web Locks, a broadcast
//! channel), and the app's side of its Web Workers (`worker`).

pub mod worker;

use refsync_core::Key;
use wasm_bindgen::{JsCast, JsValue};

/// Milliseconds since the Unix epoch, from the browser's clock.
pub fn now_millis() -> u64 {
    js_sys::Date::now() as u64
}

/// A new object key from the clock and the browser's cryptographic random source.
pub fn new_key() -> Key {
    let mut random = [0u8; 10];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut random).is_ok());
    if !filled {
        // No Web Crypto (very old browsers): Math.random is weaker but keys only need to be
        // unique, not secret.
        for b in &mut random {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    Key::new(now_millis(), random)
}

thread_local! {
    static TAB: String = new_key().to_string();
}

/// This tab's id, random and fixed for its life (tells this tab's writes from another's).
pub fn tab_id() -> String {
    TAB.with(Clone::clone)
}

/// A `performance.mark`, which the benchmark harness collects (and devtools show).
pub fn mark(name: &str) {
    if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
        // A missing mark only costs a benchmark figure.
        let _ = p.mark(name);
    }
}

/// A [`mark`] carrying a number (`detail`), for figures that are not times.
pub fn mark_detail(name: &str, detail: f64) {
    performance_call("mark", name, &[("detail", detail)]);
}

/// `performance.<method>(name, {options})`, through Reflect: web-sys's option types for
/// these are behind features the app has no other use for.
fn performance_call(method: &str, name: &str, options: &[(&str, f64)]) {
    let Some(p) = web_sys::window().and_then(|w| w.performance()) else {
        return;
    };
    let object = js_sys::Object::new();
    for (key, value) in options {
        let _ = js_sys::Reflect::set(&object, &(*key).into(), &(*value).into());
    }
    let f = js_sys::Reflect::get(&p, &method.into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    if let Some(f) = f {
        // A missing mark or measure only costs a benchmark figure.
        let _ = f.call2(&p, &JsValue::from_str(name), &object);
    }
}

/// The size of the app's wasm memory, in bytes (it only grows).
pub fn wasm_memory_bytes() -> f64 {
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .ok()
        .and_then(|m| m.buffer().dyn_into::<js_sys::ArrayBuffer>().ok())
        .map_or(0.0, |b| f64::from(b.byte_length()))
}

/// `performance.now()`: the start of a [`measure`].
pub fn perf_now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// A `performance.measure` named `name` from `started` ([`perf_now`]) until now: the phases
/// of long work (a sync's pages), which devtools show and the benchmark harness collects.
pub fn measure(name: &str, started: f64) {
    performance_call("measure", name, &[("start", started), ("end", perf_now())]);
}

/// Offer `bytes` as a file download called `file_name`.
pub fn download(file_name: &str, media_type: &str, bytes: &[u8]) -> Result<(), String> {
    let array = js_sys::Uint8Array::from(bytes);
    let parts = js_sys::Array::of1(&array);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(media_type);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|_| "the browser could not make the file".to_string())?;
    download_blob(file_name, &blob)
}

/// Offer a Blob as a file download called `file_name`.
pub fn download_blob(file_name: &str, blob: &web_sys::Blob) -> Result<(), String> {
    let url = web_sys::Url::create_object_url_with_blob(blob)
        .map_err(|_| "the browser could not make the file".to_string())?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|_| "no link element")?
        .dyn_into()
        .map_err(|_| "no link element")?;
    a.set_href(&url);
    a.set_download(file_name);
    a.click();
    // The click has started the download; the URL can go once the event loop turns.
    let revoke = url.clone();
    leptos::prelude::set_timeout(
        move || {
            let _ = web_sys::Url::revoke_object_url(&revoke);
        },
        std::time::Duration::from_secs(60),
    );
    Ok(())
}

/// Put HTML and plain text on the clipboard together: a word processor pastes the rich text,
/// a plain box the text. They may still be being made: the write is asked for now, inside the
/// key press or click that wants it (browsers refuse a clipboard write long after one), and
/// `content` fills it when ready.
pub async fn copy_rich(
    content: impl std::future::Future<Output = Result<(String, String), String>> + 'static,
) -> Result<(), String> {
    use js_sys::{Array, Object, Promise, Reflect};
    use wasm_bindgen_futures::{future_to_promise, JsFuture};
    let window = web_sys::window().ok_or("no window")?;
    let clipboard = Reflect::get(&window.navigator(), &"clipboard".into())
        .ok()
        .filter(|c| !c.is_undefined())
        .ok_or("this browser gives no access to the clipboard here")?;
    let both = future_to_promise(async move {
        let (html, text) = content.await.map_err(|e| JsValue::from_str(&e))?;
        Ok(Array::of2(&html.into(), &text.into()).into())
    });
    let blob = |index: u32, media: &'static str| {
        let both = both.clone();
        future_to_promise(async move {
            let pair = Array::from(&JsFuture::from(both).await?);
            let options = web_sys::BlobPropertyBag::new();
            options.set_type(media);
            let parts = Array::of1(&pair.get(index));
            Ok(web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)?.into())
        })
    };
    let items = Object::new();
    let _ = Reflect::set(&items, &"text/html".into(), &blob(0, "text/html"));
    let _ = Reflect::set(&items, &"text/plain".into(), &blob(1, "text/plain"));
    let refused = || "the browser refused the clipboard".to_string();
    let constructor: js_sys::Function = Reflect::get(&window, &"ClipboardItem".into())
        .ok()
        .and_then(|c| c.dyn_into().ok())
        .ok_or("this browser cannot put rich text on the clipboard")?;
    let item = Reflect::construct(&constructor, &Array::of1(&items)).map_err(|_| refused())?;
    let write: js_sys::Function = Reflect::get(&clipboard, &"write".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(refused)?;
    let written: Promise = write
        .call1(&clipboard, &Array::of1(&item))
        .map_err(|_| refused())?
        .dyn_into()
        .map_err(|_| refused())?;
    // The content's own failure says more than the clipboard's.
    if let Err(e) = JsFuture::from(both).await {
        return Err(e.as_string().unwrap_or_else(refused));
    }
    JsFuture::from(written).await.map(|_| ()).map_err(|e| {
        let name = Reflect::get(&e, &"name".into())
            .ok()
            .and_then(|n| n.as_string());
        match name.as_deref() {
            Some("NotAllowedError") => {
                "the browser did not allow the copy (click Copy again, in the window)".to_string()
            }
            _ => refused(),
        }
    })
}

/// GET `url` (same origin) as text, keeping the answer in the browser's cache named `cache`
/// (Cache Storage, which lasts like IndexedDB); with the network gone or the service not
/// answering, the answer kept last time. Err when neither is there.
pub async fn fetch_kept(cache: &str, url: &str) -> Result<String, String> {
    use js_sys::{Function, Promise, Reflect};
    use wasm_bindgen_futures::JsFuture;
    let window = web_sys::window().ok_or("no window")?;
    let call = |target: &JsValue, method: &str, args: &[&JsValue]| -> Option<Promise> {
        let f: Function = Reflect::get(target, &method.into()).ok()?.dyn_into().ok()?;
        let array = js_sys::Array::new();
        for a in args {
            array.push(a);
        }
        f.apply(target, &array).ok()?.dyn_into().ok()
    };
    let caches = Reflect::get(&window, &"caches".into())
        .ok()
        .filter(|c| !c.is_undefined());
    let open = |caches: &JsValue| call(caches, "open", &[&JsValue::from_str(cache)]);
    let text_of = |response: &JsValue| call(response, "text", &[]);
    let fresh = async {
        // Past the browser's HTTP cache: the kept copy is this cache's, which the browser
        // does not evict as it may evict its HTTP cache, and online the answer is the
        // service's current one.
        let init = js_sys::Object::new();
        let _ = Reflect::set(&init, &"cache".into(), &"no-cache".into());
        let asked = call(&window, "fetch", &[&JsValue::from_str(url), &init])?;
        let response: web_sys::Response = JsFuture::from(asked).await.ok()?.dyn_into().ok()?;
        if !response.ok() {
            return None;
        }
        if let Some(caches) = &caches {
            if let (Some(opened), Ok(copy)) = (open(caches), response.clone()) {
                if let Ok(kept) = JsFuture::from(opened).await {
                    if let Some(put) = call(&kept, "put", &[&JsValue::from_str(url), &copy]) {
                        // Not kept only costs the offline copy.
                        let _ = JsFuture::from(put).await;
                    }
                }
            }
        }
        JsFuture::from(text_of(&response)?).await.ok()?.as_string()
    };
    if let Some(text) = fresh.await {
        return Ok(text);
    }
    let kept = async {
        let caches = caches.as_ref()?;
        let opened = JsFuture::from(open(caches)?).await.ok()?;
        let found = JsFuture::from(call(&opened, "match", &[&JsValue::from_str(url)])?)
            .await
            .ok()?;
        if found.is_undefined() {
            return None;
        }
        JsFuture::from(text_of(&found)?).await.ok()?.as_string()
    };
    kept.await.ok_or_else(|| {
        "it is not in this browser yet and the service cannot be reached".to_string()
    })
}

/// Open a Blob in a new tab (a PDF shows in the browser's viewer).
pub fn open_blob(blob: &web_sys::Blob) -> Result<(), String> {
    let url = web_sys::Url::create_object_url_with_blob(blob)
        .map_err(|_| "the browser could not open the file".to_string())?;
    web_sys::window()
        .ok_or("no window")?
        .open_with_url_and_target(&url, "_blank")
        .map_err(|_| "the browser refused to open a new tab".to_string())?;
    Ok(())
}

/// The bytes of a file the person picked or dropped.
pub async fn read_file(file: &web_sys::File) -> Result<Vec<u8>, String> {
    let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
        .await
        .map_err(|_| format!("could not read “{}”", file.name()))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// The bytes of a Blob (an attachment as IndexedDB keeps it).
pub async fn read_blob(blob: &web_sys::Blob) -> Result<Vec<u8>, String> {
    let buffer = wasm_bindgen_futures::JsFuture::from(blob.array_buffer())
        .await
        .map_err(|_| "could not read a file kept in this browser".to_string())?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// SHA-256 of `bytes` as lower-case hex, by the browser's Web Crypto.
pub async fn sha256_hex(bytes: &[u8]) -> Result<String, String> {
    let subtle = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.subtle())
        .ok_or("this browser has no Web Crypto")?;
    let data = bytes.to_vec();
    let promise = subtle
        .digest_with_str_and_u8_array("SHA-256", &data)
        .map_err(|_| "the browser could not hash the file")?;
    let digest = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|_| "the browser could not hash the file")?;
    let bytes = js_sys::Uint8Array::new(&digest).to_vec();
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The files of a file input or a drop.
pub fn files_of(list: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    let Some(list) = list else { return Vec::new() };
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

/// Give the event loop a turn, so that a progress bar can paint during long work.
pub async fn yield_now() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Wait until what the page shows now has been painted: a frame's callback runs just before
/// its paint, and a timer set there runs after it. A hidden tab paints no frames, so a
/// timer ends the wait after [`PAINT_WAIT_MS`] whatever happens.
pub async fn after_paint() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let Some(w) = web_sys::window() else {
            let _ = resolve.call0(&JsValue::NULL);
            return;
        };
        let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, PAINT_WAIT_MS);
        let painted = wasm_bindgen::closure::Closure::once_into_js(move || {
            if let Some(w) = web_sys::window() {
                let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
            }
        });
        let _ = w.request_animation_frame(painted.unchecked_ref());
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// How long [`after_paint`] waits at most for a frame.
const PAINT_WAIT_MS: i32 = 200;

/// The browser says it has no network (`navigator.onLine` is false). Only "offline" is
/// certain: online may still mean the service cannot be reached.
pub fn offline() -> bool {
    web_sys::window().is_some_and(|w| !w.navigator().on_line())
}

/// A choice kept in this browser (localStorage): the theme, the list's columns, sort and
/// open collection. `None` when unset or when the browser keeps nothing (a private window).
pub fn pref(name: &str) -> Option<String> {
    web_sys::window()?
        .local_storage()
        .ok()
        .flatten()?
        .get_item(name)
        .ok()
        .flatten()
}

/// Keep a choice (see [`pref`]); `None` forgets it. Best effort: not kept is not an error.
pub fn set_pref(name: &str, value: Option<&str>) {
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = match value {
            Some(v) => storage.set_item(name, v),
            None => storage.remove_item(name),
        };
    }
}

/// Whether an event's target is a box the person types in (its keys are its own: Ctrl+Z
/// there undoes typing, letters are text).
pub fn typing_in(target: Option<web_sys::EventTarget>) -> bool {
    use wasm_bindgen::JsCast;
    let Some(el) = target.and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok()) else {
        return false;
    };
    matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT") || el.is_content_editable()
}

/// Wait `millis` milliseconds without holding the thread.
pub async fn sleep(millis: u64) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                &resolve,
                i32::try_from(millis).unwrap_or(i32::MAX),
            );
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// How this browser is named in the account's sessions and sync log.
pub fn device_name() -> String {
    let agent = web_sys::window()
        .and_then(|w| w.navigator().user_agent().ok())
        .unwrap_or_default();
    let browser = ["Firefox", "Edg", "Chrome", "Safari"]
        .into_iter()
        .find(|b| agent.contains(b))
        .map(|b| if b == "Edg" { "Edge" } else { b })
        .unwrap_or("A browser");
    format!("{browser} (refsync web)")
}

/// Run `work` holding the Web Lock `name`, shared by every tab of this origin: while one tab
/// holds it, another's call waits its turn. Without Web Locks (an old browser) `work` just
/// runs; this tab's own guard still keeps its syncs one at a time.
pub async fn with_lock<T>(name: &str, work: impl std::future::Future<Output = T>) -> T {
    let locks = web_sys::window()
        .map(|w| w.navigator())
        .and_then(|n| js_sys::Reflect::get(&n, &"locks".into()).ok())
        .filter(|l| !l.is_undefined() && !l.is_null());
    let request = locks.as_ref().and_then(|l| {
        js_sys::Reflect::get(l, &"request".into())
            .ok()?
            .dyn_into::<js_sys::Function>()
            .ok()
    });
    let (Some(locks), Some(request)) = (locks, request) else {
        return work.await;
    };
    // The lock is held until the promise the callback returns settles: `release`, resolved
    // after `work`. `granted` resolves when the callback runs.
    let mut release_fn = None;
    let release = js_sys::Promise::new(&mut |resolve, _| release_fn = Some(resolve));
    let mut granted_fn = None;
    let granted = js_sys::Promise::new(&mut |resolve, _| granted_fn = Some(resolve));
    let (Some(release_fn), Some(granted_fn)) = (release_fn, granted_fn) else {
        return work.await;
    };
    let callback = wasm_bindgen::closure::Closure::once_into_js(move |_lock: JsValue| {
        let _ = granted_fn.call0(&JsValue::NULL);
        JsValue::from(release)
    });
    let asked = request.call2(&locks, &JsValue::from_str(name), &callback);
    if asked.is_err() {
        return work.await;
    }
    let _ = wasm_bindgen_futures::JsFuture::from(granted).await;
    let out = work.await;
    let _ = release_fn.call0(&JsValue::NULL);
    out
}

/// A channel to this app's other tabs (`None` where the browser has none).
pub fn channel(name: &str) -> Option<web_sys::BroadcastChannel> {
    web_sys::BroadcastChannel::new(name).ok()
}

/// Ask the browser to delete IndexedDB database `name` (it goes once no connection holds it
/// open); whether the request was made.
pub fn delete_database(name: &str) -> bool {
    let factory =
        web_sys::window().and_then(|w| js_sys::Reflect::get(&w, &"indexedDB".into()).ok());
    factory.as_ref().is_some_and(|f| {
        js_sys::Reflect::get(f, &"deleteDatabase".into())
            .ok()
            .and_then(|d| wasm_bindgen::JsCast::dyn_into::<js_sys::Function>(d).ok())
            .is_some_and(|d| d.call1(f, &name.into()).is_ok())
    })
}
