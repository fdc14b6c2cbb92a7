/**
 * schema: which selectors each filterable endpoint accepts, and with which
 * operators — the JS form of the bexpr FieldConfigurations Consul derives by
 * reflection from its Go structs (agent/structs, api.AgentService; see Consul's
 * agent/structs/structs_filtering_test.go and the per-endpoint "Filtering" tables).
 *
 * A FilterSchema maps a field name (as in the JSON item, which matches the Go
 * field name) to its kind. Kinds and the operators go-bexpr allows on them:
 *   string       ==, !=, in, not in (substring), matches, not matches
 *   int, bool    ==, != (the value is coerced: Go ParseInt base 0 / ParseBool)
 *   string-list  in, not in (element equality), is empty, is not empty
 *   string-map   in, not in (key present), is empty, is not empty; `.key` is a string
 *   struct-map   like string-map, but `.key` is a struct with `fields`
 *   struct       no operators; only `.Field` selection into `fields`
 *   struct-list  is empty, is not empty; `.Field` applies to every element with
 *                "any element matches" semantics (e.g. Checks.Status == critical)
 *
 * Must never: do I/O or import anything.
 */

export type FieldSpec =
  | { readonly kind: "string" }
  | { readonly kind: "int" }
  | { readonly kind: "bool" }
  | { readonly kind: "string-list" }
  | { readonly kind: "string-map" }
  | { readonly kind: "struct"; readonly fields: FilterSchema }
  | { readonly kind: "struct-list"; readonly fields: FilterSchema }
  | { readonly kind: "struct-map"; readonly fields: FilterSchema };

export type FilterSchema = { readonly [field: string]: FieldSpec };

const S: FieldSpec = { kind: "string" };
const I: FieldSpec = { kind: "int" };
const B: FieldSpec = { kind: "bool" };
const LIST: FieldSpec = { kind: "string-list" };
const MAP: FieldSpec = { kind: "string-map" };
const struct = (fields: FilterSchema): FieldSpec => ({ kind: "struct", fields });
const structList = (fields: FilterSchema): FieldSpec => ({ kind: "struct-list", fields });
const structMap = (fields: FilterSchema): FieldSpec => ({ kind: "struct-map", fields });

const SERVICE_ADDRESS: FilterSchema = { Address: S, Port: I };
const MESH_GATEWAY: FilterSchema = { Mode: S };
const WEIGHTS: FilterSchema = { Passing: I, Warning: I };

const UPSTREAM: FilterSchema = {
  DestinationType: S,
  DestinationNamespace: S,
  DestinationPartition: S,
  DestinationPeer: S,
  DestinationName: S,
  Datacenter: S,
  LocalBindAddress: S,
  LocalBindPort: I,
  LocalBindSocketPath: S,
  LocalBindSocketMode: S,
  MeshGateway: struct(MESH_GATEWAY),
};

const EXPOSE_PATH: FilterSchema = { ListenerPort: I, Path: S, LocalPathPort: I, Protocol: S, ParsedFromCheck: B };

const CONNECT_PROXY_CONFIG: FilterSchema = {
  EnvoyExtensions: structList({ Name: S, Required: B, ConsulVersion: S, EnvoyVersion: S }),
  DestinationServiceName: S,
  DestinationServiceID: S,
  LocalServiceAddress: S,
  LocalServicePort: I,
  LocalServiceSocketPath: S,
  Mode: S,
  Upstreams: structList(UPSTREAM),
  MeshGateway: struct(MESH_GATEWAY),
  Expose: struct({ Checks: B, Paths: structList(EXPOSE_PATH) }),
  TransparentProxy: struct({ OutboundListenerPort: I, DialedDirectly: B }),
  AccessLogs: struct({ Enabled: B, DisableListenerLogs: B, Type: S, Path: S, JSONPath: S, TextPath: S }),
};

/** structs.Node: items of GET /v1/catalog/nodes (and `Node.*` of health service entries). */
export const NODE_SCHEMA: FilterSchema = {
  ID: S,
  Node: S,
  Partition: S,
  PeerName: S,
  Address: S,
  Datacenter: S,
  TaggedAddresses: MAP,
  Meta: MAP,
};

/**
 * structs.NodeService / api.AgentService: values of GET /v1/agent/services, services of
 * GET /v1/catalog/node/:node and /v1/catalog/node-services/:node, `Service.*` of health entries.
 */
export const NODE_SERVICE_SCHEMA: FilterSchema = {
  Kind: S,
  ID: S,
  Service: S,
  Tags: LIST,
  Address: S,
  TaggedAddresses: structMap(SERVICE_ADDRESS),
  Meta: MAP,
  Port: I,
  SocketPath: S,
  Weights: struct(WEIGHTS),
  EnableTagOverride: B,
  Proxy: struct(CONNECT_PROXY_CONFIG),
  Connect: struct({ Native: B }),
  PeerName: S,
};

/** structs.ServiceNode: items of GET /v1/catalog/service/:service and /v1/catalog/connect/:service. */
export const SERVICE_NODE_SCHEMA: FilterSchema = {
  ID: S,
  Node: S,
  Address: S,
  Datacenter: S,
  TaggedAddresses: MAP,
  NodeMeta: MAP,
  ServiceKind: S,
  ServiceID: S,
  ServiceName: S,
  ServiceTags: LIST,
  ServiceAddress: S,
  ServiceTaggedAddresses: structMap(SERVICE_ADDRESS),
  ServiceMeta: MAP,
  ServicePort: I,
  ServiceSocketPath: S,
  ServiceWeights: struct(WEIGHTS),
  ServiceEnableTagOverride: B,
  ServiceProxy: struct(CONNECT_PROXY_CONFIG),
  ServiceConnect: struct({ Native: B }),
  PeerName: S,
};

/**
 * structs.HealthCheck: items of /v1/health/node/:node, /v1/health/checks/:service,
 * /v1/health/state/:state, values of /v1/agent/checks. (`Definition` is hidden from
 * filtering in Consul; `LastCheckStartTime` is selectable but supports no operator.)
 */
export const HEALTH_CHECK_SCHEMA: FilterSchema = {
  Node: S,
  CheckID: S,
  Name: S,
  Status: S,
  Notes: S,
  Output: S,
  ServiceID: S,
  ServiceName: S,
  ServiceTags: LIST,
  Type: S,
  Interval: S,
  Timeout: S,
  ExposedPort: I,
  PeerName: S,
  LastCheckStartTime: struct({}),
};

/** structs.CheckServiceNode: items of /v1/health/service/:service (and connect/ingress). */
export const CHECK_SERVICE_NODE_SCHEMA: FilterSchema = {
  Node: struct(NODE_SCHEMA),
  Service: struct(NODE_SERVICE_SCHEMA),
  Checks: structList(HEALTH_CHECK_SCHEMA),
};

/** structs.NodeInfo: items of /v1/internal/ui/nodes. */
export const NODE_INFO_SCHEMA: FilterSchema = {
  ID: S,
  Node: S,
  Partition: S,
  PeerName: S,
  Address: S,
  TaggedAddresses: MAP,
  Meta: MAP,
  Services: structList(NODE_SERVICE_SCHEMA),
  Checks: structList(HEALTH_CHECK_SCHEMA),
};

/** Schemas by endpoint. KV, sessions, events and the rest take no `filter`. */
export const FILTER_SCHEMAS = {
  catalogNodes: NODE_SCHEMA,
  catalogService: SERVICE_NODE_SCHEMA,
  catalogConnect: SERVICE_NODE_SCHEMA,
  catalogNodeServices: NODE_SERVICE_SCHEMA,
  healthNode: HEALTH_CHECK_SCHEMA,
  healthChecks: HEALTH_CHECK_SCHEMA,
  healthState: HEALTH_CHECK_SCHEMA,
  healthService: CHECK_SERVICE_NODE_SCHEMA,
  agentServices: NODE_SERVICE_SCHEMA,
  agentChecks: HEALTH_CHECK_SCHEMA,
  uiNodes: NODE_INFO_SCHEMA,
} as const satisfies { readonly [endpoint: string]: FilterSchema };
