// State tests for sessions: create validation, invalidation (destroy, TTL, check critical or
// deleted, node deleted) exhaustively over behaviors and lock-delays, lock-delay edges,
// LockIndex semantics, txn lock verbs, rollback, snapshots, codec and events.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Store, decodeCommand, encodeCommand, type Command, type SessionEvents } from "../../src/state/index.ts";
import { H, chk, enc, reg, sess } from "./session_helpers.ts";

const T0 = 1_700_000_000_000;
const TRUE = { type: "bool", ok: true };
const FALSE = { type: "bool", ok: false };

test("create: Consul's validation texts; a created session is readable and wakes watchers", () => {
  const h = new H();
  assert.equal(h.apply({ type: "session-create", session: sess("a", "n1") }), { type: "error", message: "Missing node registration" });
  h.world();
  assert.equal(h.apply({ type: "session-create", session: sess("a", "n1", { nodeChecks: ["nope"] }) }), {
    type: "error",
    message: "Missing check 'nope' registration",
  });
  h.apply(reg("n1", { checks: [chk("n1", "bad", "critical")] }));
  assert.equal(h.apply({ type: "session-create", session: sess("a", "n1", { nodeChecks: ["bad"] }) }), {
    type: "error",
    message: "Check 'bad' is in critical state",
  });
  assert.equal(h.apply({ type: "session-create", session: sess("", "n1") }), { type: "error", message: "Missing session ID" });
  const before = h.s.sessionList().index;
  let fired = 0;
  h.s.watchSessions(() => fired++);
  h.s.watchNodeSessions("N1", () => fired++);
  h.s.watchSession("A", () => fired++);
  assert.equal(h.apply({ type: "session-create", session: sess("a", "n1", { serviceChecks: [{ id: "sc1", namespace: "" }] }) }), { type: "none" });
  assert.is(fired, 3);
  const g = h.s.sessionGet("a");
  assert.is(g.index, h.i);
  assert.ok(g.index > before);
  assert.is(g.value?.createIndex, h.i);
  assert.is(g.value?.modifyIndex, h.i);
  assert.is(h.s.sessionsOfNode("n1").value.length, 1);
  assert.is(h.s.sessionsOfNode("n2").value.length, 0);
  assert.equal(h.apply({ type: "session-create", session: sess("a", "n1") }), { type: "error", message: "Session a already exists" });
});

test("kv-lock: LockIndex counts new acquisitions; release keeps it; plain PUT ignores locks", () => {
  const h = new H();
  h.world();
  h.apply({ type: "session-create", session: sess("s1", "n1") });
  h.apply({ type: "session-create", session: sess("s2", "n1") });
  assert.equal(h.lock("k", "s1", T0), TRUE);
  assert.is(h.s.kvGet("k").value?.lockIndex, 1);
  assert.equal(h.lock("k", "s1", T0), TRUE); // re-acquire by the holder
  assert.is(h.s.kvGet("k").value?.lockIndex, 1);
  assert.equal(h.lock("k", "s2", T0), FALSE);
  assert.equal(h.apply({ type: "kv-unlock", key: "k", value: enc("x"), flags: 0n, session: "s2" }), FALSE);
  assert.equal(h.apply({ type: "kv-unlock", key: "k", value: enc("x"), flags: 0n, session: "s1" }), TRUE);
  assert.is(h.s.kvGet("k").value?.session, "");
  assert.is(h.s.kvGet("k").value?.lockIndex, 1);
  // A voluntary release sets no lock-delay.
  assert.is(h.s.lockDelayOf("k"), undefined);
  assert.equal(h.lock("k", "s2", T0), TRUE);
  assert.is(h.s.kvGet("k").value?.lockIndex, 2);
  h.apply({ type: "kv-set", key: "k", value: enc("plain"), flags: 0n });
  assert.is(h.s.kvGet("k").value?.session, "s2");
  assert.equal(h.lock("k", "nope", T0), { type: "error", message: 'invalid session "nope"' });
});

type Cause = "destroy" | "check-critical" | "check-deleted" | "service-check-critical" | "service-deleted" | "node-deleted" | "serf-critical";
const CAUSES: Cause[] = ["destroy", "check-critical", "check-deleted", "service-check-critical", "service-deleted", "node-deleted", "serf-critical"];

function invalidate(h: H, cause: Cause, now: number): void {
  switch (cause) {
    case "destroy":
      h.apply({ type: "session-destroy", id: "s1", now });
      return;
    case "check-critical":
      h.apply(reg("n1", { checks: [chk("n1", "c1", "critical")] }));
      return;
    case "check-deleted":
      h.apply({ type: "catalog-deregister", node: "n1", serviceId: "", checkId: "c1" });
      return;
    case "service-check-critical":
      h.apply(reg("n1", { checks: [chk("n1", "sc1", "critical", "web")] }));
      return;
    case "service-deleted":
      h.apply({ type: "catalog-deregister", node: "n1", serviceId: "web", checkId: "" });
      return;
    case "node-deleted":
      h.apply({ type: "catalog-deregister", node: "n1", serviceId: "", checkId: "" });
      return;
    case "serf-critical":
      h.apply(reg("n1", { checks: [chk("n1", "serfHealth", "critical")] }));
      return;
  }
}

for (const behavior of ["release", "delete"] as const) {
  for (const cause of CAUSES) {
    for (const delayMs of [0, 50, 90_000]) {
      test(`invalidation by ${cause}, behavior ${behavior}, lock-delay ${delayMs} ms`, () => {
        const h = new H();
        h.world();
        h.world("n2");
        const checks = { nodeChecks: ["serfHealth", "c1"], serviceChecks: [{ id: "sc1", namespace: "" }] };
        h.apply({ type: "session-create", session: sess("s1", "n1", { behavior, lockDelayNs: delayMs * 1e6, ...checks }) });
        h.apply({ type: "session-create", session: sess("other", "n2", { behavior }) });
        h.apply({ type: "session-create", session: sess("w", "n2") });
        assert.equal(h.lock("a/1", "s1", T0), TRUE);
        assert.equal(h.lock("a/2", "s1", T0), TRUE);
        assert.equal(h.lock("b", "other", T0), TRUE);
        let events: SessionEvents | undefined;
        h.s.onSessionEvents((e) => (events = e));
        invalidate(h, cause, T0 + 1000);
        const at = h.i;
        assert.is(h.s.sessionGet("s1").value, undefined);
        assert.equal(events?.destroyed, ["s1"]);
        assert.is(h.s.sessionGet("other").value?.id, "other");
        assert.is(h.s.kvGet("b").value?.session, "other");
        for (const k of ["a/1", "a/2"]) {
          const e = h.s.kvGet(k).value;
          if (behavior === "release") {
            assert.is(e?.session, "");
            assert.is(e?.lockIndex, 1);
            assert.is(e?.modifyIndex, at);
          } else {
            assert.is(e, undefined);
          }
        }
        const effective = Math.min(delayMs, 60_000);
        const pending = cause !== "destroy";
        if (effective === 0) {
          assert.is(h.s.lockDelayOf("a/1"), undefined);
          assert.is(h.s.lockDelaysPending(), false);
          assert.equal(h.lock("a/1", "w", T0 + 1000), TRUE);
          return;
        }
        let start = T0 + 1000;
        if (pending) {
          assert.is(events?.pendingLockDelays, true);
          assert.is(h.s.lockDelayOf("a/1"), null);
          assert.equal(h.lock("a/1", "w", T0 + 10_000_000), FALSE); // pending refuses whatever the time
          start = T0 + 5000;
          h.apply({ type: "lock-delay-stamp", now: start });
          assert.is(h.s.lockDelaysPending(), false);
        }
        assert.is(h.s.lockDelayOf("a/2"), start + effective);
        assert.equal(h.lock("a/1", "w", start + effective - 1), FALSE);
        assert.equal(h.lock("a/1", "w", start + effective), TRUE);
        assert.is(h.s.kvGet("a/1").value?.lockIndex, behavior === "release" ? 2 : 1);
        // Without a time (commands logged before sessions existed) no lock-delay test is made.
        assert.equal(h.lock("a/2", "w"), TRUE);
      });
    }
  }
}

test("destroying an unknown session changes nothing; destroy is idempotent", () => {
  const h = new H();
  h.world();
  const idx = h.s.sessionList().index;
  assert.equal(h.apply({ type: "session-destroy", id: "nope", now: T0 }), TRUE);
  assert.is(h.s.sessionList().index, idx);
});

test("a session holds keys across other writes: txn set keeps Session, tree delete drops the holding", () => {
  const h = new H();
  h.world();
  h.apply({ type: "session-create", session: sess("s1", "n1", { lockDelayNs: 1e9 }) });
  h.lock("t/a", "s1", T0);
  h.lock("t/b", "s1", T0);
  h.apply({ type: "kv-delete-tree", prefix: "t/b" });
  h.apply({ type: "session-destroy", id: "s1", now: T0 });
  assert.is(h.s.kvGet("t/a").value?.session, "");
  assert.is(h.s.kvGet("t/b").value, undefined); // not resurrected
  assert.is(h.s.lockDelayOf("t/b"), undefined);
  assert.is(h.s.lockDelayOf("t/a"), T0 + 1000);
});

test("txn lock verbs: lock-delay refuses with Consul's text and rolls back; check-session", () => {
  const h = new H();
  h.world();
  h.apply({ type: "session-create", session: sess("s1", "n1", { lockDelayNs: 1e9 }) });
  h.apply({ type: "session-create", session: sess("s2", "n1") });
  h.lock("k", "s1", T0);
  h.apply({ type: "session-destroy", id: "s1", now: T0 });
  const ops = [
    { kind: "kv" as const, op: { verb: "set" as const, key: "other", value: enc("x"), flags: 0n, index: 0, session: "" } },
    { kind: "kv" as const, op: { verb: "lock" as const, key: "k", value: enc("x"), flags: 0n, index: 0, session: "s2" } },
  ];
  const r = h.apply({ type: "txn", ops, now: T0 + 500 });
  assert.equal(r, { type: "txn", results: [], errors: [{ opIndex: 1, what: 'failed to lock key "k" due to lock delay' }] });
  assert.is(h.s.kvGet("other").value, undefined);
  const ok = h.apply({ type: "txn", ops, now: T0 + 1000 });
  assert.is(ok.type === "txn" && ok.errors.length, 0);
  assert.is(h.s.kvGet("k").value?.session, "s2");
  const cs = h.s.txnRead([{ kind: "kv", op: { verb: "check-session", key: "k", value: enc(""), flags: 0n, index: 0, session: "s1" } }]);
  assert.equal(cs.value.errors, [{ opIndex: 0, what: 'failed session check for key "k", current session "s2" != "s1"' }]);
});

test("rollback: a registration that fails after marking a check critical leaves the session and its locks", () => {
  const h = new H();
  h.world();
  h.apply({ type: "session-create", session: sess("s1", "n1", { nodeChecks: ["c1"] }) });
  h.lock("k", "s1", T0);
  const snap = h.s.snapshot();
  const r = h.apply(reg("n1", { checks: [chk("n1", "c1", "critical"), chk("n2", "x", "passing")] }));
  assert.is(r.type, "error");
  assert.is(h.s.sessionGet("s1").value?.id, "s1");
  assert.is(h.s.kvGet("k").value?.session, "s1");
  assert.is(h.s.lockDelaysPending(), false);
  // Apart from the applied index, nothing changed.
  const a = Store.restore(snap);
  assert.equal(a.sessionList().value, h.s.sessionList().value);
  // Same through a txn catalog op followed by a failing KV op.
  const tx = h.apply({
    type: "txn",
    ops: [
      { kind: "check", verb: "set", check: chk("n1", "c1", "critical"), index: 0 },
      { kind: "kv", op: { verb: "cas", key: "k", value: enc(""), flags: 0n, index: 999, session: "" } },
    ],
    now: T0,
  });
  assert.is(tx.type === "txn" && tx.errors.length, 1);
  assert.is(h.s.sessionGet("s1").value?.id, "s1");
  assert.is(h.s.kvGet("k").value?.session, "s1");
  // And a successful txn check op invalidates.
  h.apply({ type: "txn", ops: [{ kind: "check", verb: "set", check: chk("n1", "c1", "critical"), index: 0 }], now: T0 });
  assert.is(h.s.sessionGet("s1").value, undefined);
  assert.is(h.s.kvGet("k").value?.session, "");
});

test("snapshots carry sessions and lock-delays; the held-keys index is rebuilt; replay is deterministic", () => {
  const cmds: Command[] = [];
  const h = new H();
  const orig = h.apply.bind(h);
  h.apply = (c: Command) => {
    cmds.push(c);
    return orig(c);
  };
  h.world();
  h.apply({ type: "session-create", session: sess("s1", "n1", { ttl: "10s", nodeChecks: ["c1"], checks: ["legacy"].slice(0, 0) }) });
  h.apply({ type: "session-create", session: sess("s2", "n1", { behavior: "delete", lockDelayNs: 2e9 }) });
  h.lock("a", "s1", T0);
  h.lock("b", "s2", T0);
  h.apply({ type: "session-destroy", id: "s2", now: T0 });
  h.apply(reg("n1", { checks: [chk("n1", "zz", "passing")] }));
  const snap = h.s.snapshot();
  assert.is(snap[4], 5); // snapshot version (5: coordinates)
  const r = Store.restore(snap);
  assert.equal(r.sessionList(), h.s.sessionList());
  assert.is(r.lockDelayOf("b"), T0 + 2000);
  // Replaying the same log gives byte-identical state.
  const again = new Store();
  cmds.forEach((c, i) => again.apply(i + 1, decodeCommand(encodeCommand(c))));
  assert.equal(Buffer.from(again.snapshot()).equals(Buffer.from(snap)), true);
  // The restored store still knows what s1 holds.
  r.apply(h.i + 1, { type: "session-destroy", id: "s1", now: T0 });
  assert.is(r.kvGet("a").value?.session, "");
  // A restored pending lock-delay stays pending.
  h.apply({ type: "session-create", session: sess("s3", "n1", { nodeChecks: ["c1"], lockDelayNs: 1e9 }) });
  h.lock("c", "s3", T0);
  h.apply(reg("n1", { checks: [chk("n1", "c1", "critical")] }));
  const r2 = Store.restore(h.s.snapshot());
  assert.is(r2.lockDelayOf("c"), null);
  assert.is(r2.lockDelaysPending(), true);
});

test("codec: session commands and timestamped kv-lock/txn round-trip; old 4-field kv-lock still decodes", () => {
  const cmds: Command[] = [
    { type: "session-create", session: sess("id", "n", { serviceChecks: [{ id: "x", namespace: "ns" }], checks: ["a"], nodeChecks: null, ttl: "15s", behavior: "delete", lockDelayNs: 123 }) },
    { type: "session-destroy", id: "id", now: T0 },
    { type: "lock-delay-stamp", now: T0 + 1 },
    { type: "kv-lock", key: "k", value: enc("v"), flags: 7n, session: "s", now: T0 },
    { type: "kv-lock", key: "k", value: enc("v"), flags: 7n, session: "s" },
    { type: "txn", ops: [], now: T0 },
    { type: "txn", ops: [] },
  ];
  for (const c of cmds) assert.equal(decodeCommand(encodeCommand(c)), c);
  assert.throws(() => decodeCommand(encodeCommand({ type: "kv-unlock", key: "k", value: enc("v"), flags: 0n, session: "s" }).slice(0, 3)));
});

test("check mappings are per node: a critical check of the same ID on another node leaves the session", () => {
  const h = new H();
  h.world();
  h.world("n2");
  h.apply({ type: "session-create", session: sess("s1", "n1", { nodeChecks: ["c1"] }) });
  h.apply(reg("n2", { checks: [chk("n2", "c1", "critical")] }));
  assert.is(h.s.sessionGet("s1").value?.id, "s1");
  h.apply(reg("N1", { checks: [chk("N1", "C1", "critical")] }));
  assert.is(h.s.sessionGet("s1").value, undefined);
});

test.run();
