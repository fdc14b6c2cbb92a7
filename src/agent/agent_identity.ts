/**
 * agent/agent_identity: who this agent is — its node ID (configured, else persisted in
 * data_dir/node-id, else random in dev mode), its server port, the catalog registration a
 * server makes of itself, the LAN member it shows without a LAN pool, and the AgentView the
 * HTTP layer reads (/v1/agent/self, members).
 *
 * Also what the LAN and WAN pools share of it (tags, keyring location).
 *
 * Must never: write anything but data_dir/node-id, or start a listener.
 */

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import type { AgentView, MemberView } from "../server/types.ts";
import type { SelfInfo } from "../server/self_register.ts";
import type { VersionInfo } from "../shared/version.ts";
import type { AgentOptions } from "./agent_types.ts";

/** Consul's default server RPC port and serf LAN port. */
const DEFAULT_SERVER_PORT = 8300;
const DEFAULT_SERF_LAN_PORT = 8301;

/** The node ID: configured, else persisted in data_dir/node-id, else random (dev). */
export function resolveNodeId(opts: Pick<AgentOptions, "nodeId" | "dataDir">): string {
  if (opts.nodeId) return opts.nodeId;
  if (opts.dataDir === undefined) return randomUUID();
  mkdirSync(opts.dataDir, { recursive: true });
  const file = path.join(opts.dataDir, "node-id");
  if (existsSync(file)) {
    const id = readFileSync(file, "utf8").trim();
    if (id) return id;
  }
  const id = randomUUID();
  writeFileSync(file, id);
  return id;
}

/** The server port others reach this agent on (the configured one, else Consul's 8300). */
export function serverPortOf(opts: Pick<AgentOptions, "serverPort">): number {
  return opts.serverPort > 0 ? opts.serverPort : DEFAULT_SERVER_PORT;
}

/** The serf `build` tag: "<version>:<revision>". */
export function buildTag(vi: VersionInfo): string {
  return `${vi.version}:${vi.revision}`;
}

/** What a server registers of itself in the catalog (its node, serfHealth, the `consul` service). */
export function selfInfoOf(opts: AgentOptions, nodeId: string, vi: VersionInfo): SelfInfo {
  return {
    nodeName: opts.nodeName,
    nodeId,
    address: opts.advertiseAddr,
    datacenter: opts.datacenter,
    server: opts.server,
    serverPort: serverPortOf(opts),
    version: vi.version,
    nodeMeta: opts.nodeMeta,
  };
}

/** This agent as a LAN member with Consul's tags (what /v1/agent/members shows without a pool). */
export function selfMember(opts: AgentOptions, nodeId: string, vi: VersionInfo): MemberView {
  return {
    name: opts.nodeName,
    addr: opts.advertiseAddr,
    port: opts.serfLanPort > 0 ? opts.serfLanPort : DEFAULT_SERF_LAN_PORT,
    tags: opts.server
      ? {
          role: "consul",
          dc: opts.datacenter,
          segment: "",
          id: nodeId,
          vsn: "2",
          vsn_min: "2",
          vsn_max: "3",
          raft_vsn: "3",
          build: buildTag(vi),
          port: String(serverPortOf(opts)),
          bootstrap: "1",
        }
      : { role: "node", dc: opts.datacenter, segment: "", id: nodeId, vsn: "2", vsn_min: "2", vsn_max: "3", build: buildTag(vi) },
    status: 1,
  };
}

/** The agent as the HTTP layer sees it; `members` reads the LAN or WAN pool when asked. */
export function agentView(opts: AgentOptions, nodeId: string, vi: VersionInfo, members: (wan: boolean) => MemberView[]): AgentView {
  return {
    nodeName: opts.nodeName,
    nodeId,
    datacenter: opts.datacenter,
    primaryDatacenter: opts.primaryDatacenter,
    server: opts.server,
    version: vi.version,
    cairnVersion: vi.cairn,
    revision: vi.revision,
    buildDate: vi.buildDate,
    prettyByDefault: opts.dev,
    debugConfig: () => opts.debugConfig,
    members,
  };
}

/** What the LAN and WAN pools are both told of this agent (their tags, gossip key and keyring file). */
export function poolIdentity(opts: AgentOptions, nodeId: string, build: string) {
  return {
    nodeName: opts.nodeName,
    nodeId,
    datacenter: opts.datacenter,
    bootstrap: opts.bootstrap ?? false,
    bootstrapExpect: opts.bootstrapExpect ?? 0,
    serverPort: serverPortOf(opts),
    build,
    dev: opts.dev,
    encrypt: opts.encrypt ?? "",
    dataDir: opts.dataDir,
    disableKeyringFile: opts.disableKeyringFile ?? false,
  };
}
