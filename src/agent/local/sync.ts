/**
 * agent/local/sync: anti-entropy's two operations against the catalog (Consul's
 * State.updateSyncState, SyncFull and SyncChanges): compare the catalog's view of this
 * node with the local state, then push what is out of sync as catalog-register /
 * catalog-deregister commands through the Backend. Remote services and checks the
 * agent does not know are removed, except the `consul` service and `serfHealth`.
 *
 * Must never: change local definitions (only in-sync flags and tombstones), or write
 * to the store except through backend.apply.
 */

import type { Backend } from "../../server/types.ts";
import type { ApplyResult, Command } from "../../state/types.ts";
import { EMPTY_CHECK_DEFINITION, type CheckInput, type CheckRow, type ServiceInput, type ServiceRow } from "../../state/catalog_types.ts";
import { CairnError } from "../../shared/errors.ts";
import type { LocalState } from "./state.ts";
import type { LocalCheck, LocalService } from "./types.ts";

export interface SyncTarget {
  readonly backend: Backend;
  readonly nodeName: string;
  readonly nodeId: string;
  readonly datacenter: string;
  readonly address: string;
  readonly taggedAddresses: Readonly<Record<string, string>>;
  readonly nodeMeta: Readonly<Record<string, string>>;
}

const SERF_CHECK_ID = "serfHealth";
const CONSUL_SERVICE_ID = "consul";


function sameMap(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): boolean {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) return false;
  return true;
}

const sameList = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Consul's NodeService.IsSame, over the fields cairn stores. */
export function serviceIsSame(l: LocalService, r: ServiceRow): boolean {
  return (
    l.id === r.id &&
    l.service === r.service &&
    l.kind === r.kind &&
    sameList(l.tags, r.tags) &&
    l.address === r.address &&
    sameMap(l.taggedAddresses, r.taggedAddresses) &&
    sameMap(l.meta, r.meta) &&
    l.port === r.port &&
    l.socketPath === r.socketPath &&
    l.weights.passing === r.weights.passing &&
    l.weights.warning === r.weights.warning &&
    l.enableTagOverride === r.enableTagOverride &&
    sameJson(l.proxy, r.proxy) &&
    sameJson(l.connect, r.connect) &&
    sameJson(l.locality, r.locality)
  );
}

/** Consul's HealthCheck.IsSame (optionally ignoring the output). */
export function checkIsSame(l: LocalCheck, r: CheckRow, ignoreOutput: boolean): boolean {
  return (
    l.node === r.node &&
    l.checkId === r.checkId &&
    l.name === r.name &&
    l.status === r.status &&
    l.notes === r.notes &&
    (ignoreOutput || l.output === r.output) &&
    l.serviceId === r.serviceId &&
    l.serviceName === r.serviceName &&
    sameList(l.serviceTags, r.serviceTags) &&
    l.type === r.type &&
    l.intervalNs === r.intervalNs &&
    l.timeoutNs === r.timeoutNs
  );
}

function serviceInput(s: LocalService): ServiceInput {
  return { ...s, weights: { ...s.weights } };
}

function checkInput(c: LocalCheck): CheckInput {
  return { ...c, definition: EMPTY_CHECK_DEFINITION };
}

function nodeInput(t: SyncTarget): Extract<Command, { type: "catalog-register" }>["req"]["node"] {
  return {
    id: t.nodeId,
    node: t.nodeName,
    address: t.address,
    datacenter: t.datacenter,
    taggedAddresses: { ...t.taggedAddresses },
    meta: { ...t.nodeMeta },
  };
}

async function apply(t: SyncTarget, cmd: Command): Promise<void> {
  const r: ApplyResult = await t.backend.apply(cmd);
  if (r.type === "error") throw new CairnError("internal", r.message);
}

/** Consul's updateSyncState: mark what differs from the catalog as out of sync. */
export function updateSyncState(state: LocalState, t: SyncTarget): void {
  const store = t.backend.store;
  const node = store.catalogNode(t.nodeName).value;
  const remoteServices = new Map<string, ServiceRow>();
  for (const s of node?.services ?? []) remoteServices.set(s.id, s);
  const remoteChecks = new Map<string, CheckRow>();
  if (node !== undefined) for (const c of store.healthNode(t.nodeName).value) remoteChecks.set(c.checkId, c);

  if (
    node === undefined ||
    node.node.id !== t.nodeId ||
    node.node.address !== t.address ||
    !sameMap(node.node.taggedAddresses, t.taggedAddresses) ||
    !sameMap(node.node.meta, t.nodeMeta)
  ) {
    state.nodeInfoInSync = false;
  }

  for (const [id, s] of state.services) if (!remoteServices.has(id)) s.inSync = false;
  for (const [id, rs] of remoteServices) {
    const ls = state.services.get(id);
    if (ls === undefined) {
      if (id === CONSUL_SERVICE_ID) continue;
      state.services.set(id, { service: rowToService(rs), token: "", inSync: false, deleted: true });
      continue;
    }
    if (ls.deleted) continue;
    if (ls.service.enableTagOverride) ls.service = { ...ls.service, tags: [...rs.tags] };
    ls.inSync = serviceIsSame(ls.service, rs);
  }

  for (const [id, c] of state.checks) if (!remoteChecks.has(id)) c.inSync = false;
  for (const [id, rc] of remoteChecks) {
    const lc = state.checks.get(id);
    if (lc === undefined) {
      if (id === SERF_CHECK_ID) continue;
      state.checks.set(id, {
        check: { ...rc, status: rc.status === "maintenance" ? "critical" : rc.status },
        token: "",
        inSync: false,
        deleted: true,
        deferTimer: undefined,
        criticalSince: 0,
      });
      continue;
    }
    if (lc.deleted) continue;
    lc.inSync = checkIsSame(lc.check, rc, lc.deferTimer !== undefined);
  }
}

function rowToService(r: ServiceRow): LocalService {
  return {
    kind: r.kind,
    id: r.id,
    service: r.service,
    tags: r.tags,
    address: r.address,
    taggedAddresses: r.taggedAddresses,
    meta: r.meta,
    port: r.port,
    socketPath: r.socketPath,
    weights: r.weights,
    enableTagOverride: r.enableTagOverride,
    proxy: r.proxy,
    connect: r.connect,
    locality: r.locality,
  };
}

/** Consul's SyncChanges: push deletions and out-of-sync entries, then node info. */
export async function syncChanges(state: LocalState, t: SyncTarget): Promise<void> {
  const services = [...state.services.entries()].filter(([, s]) => s.deleted || !s.inSync);
  for (const [id, s] of services) {
    if (state.services.get(id) !== s) continue; // replaced meanwhile
    if (s.deleted) {
      await apply(t, { type: "catalog-deregister", node: t.nodeName, serviceId: id, checkId: "" });
      if (state.services.get(id) === s) state.services.delete(id);
      continue;
    }
    if (s.inSync) continue;
    const checks: [string, ReturnType<LocalState["checks"]["get"]>][] = [];
    for (const [cid, c] of state.checks) if (!c.deleted && !c.inSync && c.check.serviceId === id) checks.push([cid, c]);
    const svc = s.service;
    const sent = checks.map(([, c]) => c!.check);
    await apply(t, {
      type: "catalog-register",
      req: { node: nodeInput(t), skipNodeUpdate: state.nodeInfoInSync, service: serviceInput(svc), checks: sent.map(checkInput) },
    });
    if (state.services.get(id) === s && s.service === svc) s.inSync = true;
    state.nodeInfoInSync = true;
    for (const [cid, c] of checks) {
      const cur = state.checks.get(cid);
      if (cur === c && sent.includes(c!.check)) c!.inSync = true;
    }
  }

  const checks = [...state.checks.entries()].filter(([, c]) => c.deleted || !c.inSync);
  for (const [id, c] of checks) {
    if (state.checks.get(id) !== c) continue;
    if (c.deleted) {
      await apply(t, { type: "catalog-deregister", node: t.nodeName, serviceId: "", checkId: id });
      if (state.checks.get(id) === c) state.checks.delete(id);
      continue;
    }
    if (c.inSync) continue;
    // The write below carries the latest output, so a deferred output sync is moot.
    state.cancelDefer(c);
    const check = c.check;
    const s = check.serviceId === "" ? undefined : state.services.get(check.serviceId);
    const withService = s !== undefined && !s.deleted ? s : undefined;
    const svc = withService?.service;
    await apply(t, {
      type: "catalog-register",
      req: {
        node: nodeInput(t),
        skipNodeUpdate: state.nodeInfoInSync,
        service: svc === undefined ? null : serviceInput(svc),
        checks: [checkInput(check)],
      },
    });
    if (state.checks.get(id) === c && c.check === check) c.inSync = true;
    if (withService !== undefined && withService.service === svc) withService.inSync = true;
    state.nodeInfoInSync = true;
  }

  if (!state.nodeInfoInSync) {
    await apply(t, { type: "catalog-register", req: { node: nodeInput(t), skipNodeUpdate: false, service: null, checks: [] } });
    state.nodeInfoInSync = true;
  }
}
