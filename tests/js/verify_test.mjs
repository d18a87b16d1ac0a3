// Loads site_builder/static/assets/verify.js without a DOM and uses its checker
// (window.lmsVerify.check), the one the verify page uses, with Node's WebCrypto.
//
//   node tests/js/verify_test.mjs CASES.json  -> prints the verdicts as JSON
//
// CASES.json is {"keys": keys.json or null, "revoked": revoked.json or null,
// "tokens": [...]}; tests/test_site_assets.py signs the tokens with Python's
// cryptography and compares the verdicts with the contract's.  The stubbed
// fetch records what was asked for: only the two lists, never a token.
import { readFileSync } from "node:fs";
import vm from "node:vm";

const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
const asked = [];
function fetch(url, options) {
  asked.push(String(url) + (options && options.body ? " " + options.body : ""));
  const name = String(url).split("/").pop();
  const body = name == "keys.json" ? cases.keys : name == "revoked.json" ? cases.revoked : null;
  return Promise.resolve({
    status: body === null ? 404 : 200,
    ok: body !== null,
    json: () => Promise.resolve(JSON.parse(JSON.stringify(body))),
  });
}
const src = readFileSync(new URL("../../site_builder/static/assets/verify.js", import.meta.url), "utf8");
const context = vm.createContext({
  crypto: globalThis.crypto, atob, TextDecoder, URL, fetch,
  location: { href: "https://taphuan.example.gov.vn/tap-huan/verify/" },
});
vm.runInContext(src, context, { filename: "verify.js" });
const check = context.lmsVerify.check;
const verdicts = [];
for (const token of cases.tokens) {
  const r = await check(token);
  verdicts.push(r.verdict || "state:" + r.state);
}
process.stdout.write(JSON.stringify({ verdicts, asked }));
