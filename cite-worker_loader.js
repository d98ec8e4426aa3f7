// Starts the citations worker (src/bin/cite-worker.rs) in a Web Worker, as
// formats-worker_loader.js starts the formats worker.
importScripts("./cite-worker.js");
wasm_bindgen({ module_or_path: "./cite-worker_bg.wasm" });
