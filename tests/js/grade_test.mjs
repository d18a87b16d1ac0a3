// Loads site_builder/static/assets/site.js without a DOM and uses its grader
// (window.LMS._grade), the one practice quizzes use in the browser.
//
//   node tests/js/grade_test.mjs CASES.json   -> prints the JS grades as JSON
//   node tests/js/grade_test.mjs              -> a few self-checks, prints "ok"
//
// CASES.json is a list of {view, key, response}; tests/test_site_assets.py
// writes it and compares the output with lms_quiz.grading.grade_quiz.
import { readFileSync } from "node:fs";
import assert from "node:assert/strict";
import vm from "node:vm";

const src = readFileSync(new URL("../../site_builder/static/assets/site.js", import.meta.url), "utf8");
const context = vm.createContext({});
vm.runInContext(src, context, { filename: "site.js" });
const LMS = context.LMS;

const file = process.argv[2];
if (file) {
  const cases = JSON.parse(readFileSync(file, "utf8"));
  const out = cases.map(({ view, key, response }) => {
    const g = LMS._grade(view, key, response);
    const questions = {};
    for (const [id, q] of Object.entries(g.questions)) {
      questions[id] = { points: q.points, correct: q.correct, feedback: q.feedback };
    }
    return { score: g.score, max: g.max, passed: g.passed, questions };
  });
  process.stdout.write(JSON.stringify(out));
} else {
  assert.equal(LMS._norm("  Sở  Y\u00a0TẾ ", false), "sở y tế");
  assert.equal(LMS._norm("Đồng Hới", true), "dong hoi");
  assert.equal(LMS._norm("So\u031b\u0309 y te\u0302\u0301", false), "sở y tế");
  assert.equal(LMS._num("3,5"), 3.5);
  assert.equal(LMS._num(" \u22122.5e1 "), -25);
  assert.equal(LMS._num("1,2,3"), null);
  assert.equal(LMS._num("1.5,2"), null);
  assert.equal(LMS._num("nan"), null);
  assert.equal(LMS._num(true), null);
  process.stdout.write("ok\n");
}
