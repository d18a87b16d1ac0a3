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
  function queue() { var q = load("lms.queue", []); return Array.isArray(q) ? q : []; }
  function record(id, g) {
    var p = progress(), old = p.exercises[id];
    // keep the best result: a later weaker try does not undo a pass
    if (!old || !old.max || g.score / g.max >= old.score / old.max) {
      p.exercises[id] = { score: g.score, max: g.max, passed: g.passed, at: new Date().toISOString() };
      save("lms.progress", p);
    }
  }

  /* ---------------------------------------------------------- submit, queue */

  function api() { return ((B && B.getAttribute("data-api")) || "").replace(/\/+$/, ""); }
  function post(attempt) {
    return W.fetch(api() + "/attempts/submit", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(attempt)
    }).then(function (r) {
      if (r.status >= 500 || r.status == 408 || r.status == 429) throw new Error(r.status);
      return r.json().catch(function () { return {}; }).then(function (body) {
        return { status: r.ok || r.status == 409 ? "sent" : "rejected", code: r.status, result: body };
      });
    });
  }
  function enqueue(attempt) {
    var q = queue();
    if (!q.some(function (x) { return x.attempt_id == attempt.attempt_id; })) q.push(attempt);
    save("lms.queue", q);
    return { status: "queued", server: !!api() };
  }
  function submit(attempt) {
    if (!api() || !W.fetch || N.onLine === false) return Promise.resolve(enqueue(attempt));
    return post(attempt).catch(function () { return enqueue(attempt); });
  }
  var flushing = false;
  function flush() {
    var q = queue();
    if (flushing || !q.length || !api() || !W.fetch || N.onLine === false) return;
    flushing = true;
    post(q[0]).then(function (r) {
      flushing = false;
      if (r.status == "sent") {
        save("lms.queue", queue().filter(function (x) { return x.attempt_id != q[0].attempt_id; }));
        flush();
      }
    }, function () { flushing = false; });
  }
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

  var LMS = W.LMS = {
    submit: submit,
    progress: progress,
    queue: queue,
    flush: flush,
    _grade: grade,
    _norm: norm,
    _num: num
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
      queue_download: "Tải về {n} bài làm chưa gửi",
      search_file: "Tìm kiếm cần mở trang qua máy chủ web.",
      search_count: "{n} kết quả.", search_more: "Có {n} kết quả, hiển thị 20 kết quả đầu.",
      no_results: "Không tìm thấy kết quả.",
      dl_progress: "Đang tải {a}/{b}…", dl_done: "Đã tải xong. Có thể học khóa này khi không có mạng.",
      dl_partial: "Đã tải {a}/{b}; còn {c} tệp lỗi, hãy thử lại.",
      dl_error: "Không tải được. Hãy kiểm tra kết nối mạng và thử lại.",
      offline_note: "Trang này cần mở qua HTTPS để lưu và học khi không có mạng."
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
      queue_download: "Download {n} unsent attempts",
      search_file: "Search needs the site to be opened through a web server.",
      search_count: "{n} results.", search_more: "{n} results; showing the first 20.",
      no_results: "No results.",
      dl_progress: "Downloading {a}/{b}…", dl_done: "Done. This course now works offline.",
      dl_partial: "Downloaded {a}/{b}; {c} files failed, please try again.",
      dl_error: "Download failed. Check the connection and try again.",
      offline_note: "Open this site over HTTPS to save it for offline study."
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

  function quiz(section) {
    var form = $("form", section), out = $(".quiz-result", section), data, id, course, busy = false;
    try { data = JSON.parse($("script.quiz-data", section).textContent); } catch (e) { return; }
    if (!form || !data || !data.view) return;
    id = section.getAttribute("data-quiz-id") || data.view.id;
    course = B.getAttribute("data-course") || "";
    form.addEventListener("submit", function (ev) {
      var response, g, attempt, button = $("[type=submit]", form), seed;
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
      if (button) button.disabled = true;
      if (out) { out.lang = lang; out.textContent = t("q_sending"); }
      seed = data.seed != null ? data.seed : section.getAttribute("data-seed");
      attempt = {
        course: course, exercise: id, attempt_id: uuid(), seed: seed == null ? 0 : +seed,
        response: response, client_time: new Date().toISOString()
      };
      submit(attempt).then(function (r) {
        var body = r.result || {}, max = body.max_score != null ? body.max_score : body.max;
        busy = false;
        if (button) button.disabled = false;
        if (!out) return;
        if (r.status == "sent" && typeof body.score == "number" && max) {
          g = { score: body.score, max: max, passed: !!body.passed };
          result(out, g, data.view.pass_mark);
          record(course + "/" + id, g);
        } else {
          out.textContent = r.status == "sent" ? t("q_sent") : r.status == "rejected" ?
            t("q_rejected", { n: r.code }) : r.server ? t("q_queued") : t("q_local");
        }
      });
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

  function coursePage() {
    var p = progress().lessons, seen = 0, all = $$("[data-progress-lesson]"), sum = $("[data-progress-summary]");
    each(all, function (e) {
      var done = own(p, course + "/" + e.getAttribute("data-progress-lesson"));
      seen += done;
      e.textContent = done ? "✓" : "";
      e.classList.toggle("done", done);
      if (done) { e.setAttribute("role", "img"); e.setAttribute("aria-label", t("viewed")); }
    });
    if (sum && all.length) sum.textContent = t("summary", { n: seen, m: all.length });
  }

  function downloadQueue() {
    var q = queue(), a = el("a"), url = URL.createObjectURL(
      new Blob([JSON.stringify(q, null, 1)], { type: "application/json" }));
    a.href = url;
    a.download = "lms-attempts-" + new Date().toISOString().slice(0, 10) + ".json";
    B.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 5000);
  }

  function progressPage() {
    var box = D.getElementById("progress-list"), p = progress(), groups = {}, names = titles("data-course-title");
    var lessonNames = titles("data-lesson-title"), q = queue(), btn = D.getElementById("download-queue");
    if (!box) return;
    box.textContent = "";
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
    if (!btn && q.length) {
      btn = el("button", "button");
      btn.type = "button";
      btn.id = "download-queue";
      box.parentNode.insertBefore(btn, box.nextSibling);
    }
    if (btn && !btn.hasAttribute("data-bound")) {
      btn.setAttribute("data-bound", "");
      btn.addEventListener("click", downloadQueue);
    }
    if (btn) {
      btn.hidden = !q.length;
      btn.textContent = t("queue_download", { n: q.length });
    }
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
    }
    each($$("section.quiz"), function (s) { try { quiz(s); } catch (e) { /* keep the page usable */ } });
    if (page == "course") { coursePage(); rerender.push(coursePage); }
    if (page == "progress") { progressPage(); rerender.push(progressPage); }
    search();
    offline();
    if (SW) {
      N.serviceWorker.register(root + "sw.js").catch(function () { /* offline cache is optional */ });
    }
    W.addEventListener("online", flush);
    flush();
  }
  try { start(); } catch (e) { /* never break the page */ }
})(typeof self != "undefined" ? self : this);
