/**
 * server/self_register: the leader's registration of its own node in the catalog.
 *
 * Consul's leader reconciles every gossip member into the catalog: the node with
 * its addresses and meta, the `serfHealth` check ("Serf Health Status"), and for
 * servers the `consul` service. Until gossip exists, the only member is this
 * agent and it is alive, so the check is passing. The registration is skipped
 * when the catalog already holds it unchanged (no index churn on restart).
 *
 * Must never: register anything but this agent's own node, or write when nothing changed.
 */

import { EMPTY_CHECK_DEFINITION, type CatalogReader, type RegisterInput } from "../state/catalog_types.ts";

export interface SelfInfo {
  readonly nodeName: string;
  readonly nodeId: string;
  readonly address: string;
  readonly datacenter: string;
  readonly server: boolean;
  readonly serverPort: number;
  readonly version: string;
  readonly nodeMeta: Readonly<Record<string, string>>;
}


export const SERF_CHECK_ID = "serfHealth";
export const SERF_CHECK_NAME = "Serf Health Status";
export const SERF_ALIVE_OUTPUT = "Agent alive and reachable";

export function selfRegistration(s: SelfInfo): RegisterInput {
  return {
    node: {
      id: s.nodeId,
      node: s.nodeName,
      address: s.address,
      datacenter: s.datacenter,
      taggedAddresses: { lan: s.address, lan_ipv4: s.address, wan: s.address, wan_ipv4: s.address },
      meta: { "consul-network-segment": "", "consul-version": s.version, ...s.nodeMeta },
    },
    skipNodeUpdate: false,
    service: s.server
      ? {
          kind: "",
          id: "consul",
          service: "consul",
          tags: [],
          address: "",
          taggedAddresses: {},
          meta: {
            non_voter: "false",
            raft_version: "3",
            read_replica: "false",
            serf_protocol_current: "2",
            serf_protocol_max: "5",
            serf_protocol_min: "1",
            version: s.version,
          },
          port: s.serverPort,
          socketPath: "",
          weights: { passing: 1, warning: 1 },
          enableTagOverride: false,
          proxy: null,
          connect: null,
          locality: null,
        }
      : null,
    checks: [
      {
        node: s.nodeName,
        checkId: SERF_CHECK_ID,
        name: SERF_CHECK_NAME,
        status: "passing",
        notes: "",
        output: SERF_ALIVE_OUTPUT,
        serviceId: "",
        serviceName: "",
        serviceTags: [],
        type: "",
        intervalNs: 0,
        timeoutNs: 0,
        exposedPort: 0,
        definition: EMPTY_CHECK_DEFINITION,
      },
    ],
  };
}

/** Whether the catalog already holds this registration (node address/ID, serfHealth passing, consul service). */
export function isRegistered(catalog: CatalogReader, s: SelfInfo): boolean {
  const n = catalog.catalogNode(s.nodeName).value;
  if (n === undefined) return false;
  if (n.node.address !== s.address || (s.nodeId !== "" && n.node.id !== s.nodeId)) return false;
  if (n.node.meta["consul-version"] !== s.version) return false;
  if (s.server && !n.services.some((x) => x.id === "consul" && x.port === s.serverPort)) return false;
  const checks = catalog.healthNode(s.nodeName).value;
  return checks.some((c) => c.checkId === SERF_CHECK_ID && c.status === "passing");
}
