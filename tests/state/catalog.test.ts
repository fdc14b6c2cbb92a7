// State tests for the catalog: registration semantics, index rules, precise wakeups,
// deregistration, snapshots, codec and txn Node/Service/Check ops.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  NIL_MAP,
  Store,
  aggregateStatus,
  decodeCommand,
  encodeCommand,
  filterNonPassing,
  isNilMap,
  type CheckInput,
  type Command,
  type RegisterInput,
  type ServiceInput,
} from "../../src/state/index.ts";

const DEF = {
  http: "", tlsServerName: "", tlsSkipVerify: false, header: NIL_MAP, method: "", body: "", tcp: "", udp: "",
  grpc: "", grpcUseTls: false, intervalNs: 0, timeoutNs: 0, deregisterCriticalServiceAfterNs: 0,
};

function svc(name: string, over: Partial<ServiceInput> = {}): ServiceInput {
  return {
    kind: "", id: name, service: name, tags: [], address: "", taggedAddresses: NIL_MAP, meta: NIL_MAP, port: 80,
    socketPath: "", weights: null, enableTagOverride: false, proxy: null, connect: null, locality: null, ...over,
  };
}
function chk(node: string, id: string, status: CheckInput["status"], serviceId = ""): CheckInput {
  return {
    node, checkId: id, name: id, status, notes: "", output: "", serviceId, serviceName: "", serviceTags: [], type: "",
    intervalNs: 0, timeoutNs: 0, exposedPort: 0, definition: DEF,
  };
}
function reg(node: string, over: Partial<RegisterInput> = {}, addr = "10.0.0.1", id = ""): Command {
  return {
    type: "catalog-register",
    req: {
      node: { id, node, address: addr, datacenter: "dc1", taggedAddresses: NIL_MAP, meta: NIL_MAP },
      skipNodeUpdate: false, service: null, checks: [], ...over,
    },
  };
}

class H {
  readonly s = new Store();
  i = 0;
  apply(c: Command): ReturnType<Store["apply"]> {
    return this.s.apply(++this.i, c);
  }
}

test("register node + service + checks; defaults: service weights {1,1}, check status critical", () => {
  const h = new H();
  const r = h.apply(reg("n1", { service: svc("web", { tags: ["a"] }), checks: [chk("n1", "c1", ""), chk("n1", "c2", "passing", "web")] }));
  assert.equal(r, { type: "none" });
  const n = h.s.catalogNode("N1"); // case-insensitive
  assert.is(n.value?.node.address, "10.0.0.1");
  assert.is(n.index, 1);
  const inst = h.s.catalogService("web").value;
  assert.is(inst.length, 1);
  assert.equal(inst[0]!.service.weights, { passing: 1, warning: 1 });
  const hs = h.s.healthService("web").value[0]!;
  assert.equal(hs.checks.map((c) => [c.checkId, c.status, c.serviceName]), [["c1", "critical", ""], ["c2", "passing", "web"]]);
  assert.ok(isNilMap(n.value!.node.meta));
  assert.equal(h.s.catalogServices().value, new Map([["web", ["a"]]]));
});

test("index rules: an unchanged re-registration writes nothing; per-service indexes are separate", () => {
  const h = new H();
  h.apply(reg("n1", { service: svc("web") })); // 1
  h.apply(reg("n2", { service: svc("db") })); // 2
  assert.is(h.s.catalogService("web").index, 1);
  assert.is(h.s.catalogService("db").index, 2);
  h.apply(reg("n1", { service: svc("web") })); // 3: identical
  assert.is(h.s.catalogService("web").index, 1);
  assert.is(h.s.catalogNodes().index, 2);
  h.apply(reg("n1", { service: svc("web", { port: 81 }) })); // 4
  assert.is(h.s.catalogService("web").index, 4);
  assert.is(h.s.catalogService("db").index, 2);
  assert.is(h.s.catalogService("web").value[0]!.service.createIndex, 1);
  // A node change bumps the services on it (health includes the node).
  h.apply(reg("n2", {}, "10.0.0.9")); // 5
  assert.is(h.s.healthService("db").index, 5);
  assert.is(h.s.healthService("web").index, 4);
  // Missing service: the extinction index, else the catalog max.
  assert.is(h.s.catalogService("nope").index, 5);
  h.apply({ type: "catalog-deregister", node: "n2", serviceId: "db", checkId: "" }); // 6
  assert.is(h.s.catalogService("nope").index, 6);
  assert.is(h.s.catalogService("db").index, 6);
  assert.equal(h.s.catalogService("db").value, []);
});

test("precise wakeups: a check change on web wakes web's and the node's watchers, not db's", () => {
  const h = new H();
  h.apply(reg("n1", { service: svc("web"), checks: [chk("n1", "w", "passing", "web")] }));
  h.apply(reg("n2", { service: svc("db") }));
  const woke: string[] = [];
  h.s.watchService("web", () => woke.push("web"));
  h.s.watchService("db", () => woke.push("db"));
  h.s.watchNode("n1", () => woke.push("node n1"));
  h.s.watchNode("n2", () => woke.push("node n2"));
  h.s.watchTable("checks", () => woke.push("checks"));
  h.s.watchTable("nodes", () => woke.push("nodes"));
  h.apply(reg("n1", { checks: [chk("n1", "w", "critical", "web")] }));
  assert.equal(woke.sort(), ["checks", "node n1", "web"]);
  // A node-level check on n2 wakes db (every service of the node).
  woke.length = 0;
  h.s.watchService("web", () => woke.push("web")); // db's and n2's watches are still registered from above
  h.apply(reg("n2", { checks: [chk("n2", "serfHealth", "passing")] }));
  assert.equal(woke.sort(), ["db", "node n2"]);
  // An unchanged registration wakes nobody.
  woke.length = 0;
  h.s.watchService("db", () => woke.push("db"));
  h.apply(reg("n2", { checks: [chk("n2", "serfHealth", "passing")] }));
  assert.equal(woke, []);
});

test("deregister: service removes its checks; node removes services and checks; check alone", () => {
  const h = new H();
  h.apply(reg("n1", { service: svc("web"), checks: [chk("n1", "node", "passing"), chk("n1", "w", "passing", "web")] }));
  h.apply(reg("n1", { service: svc("api") }));
  h.apply({ type: "catalog-deregister", node: "n1", serviceId: "web", checkId: "" });
  assert.equal(h.s.healthNode("n1").value.map((c) => c.checkId), ["node"]);
  h.apply({ type: "catalog-deregister", node: "n1", serviceId: "", checkId: "node" });
  assert.equal(h.s.healthNode("n1").value, []);
  h.apply({ type: "catalog-deregister", node: "n1", serviceId: "", checkId: "" });
  assert.is(h.s.catalogNode("n1").value, undefined);
  assert.equal(h.s.catalogService("api").value, []);
  assert.equal(h.s.catalogNodes().value, []);
});

test("errors: missing service for a check, node ID conflict with a healthy node; both roll back", () => {
  const h = new H();
  const r = h.apply(reg("n1", { checks: [chk("n1", "c", "passing", "nope")] }));
  assert.equal(r, { type: "error", message: 'failed inserting check on node "n1": Missing service registration' });
  assert.is(h.s.catalogNode("n1").value, undefined); // rolled back
  const id1 = "11111111-1111-1111-1111-111111111111";
  const id2 = "22222222-2222-2222-2222-222222222222";
  h.apply(reg("n1", { checks: [chk("n1", "serfHealth", "passing")] }, "10.0.0.1", id1));
  const r2 = h.apply(reg("n1", {}, "10.0.0.2", id2));
  assert.equal(r2, {
    type: "error",
    message: `failed inserting node: Error while renaming Node ID: "${id2}": Node name n1 is reserved by node ${id1} with name n1 (10.0.0.1)`,
  });
  // Renaming by ID onto a free name deletes the old name's registration.
  h.apply(reg("n9", {}, "10.0.0.3", id1));
  assert.is(h.s.catalogNode("n1").value, undefined);
  assert.is(h.s.catalogNode("n9").value?.node.id, id1);
  assert.is(h.s.catalogNodeByNameOrId(id1).value?.node.node, "n9"); // lookup by ID
  assert.is(h.s.catalogNode(id1).value, undefined); // by name only
  // SkipNodeUpdate keeps the node as it is.
  h.apply(reg("n9", { skipNodeUpdate: true, service: svc("web") }, "", id1));
  assert.is(h.s.catalogNode("n9").value?.node.address, "10.0.0.3");
  const m = h.apply(reg("n9", { service: svc("x", { meta: { "consul-x": "1" } }) }, "10.0.0.3", id1));
  assert.equal(m, {
    type: "error",
    message: "failed inserting service: Invalid Service Meta for node n9 and serviceID x: Couldn't load metadata pair ('consul-x', '1'): Key prefix 'consul-' is reserved for internal use",
  });
});

test("health helpers: maintenance shows as critical; passing filter swaps like Consul", () => {
  const h = new H();
  for (const [n, st] of [["a", "passing"], ["b", "warning"], ["c", "passing"], ["d", "passing"]] as const) {
    h.apply(reg(n, { service: svc("web"), checks: [chk(n, "c", st, "web")] }));
  }
  const all = h.s.healthService("web").value;
  assert.equal(filterNonPassing(all).map((e) => e.node.node), ["a", "d", "c"]);
  h.apply(reg("a", { checks: [chk("a", "m", "maintenance")] }));
  const a = h.s.healthService("web").value[0]!;
  assert.is(aggregateStatus(a.checks), "critical");
  assert.equal(h.s.healthState("critical").value.map((c) => c.checkId), ["m"]);
  assert.is(h.s.healthState("any").value.length, 5);
});

test("snapshot round trip keeps rows, nil maps and named indexes; watchers fire on restore", () => {
  const h = new H();
  h.apply({ type: "kv-set", key: "k", value: new Uint8Array([1]), flags: 0n });
  h.apply(reg("n1", { service: svc("web", { tags: ["x"], meta: {} }), checks: [chk("n1", "c", "warning", "web")] }));
  h.apply(reg("n2", { service: svc("db") }));
  h.apply({ type: "catalog-deregister", node: "n2", serviceId: "", checkId: "" });
  const s2 = Store.restore(h.s.snapshot());
  assert.equal(s2.healthService("web"), h.s.healthService("web"));
  assert.equal(s2.catalogNodes(), h.s.catalogNodes());
  assert.is(s2.catalogService("db").index, h.s.catalogService("db").index);
  assert.ok(!isNilMap(s2.catalogService("web").value[0]!.service.meta));
  assert.ok(isNilMap(s2.catalogService("web").value[0]!.node.meta));
  assert.is(s2.kvGet("k").value?.value[0], 1);
  let fired = 0;
  s2.watchService("web", () => fired++);
  s2.restore(h.s.snapshot());
  assert.is(fired, 1);
});

test("codec round trip of catalog commands and txn ops", () => {
  const cmds: Command[] = [
    reg("n1", {
      service: svc("web", { taggedAddresses: { lan: { address: "1.2.3.4", port: 8 } }, proxy: { Mode: "", X: [1, "a"] }, weights: { passing: 3, warning: 1 } }),
      checks: [{ ...chk("n1", "c", "passing", "web"), definition: { ...DEF, header: { A: ["b"] }, intervalNs: 1e10 } }],
    }),
    { type: "catalog-deregister", node: "n1", serviceId: "web", checkId: "" },
    {
      type: "txn",
      ops: [
        { kind: "node", verb: "set", index: 0, node: { id: "", node: "n", address: "a", datacenter: "dc1", taggedAddresses: NIL_MAP, meta: { k: "v" } } },
        { kind: "service", verb: "cas", index: 3, node: "n", service: svc("s") },
        { kind: "check", verb: "delete-cas", index: 4, check: chk("n", "c", "") },
      ],
    },
  ];
  for (const c of cmds) assert.equal(decodeCommand(encodeCommand(c)), c);
});

test("txn: Node/Service/Check verbs with Consul's texts; failures roll everything back", () => {
  const h = new H();
  const node = { id: "", node: "n1", address: "10.0.0.1", datacenter: "dc1", taggedAddresses: NIL_MAP, meta: NIL_MAP };
  const r = h.apply({
    type: "txn",
    ops: [
      { kind: "node", verb: "set", index: 0, node },
      { kind: "service", verb: "set", index: 0, node: "n1", service: svc("web") },
      { kind: "check", verb: "set", index: 0, check: chk("n1", "c", "passing", "web") },
    ],
  });
  assert.is(r.type, "txn");
  if (r.type !== "txn") return;
  assert.equal(r.errors, []);
  assert.equal(r.results.map((x) => x.kind), ["node", "service", "check"]);
  const bad = h.apply({
    type: "txn",
    ops: [
      { kind: "service", verb: "delete", index: 0, node: "n1", service: svc("web") },
      { kind: "node", verb: "cas", index: 99, node },
      { kind: "service", verb: "get", index: 0, node: "n1", service: svc("nope") },
      { kind: "check", verb: "delete-cas", index: 99, check: chk("n1", "c", "") },
      { kind: "node", verb: "get", index: 0, node: { ...node, node: "zz" } },
      { kind: "service", verb: "cas", index: 0, node: "n1", service: svc("web") },
    ],
  });
  assert.equal(bad.type === "txn" ? bad.errors : [], [
    { opIndex: 1, what: 'failed to set node "n1", index is stale' },
    { opIndex: 2, what: 'service "nope" on node "n1" doesn\'t exist' },
    { opIndex: 3, what: 'failed to delete check "c" on node "n1", index is stale' },
    { opIndex: 4, what: 'node "zz" doesn\'t exist' },
  ]);
  // op 0 deleted web and its check (so op 3 found nothing, op 5 succeeded); the whole txn rolled back.
  assert.is(h.s.catalogService("web").value.length, 1);
  assert.is(h.s.healthNode("n1").value.length, 1);
  const ro = h.s.txnRead([{ kind: "check", verb: "get", index: 0, check: chk("N1", "C", "") }]);
  assert.equal(ro.value.errors, []);
  assert.is(ro.value.results[0]?.kind, "check");
});

test.run();
