/**
 * End to end: a real `-dev` agent serves the web UI (on by default in dev mode, as Consul):
 * / redirects to /ui/, /ui/ is the page, its script and style sheet load from /ui/assets/.
 * With -ui=false the UI is off: /ui/ is 404, / says so.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { startAgent } from "./agent_proc.ts";

test("-dev: the UI at /ui/, / redirects to it", async () => {
  const agent = await startAgent({ args: ["-dev"] });
  try {
    const root = await fetch(`${agent.base}/`, { redirect: "manual" });
    assert.is(root.status, 301);
    assert.is(root.headers.get("location"), "/ui/");
    await root.arrayBuffer();
    const page = await fetch(`${agent.base}/ui/`);
    assert.is(page.status, 200);
    assert.is(page.headers.get("content-type"), "text/html; charset=utf-8");
    const html = await page.text();
    const m = /<script src="([^"]+)"/.exec(html);
    assert.ok(m, "the page names its script");
    const js = await fetch(`${agent.base}${m[1] as string}`);
    assert.is(js.status, 200);
    assert.is(js.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.match(await js.text(), /\/v1\/agent\/self/);
    const css = await fetch(`${agent.base}/ui/assets/style.css`);
    assert.is(css.status, 200);
    assert.is(css.headers.get("content-type"), "text/css; charset=utf-8");
    await css.arrayBuffer();
    const spa = await fetch(`${agent.base}/ui/services/consul`);
    assert.is(spa.status, 200);
    assert.is(await spa.text(), html);
  } finally {
    await agent.stop();
  }
});

test("-ui=false in -dev: /ui/ is 404, / says the UI is disabled", async () => {
  const agent = await startAgent({ args: ["-dev", "-ui=false"] });
  try {
    const page = await fetch(`${agent.base}/ui/`);
    assert.is(page.status, 404);
    await page.arrayBuffer();
    const root = await fetch(`${agent.base}/`, { redirect: "manual" });
    assert.is(root.status, 200);
    assert.match(await root.text(), /UI disabled/);
  } finally {
    await agent.stop();
  }
});

test.run();
