/* taphuan site script: the contract is docs/site.md.  ES2019, no framework,
   no inline handlers, nothing from another origin.  Practice quizzes are
   marked here with the rules of lms_quiz/grading.py (tests/js checks both
   give the same scores); graded ones are sent to the server or queued. */
(function (W) {
  "use strict";
  var D = W.document, B = D && D.body, N = W.navigator || {};
  var EPS = 1e-9, WS = "(?:[^\\S\\ufeff]|[\\x1c-\\x1f\\x85])+";
  var RUN = new RegExp(WS, "g"), EDGE = new RegExp("^" + WS + "|" + WS + "$", "g");
  var NUM = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/, MARKS;
  // \p{M} where supported; a browser without it still gets every Vietnamese mark
  try { MARKS = new RegExp("\\p{M}", "gu"); } catch (e) { MARKS = /[\u0300-\u036f]/g; }

  function own(o, k) { return o != null && Object.prototype.hasOwnProperty.call(o, k); }
  function isObj(v) { return v !== null && typeof v == "object" && !Array.isArray(v); }
  function cps(s) { return s.length <= 1000 ? s.length : Array.from(s).length; }
  function each(list, fn) { Array.prototype.forEach.call(list || [], fn); }

  /* ---------------------------------------------------------------- grading */

  // Python's round(x, 4): exact value, ties to even (only j/32 can tie).
  function r4(x) {
    var t = x * 32, q;
    if (Number.isInteger(t) && Math.abs(t) < 1e9) {
      q = t * 3125;
      if (Math.abs(q) % 10 == 5) { q = Math.floor(q / 10); return (q % 2 ? q + 1 : q) / 1e4; }
    }
    return +x.toFixed(4);
  }
  function casefold(s) {
    return s.toLowerCase().replace(/ß/g, "ss").replace(/ς/g, "σ").replace(/ſ/g, "s");
  }
  // grading.normalise: NFC, casefold, [accents off incl. đ→d], whitespace collapsed
  function norm(s, plain) {
    s = casefold(s.normalize("NFC"));
    if (plain) s = s.normalize("NFD").replace(/đ/g, "d").replace(MARKS, "");
    return s.normalize("NFC").replace(RUN, " ").replace(/^ | $/g, "");
  }
  function text(v) { return typeof v == "string" && cps(v) <= 1000 ? v : null; }
  function num(v) {
    if (typeof v == "number") return isFinite(v) ? v : null;
    if (typeof v != "string" || cps(v) > 100) return null;
    v = v.replace(EDGE, "").replace(/\u2212/g, "-");
    if (v.indexOf(",") >= 0) {
      if (v.indexOf(".") >= 0 || v.split(",").length != 2) return null;
      v = v.replace(",", ".");
    }
    if (!NUM.test(v)) return null;
    v = Number(v);
    return isFinite(v) ? v : null;
  }
  function best(list, ok) {
    var b = null;
    list.forEach(function (x) { if (ok(x) && (!b || x.credit > b.credit)) b = x; });
    return b;
  }
  function texts(list) {
    var m = {};
    (list || []).forEach(function (x) { m[x.id] = x.text; });
    return m;
  }

  // One question: [fraction, feedback texts]; q from the view, k from the key.
  function mark(q, k, a) {
    var f = 0, fb = [], o, t, n, h, s, b, tx, seen;
    var opts = k.options, kind = k.kind;
    if (kind == "single") {
      if (typeof a == "string" && own(opts, a)) {
        o = opts[a];
        f = o.credit != null ? o.credit : +o.correct;
        fb.push(o.feedback);
      }
    } else if (kind == "multiple") {
      if (Array.isArray(a)) {
        t = q.options.map(function (x) { return x.id; }).filter(function (id) {
          return own(opts, id) && a.indexOf(id) >= 0;
        });
        n = 0; s = false;
        Object.keys(opts).forEach(function (id) { n += opts[id].correct; s = s || opts[id].credit != null; });
        h = t.filter(function (id) { return opts[id].correct; }).length;
        if (k.scoring == "all-or-nothing") f = +(h == n && t.length == n);
        else if (s) {
          f = 0;
          t.forEach(function (id) {
            o = opts[id];
            f += o.credit != null ? o.credit : o.correct ? 1 / n : 0;
          });
        } else if (!n) f = +!t.length;
        else f = (h - (t.length - h)) / n;
        fb = t.map(function (id) { return opts[id].feedback; });
      }
    } else if (kind == "truefalse") {
      b = typeof a == "boolean" ? a : null;
      if (typeof a == "string" && a.length <= 10) {
        s = casefold(a.replace(EDGE, ""));
        b = s == "true" ? true : s == "false" ? false : null;
      }
      if (b !== null) {
        f = +(b === k.answer);
        fb.push(b ? k.feedback_true : k.feedback_false);
      }
    } else if (kind == "short") {
      t = text(a);
      if (t !== null) {
        t = norm(t, k.ignore_accents);
        o = best(k.answers, function (x) { return norm(x.text, k.ignore_accents) === t; });
      }
    } else if (kind == "numeric") {
      t = num(a);
      if (t !== null) {
        o = best(k.answers, function (x) {
          s = EPS * Math.max(1, Math.abs(x.low), Math.abs(x.high));
          return x.low - s <= t && t <= x.high + s;
        });
      }
    } else if (kind == "matching") {
      n = Object.keys(k.pairs).length;
      if (isObj(a) && n) {
        tx = texts(q.right); h = 0;
        Object.keys(a).forEach(function (left) {
          if (own(k.pairs, left) && typeof a[left] == "string" && own(tx, a[left])) {
            h += tx[a[left]] === tx[k.pairs[left]];
          }
        });
        f = h / n;
      }
    } else if (kind == "ordering") {
      if (Array.isArray(a)) {
        tx = texts(q.items); seen = {}; h = 0;
        a.slice(0, k.order.length).forEach(function (id, slot) {
          if (typeof id == "string" && own(tx, id) && !own(seen, id)) {
            seen[id] = 1;
            h += tx[id] === tx[k.order[slot]];
          }
        });
        f = h / k.order.length;
      }
    } else if (kind == "blanks") {
      n = q.gaps.length;
      t = [];
      if (Array.isArray(a)) t = a.slice(0, n).map(text);
      else if (isObj(a)) t = q.gaps.map(function (g) { return own(a, g.id) ? text(a[g.id]) : null; });
      else n = 0;
      if (n) {
        h = 0;
        q.gaps.forEach(function (g, i) {
          var v = t[i];
          if (v == null) return;
          v = norm(v, k.ignore_accents);
          h += (k.gaps[g.id] || []).some(function (x) { return norm(x, k.ignore_accents) === v; });
        });
        f = h / n;
      }
    }
    if (o && (kind == "short" || kind == "numeric")) { f = o.credit; fb.push(o.feedback); }
    f = isFinite(f) ? Math.min(1, Math.max(0, f)) : 0;
    return [f, fb.concat(k.feedback).filter(Boolean)];
  }

  function questionsOf(view) {
    var out = [];
    view.entries.forEach(function (e) {
      if (e.kind == "scenario") out.push.apply(out, e.questions); else out.push(e);
    });
    return out;
  }

  // grading.grade_quiz in the browser, from the public view and the practice key
  function grade(view, key, response) {
    var res = isObj(response) ? response : {}, qs = {}, sum = 0, max = 0;
    questionsOf(view).forEach(function (q) {
      var m, p;
      try { m = mark(q, key.questions[q.id], own(res, q.id) ? res[q.id] : null); }
      catch (e) { m = [0, []]; }
      p = r4(q.points * m[0]);
      sum += p; max += q.points;
      qs[q.id] = { points: p, max: q.points, correct: m[0] >= 1 - EPS, feedback: m[1] };
    });
    max = r4(max);
    sum = Math.min(max, Math.max(0, r4(sum)));
    return {
      score: sum, max: max, questions: qs,
      passed: max > 0 && (100 * sum) / max + EPS >= key.pass_mark
    };
  }

  /* ---------------------------------------------------------------- storage */

  var store;
  try { store = W.localStorage; store.getItem("lms.lang"); } catch (e) { store = null; }
  function load(name, empty) {
    try { return JSON.parse(store.getItem(name)) || empty; } catch (e) { return empty; }
  }
  function save(name, value) {
    try { store.setItem(name, JSON.stringify(value)); } catch (e) { /* full or disabled */ }
  }
  function progress() {
    var p = load("lms.progress", {});
    if (!isObj(p.lessons)) p.lessons = {};
    if (!isObj(p.exercises)) p.exercises = {};
    return p;
  }
  function record(id, g) {
    var p = progress(), old = p.exercises[id];
    // keep the best result: a later weaker try does not undo a pass
    if (!old || !old.max || g.score / g.max >= old.score / old.max) {
      p.exercises[id] = { score: g.score, max: g.max, passed: g.passed, at: new Date().toISOString() };
      save("lms.progress", p);
    }
  }

  /* ------------------------------------------------------- server and queue */

  function uuid() {
    var c = W.crypto, b, h;
    if (c && c.randomUUID) return c.randomUUID();
    b = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(b);
    else for (h = 0; h < 16; h++) b[h] = Math.floor(Math.random() * 256);
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    h = Array.from(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // SHA-256 (hex) of a string's UTF-8 bytes.  A result file carries it so that
  // a truncated or edited file is refused on import; computed here because
  // crypto.subtle is missing on plain-HTTP pages and file:// copies.
  var K256 = [], H256 = [];
  (function () {
    var n = 2, i = 0, j, prime;
    while (i < 64) {
      prime = true;
      for (j = 2; j * j <= n; j++) if (n % j == 0) { prime = false; break; }
      if (prime) {
        if (i < 8) H256[i] = (Math.pow(n, 1 / 2) * 4294967296) | 0;
        K256[i++] = (Math.pow(n, 1 / 3) * 4294967296) | 0;
      }
      n++;
    }
  })();
  function utf8(s) {
    var out = [], i, c, d;
    for (i = 0; i < s.length; i++) {
      c = s.charCodeAt(i);
      if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
        d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d < 0xe000) { c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00); i++; }
      }
      if (c < 0x80) out.push(c);
      else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return out;
  }
  function sha256(s) {
    var b = utf8(s), l = b.length, n = ((l + 72) >> 6) << 6, m = [], w = [], h = H256.slice(), i, j, x, y, v, hex = "";
    for (i = 0; i < n; i++) m[i] = i < l ? b[i] : 0;
    m[l] = 0x80;
    v = Math.floor(l / 0x20000000);
    for (i = 0; i < 4; i++) { m[n - 8 + i] = (v >>> (24 - 8 * i)) & 255; m[n - 4 + i] = ((l * 8) >>> (24 - 8 * i)) & 255; }
    function rotr(a, k) { return (a >>> k) | (a << (32 - k)); }
    for (i = 0; i < n; i += 64) {
      for (j = 0; j < 64; j++) {
        if (j < 16) w[j] = (m[i + 4 * j] << 24) | (m[i + 4 * j + 1] << 16) | (m[i + 4 * j + 2] << 8) | m[i + 4 * j + 3];
        else {
          x = w[j - 15]; y = w[j - 2];
          w[j] = (w[j - 16] + (rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3)) + w[j - 7] + (rotr(y, 17) ^ rotr(y, 19) ^ (y >>> 10))) | 0;
        }
      }
      v = h.slice();
      for (j = 0; j < 64; j++) {
        x = (v[7] + (rotr(v[4], 6) ^ rotr(v[4], 11) ^ rotr(v[4], 25)) + ((v[4] & v[5]) ^ (~v[4] & v[6])) + K256[j] + w[j]) | 0;
        y = ((rotr(v[0], 2) ^ rotr(v[0], 13) ^ rotr(v[0], 22)) + ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]))) | 0;
        v = [(x + y) | 0, v[0], v[1], v[2], (v[3] + x) | 0, v[4], v[5], v[6]];
      }
      for (j = 0; j < 8; j++) h[j] = (h[j] + v[j]) | 0;
    }
    for (j = 0; j < 8; j++) hex += ((h[j] >>> 0) + 0x100000000).toString(16).slice(1);
    return hex;
  }

  // A result file for `lms results import`: the queue, for a static copy with no server.
  function resultFile(staff, items, now) {
    var payload = JSON.stringify({ staff_code: staff, exported_at: now, items: items });
    return JSON.stringify({ format: "taphuan.result/1", payload: payload, sha256: sha256(payload) });
  }

  // A relative API address means "the server that serves these pages": a copy
  // opened from a disk or USB stick (file://) has none.
  function api() {
    var a = ((B && B.getAttribute("data-api")) || "").replace(/\/+$/, "");
    return a.charAt(0) == "/" && W.location && W.location.protocol == "file:" ? "" : a;
  }
  var me = null, meReady = null;
  function call(method, path, body) {
    var h = { Accept: "application/json" };
    if (body !== undefined) h["Content-Type"] = "application/json";
    if (me && me.csrf_token) h["X-CSRF-Token"] = me.csrf_token;
    return W.fetch(api() + path, {
      method: method, headers: h, credentials: "include", cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        return { status: r.status, ok: r.ok, body: j || {} };
      });
    });
  }
  // worth trying again later: a server error, overload, too many requests
  function transient(r) { return r.status >= 500 || r.status == 408 || r.status == 429; }
  function online() { return !!(api() && W.fetch && N.onLine !== false); }
  function whoami(fresh) {
    if (fresh || !meReady) {
      meReady = !online() ? Promise.resolve(null) : call("GET", "/me").then(function (r) {
        me = r.ok ? r.body : null;
        return me;
      }, function () { return null; });
    }
    return meReady;
  }

  // The queue: lesson views and attempts not yet on the server, in IndexedDB
  // (localStorage where IndexedDB is missing), each with its own id so the
  // server applies it once however often it is sent.
  var dbp = null;
  function idb() {
    if (!dbp) {
      dbp = new Promise(function (ok) {
        var req;
        try { req = W.indexedDB.open("taphuan", 1); } catch (e) { ok(null); return; }
        req.onupgradeneeded = function () { req.result.createObjectStore("queue", { keyPath: "id" }); };
        req.onsuccess = function () { ok(req.result); };
        req.onerror = req.onblocked = function () { ok(null); };
      });
    }
    return dbp;
  }
  function tx(mode, work) {
    return idb().then(function (db) {
      if (!db) return null;
      return new Promise(function (ok, no) {
        var t = db.transaction("queue", mode), req = work(t.objectStore("queue"));
        t.oncomplete = function () { ok(req ? req.result : true); };
        t.onerror = t.onabort = function () { no(t.error); };
      });
    }).catch(function () { return null; });
  }
  function lsQueue() { var q = load("lms.queue", []); return Array.isArray(q) ? q.filter(isObj) : []; }
  function queued() {
    return tx("readonly", function (s) { return s.getAll(); }).then(function (list) {
      var ids = {}, out = (list || []).filter(function (x) { ids[x.id] = 1; return true; });
      return out.concat(lsQueue().filter(function (x) { return !own(ids, x.id); }));
    });
  }
  function enqueue(item) {
    return tx("readwrite", function (s) { s.put(item); }).then(function (done) {
      if (done) return;
      var q = lsQueue().filter(function (x) { return x.id != item.id; });
      q.push(item);
      save("lms.queue", q);
    });
  }
  function dequeue(ids) {
    if (!ids.length) return Promise.resolve();
    return tx("readwrite", function (s) { ids.forEach(function (id) { s["delete"](id); }); }).then(function () {
      var q = lsQueue(), left = q.filter(function (x) { return ids.indexOf(x.id) < 0; });
      if (left.length != q.length) save("lms.queue", left);
    });
  }
  // attempts queued by earlier versions of this script: {course, exercise, attempt_id, response, …}
  function migrate() {
    var q = lsQueue(), old = q.filter(function (x) { return !x.type && x.attempt_id; });
    if (!old.length) return Promise.resolve();
    save("lms.queue", q.filter(function (x) { return x.type; }));
    return Promise.all(old.map(function (x) {
      return enqueue({
        id: String(x.attempt_id), type: "attempt", course: x.course, exercise: x.exercise,
        attempt_id: String(x.attempt_id), responses: isObj(x.response) ? x.response : {}
      });
    }));
  }

  function announce(results) {
    var ev;
    try { ev = new CustomEvent("lms:synced", { detail: results }); } catch (e) { return; }
    D.dispatchEvent(ev);
  }
  // Send the queue (100 items a request) and drop what the server applied,
  // had already applied, or refused (kept aside in lms.rejected, with why).
  var syncing = null;
  function sync() {
    if (syncing) return syncing;
    if (!online()) return Promise.resolve(0);
    syncing = whoami(!me).then(function (u) {
      return u ? queued().then(function (q) { return q.length ? send(q.slice(0, 100), q.length > 100) : 0; }) : 0;
    }).then(function (n) { syncing = null; return n; }, function () { syncing = null; return 0; });
    return syncing;
  }
  function send(batch, more) {
    return call("POST", "/my/sync", { items: batch }).then(function (r) {
      var done = [], bad, applied = [];
      if (r.status == 401) { me = null; meReady = null; return 0; }
      if (r.status == 422 && batch.length > 1) {
        // one malformed item must not hold back the others: send them one by one
        return batch.reduce(function (p, item) {
          return p.then(function (n) { return send([item], false).then(function (m) { return n + m; }); });
        }, Promise.resolve(0));
      }
      if (r.status == 422) {
        return reject([{ id: batch[0].id, error: r.body.error || String(r.status) }], batch).then(function () { return 0; });
      }
      if (!r.ok) return 0;
      bad = [];
      (r.body.results || []).forEach(function (x) {
        if (x.status == "applied" || x.status == "duplicate") { done.push(x.id); applied.push(x); }
        else if (x.status == "rejected") bad.push(x);
      });
      applied.forEach(function (x) {
        var item = batch.filter(function (i) { return i.id == x.id; })[0], res = x.result;
        if (item && item.type == "attempt" && res && typeof res.score == "number") {
          record(item.course + "/" + item.exercise, { score: res.score, max: res.max_score, passed: !!res.passed });
        }
      });
      return dequeue(done).then(function () { return reject(bad, batch); }).then(function () {
        announce(r.body.results || []);
        return more && done.length + bad.length ? sync().then(function (n) { return done.length + n; }) : done.length;
      });
    });
  }
  function reject(bad, batch) {
    if (!bad.length) return Promise.resolve();
    var kept = load("lms.rejected", []);
    if (!Array.isArray(kept)) kept = [];
    bad.forEach(function (x) {
      kept.push({ item: batch.filter(function (i) { return i.id == x.id; })[0] || null, error: x.error || "", at: new Date().toISOString() });
    });
    save("lms.rejected", kept.slice(-50));
    return dequeue(bad.map(function (x) { return x.id; }));
  }

  // A lesson view goes to the server when it can, else waits in the queue
  // (one queued view per lesson is enough).
  function lessonViewed(courseSlug, lesson) {
    var item = { id: uuid(), type: "lesson_viewed", course: courseSlug, lesson: lesson, at: new Date().toISOString() };
    function keep() {
      return queued().then(function (q) {
        if (!q.some(function (x) { return x.type == "lesson_viewed" && x.course == courseSlug && x.lesson == lesson; })) return enqueue(item);
      });
    }
    return whoami().then(function (u) {
      if (!u) return keep();
      return call("POST", "/my/lessons/viewed", { course: courseSlug, lesson: lesson }).then(function (r) {
        if (transient(r)) return keep();
      }, keep);
    });
  }

  var LMS = W.LMS = {
    queued: queued,
    sync: sync,
    progress: progress,
    me: function () { return me; },
    _grade: grade,
    _norm: norm,
    _num: num,
    _sha256: sha256,
    _resultFile: resultFile
  };
  if (!B) return; // loaded outside a page (tests/js): grading only

  /* ------------------------------------------------------------------ i18n */

  var DEF = {
    vi: {
      q_correct: "Đúng", q_partial: "Đúng một phần", q_wrong: "Chưa đúng",
      q_points: "{a}/{b} điểm", q_answer: "Đáp án: ",
      q_score: "Kết quả: {a}/{b} điểm ({p}%).", pass: "Đạt", fail: "Chưa đạt", need: "cần {n}%",
      q_sending: "Đang gửi bài…", q_sent: "Đã nộp bài.",
      q_queued: "Chưa gửi được: bài làm đã lưu trên máy này và sẽ tự gửi khi có mạng.",
      q_local: "Bài làm đã lưu trên máy này. Hãy tải tệp bài làm ở trang Tiến độ và gửi cho người phụ trách lớp.",
      q_rejected: "Máy chủ không nhận bài làm (mã {n}).",
      moved: "{item}: vị trí {n}/{m}",
      viewed: "Đã xem", summary: "Đã xem {n}/{m} bài",
      p_lessons: "Bài đã xem", p_exercises: "Bài tập", p_on: "{t} ({d})",
      p_result: "{t}: {a}/{b} điểm. {r}",
      queue_download: "Tải tệp kết quả ({n} mục chưa gửi)",
      search_file: "Tìm kiếm cần mở trang qua máy chủ web.",
      search_count: "{n} kết quả.", search_more: "Có {n} kết quả, hiển thị 20 kết quả đầu.",
      no_results: "Không tìm thấy kết quả.",
      dl_progress: "Đang tải {a}/{b}…", dl_done: "Đã tải xong. Có thể học khóa này khi không có mạng.",
      dl_partial: "Đã tải {a}/{b}; còn {c} tệp lỗi, hãy thử lại.",
      dl_error: "Không tải được. Hãy kiểm tra kết nối mạng và thử lại.",
      offline_note: "Trang này cần mở qua HTTPS để lưu và học khi không có mạng.",
      q_begin: "Bắt đầu làm bài", q_starting: "Đang chuẩn bị bài kiểm tra…",
      q_offline_form: "Không kết nối được máy chủ: cứ làm bài, bài làm sẽ được gửi khi có mạng.",
      q_sign_in: "Hãy đăng nhập để bài làm được ghi nhận cho bạn.",
      q_deadline: "Hạn nộp bài: {d}.", q_completed: "Bạn đã hoàn thành khóa học.",
      q_again: "Làm bài lần nữa", q_no_network: "Không có mạng. Hãy thử lại khi có mạng.",
      signed_as: "{n}", sign_out: "Đăng xuất",
      pw_mismatch: "Hai mật khẩu không giống nhau.", pw_short: "Mật khẩu cần ít nhất 10 ký tự.",
      s_title: "Khóa học của tôi", s_lessons: "Đã xem {n}/{m} bài bắt buộc.",
      s_exercise: "{t}: {p}% ({r}), đã làm {a} lần", s_exercise_none: "{t}: chưa làm",
      s_completed: "Đã hoàn thành ngày {d}.", s_status: "Đang học",
      queue_waiting: "{n} mục chưa gửi lên máy chủ.", export_staff: "Mã cán bộ của bạn (ghi trong tệp)",
      export_need_staff: "Hãy nhập mã cán bộ trước khi tải tệp.",
      rejected: "Máy chủ không nhận: {e}"
    },
    en: {
      q_correct: "Correct", q_partial: "Partly correct", q_wrong: "Not correct",
      q_points: "{a}/{b} points", q_answer: "Answer: ",
      q_score: "Score: {a}/{b} points ({p}%).", pass: "Passed", fail: "Not passed yet", need: "pass mark {n}%",
      q_sending: "Submitting…", q_sent: "Submitted.",
      q_queued: "Not sent yet: your answers are saved on this device and will be sent when online.",
      q_local: "Your answers are saved on this device. Download them from the Progress page and send them to your course organiser.",
      q_rejected: "The server did not accept the attempt (code {n}).",
      moved: "{item}: position {n} of {m}",
      viewed: "Viewed", summary: "{n} of {m} lessons viewed",
      p_lessons: "Lessons viewed", p_exercises: "Exercises", p_on: "{t} ({d})",
      p_result: "{t}: {a}/{b} points. {r}",
      queue_download: "Download a result file ({n} unsent items)",
      search_file: "Search needs the site to be opened through a web server.",
      search_count: "{n} results.", search_more: "{n} results; showing the first 20.",
      no_results: "No results.",
      dl_progress: "Downloading {a}/{b}…", dl_done: "Done. This course now works offline.",
      dl_partial: "Downloaded {a}/{b}; {c} files failed, please try again.",
      dl_error: "Download failed. Check the connection and try again.",
      offline_note: "Open this site over HTTPS to save it for offline study.",
      q_begin: "Start the quiz", q_starting: "Preparing the quiz…",
      q_offline_form: "The server cannot be reached: answer anyway, your attempt is sent when you are online.",
      q_sign_in: "Sign in so that your attempt is recorded for you.",
      q_deadline: "Submit by {d}.", q_completed: "You have completed the course.",
      q_again: "Try again", q_no_network: "No network. Try again when online.",
      signed_as: "{n}", sign_out: "Sign out",
      pw_mismatch: "The two passwords differ.", pw_short: "The password needs at least 10 characters.",
      s_title: "My courses", s_lessons: "{n} of {m} required lessons viewed.",
      s_exercise: "{t}: {p}% ({r}), {a} attempts", s_exercise_none: "{t}: not attempted yet",
      s_completed: "Completed on {d}.", s_status: "In progress",
      queue_waiting: "{n} items not yet sent to the server.", export_staff: "Your staff code (written in the file)",
      export_need_staff: "Enter your staff code before downloading the file.",
      rejected: "Not accepted by the server: {e}"
    }
  };
  var CAT = {};
  try { CAT = JSON.parse(D.getElementById("lms-i18n").textContent) || {}; } catch (e) { /* none */ }
  var lang = (store && store.getItem("lms.lang")) || D.documentElement.lang || "vi";
  if (lang != "en") lang = "vi";

  function t(key, args) {
    var s = (CAT[lang] || {})[key] || DEF[lang][key] || DEF.vi[key] || key;
    return s.replace(/\{(\w+)\}/g, function (m, k) { return args && own(args, k) ? args[k] : m; });
  }
  function fmt(n) { var s = String(+(+n).toFixed(2)); return lang == "vi" ? s.replace(".", ",") : s; }
  function el(tag, cls, txt) {
    var e = D.createElement(tag);
    if (cls) e.className = cls;
    if (txt != null) e.textContent = txt;
    return e;
  }
  function $(sel, root) { return (root || D).querySelector(sel); }
  function $$(sel, root) { return (root || D).querySelectorAll(sel); }
  // The interface changes language, the course text does not: <main> keeps the
  // page's language and each relabelled element gets the interface's.
  var pageLang = D.documentElement.lang || "vi", main = D.getElementById("main");
  function relabel() {
    D.documentElement.lang = lang;
    if (main && !main.hasAttribute("lang")) main.lang = pageLang;
    each($$("[data-i18n]"), function (e) {
      var s = (CAT[lang] || {})[e.getAttribute("data-i18n")], attr = e.getAttribute("data-i18n-attr");
      if (s == null) return;
      if (attr) e.setAttribute(attr, s); else e.textContent = s;
      e.lang = lang;
    });
  }
  var rerender = [];
  function setLang(l) {
    lang = l;
    if (store) store.setItem("lms.lang", l);
    relabel();
    rerender.forEach(function (f) { f(); });
  }

  /* ----------------------------------------------------------------- quizzes */

  function labelOf(input) { return input && input.labels && input.labels[0] ? input.labels[0].textContent.trim() : ""; }
  function controls(fs) { return $$("input,select", fs); }
  function byValue(fs, value) {
    var hit = null;
    each(controls(fs), function (c) { if (c.value === String(value)) hit = c; });
    return hit;
  }

  // The response grading.py expects: {question id: answer in public ids}
  function collect(form) {
    var res = {};
    each($$("fieldset[data-question-id]", form), function (fs) {
      var id = fs.getAttribute("data-question-id"), kind = fs.getAttribute("data-kind"), v;
      if (kind == "single" || kind == "truefalse") {
        v = $("input:checked", fs);
        if (v) res[id] = kind == "single" ? v.value : v.value == "true";
      } else if (kind == "multiple") {
        res[id] = Array.from($$("input:checked", fs), function (c) { return c.value; });
      } else if (kind == "short" || kind == "numeric") {
        v = $("input", fs);
        if (v && v.value.trim()) res[id] = v.value;
      } else if (kind == "matching" || kind == "blanks") {
        v = {};
        each(controls(fs), function (c) {
          var k = c.getAttribute(kind == "blanks" ? "data-gap-id" : "data-left-id");
          if (k && c.value.trim()) v[k] = c.value;
        });
        res[id] = v;
      } else if (kind == "ordering") {
        res[id] = Array.from($$("li[data-item-id]", fs), function (li) { return li.getAttribute("data-item-id"); });
      }
    });
    return res;
  }

  function answerText(fs, kind, ans) {
    if (kind == "single" || kind == "truefalse") return labelOf(byValue(fs, ans));
    if (kind == "multiple") return ans.map(function (v) { return labelOf(byValue(fs, v)); }).join("; ");
    if (kind == "numeric") return fmt(ans);
    if (kind == "matching") {
      return Array.from($$("select", fs), function (s) {
        var v = ans[s.getAttribute("data-left-id")], o = Array.from(s.options).filter(function (x) { return x.value === v; })[0];
        return labelOf(s) + " → " + (o ? o.textContent.trim() : "");
      }).join("; ");
    }
    if (kind == "ordering") {
      return ans.map(function (id) {
        var hit = "";
        each($$("li[data-item-id]", fs), function (li) {
          if (li.getAttribute("data-item-id") === id) hit = $(".quiz-item-text", li).textContent.trim();
        });
        return hit;
      }).join(" → ");
    }
    return Array.isArray(ans) ? ans.join(" | ") : String(ans);
  }

  function wrongControl(c, kind, key) {
    var k = c.getAttribute("data-left-id"), g = c.getAttribute("data-gap-id");
    if (kind == "matching" && k) return c.value !== key.pairs[k];
    if (kind == "blanks" && g) {
      return !(key.gaps[g] || []).some(function (a) {
        return norm(a, key.ignore_accents) === norm(c.value, key.ignore_accents);
      });
    }
    return null;
  }

  function showPractice(form, data, g) {
    each($$("fieldset[data-question-id]", form), function (fs) {
      var id = fs.getAttribute("data-question-id"), kind = fs.getAttribute("data-kind");
      var r = g.questions[id], key = data.key.questions[id], box = $(".quiz-feedback", fs), state, p;
      if (!r || !key) return;
      state = r.correct ? "correct" : r.points > 0 ? "partial" : "wrong";
      fs.classList.remove("is-correct", "is-partial", "is-wrong");
      fs.classList.add("is-" + state);
      each(controls(fs), function (c) {
        var w = wrongControl(c, kind, key);
        if (w === null) w = !r.correct;
        if (w) c.setAttribute("aria-invalid", "true"); else c.removeAttribute("aria-invalid");
      });
      if (!box) return;
      box.textContent = "";
      box.lang = lang;
      p = el("p", "quiz-verdict");
      p.appendChild(el("span", "quiz-icon", state == "correct" ? "✓" : state == "partial" ? "◐" : "✗"))
        .setAttribute("aria-hidden", "true");
      p.appendChild(el("strong", null, t("q_" + state)));
      p.appendChild(D.createTextNode(" (" + t("q_points", { a: fmt(r.points), b: fmt(r.max) }) + ")"));
      box.appendChild(p);
      r.feedback.forEach(function (f) { box.appendChild(el("p", null, f)); });
      if (!r.correct && own(data.key.answers, id)) {
        box.appendChild(el("p", "quiz-key", t("q_answer") + answerText(fs, kind, data.key.answers[id])));
      }
      box.hidden = false;
    });
  }

  function result(out, g, passMark) {
    var pct = g.max ? Math.round((1000 * g.score) / g.max) / 10 : 0;
    out.lang = lang;
    out.className = "quiz-result " + (g.passed ? "is-pass" : "is-fail");
    out.textContent = t("q_score", { a: fmt(g.score), b: fmt(g.max), p: fmt(pct) }) + " " +
      (g.passed ? t("pass") + "." : t("fail") + " (" + t("need", { n: fmt(passMark) }) + ").");
  }

  function fill(root, res) {
    each($$("fieldset[data-question-id]", root), function (fs) {
      var id = fs.getAttribute("data-question-id"), kind = fs.getAttribute("data-kind"), a = own(res, id) ? res[id] : null, c, list;
      if (a == null) return;
      if (kind == "single" || kind == "truefalse") {
        c = byValue(fs, kind == "truefalse" ? String(!!a) : a);
        if (c) c.checked = true;
      } else if (kind == "multiple" && Array.isArray(a)) {
        each(controls(fs), function (x) { x.checked = a.indexOf(x.value) >= 0; });
      } else if ((kind == "short" || kind == "numeric") && typeof a != "object") {
        c = $("input", fs);
        if (c) c.value = String(a);
      } else if ((kind == "matching" || kind == "blanks") && isObj(a)) {
        each(controls(fs), function (x) {
          var k = x.getAttribute(kind == "blanks" ? "data-gap-id" : "data-left-id");
          if (k && typeof a[k] == "string") x.value = a[k];
        });
      } else if (kind == "ordering" && Array.isArray(a)) {
        list = $("ol", fs);
        a.forEach(function (item) {
          each($$("li[data-item-id]", list), function (li) { if (li.getAttribute("data-item-id") === item) list.appendChild(li); });
        });
      }
    });
  }

  LMS._fill = fill; // tests answer a form through it

  // The server's verdict on each question: as much as the quiz reveals after submission.
  function showGraded(form, out, body, passMark) {
    each($$("fieldset[data-question-id]", form), function (fs) {
      var box = $(".quiz-feedback", fs), r = (body.questions || []).filter(function (q) {
        return q.id === fs.getAttribute("data-question-id");
      })[0], state, p;
      if (!r || typeof r.points != "number") return;
      state = r.correct ? "correct" : r.points > 0 ? "partial" : "wrong";
      fs.classList.remove("is-correct", "is-partial", "is-wrong");
      fs.classList.add("is-" + state);
      if (!box) return;
      box.textContent = "";
      box.lang = lang;
      p = el("p", "quiz-verdict");
      p.appendChild(el("span", "quiz-icon", state == "correct" ? "✓" : state == "partial" ? "◐" : "✗"))
        .setAttribute("aria-hidden", "true");
      p.appendChild(el("strong", null, t("q_" + state)));
      p.appendChild(D.createTextNode(" (" + t("q_points", { a: fmt(r.points), b: fmt(r.max_points) }) + ")"));
      box.appendChild(p);
      (r.feedback || []).forEach(function (f) { box.appendChild(el("p", null, f)); });
      box.hidden = false;
    });
    result(out, { score: body.score, max: body.max_score, passed: !!body.passed }, passMark);
    (body.feedback || []).forEach(function (f) { out.appendChild(el("span", "quiz-overall", " " + f)); });
    if (body.course_completed) out.appendChild(el("strong", "quiz-completed", " " + t("q_completed")));
  }

  function say(box, text, cls) {
    if (!box) return;
    box.lang = lang;
    box.className = "quiz-result" + (cls ? " " + cls : "");
    box.textContent = text;
  }

  // A graded quiz on a site with a server: each attempt starts on the server,
  // which sends this attempt's own form (its order and question ids).
  function startPanel(section, data, ids) {
    var form = $("form", section), panel = el("div", "quiz-start"), btn = el("button", "button quiz-begin", t("q_begin"));
    var msg = el("p", "quiz-start-status");
    msg.setAttribute("role", "status");
    btn.type = "button";
    form.hidden = true;
    panel.appendChild(btn);
    panel.appendChild(msg);
    form.parentNode.insertBefore(panel, form);
    function offline() {
      panel.remove();
      form.hidden = false;
      say($(".quiz-result", section), t("q_offline_form"));
    }
    btn.addEventListener("click", function () {
      btn.disabled = true;
      msg.lang = lang;
      msg.textContent = t("q_starting");
      call("POST", "/my/attempts/start", { course: ids.course, exercise: ids.exercise, attempt_id: uuid() }).then(function (r) {
        if (r.ok) return swapIn(section, r.body);
        btn.disabled = false;
        if (transient(r)) return offline();
        msg.textContent = r.body.error || t("q_rejected", { n: r.status });
      }, offline);
    });
  }
  function swapIn(section, body) {
    var fresh, head;
    // The form comes from our own server's renderer (autoescaped, as the page
    // itself); DOMParser runs no script in it.  The one place HTML is parsed.
    fresh = new DOMParser().parseFromString(String(body.html || ""), "text/html").querySelector("section.quiz");
    if (!fresh) return;
    fresh = D.importNode(fresh, true);
    section.parentNode.replaceChild(fresh, section);
    fill(fresh, isObj(body.responses) ? body.responses : {});
    quiz(fresh, { attempt: body.attempt_id, seq: body.save_seq || 0, deadline: body.deadline });
    head = $("h2", fresh);
    if (head) { head.setAttribute("tabindex", "-1"); head.focus(); }
  }

  function quiz(section, srv) {
    var form = $("form", section), out = $(".quiz-result", section), data, id, course, busy = false, seq, timer = null;
    try { data = JSON.parse($("script.quiz-data", section).textContent); } catch (e) { return; }
    if (!form || !data || !data.view) return;
    id = section.getAttribute("data-quiz-id") || data.view.id;
    course = B.getAttribute("data-course") || "";
    if (data.view.graded && !srv && api()) {
      whoami().then(function (u) {
        if (u) startPanel(section, data, { course: course, exercise: id });
        else if (online()) say(out, t("q_sign_in"));
      });
    }
    if (srv) {
      seq = srv.seq;
      if (srv.deadline) say(out, t("q_deadline", { d: new Date(srv.deadline).toLocaleTimeString(lang == "vi" ? "vi-VN" : "en-GB") }));
      section.__touched = function () {
        clearTimeout(timer);
        timer = setTimeout(function () {
          seq += 1;
          call("POST", "/my/attempts/save", { attempt_id: srv.attempt, seq: seq, responses: collect(form) }).then(function (r) {
            if (r.status == 409) say(out, r.body.error || t("q_rejected", { n: r.status }), "is-fail");
          }, function () { /* offline: the submit carries every answer */ });
        }, 1500);
      };
      form.addEventListener("change", section.__touched);
      form.addEventListener("input", section.__touched);
    }
    D.addEventListener("lms:synced", function (ev) {
      (ev.detail || []).forEach(function (x) {
        if (x.id === section.getAttribute("data-queued") && x.result && typeof x.result.score == "number") {
          section.removeAttribute("data-queued");
          showGraded(form, out, x.result, data.view.pass_mark);
        }
      });
    });
    form.addEventListener("submit", function (ev) {
      var response, g, button = $("[type=submit]", form), item;
      ev.preventDefault();
      response = collect(form);
      if (!data.view.graded) {
        if (!data.key) return;
        g = grade(data.view, data.key, response);
        showPractice(form, data, g);
        if (out) result(out, g, data.key.pass_mark);
        record(course + "/" + id, g);
        return;
      }
      if (busy) return;
      busy = true;
      clearTimeout(timer);
      if (button) button.disabled = true;
      say(out, t("q_sending"));
      item = { id: srv ? srv.attempt : uuid(), type: "attempt", course: course, exercise: id, responses: response, submitted_at: new Date().toISOString() };
      item.attempt_id = item.id;
      if (!srv && B.getAttribute("data-version")) item.version = B.getAttribute("data-version");
      function queue() {
        busy = false;
        if (button) button.disabled = false;
        section.setAttribute("data-queued", item.id);
        return enqueue(item).then(function () {
          say(out, !api() ? t("q_local") : online() && !me ? t("q_sign_in") : t("q_queued"));
          return sync();
        });
      }
      if (!srv || !online()) { queue(); return; }
      call("POST", "/my/attempts/submit", { attempt_id: srv.attempt, responses: response }).then(function (r) {
        busy = false;
        if (transient(r)) return queue();
        if (!r.ok) { if (button) button.disabled = false; say(out, r.body.error || t("q_rejected", { n: r.status }), "is-fail"); return; }
        showGraded(form, out, r.body, data.view.pass_mark);
        record(course + "/" + id, { score: r.body.score, max: r.body.max_score, passed: !!r.body.passed });
        each(controls(form), function (c) { c.disabled = true; });
        retry(section, form, { course: course, exercise: id });
      }, queue);
    });
    // ordering: move the neighbour rather than the item, so focus never leaves the button
    section.addEventListener("click", function (ev) {
      var b = ev.target.closest ? ev.target.closest(".quiz-up,.quiz-down") : null, li, list, other, items, fs, st;
      if (!b || !section.contains(b)) return;
      li = b.closest("li"); list = li && li.parentNode;
      if (!list) return;
      if (b.classList.contains("quiz-up")) {
        other = li.previousElementSibling;
        if (other) list.insertBefore(other, li.nextSibling);
      } else {
        other = li.nextElementSibling;
        if (other) list.insertBefore(other, li);
      }
      b.focus();
      fs = li.closest("fieldset");
      st = fs && $(".quiz-ordering-status", fs);
      items = Array.from(list.children);
      if (st) {
        st.lang = lang;
        st.textContent = t("moved", {
          item: ($(".quiz-item-text", li) || li).textContent.trim(),
          n: items.indexOf(li) + 1, m: items.length
        });
      }
      if (section.__touched) section.__touched();
    });
  }

  // After a graded attempt: another one, if the server allows it (attempts left, not completed).
  function retry(section, form, ids) {
    var btn = el("button", "button quiz-again", t("q_again")), sub = $("[type=submit]", form), out = $(".quiz-result", section);
    btn.type = "button";
    if (sub) sub.hidden = true;
    (sub ? sub.parentNode : form).appendChild(btn);
    btn.addEventListener("click", function () {
      btn.disabled = true;
      call("POST", "/my/attempts/start", { course: ids.course, exercise: ids.exercise, attempt_id: uuid() }).then(function (r) {
        if (r.ok) return swapIn(section, r.body);
        btn.disabled = false;
        say(out, r.body.error || t("q_rejected", { n: r.status }), "is-fail");
      }, function () { btn.disabled = false; say(out, t("q_no_network"), "is-fail"); });
    });
  }

  /* ---------------------------------------------------------------- progress */

  var course = B.getAttribute("data-course"), page = B.getAttribute("data-page");
  var root = B.getAttribute("data-root") || "./";

  function titles(attr) {
    var m = {};
    each($$("[" + attr + "]"), function (e) { m[e.getAttribute(attr)] = e.textContent.trim(); });
    return m;
  }
  function date(iso) {
    var d = new Date(iso);
    if (isNaN(d)) return "";
    try { return d.toLocaleDateString(lang == "vi" ? "vi-VN" : "en-GB"); } catch (e) { return iso.slice(0, 10); }
  }

  // The server's view of my courses (null without a server or signed out).
  var mine = null;
  function myCourses() {
    if (!mine) {
      mine = whoami().then(function (u) {
        return u ? call("GET", "/my/courses").then(function (r) { return r.ok ? r.body.courses || [] : null; }, function () { return null; }) : null;
      });
    }
    return mine;
  }
  function pct(x) { return fmt(Math.round(x * 10) / 10); }
  function exerciseLine(x) {
    return x.score == null ? t("s_exercise_none", { t: x.title }) : t("s_exercise", {
      t: x.title, p: pct(x.score), r: t(x.passed ? "pass" : "fail"), a: x.attempts
    });
  }

  function coursePage() {
    var p = progress().lessons, all = $$("[data-progress-lesson]"), sum = $("[data-progress-summary]");
    function show(server) {
      var seen = 0, box = D.getElementById("course-status"), ul;
      each(all, function (e) {
        var slug = e.getAttribute("data-progress-lesson");
        var done = own(p, course + "/" + slug) || !!(server && server.lessons_viewed.indexOf(slug) >= 0);
        seen += done;
        e.textContent = done ? "✓" : "";
        e.classList.toggle("done", done);
        if (done) { e.setAttribute("role", "img"); e.setAttribute("aria-label", t("viewed")); }
      });
      if (sum && all.length) sum.textContent = t("summary", { n: seen, m: all.length });
      if (!server || !sum) return;
      if (!box) {
        box = el("div", "course-status");
        box.id = "course-status";
        sum.parentNode.insertBefore(box, sum.nextSibling);
      }
      box.textContent = "";
      box.lang = lang;
      if (server.completed) box.appendChild(el("p", "is-pass", t("s_completed", { d: date(server.completed_at) })));
      ul = box.appendChild(el("ul", "exercise-list"));
      server.exercises.forEach(function (x) { ul.appendChild(el("li", x.passed ? "is-pass" : "is-fail", exerciseLine(x))); });
    }
    show(null);
    myCourses().then(function (list) {
      var c = (list || []).filter(function (x) { return x.course == course; })[0];
      if (c) show(c);
    });
  }

  function download(text, name) {
    var a = el("a"), url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
    a.href = url;
    a.download = name;
    B.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 5000);
  }

  function serverProgress(box, list) {
    var sec = el("section", "progress-server");
    sec.lang = lang;
    sec.appendChild(el("h2", null, t("s_title")));
    list.forEach(function (c) {
      var art = sec.appendChild(el("article", "progress-course")), ul;
      art.appendChild(el("h3", null, c.title));
      art.appendChild(el("p", c.completed ? "is-pass" : null, c.completed ?
        t("s_completed", { d: date(c.completed_at) }) : t("s_status") + ". " + t("s_lessons", {
          n: c.required_lessons.filter(function (l) { return c.lessons_viewed.indexOf(l) >= 0; }).length,
          m: c.required_lessons.length
        })));
      ul = art.appendChild(el("ul", "exercise-list"));
      c.exercises.forEach(function (x) { ul.appendChild(el("li", x.passed ? "is-pass" : "is-fail", exerciseLine(x))); });
    });
    box.parentNode.insertBefore(sec, box);
  }

  function progressPage() {
    var box = D.getElementById("progress-list"), p = progress(), groups = {}, names = titles("data-course-title");
    var lessonNames = titles("data-lesson-title");
    if (!box) return;
    box.textContent = "";
    each($$(".progress-server, .progress-queue"), function (e) { e.remove(); });
    function group(key) {
      var c = key.split("/")[0];
      return groups[c] || (groups[c] = { lessons: [], exercises: [] });
    }
    Object.keys(p.lessons).sort().forEach(function (k) { group(k).lessons.push(k); });
    Object.keys(p.exercises).sort().forEach(function (k) { group(k).exercises.push(k); });
    Object.keys(groups).sort().forEach(function (c) {
      var g = groups[c], sec = el("section", "progress-course"), ul;
      sec.appendChild(el("h2", null, names[c] || c));
      if (g.lessons.length) {
        sec.appendChild(el("h3", null, t("p_lessons")));
        ul = sec.appendChild(el("ul", "lesson-list"));
        g.lessons.forEach(function (k) {
          ul.appendChild(el("li", "done", t("p_on", { t: lessonNames[k] || k.slice(c.length + 1), d: date(p.lessons[k]) })));
        });
      }
      if (g.exercises.length) {
        sec.appendChild(el("h3", null, t("p_exercises")));
        ul = sec.appendChild(el("ul", "exercise-list"));
        g.exercises.forEach(function (k) {
          var x = p.exercises[k];
          ul.appendChild(el("li", x.passed ? "is-pass" : "is-fail", t("p_result", {
            t: k.slice(c.length + 1), a: fmt(x.score), b: fmt(x.max), r: t(x.passed ? "pass" : "fail")
          })));
        });
      }
      box.appendChild(sec);
    });
    if (!box.firstChild) box.appendChild(el("p", "notice", box.getAttribute("data-empty") || ""));
    myCourses().then(function (list) { if (list && list.length) serverProgress(box, list); });
    queued().then(function (q) { queuePanel(box, q); });
  }

  // What waits to be sent, what the server refused, and (with items waiting)
  // a result file to hand to the course organiser.
  function queuePanel(box, q) {
    var sec = el("section", "progress-queue"), bad = load("lms.rejected", []), btn, input, label, msg, field;
    sec.lang = lang;
    if (q.length) {
      sec.appendChild(el("p", "notice", t("queue_waiting", { n: q.length })));
      if (!me) {
        field = sec.appendChild(el("p"));
        label = field.appendChild(el("label", null, t("export_staff")));
        input = field.appendChild(el("input"));
        input.id = label.htmlFor = "export-staff";
        input.autocomplete = "username";
        input.value = load("lms.staff", "");
      }
      btn = sec.appendChild(el("button", "button", t("queue_download", { n: q.length })));
      btn.type = "button";
      btn.id = "download-queue";
      msg = sec.appendChild(el("p"));
      msg.setAttribute("role", "status");
      btn.addEventListener("click", function () {
        var staff = me ? me.staff_code : input.value.trim();
        if (!staff) { msg.textContent = t("export_need_staff"); input.focus(); return; }
        if (!me) save("lms.staff", staff);
        queued().then(function (items) {
          download(resultFile(staff, items, new Date().toISOString()), "ket-qua-" + new Date().toISOString().slice(0, 10) + ".json");
        });
      });
    }
    (Array.isArray(bad) ? bad : []).forEach(function (x) {
      var what = x.item ? (x.item.exercise || x.item.lesson || "") : "";
      sec.appendChild(el("p", "is-fail", t("rejected", { e: (what ? what + ": " : "") + x.error })));
    });
    if (sec.firstChild) box.parentNode.insertBefore(sec, box.nextSibling);
  }

  /* --------------------------------------------------------------- accounts */

  function accountNav() {
    var link = D.getElementById("account-link"), li = link && link.parentNode;
    if (!li) return;
    link.href = root + "signin.html?next=" + encodeURIComponent(location.pathname + location.search);
    whoami().then(function (u) {
      var out;
      if (!u) return;
      li.textContent = "";
      li.appendChild(el("span", "account-name", u.full_name));
      out = li.appendChild(el("button", "link-button", t("sign_out")));
      out.type = "button";
      out.addEventListener("click", function () {
        call("POST", "/auth/sign-out", {}).then(function () { me = null; location.reload(); }, function () { location.reload(); });
      });
    });
  }

  function signinPage() {
    var f1 = D.getElementById("signin-form"), f2 = D.getElementById("redeem-form"), st = D.getElementById("signin-status");
    function tell(text) { st.hidden = false; st.lang = lang; st.textContent = text; }
    function next() {
      var n = new URLSearchParams(location.search).get("next"), u;
      try { u = n ? new URL(n, location.href) : null; } catch (e) { u = null; }
      location.href = u && u.origin == location.origin ? u.href : root + "index.html";
    }
    function done(r) {
      if (!r.ok) { tell(r.body.error || t("q_rejected", { n: r.status })); return; }
      me = r.body;
      meReady = Promise.resolve(me);
      sync().then(next, next);
    }
    function value(form, name) { return (form.elements[name] && form.elements[name].value || "").trim(); }
    function bind(form, path, body, check) {
      if (!form) return;
      form.addEventListener("submit", function (ev) {
        var problem;
        ev.preventDefault();
        if (!online()) { tell(t("q_no_network")); return; }
        problem = check && check();
        if (problem) { tell(problem); return; }
        call("POST", path, body()).then(done, function () { tell(t("q_no_network")); });
      });
    }
    bind(f1, "/auth/sign-in", function () {
      return { staff_code: value(f1, "staff_code"), password: f1.elements.password.value };
    });
    bind(f2, "/auth/redeem", function () {
      return { staff_code: value(f2, "staff_code"), invite_code: value(f2, "invite_code"), password: f2.elements.password.value };
    }, function () {
      var pw = f2.elements.password.value;
      if (pw.length < 10) return t("pw_short");
      if (pw !== f2.elements.repeat.value) return t("pw_mismatch");
      return "";
    });
  }

  /* ------------------------------------------------------------------ search */

  // lms_core.text.fold, then the index's words: [0-9a-z]+
  function fold(s) {
    return s.toLowerCase().normalize("NFD").replace(/đ/g, "d").replace(MARKS, "")
      .split(/[^0-9a-z]+/).filter(Boolean);
  }
  function search() {
    var input = D.getElementById("search"), list = D.getElementById("search-results"), status = D.getElementById("search-status");
    var index = null, loading = null, timer;
    if (!input || !list) return;
    if (!status) {
      status = el("p", "visually-hidden");
      status.setAttribute("role", "status");
      list.parentNode.insertBefore(status, list);
    }
    if (input.form) input.form.addEventListener("submit", function (e) { e.preventDefault(); run(); });
    function get() {
      if (!loading) {
        loading = (W.fetch ? W.fetch(root + "search-index.json").then(function (r) {
          if (!r.ok) throw new Error(r.status);
          return r.json();
        }) : Promise.reject(new Error("no fetch"))).then(function (j) { index = j; }, function () { /* file:// or offline */ });
      }
      return loading;
    }
    function run() {
      var words = fold(input.value), asked = words.join(" "), hits = null, last, found;
      list.textContent = "";
      if (!words.length) { status.textContent = ""; return; }
      get().then(function () {
        if (fold(input.value).join(" ") != asked) return; // a newer query is on its way
        list.textContent = "";
        if (!index) { status.textContent = t("search_file"); return; }
        last = words.pop();
        words.filter(function (w) { return w.length > 1; }).forEach(function (w) {
          hits = and(hits, own(index.words, w) ? index.words[w] : []);
        });
        found = {};
        Object.keys(index.words).forEach(function (w) {
          if (w.lastIndexOf(last, 0) === 0) index.words[w].forEach(function (i) { found[i] = 1; });
        });
        hits = and(hits, Object.keys(found).map(Number)).sort(function (a, b) { return a - b; });
        hits.slice(0, 20).forEach(function (i) {
          var d = index.docs[i], li = el("li"), a;
          if (!d) return;
          a = li.appendChild(el("a", null, d[0]));
          a.href = root + d[1];
          if (d[2] && d[2] != d[0]) li.appendChild(el("span", "meta", d[2]));
          list.appendChild(li);
        });
        status.textContent = !hits.length ? t("no_results") :
          hits.length > 20 ? t("search_more", { n: hits.length }) : t("search_count", { n: hits.length });
      });
    }
    function and(a, b) {
      return a === null ? b.slice() : a.filter(function (x) { return b.indexOf(x) >= 0; });
    }
    input.addEventListener("focus", get);
    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, 150); });
    rerender.push(function () { if (input.value) run(); });
  }

  /* ----------------------------------------------------------------- offline */

  var SW = "serviceWorker" in N && location.protocol != "file:" && W.isSecureContext !== false;

  function offline() {
    var btn = D.getElementById("download-course"), note = D.getElementById("offline-note");
    if (!btn && !note) return;
    if (!SW) {
      if (btn) btn.hidden = true;
      if (note) {
        note.hidden = false;
        note.setAttribute("data-i18n", "offline_note");
        note.textContent = t("offline_note");
      }
      return;
    }
    if (!btn) return;
    function say(s) { if (note) { note.hidden = false; note.textContent = s; } }
    btn.addEventListener("click", function () {
      var listUrl = new URL("offline.json", location.href), done = false, dog;
      function stop(msg) { if (!done) { done = true; btn.disabled = false; say(msg); } }
      function watch() { clearTimeout(dog); dog = setTimeout(function () { stop(t("dl_error")); }, 30000); }
      btn.disabled = true;
      say(t("dl_progress", { a: 0, b: "…" }));
      watch();
      W.fetch(listUrl).then(function (r) {
        if (!r.ok) throw new Error(r.status);
        return r.json();
      }).then(function (urls) {
        urls = (Array.isArray(urls) ? urls : urls.urls || []).map(function (u) { return new URL(u, listUrl).href; });
        return N.serviceWorker.ready.then(function (reg) {
          var ch = new MessageChannel();
          ch.port1.onmessage = function (e) {
            var m = e.data || {};
            watch();
            if (m.type == "progress") say(t("dl_progress", { a: m.done + m.failed, b: m.total }));
            if (m.type == "done") clearTimeout(dog), stop(m.failed ? t("dl_partial", { a: m.done, b: m.total, c: m.failed }) : t("dl_done"));
          };
          (reg.active || N.serviceWorker.controller).postMessage({ type: "cache-course", urls: urls }, [ch.port2]);
        });
      }).catch(function () { stop(t("dl_error")); });
    });
  }

  /* -------------------------------------------------------------------- start */

  function start() {
    var sw = D.getElementById("lang-switch");
    if (lang != pageLang) relabel();
    if (sw) sw.addEventListener("click", function () { setLang(lang == "vi" ? "en" : "vi"); });
    if (page == "lesson" && course && B.getAttribute("data-lesson")) {
      var p = progress();
      p.lessons[course + "/" + B.getAttribute("data-lesson")] = new Date().toISOString();
      save("lms.progress", p);
      lessonViewed(course, B.getAttribute("data-lesson"));
    }
    each($$("section.quiz"), function (s) { try { quiz(s); } catch (e) { /* keep the page usable */ } });
    if (page == "course") { coursePage(); rerender.push(coursePage); }
    if (page == "progress") {
      progressPage();
      rerender.push(progressPage);
      D.addEventListener("lms:synced", function () { mine = null; progressPage(); });
    }
    if (page == "signin") signinPage();
    accountNav();
    search();
    offline();
    if (SW) {
      N.serviceWorker.register(root + "sw.js").catch(function () { /* offline cache is optional */ });
    }
    W.addEventListener("online", function () { whoami(true).then(sync); });
    migrate().then(sync);
  }
  try { start(); } catch (e) { /* never break the page */ }
})(typeof self != "undefined" ? self : this);
