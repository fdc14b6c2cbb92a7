/**
 * tests/ui/assets: the web UI's files as built by buildUiBundle: the script parses (syntax
 * check with new Function), the page loads only local assets under the content path (no
 * external URLs, no inline script), the script never writes API data with innerHTML.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { APP_JS, buildUiBundle, INDEX_HTML, STYLE_CSS } from "../../src/ui/index.ts";

test("the script parses as JavaScript", () => {
  const bundle = buildUiBundle();
  const js = bundle.assets.get("app.js");
  assert.ok(js);
  const fn: unknown = new Function(js.body.toString("utf8"));
  assert.type(fn, "function");
  assert.ok(APP_JS.length > 1000);
});

test("the page references only local assets under the content path", () => {
  const bundle = buildUiBundle("/ui/");
  const html = bundle.index.body.toString("utf8");
  const refs = [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1] as string);
  assert.ok(refs.length >= 5, `refs: ${refs.join(" ")}`);
  const assets: string[] = [];
  for (const r of refs) {
    if (r === "data:,") continue; // the empty favicon (no request for /favicon.ico)
    assert.not.match(r, /^[a-z][a-z0-9+.-]*:/i, `no scheme: ${r}`);
    assert.not.ok(r.startsWith("//"), `no protocol-relative URL: ${r}`);
    if (r.startsWith("#")) continue;
    assert.ok(r.startsWith("/ui/assets/"), `under the content path: ${r}`);
    assets.push(r.slice("/ui/assets/".length).split("?")[0] as string);
  }
  assert.equal(assets.sort(), [...bundle.assets.keys()].sort(), "every referenced asset exists, every asset is used");
  assert.not.match(html, /<script>/, "no inline script (the CSP forbids it)");
  assert.not.match(html, /__CAIRN_UI_/, "placeholders replaced");
});

test("no external URLs anywhere; no innerHTML in the script", () => {
  for (const [name, text] of [["html", INDEX_HTML], ["js", APP_JS], ["css", STYLE_CSS]] as const) {
    assert.not.match(text, /https?:\/\//, name);
    assert.not.match(text, /@import|url\(/, name);
  }
  assert.not.match(APP_JS, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
  assert.match(APP_JS, /textContent/);
});

test("the script uses the API the brief names, and the hash router's routes", () => {
  for (const p of ["/v1/catalog/services", "/v1/health/state/any", "/v1/health/service/", "/v1/catalog/nodes",
    "/v1/health/node/", "/v1/kv/", "?keys&separator=/", "/v1/agent/self", "#/services", "#/nodes", "#/kv/"]) {
    assert.ok(APP_JS.includes(p), p);
  }
});

test("content path: rendered into the page; unsafe ones refused", () => {
  const html = buildUiBundle("/a/b-c_d/").index.body.toString("utf8");
  assert.match(html, /href="\/a\/b-c_d\/assets\/style\.css\?v=[0-9a-f]{12}"/);
  for (const bad of ["ui/", "/ui", "/u\"i/", "/<x>/"]) assert.throws(() => buildUiBundle(bad), /invalid content path/);
});

test.run();
