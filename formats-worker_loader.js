// Starts the formats worker (src/bin/formats-worker.rs) in a Web Worker. Ours rather than
// trunk's loader shim, which passes the wasm path the deprecated way and so logs a warning
// on every start.
importScripts("./formats-worker.js");
// A wasm that cannot be fetched or compiled is thrown as the worker's error, so the app hears
// of it (its `error` event) instead of waiting for the worker for ever.
wasm_bindgen({ module_or_path: "./formats-worker_bg.wasm" })
  .catch((e) => setTimeout(() => { throw e; }));
