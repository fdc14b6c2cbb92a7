// Evaluation: every operator on strings, ints, bools, lists and maps, missing keys
// (go-bexpr v0.1.2 dispositions), "any element" semantics through lists, zero
// values for absent fields, and schemaless evaluation.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  CHECK_SERVICE_NODE_SCHEMA,
  compileFilter,
  filterList,
  HEALTH_CHECK_SCHEMA,
  NODE_SCHEMA,
  NODE_SERVICE_SCHEMA,
  SERVICE_NODE_SCHEMA,
  type FilterSchema,
} from "../../src/filter/index.ts";

const svc = {
  ID: "redis1",
  Service: "redis",
  Tags: ["primary", "production"],
  Meta: { env: "production", empty: "" },
  Port: 1234,
  Address: "10.0.0.5",
  TaggedAddresses: { lan: { Address: "10.0.0.5", Port: 1234 } },
  Weights: { Passing: 1, Warning: 1 },
  EnableTagOverride: false,
  Proxy: { Upstreams: [{ DestinationName: "db", LocalBindPort: 9191 }, { DestinationName: "cache", LocalBindPort: 9192 }] },
  Connect: { Native: true },
};

function check(schema: FilterSchema | undefined, item: unknown, table: Array<[string, boolean]>): void {
  for (const [expr, want] of table) assert.is(compileFilter(expr, schema)(item), want, expr);
}

test("strings: ==, !=, in/contains (substring), matches", () => {
  check(NODE_SERVICE_SCHEMA, svc, [
    ['Service == "redis"', true],
    ['Service == "Redis"', false],
    ['Service != "redis"', false],
    ["Service == redis", true], // bare word value
    ['"edi" in Service', true],
    ['"xyz" not in Service', true],
    ['Service contains "dis"', true],
    ['Service not contains "dis"', false],
    ['Service matches "^re.i"', true],
    ['Service matches "^edi"', false],
    ['Service not matches "^x"', true],
    ['Address matches `^10\\.0\\.0\\.\\d+$`', true],
    ['Kind == ""', true], // absent field = Go zero value
    ['Kind != ""', false],
  ]);
});

test("ints and bools: coerced values (Go ParseInt base 0, ParseBool)", () => {
  check(NODE_SERVICE_SCHEMA, svc, [
    ["Port == 1234", true],
    ['Port == "1234"', true],
    ['Port == "0x4d2"', true], // unquoted 0x4d2 is not a number literal in the grammar
    ['Port == "0o2322"', true],
    ['Port == "02322"', true], // leading 0 = octal, as Go's ParseInt base 0
    ['Port == "1_234"', true],
    ['Port == "+1234"', true],
    ["Port != 1234", false],
    ["Port == 80", false],
    ["Weights.Passing == 1", true],
    ["Weights.Warning != 1", false],
    ["EnableTagOverride == false", true],
    ["EnableTagOverride == F", true],
    ["EnableTagOverride == 0", true],
    ["EnableTagOverride != true", true],
    ["Connect.Native == true", true],
    ["Connect.Native == True", true],
    ["Proxy.LocalServicePort == 0", true], // absent int = 0
    ["Proxy.TransparentProxy.DialedDirectly == false", true], // absent struct = zero struct
  ]);
});

test("lists: in / not in (element equality), is empty / is not empty", () => {
  check(NODE_SERVICE_SCHEMA, svc, [
    ['"primary" in Tags', true],
    ['"prim" in Tags', false],
    ['"qa" not in Tags', true],
    ['Tags contains "production"', true],
    ["Tags is empty", false],
    ["Tags is not empty", true],
  ]);
  check(NODE_SERVICE_SCHEMA, { ...svc, Tags: [] }, [["Tags is empty", true], ['"primary" in Tags', false]]);
  check(NODE_SERVICE_SCHEMA, { ...svc, Tags: null }, [["Tags is empty", true], ['"x" not in Tags', true]]);
});

test("maps: in (key presence), is empty, .key and [\"key\"] selection", () => {
  check(NODE_SERVICE_SCHEMA, svc, [
    ['"env" in Meta', true],
    ['"production" in Meta', false],
    ['"nope" not in Meta', true],
    ["Meta is empty", false],
    ["Meta is not empty", true],
    ['Meta.env == "production"', true],
    ['Meta["env"] == "production"', true],
    ['Meta.env != "qa"', true],
    ['"duct" in Meta.env', true],
    ['Meta.env matches "prod"', true],
    ['Meta.empty == ""', true],
    ["TaggedAddresses.lan.Port == 1234", true],
    ['TaggedAddresses["lan"].Address == "10.0.0.5"', true],
    ['"lan" in TaggedAddresses', true],
    ['"wan" in TaggedAddresses', false],
  ]);
  check(NODE_SERVICE_SCHEMA, { ...svc, Meta: null }, [["Meta is empty", true], ['"env" in Meta', false]]);
});

test("missing map keys: go-bexpr v0.1.2 dispositions", () => {
  check(NODE_SERVICE_SCHEMA, svc, [
    ['Meta.missing == ""', false],
    ['Meta.missing == "x"', false],
    ['Meta.missing != "x"', true],
    ['Meta.missing != ""', true],
    ['"x" in Meta.missing', false],
    ['"x" not in Meta.missing', true],
    ['Meta.missing matches "x"', true], // v0.1.2 quirk: missing key -> matches is true
    ['Meta.missing not matches "x"', true],
    ['TaggedAddresses.wan.Address == "1.2.3.4"', false],
    ["TaggedAddresses.wan.Port != 1", true],
    ['not Meta.missing == "x"', true],
  ]);
  check(NODE_SERVICE_SCHEMA, { ...svc, Meta: undefined }, [['Meta.env == "production"', false], ['Meta.env != "production"', true]]);
});

test("lists of structs: any element matches", () => {
  check(NODE_SERVICE_SCHEMA, svc, [
    ['Proxy.Upstreams.DestinationName == "db"', true],
    ['Proxy.Upstreams.DestinationName == "nope"', false],
    ['Proxy.Upstreams.DestinationName != "db"', true], // "cache" != "db"
    ["Proxy.Upstreams.LocalBindPort == 9192", true],
    ["Proxy.Upstreams is not empty", true],
    ["Proxy.Expose.Paths is empty", true],
  ]);
  const entry = {
    Node: { Node: "n1", Address: "10.0.0.1", Meta: { rack: "r1" } },
    Service: svc,
    Checks: [
      { CheckID: "serfHealth", Status: "passing", ServiceTags: [] },
      { CheckID: "service:redis1", Status: "critical", ServiceTags: ["primary"] },
    ],
  };
  check(CHECK_SERVICE_NODE_SCHEMA, entry, [
    ['Checks.Status == "critical"', true],
    ['Checks.Status == "warning"', false],
    ['Checks.Status != "passing"', true],
    ['not Checks.Status != "passing"', false],
    ['"primary" in Checks.ServiceTags', true],
    ["Checks is empty", false],
    ['Node.Meta.rack == "r1" and Service.Port == 1234', true],
    ['Service.Meta.env == "qa" or Node.Node matches "^n"', true],
  ]);
  // an empty list matches nothing, not even !=
  check(CHECK_SERVICE_NODE_SCHEMA, { ...entry, Checks: [] }, [
    ['Checks.Status != "passing"', false],
    ["Checks is empty", true],
  ]);
});

test("and/or/not combine as expected", () => {
  check(NODE_SCHEMA, { Node: "n1", Address: "10.0.0.1", Meta: { env: "qa" }, TaggedAddresses: {} }, [
    ['Node == n1 and Meta.env == qa', true],
    ['Node == n1 and Meta.env == prod', false],
    ['Node == n2 or Meta.env == qa', true],
    ['not (Node == n2 or Meta.env == prod)', true],
    ['Node == n2 or Meta.env == qa and Address == "x"', false],
    ["(Node == n2 or Meta.env == qa) and Address matches `^10\\.`", true],
  ]);
});

test("schemaless: types come from the data; incomparable values do not match", () => {
  const item = { Name: "web", Port: 80, Ratio: 0.5, On: true, Tags: ["a", 1, true], Meta: { k: "v" }, Nested: [{ x: "1" }, { x: "2" }] };
  check(undefined, item, [
    ["Name == web", true],
    ["Port == 80", true],
    ['Port == "0x50"', true],
    ["Port == abc", false],
    ["Port != abc", false],
    ["Ratio == 0.5", true],
    ["On == true", true],
    ['"a" in Tags', true],
    ["1 in Tags", true],
    ['"k" in Meta', true],
    ["Meta.k == v", true],
    ["Meta.missing != v", true],
    ['Nested.x == "2"', true],
    ["Unknown == x", false],
    ["Unknown != x", true],
    ["Name.sub == x", false],
    ["Tags is not empty", true],
  ]);
});

test("filterList keeps order and uses the JSON view", () => {
  const rows = [
    { name: "a", tags: ["x"] },
    { name: "b", tags: [] },
    { name: "c", tags: ["x", "y"] },
  ];
  const f = compileFilter('"x" in ServiceTags', SERVICE_NODE_SCHEMA);
  const kept = filterList(rows, (r) => ({ ServiceName: r.name, ServiceTags: r.tags }), f);
  assert.equal(kept.map((r) => r.name), ["a", "c"]);
  const all = filterList(rows, () => null, compileFilter(""));
  assert.equal(all.length, 3, "an empty filter keeps everything");
  assert.ok(all !== rows);
});

test("health checks schema: CheckID and ExposedPort", () => {
  check(HEALTH_CHECK_SCHEMA, { CheckID: "serfHealth", ExposedPort: 0, Status: "passing" }, [
    ['CheckID == "serfHealth"', true],
    ["ExposedPort == 0", true],
    ['"pass" in Status', true],
  ]);
});

test.run();
