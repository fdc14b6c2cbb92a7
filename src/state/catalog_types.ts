/**
 * state/catalog_types: rows and reads of the catalog (nodes, services, checks).
 *
 * Field names follow Consul's structs (agent/structs) in camelCase; the HTTP
 * layer renders them with Consul's JSON names. Rows are immutable once stored.
 * Index rules (Consul's): the "nodes", "services" and "checks" tables each keep a
 * max index, and every service name keeps its own index ("service.<name>"), so a
 * change to one service wakes only its watchers and DNS answers can be cached
 * per service index.
 *
 * Must never: import I/O modules or HTTP types.
 */

export type HealthStatus = "passing" | "warning" | "critical" | "maintenance";

/**
 * Go's nil map. Consul renders a nil map as `null` and an empty one as `{}`, so
 * rows keep that difference: a map field that was absent in the request holds
 * this shared frozen object (test with isNilMap); any other object, even an
 * empty one, is a real map. Code that only reads keys can ignore the difference.
 */
export const NIL_MAP: Readonly<Record<string, never>> = Object.freeze({});
export function isNilMap(m: object): boolean {
  return m === NIL_MAP;
}

export interface NodeRow {
  readonly id: string; // node UUID, "" when unknown
  readonly node: string;
  readonly address: string;
  readonly datacenter: string;
  readonly taggedAddresses: Readonly<Record<string, string>>;
  readonly meta: Readonly<Record<string, string>>;
  readonly createIndex: number;
  readonly modifyIndex: number;
}

export interface ServiceAddress {
  readonly address: string;
  readonly port: number;
}

export interface ServiceRow {
  readonly node: string;
  readonly kind: string; // "" | "connect-proxy" | "mesh-gateway" | ...
  readonly id: string;
  readonly service: string;
  readonly tags: readonly string[];
  readonly address: string;
  readonly taggedAddresses: Readonly<Record<string, ServiceAddress>>;
  readonly meta: Readonly<Record<string, string>>;
  readonly port: number;
  readonly socketPath: string;
  readonly weights: { readonly passing: number; readonly warning: number };
  readonly enableTagOverride: boolean;
  /** Proxy / Connect / Locality blocks, kept as Consul JSON (already-normalized objects). */
  readonly proxy: Readonly<Record<string, unknown>> | null;
  readonly connect: Readonly<Record<string, unknown>> | null;
  readonly locality: Readonly<Record<string, unknown>> | null;
  readonly createIndex: number;
  readonly modifyIndex: number;
}

export interface CheckDefinition {
  readonly http: string;
  readonly tlsServerName: string;
  readonly tlsSkipVerify: boolean;
  readonly header: Readonly<Record<string, readonly string[]>>;
  readonly method: string;
  readonly body: string;
  readonly tcp: string;
  readonly udp: string;
  readonly grpc: string;
  readonly grpcUseTls: boolean;
  readonly intervalNs: number;
  readonly timeoutNs: number;
  readonly deregisterCriticalServiceAfterNs: number;
}

/** A check with no definition (Consul's zero HealthCheckDefinition). */
export const EMPTY_CHECK_DEFINITION: CheckDefinition = Object.freeze({
  http: "",
  tlsServerName: "",
  tlsSkipVerify: false,
  header: NIL_MAP,
  method: "",
  body: "",
  tcp: "",
  udp: "",
  grpc: "",
  grpcUseTls: false,
  intervalNs: 0,
  timeoutNs: 0,
  deregisterCriticalServiceAfterNs: 0,
});

export interface CheckRow {
  readonly node: string;
  readonly checkId: string;
  readonly name: string;
  readonly status: HealthStatus;
  readonly notes: string;
  readonly output: string;
  readonly serviceId: string;
  readonly serviceName: string;
  readonly serviceTags: readonly string[];
  readonly type: string; // "http" | "tcp" | "ttl" | "script" | "serf" | "" ...
  readonly intervalNs: number;
  readonly timeoutNs: number;
  readonly exposedPort: number;
  readonly definition: CheckDefinition;
  readonly createIndex: number;
  readonly modifyIndex: number;
}

/** One entry of /v1/health/service/<s>: a service instance with its node and checks. */
export interface ServiceHealth {
  readonly node: NodeRow;
  readonly service: ServiceRow;
  /** Node-level checks first, then the instance's checks, each sorted by CheckID. */
  readonly checks: readonly CheckRow[];
}

/** Node fields of a registration or txn node op (Consul structs.Node minus indexes). */
export interface NodeInput {
  readonly id: string;
  readonly node: string;
  readonly address: string;
  readonly datacenter: string;
  readonly taggedAddresses: Readonly<Record<string, string>>;
  readonly meta: Readonly<Record<string, string>>;
}

/** Service fields of a registration or txn service op (Consul structs.NodeService minus indexes). */
export interface ServiceInput {
  readonly kind: string;
  readonly id: string;
  readonly service: string;
  readonly tags: readonly string[];
  readonly address: string;
  readonly taggedAddresses: Readonly<Record<string, ServiceAddress>>;
  readonly meta: Readonly<Record<string, string>>;
  readonly port: number;
  readonly socketPath: string;
  /** null = not given (the store applies Consul's default {1, 1}, as ToServiceNode does). */
  readonly weights: { readonly passing: number; readonly warning: number } | null;
  readonly enableTagOverride: boolean;
  readonly proxy: Readonly<Record<string, unknown>> | null;
  readonly connect: Readonly<Record<string, unknown>> | null;
  readonly locality: Readonly<Record<string, unknown>> | null;
}

/** Check fields of a registration or txn check op (Consul structs.HealthCheck minus indexes). */
export interface CheckInput {
  readonly node: string;
  readonly checkId: string;
  readonly name: string;
  /** "" = not given (the store stores "critical", as ensureCheckTxn does). */
  readonly status: HealthStatus | "";
  readonly notes: string;
  readonly output: string;
  readonly serviceId: string;
  readonly serviceName: string;
  readonly serviceTags: readonly string[];
  readonly type: string;
  readonly intervalNs: number;
  readonly timeoutNs: number;
  readonly exposedPort: number;
  readonly definition: CheckDefinition;
}

/** Consul's RegisterRequest after the RPC layer's fix-ups (service ID default, check Node/CheckID default). */
export interface RegisterInput {
  readonly node: NodeInput;
  readonly skipNodeUpdate: boolean;
  readonly service: ServiceInput | null;
  readonly checks: readonly CheckInput[];
}

type MetaFilter = Readonly<Record<string, string>>;

/**
 * The catalog's read side, as the HTTP and DNS layers see it. Optional
 * arguments narrow a read the way Consul's state store does (`tags`: every tag
 * present, case-insensitive; `nodeMeta`: node-meta filters, which for some
 * reads also change the index, as in Consul). Reported indexes may be 0 when
 * nothing was ever written; callers show 1.
 */
export interface CatalogReader {
  /**
   * A number that moves whenever the catalog (nodes, services, checks, their indexes) may have
   * changed: every catalog read returns the same thing while it stands still. Coordinates and
   * sessions are not part of it.
   */
  catalogGeneration(): number;
  /** All nodes sorted by name (lower-cased, as memdb); index = nodes table index. */
  catalogNodes(nodeMeta?: MetaFilter): { index: number; value: NodeRow[] };
  /**
   * A node by its exact name (case-insensitive), with its services sorted by ID; index = the
   * node's own index, else the node extinction index. Never matches a node by its ID.
   */
  catalogNode(name: string): { index: number; value: { node: NodeRow; services: ServiceRow[] } | undefined };
  /**
   * As catalogNode, but a name that matches no node is tried as a node ID or a unique ID
   * prefix (Consul's nodeServicesTxn: /v1/catalog/node/<n> and node-services/<n> only).
   * Anything that writes for a node by name must use catalogNode: a member called `cb`
   * would otherwise match a node whose ID starts with "cb".
   */
  catalogNodeByNameOrId(nameOrId: string): { index: number; value: { node: NodeRow; services: ServiceRow[] } | undefined };
  /** Service name -> union of tags, sorted; index = services table index (with nodeMeta: max with nodes). */
  catalogServices(nodeMeta?: MetaFilter): { index: number; value: Map<string, string[]> };
  /** Instances of one service (with their nodes), sorted by node then ID; index = service's own index. */
  catalogService(name: string, tags?: readonly string[]): { index: number; value: Array<{ node: NodeRow; service: ServiceRow }> };
  /** Health view of one service; index = the service's index (which checks changes also bump). */
  healthService(name: string, tags?: readonly string[]): { index: number; value: ServiceHealth[] };
  /** Checks of one node, sorted by CheckID; index = checks table index. */
  healthNode(node: string): { index: number; value: CheckRow[] };
  /** Checks carrying a service name; index = checks table index (with nodeMeta: the service's index). */
  healthChecks(service: string, nodeMeta?: MetaFilter): { index: number; value: CheckRow[] };
  /** Checks in a state ("any" = all), sorted by node then CheckID; index = checks table index. */
  healthState(state: HealthStatus | "any", nodeMeta?: MetaFilter): { index: number; value: CheckRow[] };
  /** Fire once when anything about service `name` (instances, their nodes or checks) changes. */
  watchService(name: string, cb: () => void): () => void;
  /** Fire once when the given table changes. */
  watchTable(table: "nodes" | "services" | "checks", cb: () => void): () => void;
  /** Fire once when node `name` or its services/checks change. */
  watchNode(name: string, cb: () => void): () => void;
}
