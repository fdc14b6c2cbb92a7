import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  EMPTY_SPEC,
  IntervalRunner,
  StatusHandler,
  TtlCheck,
  checkKind,
  isEmptySpec,
  resultKey,
  taskFor,
  truncateHead,
  validateCheckSpec,
  type CheckResult,
  type CheckStatus,
  type CheckTask,
} from "../../src/checks/index.ts";
import { FakeClock } from "./fake_timers.ts";

const seq = (h: StatusHandler, xs: CheckStatus[]): string[] =>
  xs.map((s, i) => {
    const r = h.observe(s, `o${i}`);
    return r === undefined ? "-" : r.status[0]!;
  });

test("status handler: defaults report every result at once", () => {
  const h = new StatusHandler({ successBeforePassing: 0, failuresBeforeWarning: 0, failuresBeforeCritical: 0 });
  assert.equal(seq(h, ["passing", "critical", "warning", "critical", "passing"]), ["p", "c", "w", "c", "p"]);
});

test("status handler: exhaustive over small thresholds matches the reference model", () => {
  const statuses: CheckStatus[] = ["passing", "warning", "critical"];
  for (let sbp = 0; sbp <= 3; sbp++) {
    for (let fbc = 0; fbc <= 3; fbc++) {
      for (let fbw = 0; fbw <= fbc; fbw++) {
        // every sequence of length 5
        for (let n = 0; n < 3 ** 5; n++) {
          const xs: CheckStatus[] = [];
          let k = n;
          for (let i = 0; i < 5; i++) {
            xs.push(statuses[k % 3]!);
            k = Math.floor(k / 3);
          }
          const h = new StatusHandler({ successBeforePassing: sbp, failuresBeforeWarning: fbw, failuresBeforeCritical: fbc });
          // reference: counters start at the thresholds
          let succ = sbp;
          let fail = fbc;
          const warnAt = fbw === 0 ? fbc : fbw;
          for (const s of xs) {
            const got = h.observe(s, "x");
            let want: CheckStatus | undefined;
            if (s !== "critical") {
              succ++;
              fail = 0;
              want = succ >= sbp ? s : undefined;
            } else {
              fail++;
              succ = 0;
              want = fail >= fbc ? "critical" : fail >= warnAt ? "warning" : undefined;
            }
            assert.is(got?.status, want, `sbp=${sbp} fbw=${fbw} fbc=${fbc} seq=${xs.join(",")}`);
          }
        }
      }
    }
  }
});

test("status handler: success_before_passing=2, failures_before_warning=1, failures_before_critical=3", () => {
  const h = new StatusHandler({ successBeforePassing: 2, failuresBeforeWarning: 1, failuresBeforeCritical: 3 });
  // first result reported at once (counters start at thresholds)
  assert.equal(seq(h, ["critical", "passing", "passing", "critical", "critical", "critical", "passing"]), ["c", "-", "p", "w", "w", "c", "-"]);
});

test("validate: Consul's texts and kinds", () => {
  const s = { ...EMPTY_SPEC };
  assert.is(validateCheckSpec(s), "TTL must be > 0 for TTL checks");
  assert.is(validateCheckSpec({ ...s, http: "http://x" }), "Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks");
  assert.is(validateCheckSpec({ ...s, ttlMs: 1000, intervalMs: 1000 }), "Interval and TTL cannot both be specified");
  assert.is(validateCheckSpec({ ...s, aliasService: "web", ttlMs: 5 }), "TTL must be not be set for Alias checks");
  assert.is(validateCheckSpec({ ...s, ttlMs: 1, failuresBeforeWarning: 2, failuresBeforeCritical: 1 }), "FailuresBeforeWarning can't be higher than FailuresBeforeCritical");
  assert.is(validateCheckSpec({ ...s, ttlMs: 1000 }), undefined);
  assert.is(checkKind({ ...s, http: "h", intervalMs: 1 }), "http");
  assert.is(checkKind({ ...s, grpc: "g", http: "h", intervalMs: 1 }), "grpc");
  assert.is(checkKind({ ...s, scriptArgs: ["true"], intervalMs: 1 }), "script");
  assert.is(checkKind({ ...s, aliasService: "x" }), "alias");
  assert.is(checkKind({ ...s, ttlMs: 3 }), "ttl");
  assert.ok(isEmptySpec(s));
  assert.not.ok(isEmptySpec({ ...s, name: "x" }));
});

test("ttl: expiry turns critical with Consul's texts; updates renew; output truncated", () => {
  const c = new FakeClock();
  const seen: [CheckStatus, string][] = [];
  const t = new TtlCheck(10_000, 8, c.deps, (s, o) => seen.push([s, o]));
  t.start();
  c.advance(9_999);
  assert.equal(seen, []);
  c.advance(1);
  assert.equal(seen, [["critical", "TTL expired"]]);
  assert.is(t.setStatus("passing", "all good here"), "all good ... (captured 8 of 13 bytes)");
  c.advance(9_000);
  t.setStatus("warning", "w");
  c.advance(9_000);
  assert.is(seen.length, 3);
  c.advance(1_000);
  assert.equal(seen[3], ["critical", "TTL expired (last output before timeout follows): w"]);
  // no re-arm after expiry until the next update
  c.advance(100_000);
  assert.is(seen.length, 4);
  t.stop();
  assert.is(c.pending(), 0);
  assert.is(truncateHead("abc", 5), "abc");
});

test("runner: jittered first run, one run per interval, same-results reuse the last output, failures are critical", async () => {
  const c = new FakeClock();
  c.randomValue = 0.25;
  const tasks: CheckTask[] = [];
  const answers: Array<CheckResult | Error> = [
    { same: false, status: "passing", output: "ok", key: resultKey("passing", "ok") },
    { same: true },
    Object.assign(new Error("aborted"), { name: "AbortError" }),
    new Error("worker exited with code: 7"),
  ];
  const notes: [CheckStatus, string][] = [];
  const spec = { ...EMPTY_SPEC, checkId: "c", tcp: "127.0.0.1:1", intervalMs: 500, timeoutMs: 2000 };
  const r = new IntervalRunner(
    spec,
    4096,
    {
      ...c.deps,
      execute: (t) => {
        tasks.push(t);
        const a = answers.shift()!;
        return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
      },
    },
    (s, o) => notes.push([s, o]),
  );
  r.start();
  // interval raised to 1 s; first run at 0.25 * 1000
  c.advance(249);
  assert.is(tasks.length, 0);
  c.advance(1);
  assert.is(tasks.length, 1);
  await new Promise((res) => setTimeout(res, 0));
  assert.equal(notes, [["passing", "ok"]]);
  assert.is((tasks[0] as { prevKey: string }).prevKey, "");
  c.advance(1000);
  await new Promise((res) => setTimeout(res, 0));
  assert.is((tasks[1] as { prevKey: string }).prevKey, resultKey("passing", "ok"));
  assert.equal(notes[1], ["passing", "ok"]);
  c.advance(1000);
  await new Promise((res) => setTimeout(res, 0));
  assert.equal(notes[2], ["critical", "Timed out (2s) running check"]);
  c.advance(1000);
  await new Promise((res) => setTimeout(res, 0));
  assert.equal(notes[3], ["critical", "check worker failed: worker exited with code: 7"]);
  r.stop();
  assert.is(c.pending(), 0);
  assert.is(r.runs, 4);
});

test("taskFor: per-type tasks and defaults", () => {
  const base = { ...EMPTY_SPEC, intervalMs: 1000 };
  const h = taskFor({ ...base, http: "http://x/" }, 100, "k");
  assert.equal(h && h.kind === "http" ? [h.method, h.timeoutMs, h.maxOutput, h.prevKey] : [], ["GET", 10_000, 100, "k"]);
  const s = taskFor({ ...base, scriptArgs: ["true"] }, 100, "");
  assert.is(s?.kind === "script" ? s.timeoutMs : 0, 30_000);
  assert.is(taskFor({ ...EMPTY_SPEC, ttlMs: 1 }, 1, ""), undefined);
});

test.run();
