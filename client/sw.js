// Classify's service worker: what makes the app installable and usable without a connection,
// and what receives photos shared to it from the phone's share sheet.
//
// - The page and its assets: Trunk names the assets by content hash, so they are served from
//   the cache once stored; the page itself is fetched first and falls back to the last copy.
// - The API's reads the gallery needs (pages, a photo, statistics, settings, the user, tags,
//   thumbnails): fetched first, and answered from the last good copy when the server cannot
//   be reached, so the last library view still shows offline. Open pages are told when an
//   answer came from the copy, so they can say so. Writes are never cached or replayed.
//   Copies follow the server's Cache-Control: nothing marked `no-store` is kept, and a copy
//   with a `max-age` goes when that runs out (Google media: within 60 minutes).
// - Signing out or deleting the account empties the copies: the next person on this device
//   must not see them.
// - A share (POST /share, multipart, field "photos", see manifest.webmanifest) is kept in a
//   cache until the page, opened at /?shared=N, takes the files and uploads them.
//
// Plain JavaScript on purpose: a service worker must be ready before any wasm could load.

// v2: copies follow Cache-Control; the activate step drops v1 copies kept without an end.
const VERSION = "v2";
const SHELL = `classify-shell-${VERSION}`;
const DATA = `classify-data-${VERSION}`;
const SHARED = "classify-shared";
// Enough for a few pages of thumbnails and their JSON; older copies make room.
const MAX_DATA_ENTRIES = 600;

self.addEventListener("install", (event) => {
  event.waitUntil(storeShell().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) {
        if (key.startsWith("classify-") && ![SHELL, DATA, SHARED].includes(key)) {
          await caches.delete(key);
        }
      }
      await self.clients.claim();
    })(),
  );
});

// The page and every same-origin asset it names, so the first offline start works even if
// the user never reloaded after installing.
async function storeShell() {
  const cache = await caches.open(SHELL);
  const response = await fetch("/", { cache: "no-cache" });
  if (!response.ok) return;
  const page = await response.clone().text();
  await cache.put("/", response);
  const assets = new Set(["/manifest.webmanifest", "/worker.js", "/worker_bg.wasm"]);
  for (const match of page.matchAll(/(?:href|src)="(\/[^"?#]+)"/g)) assets.add(match[1]);
  await Promise.all([...assets].map((asset) => cache.add(asset).catch(() => undefined)));
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && url.pathname === "/share") {
    event.respondWith(receiveShare(request));
    return;
  }
  if (request.method !== "GET") {
    if (forgetsTheUser(url.pathname)) event.respondWith(thenForget(request));
    return;
  }
  if (request.mode === "navigate") {
    if (isAppPage(url.pathname)) event.respondWith(appPage(request));
    return;
  }
  if (isHashedAsset(url.pathname) || url.pathname.startsWith("/icons/")) {
    event.respondWith(cacheFirst(request));
  } else if (url.pathname === "/worker.js" || url.pathname === "/worker_bg.wasm" ||
             url.pathname === "/manifest.webmanifest") {
    event.respondWith(networkFirst(request, SHELL, null));
  } else if (isOfflineRead(url)) {
    event.respondWith(networkFirst(request, DATA, event.clientId));
  }
});

// Navigations the app answers: the app's own page, never the API, its docs or OAuth's
// redirects, which must reach the server as they are.
function isAppPage(path) {
  return !/^\/(api|auth|health|metrics)(\/|$)/.test(path);
}

// Trunk's names: `client-3f2a9c0d1b2e4f56.js`, `client-3f2a9c0d1b2e4f56_bg.wasm`.
function isHashedAsset(path) {
  return /-[0-9a-f]{16,}(_bg)?\.[a-z0-9]+$/.test(path);
}

function isOfflineRead(url) {
  const p = url.pathname;
  if (p === "/api/v1/photos" || p === "/api/v1/stats" || p === "/api/v1/settings" ||
      p === "/api/v1/auth/me" || p === "/api/v1/tags" || p === "/api/v1/tags/status") {
    return true;
  }
  if (/^\/api\/v1\/photos\/\d+$/.test(p)) return true;
  return /^\/api\/v1\/photos\/\d+\/image$/.test(p) && url.searchParams.get("size") === "thumb";
}

function forgetsTheUser(path) {
  return path === "/api/v1/auth/logout" || path === "/api/v1/account";
}

async function thenForget(request) {
  const response = await fetch(request);
  if (response.ok) await caches.delete(DATA);
  return response;
}

async function appPage(request) {
  try {
    const response = await fetch(request);
    if (response.ok) {
      const cache = await caches.open(SHELL);
      await cache.put("/", response.clone());
    }
    return response;
  } catch (offline) {
    const cached = await caches.match("/", { cacheName: SHELL });
    if (cached) return cached;
    throw offline;
  }
}

async function cacheFirst(request) {
  const cached = await caches.match(request, { cacheName: SHELL });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) {
    const cache = await caches.open(SHELL);
    await cache.put(request, response.clone());
  }
  return response;
}

async function networkFirst(request, cacheName, clientId) {
  const cache = await caches.open(cacheName);
  try {
    const response = await fetch(request);
    if (response.ok) {
      const copy = await keepable(response.clone());
      if (copy) await cache.put(request, copy);
      else await cache.delete(request);
      if (cacheName === DATA) trim(cache);
    }
    tell(clientId, false);
    return response;
  } catch (offline) {
    const cached = await cache.match(request);
    if (!cached || expired(cached)) {
      if (cached) await cache.delete(request);
      throw offline;
    }
    tell(clientId, true);
    return cached;
  }
}

// The copy to keep of a response, as its Cache-Control allows: none for `no-store`, and one
// marked with when it must go for a `max-age` that is not `immutable`. The server gives a
// Google photo's image at most what is left of its 60 minutes (Google's terms), so copies of
// Google media never outlive that here either.
const EXPIRES = "x-classify-expires";
async function keepable(response) {
  const control = (response.headers.get("cache-control") || "").toLowerCase();
  if (/(^|[\s,])no-store($|[\s,])/.test(control)) return null;
  const maxAge = /(?:^|[\s,])max-age=(\d+)/.exec(control);
  if (!maxAge || /(^|[\s,])immutable($|[\s,])/.test(control)) return response;
  const headers = new Headers(response.headers);
  headers.set(EXPIRES, String(Date.now() + Number(maxAge[1]) * 1000));
  return new Response(await response.blob(), {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}

function expired(cached) {
  const at = Number(cached.headers.get(EXPIRES));
  return at > 0 && at <= Date.now();
}

// Drops the oldest copies beyond the bound (keys come back in insertion order), and copies
// whose time is up (looked for at most once a minute: each look reads every entry).
let lastSweep = 0;
async function trim(cache) {
  const keys = await cache.keys();
  for (const key of keys.slice(0, Math.max(0, keys.length - MAX_DATA_ENTRIES))) {
    await cache.delete(key);
  }
  if (Date.now() - lastSweep < 60_000) return;
  lastSweep = Date.now();
  for (const key of keys) {
    const cached = await cache.match(key);
    if (cached && expired(cached)) await cache.delete(key);
  }
}

// Tells the page whether it is looking at copies, so it can say it is offline.
async function tell(clientId, offline) {
  if (!clientId) return;
  const client = await self.clients.get(clientId);
  if (client) client.postMessage({ kind: "classify-offline", offline });
}

async function receiveShare(request) {
  let files = [];
  try {
    const form = await request.formData();
    files = form.getAll("photos").filter((f) => typeof f !== "string");
  } catch (_) {
    // A share without a readable form gives the page nothing to take; it says so.
  }
  const cache = await caches.open(SHARED);
  for (const key of await cache.keys()) await cache.delete(key);
  await Promise.all(
    files.map((file, i) =>
      cache.put(
        `/shared/${i}`,
        new Response(file, {
          headers: {
            "content-type": file.type || "application/octet-stream",
            "x-filename": encodeURIComponent(file.name || `shared-${i}`),
          },
        }),
      ),
    ),
  );
  return Response.redirect(`/?shared=${files.length}`, 303);
}
