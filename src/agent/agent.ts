/**
 * agent/agent: assembles one running agent from its parts and takes it apart again.
 *
 * startAgent() opens the log (WAL worker, or memory in dev mode), recovers the
 * state store, starts the single-voter server and the HTTP listener, and
 * returns a handle whose shutdown() stops accepting, finishes in-flight writes,
 * snapshots, flushes the log and closes everything, in that order.
 *
 * Must never: parse flags or config files (agent/config does), install signal
 * handlers (agent/lifecycle does), or call process.exit.
 */

import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import type { Logger } from "./log.ts";
import type { AgentView, MemberView } from "../server/types.ts";
import { SingleServer } from "../server/single.ts";
import { Store, encodeCommand, decodeCommand } from "../state/index.ts";
import { MemoryLog, WalLog } from "../wal/index.ts";
import { startHttpServer, type HttpServer } from "../http/index.ts";
import { CONSUL_API_VERSION, CAIRN_VERSION, REVISION, BUILD_DATE } from "../shared/version.ts";

export interface AgentOptions {
  readonly nodeName: string;
  readonly nodeId: string | undefined;
  readonly datacenter: string;
  readonly primaryDatacenter: string;
  readonly server: boolean;
  readonly dev: boolean;
  /** undefined in dev mode (in-memory). */
  readonly dataDir: string | undefined;
  readonly bindAddr: string;
  readonly advertiseAddr: string;
  readonly clientAddr: string;
  readonly httpPort: number; // -1 disables
  /** unix:///path to serve HTTP on a unix socket instead of TCP. */
  readonly httpUnixSocket: string | undefined;
  readonly serverPort: number;
  readonly serfLanPort: number;
  readonly kvMaxValueSize: number;
  readonly txnMaxReqLen: number;
  readonly snapshotThreshold: number;
  readonly trailingLogs: number;
  readonly disableKvKeyValidation: boolean;
  readonly responseHeaders: Readonly<Record<string, string>>;
  readonly debugConfig: Record<string, unknown>;
}

export interface RunningAgent {
  readonly server: SingleServer;
  readonly http: HttpServer | undefined;
  readonly view: AgentView;
  shutdown(): Promise<void>;
}

/** The node ID: configured, else persisted in data_dir/node-id, else random (dev). */
function resolveNodeId(opts: AgentOptions): string {
  if (opts.nodeId) return opts.nodeId;
  if (opts.dataDir === undefined) return randomUUID();
  const file = path.join(opts.dataDir, "node-id");
  if (existsSync(file)) {
    const id = readFileSync(file, "utf8").trim();
    if (id) return id;
  }
  const id = randomUUID();
  writeFileSync(file, id);
  return id;
}

export async function startAgent(opts: AgentOptions, logger: Logger): Promise<RunningAgent> {
  const log = logger.named("agent");
  if (opts.dataDir !== undefined) mkdirSync(opts.dataDir, { recursive: true });
  const nodeId = resolveNodeId(opts);
  const advertise = `${opts.advertiseAddr}:${opts.serverPort > 0 ? opts.serverPort : 8300}`;

  const wal =
    opts.dataDir === undefined ? new MemoryLog() : new WalLog(path.join(opts.dataDir, "raft"));
  const store = new Store();
  const server = new SingleServer({
    log: wal,
    store,
    encode: encodeCommand,
    decode: decodeCommand,
    advertiseAddr: advertise,
    snapshotThreshold: opts.snapshotThreshold,
    trailingLogs: opts.trailingLogs,
    logger: logger.named("agent.server.raft"),
    now: () => performance.now(),
  });
  const t0 = performance.now();
  const rec = await server.start();
  for (const n of rec.notes) log("warn", `wal: ${n}`);
  log(
    "info",
    `state restored: snapshot index=${rec.snapshotIndex}, replayed ${rec.replayed} log entries, ` +
      `last index=${server.appliedIndex()} in ${(performance.now() - t0).toFixed(0)}ms`,
  );

  const self: MemberView = {
    name: opts.nodeName,
    addr: opts.advertiseAddr,
    port: opts.serfLanPort > 0 ? opts.serfLanPort : 8301,
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
          build: `${CONSUL_API_VERSION}:${REVISION}`,
          port: String(opts.serverPort > 0 ? opts.serverPort : 8300),
          bootstrap: "1",
        }
      : { role: "node", dc: opts.datacenter, segment: "", id: nodeId, vsn: "2", vsn_min: "2", vsn_max: "3", build: `${CONSUL_API_VERSION}:${REVISION}` },
    status: 1,
  };
  const view: AgentView = {
    nodeName: opts.nodeName,
    nodeId,
    datacenter: opts.datacenter,
    primaryDatacenter: opts.primaryDatacenter,
    server: opts.server,
    version: CONSUL_API_VERSION,
    cairnVersion: CAIRN_VERSION,
    revision: REVISION,
    buildDate: BUILD_DATE,
    prettyByDefault: opts.dev,
    debugConfig: () => opts.debugConfig,
    members: (wan) => (wan ? [] : [self]),
  };

  let http: HttpServer | undefined;
  if (opts.httpPort !== -1 || opts.httpUnixSocket !== undefined) {
    http = await startHttpServer({
      backend: server,
      agent: view,
      host: opts.clientAddr,
      port: opts.httpPort,
      socketPath: opts.httpUnixSocket,
      limits: { kvMaxValueSize: opts.kvMaxValueSize, txnMaxReqLen: opts.txnMaxReqLen },
      disableKvKeyValidation: opts.disableKvKeyValidation,
      responseHeaders: { ...opts.responseHeaders },
      log: logger.named("agent.http"),
    });
    log("info", `HTTP API listening on ${http.address()}`);
  }

  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      log("info", "Requesting shutdown");
      if (http) await http.close();
      await server.close({ snapshot: true });
      log("info", "shutdown complete");
    })();
    return stopping;
  };
  return { server, http, view, shutdown };
}
