// Loads site.js without a DOM and prints, for each input string, its SHA-256
// and a result file built around it:
//   node tests/js/result_file.mjs INPUTS.json  -> [[sha256, resultFile], ...]
// tests/test_site_assets.py compares both with Python (hashlib and
// lms_core.services.sync.read_result_file).
import { readFileSync } from "node:fs";
import vm from "node:vm";

const src = readFileSync(new URL("../../site_builder/static/assets/site.js", import.meta.url), "utf8");
const context = vm.createContext({});
vm.runInContext(src, context, { filename: "site.js" });
const LMS = context.LMS;
const inputs = JSON.parse(readFileSync(process.argv[2], "utf8"));
const out = inputs.map((s) => [
  LMS._sha256(s),
  LMS._resultFile("NB001", [{ id: "a-1", type: "lesson_viewed", course: "c", lesson: Array.from(s).slice(0, 60).join("") || "x" }], "2026-11-29T00:00:00Z"),
]);
process.stdout.write(JSON.stringify(out));
