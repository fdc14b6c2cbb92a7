/**
 * tests/http/session_helpers: the HTTP server over a real Store backend with this agent's
 * node registered (serfHealth passing) and optional leader session timers, for the
 * session tests.
 *
 * Must never: leave servers or timers running (close() stops both).
 */

import { startCatalog, type CatHarness } from "./catalog_helpers.ts";
import { request, type Res } from "./helpers.ts";
import { registerSessionTimers, SessionTimers, type SessionTimerDeps } from "../../src/server/session_timers.ts";
import { parseGoDuration } from "../../src/http/query.ts";

export interface SessHarness extends CatHarness {
  timers: SessionTimers | undefined;
  del(path: string): Promise<Res>;
  json<T = unknown>(path: string): Promise<T>;
  create(body?: unknown): Promise<string>;
  close(): Promise<void>;
}

export const realTimerDeps: SessionTimerDeps = {
  now: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  parseDuration: parseGoDuration,
  log: () => {},
};

export function registerBody(node: string, checks: Array<{ id: string; status: string; serviceId?: string }> = [], service?: string): unknown {
  return {
    Node: node,
    Address: "127.0.0.1",
    ...(service !== undefined ? { Service: { Service: service, ID: service, Port: 80 } } : {}),
    Checks: checks.map((c) => ({ CheckID: c.id, Name: c.id, Status: c.status, ServiceID: c.serviceId ?? "" })),
  };
}

export async function startSessions(timerDeps?: SessionTimerDeps | null): Promise<SessHarness> {
  const h = await startCatalog();
  const r = await h.put("/v1/catalog/register", registerBody("node1", [{ id: "serfHealth", status: "passing" }]));
  if (r.status !== 200) throw new Error(`register: ${r.status} ${r.text}`);
  let timers: SessionTimers | undefined;
  if (timerDeps !== null) {
    timers = new SessionTimers(h.backend, timerDeps ?? realTimerDeps);
    registerSessionTimers(h.backend.store, timers);
    timers.start();
  }
  const port = h.port;
  return {
    ...h,
    timers,
    del: (path) => request(port, path, { method: "DELETE" }),
    json: async <T>(path: string): Promise<T> => {
      const res = await request(port, path);
      if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.text}`);
      return JSON.parse(res.text) as T;
    },
    create: async (body?: unknown): Promise<string> => {
      const res = await request(port, "/v1/session/create", {
        method: "PUT",
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (res.status !== 200) throw new Error(`create: ${res.status} ${res.text}`);
      return (JSON.parse(res.text) as { ID: string }).ID;
    },
    close: async () => {
      timers?.stop();
      registerSessionTimers(h.backend.store, undefined);
      await h.close();
    },
  };
}
