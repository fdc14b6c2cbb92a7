import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  agentFlagSet,
  hostDeps,
  loadConfig,
  loadOptionsFromFlags,
  type LoadDeps,
  type LoadResult,
  type RuntimeConfig,
} from "../../../src/agent/config/index.ts";
import { parseGoDuration } from "../../../src/agent/config/duration.ts";

interface Ctx {
  dir: string;
}
const cfg = suite<Ctx>("config", { dir: "" });

cfg.before.each((ctx) => {
  ctx.dir = mkdtempSync(path.join(tmpdir(), "cairn-config-"));
});
cfg.after.each((ctx) => {
  rmSync(ctx.dir, { recursive: true, force: true });
});

const deps: LoadDeps = {
  ...hostDeps(),
  hostname: () => "testhost",
  privateIPv4: () => ["10.1.2.3"],
  publicIPv6: () => [],
};

function write(dir: string, name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

async function load(args: string[], d: LoadDeps = deps): Promise<LoadResult> {
  const fs = agentFlagSet();
  const p = fs.parse(args);
  if (p.kind !== "ok") throw new Error(`flags: ${JSON.stringify(p)}`);
  const o = loadOptionsFromFlags(fs);
  if (!o.ok) return { ok: false, errors: o.errors, warnings: [] };
  return loadConfig(o.options, d);
}

async function loadOk(args: string[]): Promise<RuntimeConfig> {
  const r = await load(args);
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return r.config;
}

async function loadErrors(args: string[]): Promise<string[]> {
  const r = await load(args);
  if (r.ok) throw new Error("expected errors");
  return r.errors;
}

/** The same RuntimeConfig without the fields that name their source. */
function comparable(c: RuntimeConfig): Omit<RuntimeConfig, "sources" | "raw"> {
  const { sources: _s, raw: _r, ...rest } = c;
  return rest;
}

cfg("defaults are Consul's", async (ctx) => {
  const c = await loadOk(["-data-dir", ctx.dir]);
  assert.is(c.datacenter, "dc1");
  assert.is(c.domain, "consul.");
  assert.equal(c.clientAddrs, ["127.0.0.1"]);
  assert.is(c.bindAddr, "0.0.0.0");
  assert.is(c.advertiseAddr, "10.1.2.3");
  assert.equal(c.ports, {
    http: 8500,
    https: -1,
    dns: 8600,
    grpc: -1,
    grpcTls: -1,
    server: 8300,
    serfLan: 8301,
    serfWan: 8302,
    sidecarMinPort: 21000,
    sidecarMaxPort: 21255,
    exposeMinPort: 21500,
    exposeMaxPort: 21755,
  });
  assert.is(c.nodeName, "testhost");
  assert.is(c.logLevel, "info");
  assert.is(c.limits.kvMaxValueSize, 524288);
  assert.is(c.limits.txnMaxReqLen, 524288);
  assert.is(c.raft.snapshotThreshold, 16384);
  assert.is(c.raft.trailingLogs, 10240);
  assert.is(c.raft.multiplier, 5);
  assert.is(c.server, false);
  assert.is(c.leaveOnTerminate, true);
  assert.is(c.skipLeaveOnInterrupt, false);
  assert.is(c.defaultQueryTimeMs, 300_000);
  assert.is(c.maxQueryTimeMs, 600_000);
  assert.is(c.acl.defaultPolicy, "allow");
  assert.is(c.connect.enabled, true);
  assert.is(c.ui.enabled, false);
  assert.is(c.dataDir, ctx.dir);
  assert.equal(c.addresses.http, ["127.0.0.1"]);
  assert.equal(c.sources, []);
});

cfg("servers get grpc_tls 8503 and stay on leave by default", async (ctx) => {
  const c = await loadOk(["-server", "-bootstrap-expect=3", "-data-dir", ctx.dir, "-bind=127.0.0.1"]);
  assert.is(c.ports.grpcTls, 8503);
  assert.is(c.bootstrapExpect, 3);
  assert.is(c.leaveOnTerminate, false);
  assert.is(c.skipLeaveOnInterrupt, true);
});

cfg("-dev: in-memory server with Consul's dev defaults", async () => {
  const c = await loadOk(["-dev"]);
  assert.is(c.devMode, true);
  assert.is(c.server, true);
  assert.is(c.dataDir, null);
  assert.is(c.bindAddr, "127.0.0.1");
  assert.is(c.advertiseAddr, "127.0.0.1");
  assert.equal(c.clientAddrs, ["127.0.0.1"]);
  assert.is(c.ui.enabled, true);
  assert.is(c.logLevel, "debug");
  assert.is(c.nodeName, "testhost");
  assert.is(c.connect.enabled, true);
  assert.is(c.ports.grpc, 8502);
  assert.is(c.raft.multiplier, 1);
  assert.is(c.raft.heartbeatTimeoutMs, 35);
  assert.is(c.raft.electionTimeoutMs, 52);
  assert.is(c.gossipLan.probeIntervalMs, 100);
  assert.is(c.enableDebug, true);
});

cfg("bootstrap_expect = 1 means bootstrap", async (ctx) => {
  const r = await load(["-server", "-bootstrap-expect=1", "-data-dir", ctx.dir]);
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.is(r.config.bootstrap, true);
  assert.is(r.config.bootstrapExpect, 0);
  assert.ok(r.warnings.includes("BootstrapExpect is set to 1; this is the same as Bootstrap mode."));
});

const SAME_JSON = JSON.stringify({
  datacenter: "East-1",
  node_name: "web-1",
  node_id: "8C5DF4B1-8B0C-4F3B-9D0A-1E2F3A4B5C6D",
  server: true,
  bootstrap: true,
  bind_addr: "127.0.0.1",
  client_addr: "127.0.0.1 ::1",
  ports: { http: 18500, dns: -1, grpc: 18502 },
  addresses: { http: "unix:///tmp/consul.sock" },
  limits: { kv_max_value_size: 1024, rpc_rate: 50 },
  performance: { raft_multiplier: 2 },
  acl: { enabled: true, default_policy: "deny", tokens: { initial_management: "root", agent: "a" } },
  connect: { enabled: false, ca_config: { cluster_id: "11111111-2222-3333-4444-555555555555" } },
  node_meta: { rack: "r1" },
  retry_join: ["10.0.0.1", "10.0.0.2"],
  recursors: ["8.8.8.8"],
  dns_config: { only_passing: true, service_ttl: { "*": "5s" } },
  http_config: { response_headers: { "X-Test": "1" } },
  ui_config: { enabled: true },
  telemetry: { prometheus_retention_time: "30s", disable_hostname: true },
  services: [{ name: "web", port: 80, tags: ["a"], check: { http: "http://localhost/", interval: "10s" } }],
  watches: [{ type: "key", key: "foo", args: ["/bin/true"] }],
  log_level: "WARN",
});

const SAME_HCL = `
datacenter = "East-1"
node_name  = "web-1"
node_id    = "8C5DF4B1-8B0C-4F3B-9D0A-1E2F3A4B5C6D"
server     = true
bootstrap  = true
bind_addr  = "127.0.0.1"
client_addr = "127.0.0.1 ::1"
ports {
  http = 18500
  dns  = -1
  grpc = 18502
}
addresses { http = "unix:///tmp/consul.sock" }
limits {
  kv_max_value_size = 1024
  rpc_rate = 50
}
performance { raft_multiplier = 2 }
acl {
  enabled = true
  default_policy = "deny"
  tokens {
    initial_management = "root"
    agent = "a"
  }
}
connect {
  enabled = false
  ca_config { cluster_id = "11111111-2222-3333-4444-555555555555" }
}
node_meta { rack = "r1" }
retry_join = ["10.0.0.1", "10.0.0.2"]
recursors = ["8.8.8.8"]
dns_config {
  only_passing = true
  service_ttl { "*" = "5s" }
}
http_config { response_headers { "X-Test" = "1" } }
ui_config { enabled = true }
telemetry {
  prometheus_retention_time = "30s"
  disable_hostname = true
}
service {
  name = "web"
  port = 80
  tags = ["a"]
  check {
    http = "http://localhost/"
    interval = "10s"
  }
}
watches = [{ type = "key", key = "foo", args = ["/bin/true"] }]
log_level = "WARN"
`;

cfg("JSON and HCL with the same content give the same RuntimeConfig", async (ctx) => {
  const j = write(ctx.dir, "c.json", SAME_JSON);
  const h = write(ctx.dir, "c.hcl", SAME_HCL);
  const data = ["-data-dir", path.join(ctx.dir, "data")];
  const a = await loadOk(["-config-file", j, ...data]);
  const b = await loadOk(["-config-file", h, ...data]);
  assert.equal(comparable(a), comparable(b));
  assert.equal(a.sources, [j]);
  assert.equal(b.sources, [h]);
  assert.is(a.datacenter, "east-1");
  assert.is(a.nodeId, "8c5df4b1-8b0c-4f3b-9d0a-1e2f3a4b5c6d");
  assert.equal(a.clientAddrs, ["127.0.0.1", "::1"]);
  assert.equal(a.addresses.http, ["unix:///tmp/consul.sock"]);
  assert.equal(a.addresses.dns, ["127.0.0.1", "::1"]);
  assert.is(a.ports.http, 18500);
  assert.is(a.ports.dns, -1, "a port of -1 disables the listener");
  assert.is(a.limits.kvMaxValueSize, 1024);
  assert.is(a.limits.rpcRate, 50);
  assert.is(a.raft.multiplier, 2);
  assert.is(a.acl.enabled, true);
  assert.is(a.acl.defaultPolicy, "deny");
  assert.is(a.acl.tokens.initialManagement, "root");
  assert.equal(a.connect.caConfig, { cluster_id: "11111111-2222-3333-4444-555555555555" });
  assert.equal(a.nodeMeta, { rack: "r1" });
  assert.equal(a.retryJoin, ["10.0.0.1", "10.0.0.2"]);
  assert.equal(a.dns.serviceTtlMs, { "*": 5000 });
  assert.is(a.ui.enabled, true);
  assert.is(a.logLevel, "warn");
  assert.is(a.services.length, 1);
  assert.equal(a.services[0], {
    name: "web",
    port: 80,
    tags: ["a"],
    check: { http: "http://localhost/", interval: "10s" },
  });
  assert.is(a.watches.length, 1);
});

cfg("unknown keys: error names the file and the full key", async (ctx) => {
  const h = write(ctx.dir, "c.hcl", "limits { kv_max_value_sizee = 1 }\nbogus = 1\n");
  const j = write(ctx.dir, "d.json", '{"services": [{"name": "a", "chekc": {}}]}');
  const errs = await loadErrors(["-config-file", h, "-config-file", j, "-data-dir", ctx.dir]);
  assert.equal(errs.sort(), [
    `failed to parse ${h}: invalid config key bogus`,
    `failed to parse ${h}: invalid config key limits.kv_max_value_sizee`,
    `failed to parse ${j}: invalid config key services[0].chekc`,
  ]);
});

cfg("wrong types: mapstructure's wording with file and key", async (ctx) => {
  const j = write(
    ctx.dir,
    "c.json",
    '{"ports": {"http": "8500"}, "server": "yes", "retry_join": "a", "limits": {"kv_max_value_size": -1}, "retry_interval": "5 s"}',
  );
  const errs = await loadErrors(["-config-file", j, "-data-dir", ctx.dir]);
  assert.equal(errs, [
    `failed to parse ${j}: 'ports.http' expected type 'int', got unconvertible type 'string', value: '8500'`,
    `failed to parse ${j}: 'server' expected type 'bool', got unconvertible type 'string', value: 'yes'`,
    `failed to parse ${j}: 'retry_join': source data must be an array or slice, got string`,
    `failed to parse ${j}: cannot parse 'limits.kv_max_value_size', -1 overflows uint`,
    `failed to parse ${j}: retry_interval: invalid duration: "5 s"`,
  ]);
});

cfg("broken JSON and HCL name the file (and position)", async (ctx) => {
  const j = write(ctx.dir, "c.json", '{"datacenter": "dc1",\n  "ports": }');
  const h = write(ctx.dir, "d.hcl", 'a = 1\nports = {\n http = 2\n');
  const errs = await loadErrors(["-config-file", j, "-config-file", h, "-data-dir", ctx.dir]);
  assert.is(errs.length, 2);
  assert.ok(errs[0]?.startsWith(`failed to parse ${j}: invalid JSON:`), errs[0]);
  assert.match(errs[0] ?? "", /\(line 2, column 12\)$/);
  assert.ok(errs[1]?.startsWith(`failed to parse ${h}: At 4:`), errs[1]);
});

cfg("an empty file is valid", async (ctx) => {
  const e = write(ctx.dir, "empty.json", "");
  const b = write(ctx.dir, "blank.hcl", "\n  \n");
  const c = await loadOk(["-config-file", e, "-config-file", b, "-data-dir", ctx.dir]);
  assert.is(c.datacenter, "dc1");
  assert.equal(c.sources, [e, b]);
});

cfg("config-dir: *.json and *.hcl in lexical order, later files win, flags win over files", async (ctx) => {
  const d = path.join(ctx.dir, "conf.d");
  mkdirSync(d);
  mkdirSync(path.join(d, "sub.json"));
  write(d, "10-base.json", '{"datacenter": "dc-a", "node_name": "n-a", "retry_join": ["x"], "ports": {"http": 1111}}');
  write(d, "20-over.hcl", 'datacenter = "dc-b"\nretry_join = ["y"]\nports { dns = 2222 }');
  write(d, "README.md", "not config");
  const c = await loadOk(["-config-dir", d, "-node", "from-flag", "-retry-join", "z", "-data-dir", ctx.dir]);
  assert.is(c.datacenter, "dc-b");
  assert.is(c.nodeName, "from-flag");
  assert.equal(c.retryJoin, ["z", "x", "y"], "list flags come first, lists append");
  assert.is(c.ports.http, 1111);
  assert.is(c.ports.dns, 2222);
  assert.equal(c.sources, [path.join(d, "10-base.json"), path.join(d, "20-over.hcl")]);
  const r = await load(["-config-dir", d, "-data-dir", ctx.dir]);
  assert.ok(r.warnings.some((w) => w.includes("skipping file") && w.includes("README.md")));
});

cfg("-config-file and -config-dir keep command-line order; -hcl comes after flags", async (ctx) => {
  const d = path.join(ctx.dir, "d");
  mkdirSync(d);
  write(d, "a.json", '{"datacenter": "from-dir"}');
  const f = write(ctx.dir, "f.json", '{"datacenter": "from-file"}');
  let c = await loadOk(["-config-dir", d, "-config-file", f, "-data-dir", ctx.dir]);
  assert.is(c.datacenter, "from-file");
  c = await loadOk(["-config-file", f, "-config-dir", d, "-data-dir", ctx.dir]);
  assert.is(c.datacenter, "from-dir");
  c = await loadOk(["-config-file", f, "-datacenter", "flag", "-hcl", 'datacenter = "hcl"', "-data-dir", ctx.dir]);
  assert.is(c.datacenter, "hcl");
});

cfg("port 0 or -1 disables a listener; above 65535 is an error", async (ctx) => {
  const c = await loadOk(["-dev", "-http-port=-1", "-dns-port=0", "-https-port=8501"]);
  assert.is(c.ports.http, -1);
  assert.is(c.ports.dns, -1);
  assert.is(c.ports.https, 8501);
  const errs = await loadErrors(["-http-port=70000", "-data-dir", ctx.dir]);
  assert.equal(errs, ["ports.http: invalid port: 70000"]);
});

cfg("semantic validation uses Consul's messages", async (ctx) => {
  assert.equal(await loadErrors(["-bind=127.0.0.1"]), ["data_dir cannot be empty"]);
  assert.equal(await loadErrors(["-server", "-bootstrap", "-bootstrap-expect=3", "-data-dir", ctx.dir]), [
    "'bootstrap_expect > 0' and 'bootstrap = true' are mutually exclusive",
  ]);
  assert.equal(await loadErrors(["-dev", "-bootstrap-expect=3"]), ["'bootstrap_expect > 0' not allowed in dev mode"]);
  assert.equal(await loadErrors(["-bootstrap", "-data-dir", ctx.dir]), ["'bootstrap = true' requires 'server = true'"]);
  assert.equal(await loadErrors(["-dev", "-datacenter", "dc 1"]), [
    'datacenter can only contain lowercase alphanumeric, - or _ characters. received: "dc 1"',
  ]);
  assert.equal(await loadErrors(["-dev", "-node-id", "not-a-uuid"]), ['node_id: invalid UUID "not-a-uuid"']);
  assert.equal(await loadErrors(["-dev", "-log-level", "loud"]), [
    "Invalid log level: loud. Valid log levels are: [TRACE DEBUG INFO WARN ERR]",
  ]);
  assert.equal(await loadErrors(["-dev", "-encrypt", "short"]), ["encrypt has invalid key: illegal base64 data"]);
  assert.equal(await loadErrors(["-dev", "-bind", "0.0.0.0", "-advertise", "0.0.0.0"]), [
    "Advertise address cannot be 0.0.0.0, :: or [::]",
  ]);
  assert.equal(await loadErrors(["-dev", "-hcl", "raft_protocol = 2"]), [
    "raft_protocol version 2 is not supported by this version of Consul",
  ]);
});

cfg("data_dir must be a directory or creatable", async (ctx) => {
  const file = write(ctx.dir, "file", "x");
  assert.equal(await loadErrors(["-data-dir", file, "-bind=127.0.0.1"]), [`data_dir ${JSON.stringify(file)} is not a directory`]);
  const nested = path.join(file, "below");
  const errs = await loadErrors(["-data-dir", nested, "-bind=127.0.0.1"]);
  assert.is(errs.length, 1);
  assert.ok(errs[0]?.includes("cannot be created"), errs[0]);
  const fresh = await loadOk(["-data-dir", path.join(ctx.dir, "new", "deeper"), "-bind=127.0.0.1"]);
  assert.is(fresh.dataDir, path.join(ctx.dir, "new", "deeper"));
});

cfg("advertise address detection follows Consul", async (ctx) => {
  const none: LoadDeps = { ...deps, privateIPv4: () => [] };
  const many: LoadDeps = { ...deps, privateIPv4: () => ["10.0.0.1", "10.0.0.2"] };
  const args = ["-data-dir", ctx.dir];
  const fs1 = await load(args, none);
  assert.equal(fs1.ok ? [] : fs1.errors, ["No private IPv4 address found"]);
  const fs2 = await load(args, many);
  assert.equal(fs2.ok ? [] : fs2.errors, [
    "Multiple private IPv4 addresses found. Please configure one with 'bind' and/or 'advertise'.",
  ]);
  const c = await loadOk([...args, "-advertise", "192.168.1.9"]);
  assert.is(c.advertiseAddr, "192.168.1.9");
  assert.is(c.advertiseAddrWan, "192.168.1.9");
});

cfg("the Go API harness config loads (legacy token names, segments null, version)", async (ctx) => {
  const j = write(
    ctx.dir,
    "config.json",
    JSON.stringify({
      node_name: "node-39398a43",
      node_id: "39398a43-0000-4000-8000-000000000001",
      performance: { raft_multiplier: 1 },
      bootstrap: true,
      server: true,
      data_dir: path.join(ctx.dir, "data"),
      segments: null,
      disable_update_check: true,
      log_level: "debug",
      bind_addr: "127.0.0.1",
      addresses: {},
      ports: { dns: 14501, http: 14502, https: 14503, serf_lan: 14504, serf_wan: 14505, server: 14506, grpc: 14507, grpc_tls: 14508 },
      acl: { enabled: true, default_policy: "deny", tokens: { master: "root", agent_master: "towel" } },
      connect: { ca_config: { cluster_id: "11111111-2222-3333-4444-555555555555" }, enabled: true },
      skip_leave_on_interrupt: true,
      peering: { enabled: true },
      version: "1.16.4",
      audit: { enabled: true },
    }),
  );
  const reload = write(ctx.dir, "reload.json", "");
  const r = await load(["-config-file", j, "-config-file", reload]);
  assert.ok(r.ok, r.ok ? "" : r.errors.join("\n"));
  if (!r.ok) return;
  const c = r.config;
  assert.is(c.acl.tokens.initialManagement, "root");
  assert.is(c.acl.tokens.agentRecovery, "towel");
  assert.equal(c.ports.grpcTls, 14508);
  assert.is(c.version, "1.22.0");
  assert.is(c.bootstrap, true);
  assert.ok(r.warnings.includes("The 'acl.tokens.master' field is deprecated. Use the 'acl.tokens.initial_management' field instead."));
  assert.ok(r.warnings.includes('"audit" is a Consul Enterprise configuration and will have no effect'));
  assert.equal(c.addresses.http, ["127.0.0.1"]);
});

cfg("case-insensitive keys and a single service/check join the lists (reload.json form)", async (ctx) => {
  const a = write(ctx.dir, "a.json", '{"services": [{"name": "one"}], "check": {"name": "c1", "ttl": "10s"}}');
  const b = write(ctx.dir, "b.json", '{"service": {"name": "redis", "port": 1234, "Meta": {"some": "meta"}}}');
  const c = await loadOk(["-config-file", a, "-config-file", b, "-dev"]);
  assert.equal(c.services, [{ name: "one" }, { name: "redis", port: 1234, meta: { some: "meta" } }]);
  assert.equal(c.checks, [{ name: "c1", ttl: "10s" }]);
});

cfg("-config-format forces the parser; invalid format is an error", async (ctx) => {
  const f = write(ctx.dir, "conf.txt", 'datacenter = "hclfmt"');
  const c = await loadOk(["-config-file", f, "-config-format=hcl", "-dev"]);
  assert.is(c.datacenter, "hclfmt");
  assert.equal(await loadErrors(["-config-file", f, "-config-format=yaml", "-dev"]), [
    "config: -config-format must be either 'hcl' or 'json'",
  ]);
  const missing = path.join(ctx.dir, "missing.json");
  assert.equal(await loadErrors(["-config-file", missing, "-dev"]), [
    `config: Open failed on ${missing}. open ${missing}: no such file or directory`,
  ]);
});

cfg("Go durations", () => {
  assert.is(parseGoDuration("300ms"), 300);
  assert.is(parseGoDuration("1m30s"), 90_000);
  assert.is(parseGoDuration("72h"), 259_200_000);
  assert.is(parseGoDuration("1.5s"), 1500);
  assert.is(parseGoDuration("0"), 0);
  assert.is(parseGoDuration("10"), undefined);
  assert.is(parseGoDuration("5 s"), undefined);
});

cfg.run();
