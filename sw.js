// refsync's service worker: keeps the app shell (index.html and the hashed JS, wasm and CSS
// it names) so the app opens with the network off. The library itself lives in IndexedDB;
// nothing under /api is ever cached.
const CACHE = "refsync-shell-v3";
// The workers (imports and exports; citations; Possible Duplicates), loaded on first use:
// kept too, so that importing, citing and finding duplicates work offline even if never used
// online. Their names carry no hash, so they are fetched network first (a new version of the
// app brings new workers) and the kept copy answers only offline.
const WORKER = [
  "/formats-worker_loader.js", "/formats-worker.js", "/formats-worker_bg.wasm",
  "/cite-worker_loader.js", "/cite-worker.js", "/cite-worker_bg.wasm",
  "/duplicates-worker_loader.js", "/duplicates-worker.js", "/duplicates-worker_bg.wasm",
];

// The assets index.html names, same-origin only: with them the app's parts loaded on first use
// (dialogs, the editor, the sync engine), listed as <link rel="refsync-later"> by the build
// (xtask/src/split.rs) and kept here so that they open offline even if never used online.
async function shellUrls() {
  const response = await fetch("/", { cache: "no-store" });
  const html = await response.clone().text();
  const urls = new Set(["/"]);
  for (const m of html.matchAll(/(?:href|src)="(\/[^"]+)"/g)) urls.add(m[1]);
  return { response, urls: [...urls] };
}

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    const { response, urls } = await shellUrls();
    await cache.put("/", response);
    await cache.addAll(urls.filter((u) => u !== "/"));
    await Promise.all(WORKER.map((u) => cache.add(u).catch(() => {})));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    // Older shells only: the app's own caches (the citation styles kept for offline use,
    // "refsync-styles") outlive an update.
    for (const name of await caches.keys()) {
      if (name.startsWith("refsync-shell-") && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

function isApi(url) {
  return url.pathname.startsWith("/api/") || url.pathname === "/healthz" || url.pathname === "/metrics";
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || isApi(url)) return;
  if (WORKER.includes(url.pathname)) {
    event.respondWith((async () => {
      try {
        const fresh = await fetch(request, { cache: "no-cache" });
        if (fresh.ok) await (await caches.open(CACHE)).put(request, fresh.clone());
        return fresh;
      } catch (e) {
        const cached = await caches.match(request);
        if (cached) return cached;
        throw e;
      }
    })());
    return;
  }
  if (request.mode === "navigate") {
    // Network first, so a new version is picked up when online; the shell when offline.
    event.respondWith((async () => {
      try {
        const fresh = await fetch(request);
        if (fresh.ok) {
          const cache = await caches.open(CACHE);
          await cache.put("/", fresh.clone());
          // Cache the assets the new shell names, for the next offline start.
          const html = await fresh.clone().text();
          const names = [...html.matchAll(/(?:href|src)="(\/[^"]+)"/g)].map((m) => m[1]);
          event.waitUntil(Promise.all(names.map(async (n) => {
            if (!(await cache.match(n))) await cache.add(n).catch(() => {});
          })));
        }
        return fresh;
      } catch (e) {
        const cached = await caches.match("/");
        if (cached) return cached;
        throw e;
      }
    })());
    return;
  }
  // Hashed assets never change: the cache first, the network for anything new.
  event.respondWith((async () => {
    const cached = await caches.match(request);
    if (cached) return cached;
    const fresh = await fetch(request);
    if (fresh.ok) {
      const cache = await caches.open(CACHE);
      await cache.put(request, fresh.clone());
    }
    return fresh;
  })());
});
