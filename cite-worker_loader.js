// Starts the citations worker (src/bin/cite-worker.rs) in a Web Worker, as
// formats-worker_loader.js starts the formats worker.
importScripts("./cite-worker.js");
// A wasm that cannot be fetched or compiled is thrown as the worker's error, so the app hears
// of it (its `error` event) instead of waiting for the worker for ever.
wasm_bindgen({ module_or_path: "./cite-worker_bg.wasm" })
  .catch((e) => setTimeout(() => { throw e; }));
