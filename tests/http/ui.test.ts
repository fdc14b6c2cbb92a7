/**
 * tests/http/ui: the web UI routes of the HTTP server (src/http/ui.ts) over a fake backend:
 * the page and its assets with their types and cache headers, the SPA fallback, HEAD, the
 * 301 from "/" only with the UI on, Consul's 404 and "UI disabled" texts with it off.
 */

import { suite } from "../shared/suite.ts";
import * as assert from "uvu/assert";
import { INVALID_URL_PATH } from "../../src/http/router.ts";
import { type Harness, request, startHarness } from "./helpers.ts";

const on = suite<{ h: Harness }>("ui enabled");
on.before(async (ctx) => {
  ctx.h = await startHarness({ ui: { enabled: true }, responseHeaders: { "X-Test": "yes" } });
});
on.after(async (ctx) => {
  await ctx.h.close();
});

on("GET /ui/ answers the page", async ({ h }) => {
  const r = await request(h.port, "/ui/");
  assert.is(r.status, 200);
  assert.is(r.headers["content-type"], "text/html; charset=utf-8");
  assert.is(r.headers["cache-control"], "no-cache");
  assert.match(String(r.headers["content-security-policy"]), /script-src 'self'/);
  assert.match(r.text, /^<!doctype html>/);
  assert.match(r.text, /<script src="\/ui\/assets\/app\.js\?v=[0-9a-f]{12}"><\/script>/);
  assert.is(r.headers["x-test"], "yes", "configured response headers apply");
  assert.is(r.headers["x-consul-default-acl-policy"], undefined, "the UI is not a wrapped API endpoint");
});

on("SPA fallback: any path under /ui/ without a file answers the page", async ({ h }) => {
  const page = await request(h.port, "/ui/");
  for (const p of ["/ui/services", "/ui/dc1/services/web", "/ui/assets/nope.js", "/ui/index.html?x=1"]) {
    const r = await request(h.port, p);
    assert.is(r.status, 200, p);
    assert.is(r.headers["content-type"], "text/html; charset=utf-8", p);
    assert.is(r.text, page.text, p);
  }
});

on("/ui redirects to /ui/ (ServeMux subtree redirect)", async ({ h }) => {
  const r = await request(h.port, "/ui");
  assert.is(r.status, 301);
  assert.is(r.headers.location, "/ui/");
});

on("assets: JavaScript and CSS with their types and a long Cache-Control", async ({ h }) => {
  const js = await request(h.port, "/ui/assets/app.js");
  assert.is(js.status, 200);
  assert.is(js.headers["content-type"], "text/javascript; charset=utf-8");
  assert.match(String(js.headers["cache-control"]), /^public, max-age=\d+$/);
  assert.is(js.headers["x-content-type-options"], "nosniff");
  assert.match(js.text, /\/v1\/catalog\/services/);
  const css = await request(h.port, "/ui/assets/style.css?v=abc");
  assert.is(css.status, 200);
  assert.is(css.headers["content-type"], "text/css; charset=utf-8");
  assert.match(css.text, /body \{/);
  assert.is(js.headers["content-encoding"], undefined, "not gzipped (as Consul's UI handler)");
});

on("HEAD: headers and length without a body", async ({ h }) => {
  const get = await request(h.port, "/ui/assets/app.js");
  const head = await request(h.port, "/ui/assets/app.js", { method: "HEAD" });
  assert.is(head.status, 200);
  assert.is(head.headers["content-type"], "text/javascript; charset=utf-8");
  assert.is(head.headers["content-length"], String(get.body.length));
  assert.is(head.body.length, 0);
  const page = await request(h.port, "/ui/", { method: "HEAD" });
  assert.is(page.status, 200);
  assert.is(page.body.length, 0);
});

on("other methods: 405 with Allow", async ({ h }) => {
  const r = await request(h.port, "/ui/", { method: "POST", body: "x" });
  assert.is(r.status, 405);
  assert.is(r.headers.allow, "OPTIONS,GET,HEAD");
});

on("GET / redirects to /ui/ with 301 Moved Permanently", async ({ h }) => {
  const r = await request(h.port, "/");
  assert.is(r.status, 301);
  assert.is(r.headers.location, "/ui/");
  assert.is(r.text, '<a href="/ui/">Moved Permanently</a>.\n\n');
  const q = await request(h.port, "/?x=1");
  assert.is(q.status, 301);
});

on("robots.txt, and the API is unchanged", async ({ h }) => {
  const r = await request(h.port, "/robots.txt");
  assert.is(r.status, 200);
  assert.match(r.text, /Disallow: \//);
  const api = await request(h.port, "/v1/status/leader");
  assert.is(api.status, 200);
  const nope = await request(h.port, "/favicon.ico");
  assert.is(nope.status, 404);
  assert.is(nope.text, INVALID_URL_PATH);
});

on.run();

const custom = suite<{ h: Harness }>("ui content path");
custom.before(async (ctx) => {
  ctx.h = await startHarness({ ui: { enabled: true, contentPath: "/console/" } });
});
custom.after(async (ctx) => {
  await ctx.h.close();
});

custom("the page, its assets and the root redirect follow ui_config.content_path", async ({ h }) => {
  const root = await request(h.port, "/");
  assert.is(root.status, 301);
  assert.is(root.headers.location, "/console/");
  const page = await request(h.port, "/console/");
  assert.is(page.status, 200);
  assert.match(page.text, /src="\/console\/assets\/app\.js\?v=/);
  const js = await request(h.port, "/console/assets/app.js");
  assert.is(js.headers["content-type"], "text/javascript; charset=utf-8");
  const old = await request(h.port, "/ui/");
  assert.is(old.status, 404);
});

custom.run();

const off = suite<{ h: Harness }>("ui disabled");
off.before(async (ctx) => {
  ctx.h = await startHarness({ ui: { enabled: false } });
});
off.after(async (ctx) => {
  await ctx.h.close();
});

off("/ui/ and its assets answer Consul's 404, / says the UI is disabled", async ({ h }) => {
  for (const p of ["/ui/", "/ui/assets/app.js", "/robots.txt"]) {
    const r = await request(h.port, p);
    assert.is(r.status, 404, p);
    assert.is(r.text, INVALID_URL_PATH, p);
  }
  const root = await request(h.port, "/");
  assert.is(root.status, 200);
  assert.match(root.text, /^Consul Agent: UI disabled/);
  assert.is(root.headers.location, undefined);
});

off.run();
