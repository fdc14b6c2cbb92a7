// The examples of Consul's api-docs/features/filtering.mdx (agent services,
// catalog service, health node), plus a table of further expressions over the
// same sample responses with the results go-bexpr gives.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { compileFilter, filterList, FILTER_SCHEMAS, type FilterSchema } from "../../src/filter/index.ts";

const agentServices: Record<string, unknown> = {
  redis1: {
    ID: "redis1", Service: "redis", Tags: ["primary", "production"], Meta: { env: "production", foo: "bar" },
    Port: 1234, Address: "", Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false,
  },
  redis2: {
    ID: "redis2", Service: "redis", Tags: ["secondary", "production"], Meta: { env: "production", foo: "bar" },
    Port: 1235, Address: "", Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false,
  },
  redis3: {
    ID: "redis3", Service: "redis", Tags: ["primary", "qa"], Meta: { env: "qa" },
    Port: 1234, Address: "", Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false,
  },
};

const catalogService = [
  {
    ID: "b4f64e8c-5c7d-11e9-bf68-8c8590bd0966", Node: "node-1", Address: "198.18.0.1", Datacenter: "dc1",
    TaggedAddresses: null, NodeMeta: { agent: "true", arch: "i386", os: "darwin" }, ServiceKind: "",
    ServiceID: "api-internal", ServiceName: "api-internal", ServiceTags: ["tag"], ServiceAddress: "",
    ServiceWeights: { Passing: 1, Warning: 1 }, ServiceMeta: { environment: "qa" }, ServicePort: 9090,
    ServiceEnableTagOverride: false, ServiceProxy: {}, ServiceConnect: {}, CreateIndex: 30, ModifyIndex: 30,
  },
  {
    ID: "b4faf93a-5c7d-11e9-840d-8c8590bd0966", Node: "node-2", Address: "198.18.0.2", Datacenter: "dc1",
    TaggedAddresses: null, NodeMeta: { arch: "arm", os: "linux" }, ServiceKind: "",
    ServiceID: "api-internal", ServiceName: "api-internal", ServiceTags: ["test", "tag"], ServiceAddress: "",
    ServiceWeights: { Passing: 1, Warning: 1 }, ServiceMeta: { environment: "production" }, ServicePort: 9090,
    ServiceEnableTagOverride: false, ServiceProxy: {}, ServiceConnect: {}, CreateIndex: 29, ModifyIndex: 29,
  },
  {
    ID: "b4fbe7f4-5c7d-11e9-ac82-8c8590bd0966", Node: "node-4", Address: "198.18.0.4", Datacenter: "dc1",
    TaggedAddresses: null, NodeMeta: { arch: "i386", os: "freebsd" }, ServiceKind: "",
    ServiceID: "api-internal", ServiceName: "api-internal", ServiceTags: [], ServiceAddress: "",
    ServiceWeights: { Passing: 1, Warning: 1 }, ServiceMeta: { environment: "qa" }, ServicePort: 9090,
    ServiceEnableTagOverride: false, ServiceProxy: {}, ServiceConnect: {}, CreateIndex: 28, ModifyIndex: 28,
  },
];

const healthNode = [
  {
    Node: "node-1", CheckID: "node-health", Name: "Node level check", Status: "critical", Notes: "", Output: "",
    ServiceID: "", ServiceName: "", ServiceTags: [], Definition: {}, CreateIndex: 13, ModifyIndex: 13,
  },
  {
    Node: "node-1", CheckID: "svc-web-health", Name: "Service level check - web", Status: "warning", Notes: "",
    Output: "", ServiceID: "", ServiceName: "web", ServiceTags: [], Definition: {}, CreateIndex: 18, ModifyIndex: 18,
  },
];

function keep(items: readonly unknown[], expr: string, schema: FilterSchema): unknown[] {
  return filterList(items, (x) => x, compileFilter(expr, schema));
}
function ids(items: readonly unknown[], key: string): string[] {
  return items.map((x) => String((x as Record<string, unknown>)[key]));
}

test("docs: agent services, Meta.env == \"qa\" keeps redis3 (map values filtered)", () => {
  const f = compileFilter('Meta.env == "qa"', FILTER_SCHEMAS.agentServices);
  const kept = Object.fromEntries(Object.entries(agentServices).filter(([, v]) => f(v)));
  assert.equal(Object.keys(kept), ["redis3"]);
});

test("docs: catalog service, NodeMeta.os == \"linux\" keeps node-2", () => {
  assert.equal(ids(keep(catalogService, 'NodeMeta.os == "linux"', FILTER_SCHEMAS.catalogService), "Node"), ["node-2"]);
});

test("docs: health node, ServiceName != \"\" keeps the service check", () => {
  assert.equal(ids(keep(healthNode, 'ServiceName != ""', FILTER_SCHEMAS.healthNode), "CheckID"), ["svc-web-health"]);
});

test("more expressions over the docs' samples", () => {
  const services = Object.values(agentServices);
  const agent: Array<[string, string[]]> = [
    ['"primary" in Tags', ["redis1", "redis3"]],
    ['Tags contains "production" and Port == 1235', ["redis2"]],
    ['"foo" in Meta', ["redis1", "redis2"]],
    ['Meta.foo != "bar"', ["redis3"]], // missing key: != is true
    ['Meta.foo == "bar"', ["redis1", "redis2"]],
    ['"foo" not in Meta', ["redis3"]], // `Meta.foo is empty` is refused: map values are strings
    ['ID matches "^redis[12]$"', ["redis1", "redis2"]],
    ['ID not matches "1"', ["redis2", "redis3"]],
    ["Weights.Passing == 1 and not EnableTagOverride == true", ["redis1", "redis2", "redis3"]],
    ['Address == "" and Port != 1234', ["redis2"]],
    ['Service == redis and "qa" not in Tags', ["redis1", "redis2"]],
    ["Tags is empty", []],
  ];
  for (const [expr, want] of agent) assert.equal(ids(keep(services, expr, FILTER_SCHEMAS.agentServices), "ID"), want, expr);

  const catalog: Array<[string, string[]]> = [
    ['ServiceMeta.environment == "qa"', ["node-1", "node-4"]],
    ["ServiceTags is empty", ["node-4"]],
    ['"test" in ServiceTags or NodeMeta.arch == arm', ["node-2"]],
    ['NodeMeta.agent == "true"', ["node-1"]],
    ['NodeMeta.agent != "true"', ["node-2", "node-4"]],
    ["TaggedAddresses is empty", ["node-1", "node-2", "node-4"]],
    ['Address matches "^198\\\\.18\\\\.0\\\\.[24]$"', ["node-2", "node-4"]],
    ["ServicePort == 9090 and ServiceWeights.Warning == 1", ["node-1", "node-2", "node-4"]],
    ["ServiceConnect.Native == false", ["node-1", "node-2", "node-4"]],
    ['ServiceProxy.DestinationServiceName == ""', ["node-1", "node-2", "node-4"]],
    ['Datacenter == dc1 and NodeMeta.os in "linux darwin"', []], // `in` needs a selector on the right: see below
  ];
  for (const [expr, want] of catalog) {
    if (expr.includes('in "linux darwin"')) {
      assert.throws(() => compileFilter(expr, FILTER_SCHEMAS.catalogService), /Invalid selector/);
      continue;
    }
    assert.equal(ids(keep(catalogService, expr, FILTER_SCHEMAS.catalogService), "Node"), want, expr);
  }

  const health: Array<[string, string[]]> = [
    ['Status == "critical"', ["node-health"]],
    ['Status != passing', ["node-health", "svc-web-health"]],
    ['Name contains "web"', ["svc-web-health"]],
    ['CheckID matches "health$" and ServiceName == ""', ["node-health"]],
    ["ServiceTags is empty", ["node-health", "svc-web-health"]],
  ];
  for (const [expr, want] of health) assert.equal(ids(keep(healthNode, expr, FILTER_SCHEMAS.healthNode), "CheckID"), want, expr);
});

test("health service entries: Checks.Status uses any-element semantics", () => {
  const entries = [
    { Node: { Node: "a" }, Service: { Service: "web", Tags: ["v1"] }, Checks: [{ Status: "passing" }, { Status: "critical" }] },
    { Node: { Node: "b" }, Service: { Service: "web", Tags: ["v2"] }, Checks: [{ Status: "passing" }] },
  ];
  const nodes = (expr: string): string[] =>
    keep(entries, expr, FILTER_SCHEMAS.healthService).map((e) => String(((e as { Node: { Node: string } }).Node).Node));
  assert.equal(nodes('Checks.Status == "critical"'), ["a"]);
  assert.equal(nodes('not Checks.Status == "critical"'), ["b"]);
  assert.equal(nodes('Checks.Status == "passing"'), ["a", "b"]);
  assert.equal(nodes('"v2" in Service.Tags'), ["b"]);
});

test.run();
