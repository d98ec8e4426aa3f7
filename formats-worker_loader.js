// Starts the formats worker (src/bin/formats-worker.rs) in a Web Worker. Ours rather than
// trunk's loader shim, which passes the wasm path the deprecated way and so logs a warning
// on every start.
importScripts("./formats-worker.js");
wasm_bindgen({ module_or_path: "./formats-worker_bg.wasm" });
