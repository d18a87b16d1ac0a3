/* taphuan certificate check, on verify/index.html only (docs/certificates.md,
   "Verification").  ES2019, no framework, no inline handlers, nothing from
   another origin.  The token comes from the page's #fragment (the QR code) or
   from the form; its Ed25519 signature is checked here with WebCrypto against
   verify/keys.json, offline once the service worker has cached that list.
   The token goes into no request except the explicit "check with the server"
   button, and into no log. */
(function (W) {
  "use strict";
  var D = W.document, B = D && D.body;
  var B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  var DATE = /^(\d{4})-(\d{2})-(\d{2})$/, KID = /^[0-9a-f]{16}$/, MAX = 8192;
  // whitespace as Python's str.split() sees it (lms_certificates/extract.py drops the same)
  var WS = /(?:[^\S\ufeff]|[\x1c-\x1f\x85])+/g;
  // the signed fields (contract v1): s text, s+ non-empty text, d date, n? number or null…
  var TYPES = {
    v: "1", kid: "kid", serial: "s+", name: "s+", unit: "s+", position: "s", course: "s+",
    title: "s+", version: "int", completed: "d", score: "n?", issued: "d", valid_until: "d?",
    issuer: "s+", prev: "s+?"
  };
  var SHOWN = ["name", "unit", "position", "course", "version", "completed", "score", "issued",
    "valid_until", "issuer", "serial", "prev"];
  var VERDICTS = { valid: "✓", expired: "!", revoked: "✗", forged: "✗", unreadable: "?" };
  var MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December"];
  var HCM = 7 * 3600 * 1000; // Asia/Ho_Chi_Minh: UTC+7 all year, no summer time

  function own(o, k) { return o != null && Object.prototype.hasOwnProperty.call(o, k); }
  function isObj(v) { return v !== null && typeof v == "object" && !Array.isArray(v); }

  /* ---------------------------------------------------------------- reading */

  // base64url without padding, in its one canonical spelling (unused low bits zero)
  function unb64(s) {
    var r = s.length % 4, bin, out, i;
    if (!/^[A-Za-z0-9_-]+$/.test(s) || r == 1) return null;
    if (r && B64.indexOf(s.charAt(s.length - 1)) & (r == 2 ? 15 : 3)) return null;
    try { bin = W.atob(s.replace(/-/g, "+").replace(/_/g, "/") + "==".slice(0, (4 - r) % 4)); } catch (e) { return null; }
    out = new Uint8Array(bin.length);
    for (i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function realDate(v) {
    var m = typeof v == "string" && DATE.exec(v), d = new Date(0);
    if (!m || +m[1] < 1) return false;
    d.setUTCFullYear(+m[1], m[2] - 1, +m[3]);
    return d.toISOString().slice(0, 10) === v;
  }
  function typed(v, type) {
    var opt = type.slice(-1) == "?";
    if (opt) { if (v === null) return true; type = type.slice(0, -1); }
    if (type == "1") return v === 1;
    if (type == "kid") return typeof v == "string" && KID.test(v);
    if (type == "s") return typeof v == "string";
    if (type == "s+") return typeof v == "string" && v.length > 0;
    if (type == "int") return Number.isInteger(v) && v >= 1;
    if (type == "n") return typeof v == "number" && isFinite(v) && v >= 0 && v <= 100;
    return realDate(v);
  }
  // exactly the contract's fields, each of its type; anything else is not a token
  function valid(p) {
    var keys = Object.keys(TYPES);
    return isObj(p) && Object.keys(p).length == keys.length && keys.every(function (k) {
      return own(p, k) && typed(p[k], TYPES[k]);
    });
  }
  // "…/verify/#TOKEN", "#TOKEN" or "TOKEN"; spaces and line breaks (a PDF's wrapping) dropped
  function tokenOf(text) {
    text = String(text || "").replace(WS, "");
    return text.slice(text.lastIndexOf("#") + 1);
  }
  function parse(token) {
    var parts = token.split("."), bytes, sig, p;
    if (parts.length != 2 || token.length > MAX) return null;
    bytes = unb64(parts[0]);
    sig = unb64(parts[1]);
    if (!bytes || !sig || sig.length != 64) return null;
    try { p = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)); } catch (e) { return null; }
    return valid(p) ? { payload: p, bytes: bytes, sig: sig } : null;
  }

  /* ------------------------------------------------------------ key, lists */

  var subtle = W.crypto && W.crypto.subtle, keysP = null, revokedP = null;
  function hex(buf) {
    return Array.prototype.map.call(new Uint8Array(buf), function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }
  // network first (the service worker falls back to its cache); never the token
  function getJson(name) {
    return W.fetch(new URL(name, W.location.href).href, { cache: "no-cache", credentials: "same-origin" }).then(function (r) {
      if (r.status == 404) return null;
      if (!r.ok) throw new Error(r.status);
      return r.json();
    });
  }
  // {kid: raw public key} of keys.json, each kid checked against its key; "none" when
  // the site publishes no keys, "missing" when the list cannot be had (offline, not cached)
  function keys() {
    keysP = keysP || getJson("keys.json").then(function (j) {
      var list = isObj(j) && Array.isArray(j.keys) ? j.keys : [], found = {};
      if (!j) return "none";
      return Promise.all(list.map(function (k) {
        var raw = isObj(k) && k.alg === "Ed25519" && typeof k.public_key == "string" && unb64(k.public_key);
        if (!raw || raw.length != 32 || typeof k.kid != "string") return null;
        return subtle.digest("SHA-256", raw).then(function (h) {
          if (hex(h).slice(0, 16) === k.kid) found[k.kid] = raw;
        });
      })).then(function () { return found; });
    }).catch(function () { keysP = null; return "missing"; });
    return keysP;
  }
  // {updated, days, serials: {serial: revoked_on}}, or null when it cannot be had
  function revoked() {
    revokedP = revokedP || getJson("revoked.json").then(function (j) {
      var at = isObj(j) && typeof j.updated == "string" ? Date.parse(j.updated) : NaN, out;
      if (!isFinite(at) || !Array.isArray(j.revoked)) return null;
      out = { updated: hcmDay(at), serials: {} };
      out.days = Math.round((Date.parse(today()) - Date.parse(out.updated)) / 864e5);
      j.revoked.forEach(function (r) {
        if (isObj(r) && typeof r.serial == "string") out.serials[r.serial] = realDate(r.revoked_on) ? r.revoked_on : "";
      });
      return out;
    }).catch(function () { return null; }).then(function (out) {
      if (!out) revokedP = null;
      return out;
    });
    return revokedP;
  }
  function hcmDay(ms) { return new Date(ms + HCM).toISOString().slice(0, 10); }
  function today() { return hcmDay(Date.now()); }

  /* --------------------------------------------------------------- checking */

  // The verdict of docs/certificates.md, or a state saying why there is none here.
  function check(token) {
    var t = parse(token), p;
    if (!t) return Promise.resolve({ verdict: "unreadable" });
    p = t.payload;
    if (!subtle || !W.TextDecoder) return Promise.resolve({ state: "nocrypto" });
    return keys().then(function (found) {
      if (typeof found == "string") return { state: found };
      if (!own(found, p.kid)) return { verdict: "forged", unknownKey: p.kid };
      return subtle.importKey("raw", found[p.kid], { name: "Ed25519" }, false, ["verify"]).then(function (key) {
        // over the exact bytes that were signed, never a re-serialisation
        return subtle.verify({ name: "Ed25519" }, key, t.sig, t.bytes);
      }, function () { return null; }).then(function (good) {
        if (good === null) return { state: "nocrypto" };
        if (!good) return { verdict: "forged" };
        return revoked().then(function (list) {
          var out = { fields: p, kid: p.kid, revocation: list };
          if (list && own(list.serials, p.serial)) out.verdict = "revoked", out.revokedOn = list.serials[p.serial];
          else out.verdict = p.valid_until !== null && p.valid_until < today() ? "expired" : "valid";
          return out;
        });
      });
    });
  }

  function api() {
    var a = ((B && B.getAttribute("data-api")) || "").replace(/\/+$/, "");
    return a.charAt(0) == "/" && W.location.protocol == "file:" ? "" : a;
  }
  // only on the button: the one request that carries the token
  function askServer(token) {
    return W.fetch(api() + "/certificates/verify", {
      method: "POST", credentials: "omit", cache: "no-store",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ token: token })
    }).then(function (r) { return r.json(); }).then(function (j) {
      if (!isObj(j) || !own(VERDICTS, j.verdict)) throw new Error("answer");
      return {
        verdict: j.verdict, fields: isObj(j.fields) ? j.fields : null, server: true,
        revokedOn: realDate(j.revoked_on) ? j.revoked_on : ""
      };
    }).catch(function () { return { state: "server_failed" }; });
  }

  W.lmsVerify = { check: function (text) { return check(tokenOf(text)); } };
  if (!B || B.getAttribute("data-page") != "verify") return;

  /* -------------------------------------------------------------- showing */

  var CAT = {};
  try { CAT = JSON.parse(D.getElementById("lms-i18n").textContent) || {}; } catch (e) { /* none */ }
  function lang() { return D.documentElement.lang == "en" ? "en" : "vi"; }
  function t(key, args) {
    var s = (CAT[lang()] || {})[key] || (CAT.vi || {})[key] || key;
    return s.replace(/\{(\w+)\}/g, function (m, k) { return args && own(args, k) ? args[k] : m; });
  }
  function el(tag, cls, txt) {
    var e = D.createElement(tag);
    if (cls) e.className = cls;
    if (txt != null) e.textContent = txt;
    return e;
  }
  function day(iso) {
    var m = DATE.exec(iso), e = el("time", null, iso);
    e.setAttribute("datetime", iso);
    if (m) e.textContent = lang() == "en" ? +m[3] + " " + MONTHS[m[2] - 1] + " " + m[1] : m[3] + "/" + m[2] + "/" + m[1];
    return e;
  }
  // a sentence of the catalog whose {d} is a date, shown as a <time> in the page's format
  function dated(tag, cls, key, iso, args) {
    var e = el(tag, cls), parts;
    args = args || {};
    args.d = "\u0000";
    parts = t(key, args).split("\u0000");
    e.appendChild(D.createTextNode(parts[0]));
    if (parts.length > 1) {
      e.appendChild(day(iso));
      e.appendChild(D.createTextNode(parts[1]));
    }
    return e;
  }
  function num(n) { var s = String(n); return lang() == "vi" ? s.replace(".", ",") : s; }
  function text(v) { return typeof v == "string" || typeof v == "number" ? String(v) : ""; }

  function value(f, k) {
    var v = f[k];
    if (k == "course") return text(f.title) + (f.course ? " (" + text(f.course) + ")" : "");
    if (k == "score") return v === null ? t("no_score") : num(v) + "%";
    if (k == "valid_until" && v === null) return t("no_expiry");
    if ((k == "completed" || k == "issued" || k == "valid_until") && realDate(v)) return day(v);
    return v === null || v === "" ? t("none") : text(v);
  }
  function row(dl, key, label, v) {
    var dd = typeof v == "string" ? el("dd", null, v) : v;
    if (dd.tagName != "DD") { dd = el("dd"); dd.appendChild(v); }
    dd.setAttribute("data-field", key);
    dl.appendChild(el("dt", null, label));
    dl.appendChild(dd);
  }
  function fieldsList(res) {
    var f = res.fields, dl = el("dl", "cert-fields"), r = res.revocation;
    SHOWN.forEach(function (k) {
      if (own(f, k) && (k != "course" || own(f, "title"))) row(dl, k, t("f_" + k), value(f, k));
    });
    if (res.kid) row(dl, "kid", t("f_kid"), res.kid);
    if (!res.server) {
      row(dl, "revocation", t("f_revocation"), !r ? t("rev_none")
        : dated("dd", null, r.days == 0 ? "rev_today" : r.days == 1 ? "rev_yesterday" : "rev_age", r.updated, { n: r.days }));
    }
    return dl;
  }

  var box = D.getElementById("verify-status"), server = D.getElementById("verify-server");
  var serverBtn = D.getElementById("verify-server-button"), form = D.getElementById("verify-form");
  var field = D.getElementById("verify-token"), shown = null, current = "", seq = 0;

  function render(res) {
    var v, wrap, head, icon, f, say;
    shown = res;
    while (box.firstChild) box.removeChild(box.firstChild);
    box.lang = lang();
    // the server check is offered where this browser cannot answer (and kept while it works)
    if (server && !(res && res.state == "checking")) server.hidden = !(res && (res.state || res.server) && api());
    if (!res) return;
    if (res.state) {
      wrap = el("p", "notice", t(res.state == "none" ? "v_no_keys" : res.state == "missing" ? "v_keys_missing"
        : res.state == "nocrypto" ? "v_no_crypto" : res.state == "checking" ? "v_checking" : "v_server_failed"));
      wrap.setAttribute("data-state", res.state);
      box.appendChild(wrap);
      return;
    }
    v = res.verdict;
    f = res.fields;
    wrap = el("div", "verdict verdict-" + v);
    wrap.setAttribute("data-verdict", v);
    head = el("p", "verdict-word");
    icon = el("span", "verdict-icon", VERDICTS[v]);
    icon.setAttribute("aria-hidden", "true");
    head.appendChild(icon);
    head.appendChild(D.createTextNode(t("v_" + v)));
    wrap.appendChild(head);
    say = v == "expired" && f && realDate(f.valid_until) ? dated("p", null, "v_expired_text", f.valid_until)
      : v == "revoked" && res.revokedOn ? dated("p", null, "v_revoked_text", res.revokedOn)
      : el("p", null, t("v_" + v + "_text", { issuer: f ? text(f.issuer) : "", d: "" }));
    wrap.appendChild(say);
    if (res.unknownKey) wrap.appendChild(el("p", null, t("v_unknown_key", { kid: res.unknownKey })));
    if (res.server) wrap.appendChild(el("p", null, t("v_server_said")));
    else if (f && !res.revocation && v != "revoked") wrap.appendChild(el("p", "verdict-note", t("v_rev_unknown")));
    box.appendChild(wrap);
    // a forged or unreadable code shows nothing it claims: only signed fields are shown
    if (f && (v == "valid" || v == "expired" || v == "revoked")) box.appendChild(fieldsList(res));
  }

  function run(token) {
    var mine = ++seq;
    current = token;
    if (!token) return render(null);
    render({ state: "checking" });
    check(token).then(function (res) {
      if (mine == seq) render(res);
    }, function () {
      if (mine == seq) render({ state: "nocrypto" });
    });
  }

  function start() {
    var sw = D.getElementById("lang-switch");
    // site.js switches the language first (its listener was added first); then redraw
    if (sw) sw.addEventListener("click", function () { if (shown) render(shown); });
    if (form) form.addEventListener("submit", function (e) {
      e.preventDefault();
      run(tokenOf(field.value));
    });
    if (serverBtn) serverBtn.addEventListener("click", function () {
      var mine = ++seq;
      if (!current || !api()) return;
      serverBtn.disabled = true;
      render({ state: "checking" });
      askServer(current).then(function (res) {
        serverBtn.disabled = false;
        if (mine == seq) render(res);
      });
    });
    W.addEventListener("hashchange", function () { run(tokenOf(W.location.hash)); });
    run(tokenOf(W.location.hash));
  }
  try { start(); } catch (e) { /* never break the page */ }
})(typeof self != "undefined" ? self : this);
