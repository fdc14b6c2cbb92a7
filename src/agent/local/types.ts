/**
 * agent/local/types: the agent's own services and checks (Consul's NodeService and
 * HealthCheck as the local state holds them) and the face the HTTP layer uses.
 *
 * Must never: import I/O modules; types only.
 */

import type { CheckStatus } from "../../checks/index.ts";
import type { CheckDefinition, ServiceDefinition } from "./decode.ts";

/** structs.NodeService as registered on this agent (weights always set). */
export interface LocalService {
  readonly kind: string;
  readonly id: string;
  readonly service: string;
  readonly tags: readonly string[];
  readonly address: string;
  readonly taggedAddresses: Readonly<Record<string, { readonly address: string; readonly port: number }>>;
  readonly meta: Readonly<Record<string, string>>;
  readonly port: number;
  readonly socketPath: string;
  readonly weights: { readonly passing: number; readonly warning: number };
  readonly enableTagOverride: boolean;
  readonly proxy: Readonly<Record<string, unknown>> | null;
  readonly connect: Readonly<Record<string, unknown>> | null;
  readonly locality: Readonly<Record<string, unknown>> | null;
}

/** structs.HealthCheck as this agent holds it. */
export interface LocalCheck {
  readonly node: string;
  readonly checkId: string;
  readonly name: string;
  readonly status: CheckStatus;
  readonly notes: string;
  readonly output: string;
  readonly serviceId: string;
  readonly serviceName: string;
  readonly serviceTags: readonly string[];
  /** "http", "tcp", "ttl", "script", "alias", "maintenance", ... ("" for a check without a type). */
  readonly type: string;
  readonly intervalNs: number;
  readonly timeoutNs: number;
  readonly exposedPort: number;
}

/** Where a registration came from: config files ("local") or the HTTP API ("remote"). */
export type ConfigSource = "local" | "remote";

export const NODE_MAINT_CHECK_ID = "_node_maintenance";
export const SERVICE_MAINT_PREFIX = "_service_maintenance:";

/** What the HTTP handlers may ask of the local agent. Errors are CairnErrors. */
export interface LocalAgentApi {
  readonly nodeName: string;
  readonly datacenter: string;
  services(): LocalService[];
  service(id: string): LocalService | undefined;
  servicesByName(name: string): LocalService[];
  checks(): LocalCheck[];
  check(id: string): LocalCheck | undefined;
  checksForService(serviceId: string, includeNodeChecks: boolean): LocalCheck[];
  /** Fires once when the service or one of its checks changes (hash-blocking queries). */
  watchService(id: string, cb: () => void): () => void;
  registerService(def: ServiceDefinition, opts: { readonly replaceExistingChecks: boolean; readonly token: string }): Promise<void>;
  deregisterService(id: string): Promise<void>;
  registerCheck(def: CheckDefinition, token: string): Promise<void>;
  deregisterCheck(id: string): Promise<void>;
  updateTtl(id: string, status: CheckStatus, output: string): Promise<void>;
  enableServiceMaintenance(id: string, reason: string, token: string): Promise<void>;
  disableServiceMaintenance(id: string): Promise<void>;
  enableNodeMaintenance(reason: string, token: string): Promise<void>;
  disableNodeMaintenance(): Promise<void>;
}
