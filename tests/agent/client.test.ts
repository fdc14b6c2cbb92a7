/**
 * tests/agent/client: client-agent mode in one process — the server pool (which members
 * count as servers, order, rotation on failure, shuffle), what is forwarded, blocking
 * timeouts, and a ClientAgent against two single servers serving the client RPC on
 * loopback: forwarded HTTP (KV write and read, 500 with no server), fail-over to the other
 * server when the current one goes away, anti-entropy writes through Client.Apply, the
 * own-node mirror with its server-up trigger, and cancelling a parked blocking query.
 */

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { agentDefaults, ClientAgent, forwardTimeoutMs, withOwnHeaders, isAgentLocal, NO_KNOWN_SERVERS, splitTarget } from "../../src/agent/client.ts";
import { ServerPool, serversOf } from "../../src/agent/client_pool.ts";
import { startHttpServer, type HttpServer } from "../../src/http/index.ts";
import { RpcClient, RpcServer } from "../../src/rpc/index.ts";
import { ForwardedExchange, registerClientEndpoints, type ClientEndpointDeps } from "../../src/server/rpc_endpoints.ts";
import { METHOD_INTERNAL_KEYRING, type HttpForwardReply, type KeyringWireResult } from "../../src/server/rpc_endpoints_wire.ts";
import { WanForwarder } from "../../src/agent/wan_forward.ts";
import { SingleServer } from "../../src/server/single.ts";
import type { AgentView, MemberView } from "../../src/server/types.ts";
import { Store, decodeCommand, encodeCommand } from "../../src/state/index.ts";
import { MemoryLog } from "../../src/wal/index.ts";

const t = suite("client agent");

function member(name: string, over: Partial<MemberView> & { tags?: Record<string, string> } = {}): MemberView {
  return {
    name,
    addr: "127.0.0.1",
    port: 8301,
    status: 1,
    ...over,
    tags: { role: "consul", dc: "dc1", port: "8300", ...(over.tags ?? {}) },
  };
}

function seq(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length] ?? 0;
}

t("serversOf: alive role=consul members of the datacenter with a valid port tag", () => {
  const ms = [
    member("s1", { tags: { port: "8300" } }),
    member("s2", { tags: { dc: "dc2" } }),
    member("c1", { tags: { role: "node" } }),
    member("s3", { status: 4 }),
    member("s4", { tags: { port: "x" } }),
    member("s5", { addr: "::1", tags: { port: "9300" } }),
  ];
  assert.equal(serversOf(ms, "dc1"), [{ name: "s1", addr: "127.0.0.1:8300" }, { name: "s5", addr: "[::1]:9300" }]);
});

t("ServerPool: keeps order across updates, drops gone servers, rotates the failed current one, shuffles", () => {
  const pool = new ServerPool("dc1", { random: seq([0.99, 0.99, 0.0]) });
  assert.is(pool.current(), undefined);
  const added = pool.update([member("a", { tags: { port: "1" } }), member("b", { tags: { port: "2" } })]);
  assert.equal(added.map((s) => s.name).sort(), ["a", "b"]);
  assert.is(pool.size, 2);
  const first = pool.current()?.name ?? "";
  // A failure of a server that is not current changes nothing.
  const other = pool.servers().find((s) => s.name !== first);
  pool.notifyFailed(other?.addr ?? "");
  assert.is(pool.current()?.name, first);
  pool.notifyFailed(pool.current()?.addr ?? "");
  assert.is.not(pool.current()?.name, first);
  const order = pool.servers().map((s) => s.name);
  // An update keeps the order; a server that failed in gossip leaves the list.
  pool.update([member("a", { tags: { port: "1" } }), member("b", { tags: { port: "2" } })]);
  assert.equal(pool.servers().map((s) => s.name), order);
  pool.update([member("a", { tags: { port: "1" } }), member("b", { status: 4, tags: { port: "2" } })]);
  assert.equal(pool.servers().map((s) => s.name), ["a"]);
  const big = new ServerPool("dc1", { random: Math.random });
  big.update(["a", "b", "c", "d", "e"].map((n, i) => member(n, { tags: { port: String(i + 1) } })));
  big.rebalance();
  assert.equal(big.servers().map((s) => s.name).sort(), ["a", "b", "c", "d", "e"]);
});

t("forwarded paths: everything but the agent's own endpoints; blocking timeouts follow ?wait", () => {
  for (const p of ["/v1/kv/a", "/v1/catalog/nodes", "/v1/health/service/web", "/v1/session/create", "/v1/txn", "/v1/status/leader", "/v1/operator/raft/configuration", "/v1/coordinate/nodes", "/v1/agent/connect/ca/roots", "/v1/connect/ca/roots"]) {
    assert.not.ok(isAgentLocal(p), p);
  }
  for (const p of ["/v1/agent/self", "/v1/agent/services", "/v1/agent/members", "/v1/event/list", "/v1/event/fire/x", "/v1/operator/keyring", "/", "/ui/"]) {
    assert.ok(isAgentLocal(p), p);
  }
  assert.equal(splitTarget("http://h:1/v1/kv/a?raw"), { path: "/v1/kv/a", query: "raw", origin: "/v1/kv/a?raw" });
  assert.is(forwardTimeoutMs("raw"), 30_000);
  assert.is(forwardTimeoutMs("index=5&wait=16s"), 16_000 + 1_000 + 10_000);
  assert.is(forwardTimeoutMs("index=5"), 300_000 + 18_750 + 10_000);
  assert.is(forwardTimeoutMs("index=5&wait=1h"), 600_000 + 37_500 + 10_000);
});

t("agent defaults a client fills in: session Node, near=_agent", () => {
  const b = (x: string | null): Buffer | null => (x === null ? null : Buffer.from(x));
  const body = (r: { body: Buffer | null }): string => r.body?.toString() ?? "";
  assert.is(body(agentDefaults("c1", "PUT", "/v1/session/create", "/v1/session/create", null)), '{"Node":"c1"}');
  assert.is(body(agentDefaults("c1", "PUT", "/v1/session/create", "/v1/session/create", b(' {} '))), ' {"Node":"c1"} ');
  assert.is(body(agentDefaults("c1", "PUT", "/v1/session/create", "/v1/session/create", b('{"TTL":"10s"}'))), '{"Node":"c1","TTL":"10s"}');
  assert.is(body(agentDefaults("c1", "PUT", "/v1/session/create", "/v1/session/create", b('{"node":"other"}'))), '{"node":"other"}');
  assert.is(body(agentDefaults("c1", "PUT", "/v1/session/create", "/v1/session/create", b("[1]"))), "[1]");
  assert.is(body(agentDefaults("c1", "PUT", "/v1/session/create", "/v1/session/create", b("{bad"))), "{bad");
  assert.is(body(agentDefaults("c1", "PUT", "/v1/kv/a", "/v1/kv/a", b("{}"))), "{}");
  assert.is(agentDefaults("my node", "GET", "/v1/catalog/nodes", "/v1/catalog/nodes?near=_agent&stale", null).target, "/v1/catalog/nodes?near=my%20node&stale");
  assert.is(agentDefaults("c1", "GET", "/v1/catalog/nodes", "/v1/catalog/nodes?near=s2", null).target, "/v1/catalog/nodes?near=s2");
  assert.is(agentDefaults("c1", "GET", "/v1/kv/_agent", "/v1/kv/_agent", null).target, "/v1/kv/_agent");
});

t("a client's own response headers go over the server's on forwarded replies", () => {
  assert.equal(withOwnHeaders(["Content-Type", "application/json", "X-Team", "srv"], { "x-team": "client", "access-control-allow-origin": "*" }), [
    "Content-Type", "application/json", "X-Team", "client", "Access-Control-Allow-Origin", "*",
  ]);
  assert.equal(withOwnHeaders(["A", "1"], {}), ["A", "1"]);
});

// ---- in-process servers ------------------------------------------------------------

interface TestServer {
  readonly name: string;
  readonly store: Store;
  readonly single: SingleServer;
  readonly http: HttpServer;
  readonly rpc: RpcServer;
  readonly port: number;
  close(): Promise<void>;
}

function view(name: string): AgentView {
  return {
    nodeName: name,
    nodeId: `id-${name}`,
    datacenter: "dc1",
    primaryDatacenter: "dc1",
    server: true,
    version: "1.0.0",
    cairnVersion: "0",
    revision: "",
    buildDate: "",
    prettyByDefault: false,
    debugConfig: () => ({}),
    members: () => [],
  };
}

async function startServer(name: string, keyring?: ClientEndpointDeps["keyring"]): Promise<TestServer> {
  const store = new Store();
  const rpc = new RpcServer();
  const addr = await rpc.listen("127.0.0.1", 0);
  const port = Number(addr.split(":").pop());
  const single = new SingleServer({
    log: new MemoryLog(),
    store,
    encode: encodeCommand,
    decode: decodeCommand,
    advertiseAddr: addr,
    snapshotThreshold: 1_000_000,
    trailingLogs: 1000,
    logger: () => {},
    now: () => performance.now(),
  });
  await single.start();
  const http = await startHttpServer({
    backend: single,
    agent: view(name),
    host: "",
    port: -1,
    limits: { kvMaxValueSize: 512 * 1024, txnMaxReqLen: 512 * 1024 },
    log: () => {},
  });
  const unregister = registerClientEndpoints(rpc, { backend: single, catalog: store, http: () => http.handle, keyring, log: () => {} });
  let closed = false;
  return {
    name, store, single, http, rpc, port,
    close: async () => {
      if (closed) return;
      closed = true;
      unregister();
      await http.close();
      await rpc.close();
      await single.close({ snapshot: false });
    },
  };
}

function request(method: string, target: string, body: string | null = null): ForwardedExchange {
  return new ForwardedExchange({
    id: "t",
    method,
    target,
    headers: {},
    contentLength: body === null ? -1 : Buffer.byteLength(body),
    body: body === null ? null : new Uint8Array(Buffer.from(body)),
    tooLarge: null,
  });
}

async function send(c: ClientAgent, method: string, target: string, body: string | null = null): Promise<HttpForwardReply & { text: string }> {
  const ex = request(method, target, body);
  assert.ok(c.intercept(ex), `${target} is forwarded`);
  const r = await ex.done;
  return { ...r, text: r.body === null ? "" : Buffer.from(r.body).toString() };
}

function header(r: HttpForwardReply, name: string): string | undefined {
  for (let i = 0; i + 1 < r.headers.length; i += 2) if (r.headers[i]?.toLowerCase() === name.toLowerCase()) return r.headers[i + 1];
  return undefined;
}

function serverMember(s: TestServer): MemberView {
  return member(s.name, { tags: { port: String(s.port) } });
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

t("no known server: forwarded requests answer 500 No known Consul servers; agent paths are not taken", async () => {
  const c = new ClientAgent({ nodeName: "c1", datacenter: "dc1", log: () => {} });
  try {
    const r = await send(c, "GET", "/v1/kv/a");
    assert.is(r.status, 500);
    assert.is(r.text, NO_KNOWN_SERVERS);
    assert.not.ok(c.intercept(request("GET", "/v1/agent/self")));
  } finally {
    await c.close();
  }
});

t("forwarded KV write and read; fail-over to the other server when the current one goes away", async () => {
  const s1 = await startServer("s1");
  const s2 = await startServer("s2");
  const logs: string[] = [];
  const c = new ClientAgent({ nodeName: "c1", datacenter: "dc1", log: (_l, m) => logs.push(m), random: () => 0.5 });
  try {
    c.onMembers([serverMember(s1), serverMember(s2)]);
    const cur = c.pool.current()?.name;
    const [first, second] = cur === "s1" ? [s1, s2] : [s2, s1];
    const put = await send(c, "PUT", "/v1/kv/k?flags=3", "v1");
    assert.is(put.status, 200);
    assert.is(put.text, "true");
    assert.is(first.store.kvGet("k").value?.flags, 3n);
    const got = await send(c, "GET", "/v1/kv/k?raw");
    assert.is(got.text, "v1");
    assert.ok(Number(header(got, "X-Consul-Index")) > 0);
    const leader = await send(c, "GET", "/v1/status/leader");
    assert.is(JSON.parse(leader.text), `127.0.0.1:${first.port}`);
    await first.close();
    // The next read goes to the other server (the dead one is rotated to the end).
    const after = await send(c, "GET", "/v1/status/leader");
    assert.is(after.status, 200, after.text);
    assert.is(JSON.parse(after.text), `127.0.0.1:${second.port}`);
    assert.is(c.pool.current()?.name, second.name);
    // A server never runs its own agent endpoints for an RPC caller (even spelled with escapes).
    for (const target of ["/v1/agent/self", "/v1/%61gent/leave"]) {
      const raw = await c.rpc.call(`127.0.0.1:${second.port}`, "Client.HTTP", {
        id: "x", method: "PUT", target, headers: {}, contentLength: -1, body: null, tooLarge: null,
      }).then(() => "answered", (e: unknown) => String(e));
      assert.match(raw, /agent endpoints are not served to client agents/, target);
    }
    assert.ok(logs.some((l) => l.includes(`next active server is ${second.name}`)), logs.join("\n"));
  } finally {
    await c.close();
    await s1.close();
    await s2.close();
  }
});

t("anti-entropy writes go through Client.Apply; the own-node mirror follows the servers' catalog and fires server-up", async () => {
  const s1 = await startServer("s1");
  const c = new ClientAgent({ nodeName: "c1", datacenter: "dc1", log: () => {}, nodeWatchWaitMs: 5_000 });
  let ups = 0;
  c.onServerUp = () => ups++;
  try {
    c.start();
    c.onMembers([serverMember(s1)]);
    await until(() => ups === 1, 5_000, "server-up after the first mirror load");
    assert.is(c.mirror.catalogNode("c1").value, undefined);
    const r = await c.apply({
      type: "catalog-register",
      req: {
        node: { id: "", node: "c1", address: "10.0.0.9", datacenter: "dc1", taggedAddresses: {}, meta: {} },
        skipNodeUpdate: false,
        service: null,
        checks: [],
      },
    });
    assert.is(r.type, "none");
    assert.is(s1.store.catalogNode("c1").value?.node.address, "10.0.0.9");
    await until(() => c.mirror.catalogNode("C1").value?.node.address === "10.0.0.9", 5_000, "mirror shows the node");
    assert.equal(c.mirror.catalogNode("other").value, undefined);
    // A second server joining triggers another full sync (Consul's ServerUp).
    const s2 = await startServer("s2");
    try {
      c.onMembers([serverMember(s1), serverMember(s2)]);
      assert.is(ups, 2);
    } finally {
      await c.close();
      await s2.close();
    }
  } finally {
    await c.close();
    await s1.close();
  }
});

t("a blocking query parks on the server, is woken by a write, cancelled when the caller leaves or the agent stops", async () => {
  const s1 = await startServer("s1");
  const c = new ClientAgent({ nodeName: "c1", datacenter: "dc1", log: () => {} });
  try {
    c.onMembers([serverMember(s1)]);
    await send(c, "PUT", "/v1/kv/b", "1");
    const idx = s1.store.kvGet("b").index;
    // A woken query.
    const ex = request("GET", `/v1/kv/b?index=${idx}&wait=10s`);
    assert.ok(c.intercept(ex));
    await until(() => s1.http.stats().parked === 1, 5_000, "parked on the server");
    await send(c, "PUT", "/v1/kv/b", "2");
    const woke = await ex.done;
    assert.is(woke.status, 200);
    assert.ok(Number(header(woke, "X-Consul-Index")) > idx);
    // A cancelled one: the caller leaves, the server's watcher goes away.
    const idx2 = s1.store.kvGet("b").index;
    const gone = request("GET", `/v1/kv/b?index=${idx2}&wait=10s`);
    assert.ok(c.intercept(gone));
    await until(() => s1.http.stats().parked === 1, 5_000, "second query parked");
    gone.abort();
    await until(() => s1.http.stats().parked === 0, 5_000, "unparked after cancel");
    // Shutdown: a parked forward is answered at once and cancelled on the server; new ones get 500.
    const idx3 = s1.store.kvGet("b").index;
    const held = request("GET", `/v1/kv/b?index=${idx3}&wait=10s`);
    assert.ok(c.intercept(held));
    await until(() => s1.http.stats().parked === 1, 5_000, "third query parked");
    const t0 = Date.now();
    c.stopForwarding();
    const r = await held.done;
    assert.is(r.status, 500);
    assert.ok(Date.now() - t0 < 1_000);
    await until(() => s1.http.stats().parked === 0, 5_000, "unparked after stopForwarding");
    const late = await send(c, "GET", "/v1/kv/b");
    assert.is(late.status, 500);
  } finally {
    await c.close();
    await s1.close();
  }
});

t("Internal.KeyringOperation: another datacenter's server runs the operation on its own LAN pool; bad input and absent keyrings fail cleanly", async () => {
  const calls: string[] = [];
  const lanResult = (dc: string, key: string): KeyringWireResult => ({
    wan: false, datacenter: dc, segment: "", messages: {}, keys: { [key]: 1 }, primaryKeys: { [key]: 1 }, numNodes: 1, error: "",
  });
  const withRing = await startServer("k1", async (op, key, relay) => {
    calls.push(`${op} ${key} ${relay}`);
    return [lanResult("dc2", key === "" ? "K0" : key)];
  });
  const without = await startServer("k2");
  const members = [
    member("k1.dc2", { tags: { dc: "dc2", port: String(withRing.port) } }),
    member("k2.dc3", { tags: { dc: "dc3", port: String(without.port) } }),
    member("c.dc2", { tags: { dc: "dc2", role: "node" } }),
    member("self.dc1", { tags: { dc: "dc1" } }),
  ];
  const fwd = new WanForwarder({ datacenter: "dc1", members: () => members, log: () => {} });
  const raw = new RpcClient();
  try {
    assert.equal(fwd.otherDatacenters(), ["dc2", "dc3"]);
    assert.equal(await fwd.keyringIn("dc2", { op: "install", key: "K1", relayFactor: 2 }), [lanResult("dc2", "K1")]);
    assert.equal(calls, ["install K1 2"]);
    let msg = "";
    try {
      await fwd.keyringIn("dc3", { op: "list", key: "", relayFactor: 0 });
    } catch (e) {
      msg = e instanceof Error ? e.message : String(e);
    }
    assert.match(msg, /no LAN keyring/);
    msg = "";
    try {
      await fwd.keyringIn("dc9", { op: "list", key: "", relayFactor: 0 });
    } catch (e) {
      msg = e instanceof Error ? e.message : String(e);
    }
    assert.match(msg, /No path to datacenter/);
    // A malformed operation never reaches the keyring.
    msg = "";
    try {
      await raw.call(`127.0.0.1:${withRing.port}`, METHOD_INTERNAL_KEYRING, { op: "explode", key: "K", relayFactor: 0 }, { timeoutMs: 5000 });
    } catch (e) {
      msg = e instanceof Error ? e.message : String(e);
    }
    assert.match(msg, /malformed keyring operation/);
    assert.equal(calls, ["install K1 2"]);
  } finally {
    raw.close();
    fwd.close();
    await withRing.close();
    await without.close();
  }
});

t.run();
