/**
 * http/blocking: a query with a generation is not run again while the generation stands
 * still and its body is cached, and it always answers what a fresh run would (checked
 * against a naive model over random reads and writes). A real store's catalogGeneration
 * moves on catalog writes and restores only.
 */
import { suite } from "../shared/suite.ts";
import * as assert from "uvu/assert";
import { BlockingEngine, type BlockingQuery } from "../../src/http/blocking.ts";
import { HTTP_RENDER_CACHE_BYTES } from "../../src/shared/limits.ts";
import { Store } from "../../src/state/index.ts";
import { EMPTY_CHECK_DEFINITION, type CheckInput } from "../../src/state/catalog_types.ts";
import { H, reg } from "../state/session_helpers.ts";

const t = suite("blocking generation");

/** A fake source: a value with an index and a generation, and one-shot watches. */
class Source {
  value = "v0";
  index = 1;
  gen = 0;
  runs = 0;
  private cbs: (() => void)[] = [];
  write(v: string): void {
    this.value = v;
    this.index++;
    this.gen++;
    const cbs = this.cbs;
    this.cbs = [];
    for (const cb of cbs) cb();
  }
  query(key: string, withGen: boolean, bodyBytes = 1): BlockingQuery<string, { s: string; size: number }> {
    const q: BlockingQuery<string, { s: string; size: number }> = {
      key,
      run: () => {
        this.runs++;
        return { index: this.index, value: this.value };
      },
      watch: (cb) => {
        this.cbs.push(cb);
        return () => void (this.cbs = this.cbs.filter((x) => x !== cb));
      },
      render: (v) => ({ s: v, size: bodyBytes }),
      sizeOf: (r) => r.size,
    };
    return withGen ? { ...q, generation: () => this.gen } : q;
  }
}

const noAbort = (): void => {};

t("a query with a generation runs once while the generation stands still, again once it moves", async () => {
  const src = new Source();
  const e = new BlockingEngine();
  for (let i = 0; i < 5; i++) {
    const r = await e.serve(src.query("k", true), 0, 0, noAbort);
    assert.is(r?.index, 1);
    assert.is(r?.rendered.s, "v0");
  }
  assert.is(src.runs, 1);
  src.write("v1");
  const r = await e.serve(src.query("k", true), 0, 0, noAbort);
  assert.is(r?.index, 2);
  assert.is(r?.rendered.s, "v1");
  assert.is(src.runs, 2);
  // Without a generation every read runs.
  for (let i = 0; i < 3; i++) await e.serve(src.query("k", false), 0, 0, noAbort);
  assert.is(src.runs, 5);
});

t("a body too large to cache is run every time, and is still right", async () => {
  const src = new Source();
  const e = new BlockingEngine();
  const big = HTTP_RENDER_CACHE_BYTES; // over the per-entry bound: never cached
  for (let i = 0; i < 3; i++) assert.is((await e.serve(src.query("big", true, big), 0, 0, noAbort))?.rendered.s, "v0");
  assert.is(src.runs, 3);
});

t("a parked query with a generation wakes with the new value", async () => {
  const src = new Source();
  const e = new BlockingEngine();
  await e.serve(src.query("k", true), 0, 0, noAbort);
  const parked = e.serve(src.query("k", true), 1, 10_000, noAbort);
  assert.is(e.parkedCount, 1);
  src.write("v1");
  const r = await parked;
  assert.is(r?.index, 2);
  assert.is(r?.rendered.s, "v1");
});

t("model: random reads and writes over several keys always answer what a fresh run answers", async () => {
  let seed = 7;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const src = new Source();
  const e = new BlockingEngine();
  for (let i = 0; i < 2000; i++) {
    if (rnd() < 0.2) src.write(`v${i}`);
    const key = `k${Math.floor(rnd() * 5)}`;
    const r = await e.serve(src.query(key, rnd() < 0.8), 0, 0, noAbort);
    assert.is(r?.index, src.index);
    assert.is(r?.rendered.s, src.value);
  }
  assert.ok(src.runs < 2000, `some reads skipped their run (${src.runs} runs)`);
});

t("store: catalogGeneration moves on catalog writes and restores, not on KV writes or failed registrations", () => {
  const h = new H();
  const g0 = h.s.catalogGeneration();
  h.apply(reg("n1"));
  const g1 = h.s.catalogGeneration();
  assert.ok(g1 !== g0);
  h.apply({ type: "kv-set", key: "a", value: new Uint8Array([1]), flags: 0n });
  assert.is(h.s.catalogGeneration(), g1);
  // A check for a service that does not exist: the whole registration rolls back.
  const check: CheckInput = {
    node: "n2", checkId: "c", name: "c", status: "passing", notes: "", output: "", serviceId: "nope", serviceName: "",
    serviceTags: [], type: "", intervalNs: 0, timeoutNs: 0, exposedPort: 0, definition: EMPTY_CHECK_DEFINITION,
  };
  const bad = h.apply(reg("n2", { checks: [check] }));
  assert.is(bad.type, "error");
  assert.is(h.s.catalogGeneration(), g1);
  const snap = h.s.snapshot();
  const other = new Store();
  const before = other.catalogGeneration();
  other.restore(snap);
  assert.ok(other.catalogGeneration() !== before);
});

t.run();
