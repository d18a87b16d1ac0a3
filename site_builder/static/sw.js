/* taphuan service worker (docs/site.md, "Offline").  At the site root, so its
   scope is the whole site.  Pages and JSON: network first, then the cache,
   then offline.html; other files: cache first.  `lms build` replaces the
   build id below, so each build gets its own cache. */
"use strict";
var VERSION = "__BUILD_ID__";
var PREFIX = "taphuan-";
var CACHE = PREFIX + VERSION;
var SHELL = ["./", "./index.html", "./offline.html", "./assets/site.css", "./assets/site.js", "./manifest.webmanifest",
  // certificate checks work offline (docs/certificates.md); the JSON is network first, so a
  // newer key list or revocation list replaces the cached one whenever the page is online
  "./verify/", "./verify/index.html", "./verify/keys.json", "./verify/revoked.json",
  "./assets/verify.js", "./assets/verify.css"];

function scoped(url) { return new URL(url, self.registration.scope).href; }

function keep(request, response) {
  // whole, same-origin, not redirected: a redirected response cannot answer a navigation
  if (response && response.ok && response.type == "basic" && !response.redirected) {
    var copy = response.clone();
    return caches.open(CACHE).then(function (c) { return c.put(request, copy); }).catch(function () {});
  }
  return Promise.resolve();
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (c) {
    // one missing file must not stop the others (addAll is all or nothing)
    return Promise.all(SHELL.map(function (u) { return c.add(scoped(u)).catch(function () {}); }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  // Older caches are removed; pages a learner downloaded are carried over first
  // (network first refreshes them when online), so an update never takes a
  // downloaded course away from someone without a connection.
  event.waitUntil(caches.keys().then(function (names) {
    return caches.open(CACHE).then(function (current) {
      return Promise.all(names.filter(function (n) { return n.indexOf(PREFIX) === 0 && n != CACHE; }).map(function (n) {
        return caches.open(n).then(function (old) {
          return old.keys().then(function (requests) {
            return Promise.all(requests.map(function (r) {
              return current.match(r).then(function (hit) {
                return hit || old.match(r).then(function (res) { return res && current.put(r, res); });
              });
            }));
          });
        }).catch(function () {}).then(function () { return caches.delete(n); });
      }));
    });
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request, url = new URL(request.url), page, fresh;
  if (request.method != "GET" || url.origin != self.location.origin || request.headers.has("range")) return;
  // the learner API is personal and live: never cached, never answered from a cache
  if (url.href.indexOf(scoped("./api/")) === 0) return;
  page = request.mode == "navigate" || (request.headers.get("accept") || "").indexOf("text/html") >= 0;
  if (page || /\.json$/.test(url.pathname)) {
    fresh = fetch(request);
    event.waitUntil(fresh.then(function (res) { return keep(request, res); }, function () {}));
    event.respondWith(fresh.then(function (res) { return res; }, function () {
      return caches.match(request).then(function (hit) {
        return hit || (page ? caches.match(scoped("./offline.html")) : null) || Response.error();
      });
    }).then(function (res) { return res || Response.error(); }));
    return;
  }
  event.respondWith(caches.match(request).then(function (hit) {
    if (hit) return hit;
    var net = fetch(request);
    event.waitUntil(net.then(function (res) { return keep(request, res); }, function () {}));
    return net.catch(function () { return Response.error(); });
  }));
});

self.addEventListener("message", function (event) {
  var data = event.data || {}, port = event.ports && event.ports[0];
  if (data.type != "cache-course" || !Array.isArray(data.urls)) return;
  var urls = [], done = 0, failed = 0, next = 0;
  data.urls.forEach(function (u) {
    try {
      u = scoped(String(u));
      if (new URL(u).origin == self.location.origin && urls.indexOf(u) < 0) urls.push(u);
    } catch (e) { /* not a URL */ }
  });
  function reply(type) {
    var m = { type: type, done: done, failed: failed, total: urls.length };
    if (port) port.postMessage(m); else if (event.source) event.source.postMessage(m);
  }
  function worker(cache) {
    if (next >= urls.length) return Promise.resolve();
    var u = urls[next++];
    return fetch(u, { cache: "no-cache" }).then(function (res) {
      if (!res.ok || res.redirected) throw new Error(res.status);
      return cache.put(u, res);
    }).then(function () { done++; }, function () { failed++; }).then(function () {
      reply("progress");
      return worker(cache);
    });
  }
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    // three at a time: enough for a slow line, gentle on a cheap phone
    return Promise.all([worker(cache), worker(cache), worker(cache)]);
  }).then(function () { reply("done"); }, function () { failed = urls.length - done; reply("done"); }));
});
