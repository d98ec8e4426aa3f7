// Starts the duplicates worker (src/bin/duplicates-worker.rs) in a Web Worker, as
// formats-worker_loader.js starts the formats worker.
importScripts("./duplicates-worker.js");
wasm_bindgen({ module_or_path: "./duplicates-worker_bg.wasm" });
