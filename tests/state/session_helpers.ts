// Helpers for the session state tests (not a test file): catalog registrations and session inputs.
import { NIL_MAP, Store, type CheckInput, type Command, type RegisterInput, type ServiceInput, type SessionInput } from "../../src/state/index.ts";

const DEF = {
  http: "", tlsServerName: "", tlsSkipVerify: false, header: NIL_MAP, method: "", body: "", tcp: "", udp: "",
  grpc: "", grpcUseTls: false, intervalNs: 0, timeoutNs: 0, deregisterCriticalServiceAfterNs: 0,
};

export function svc(name: string): ServiceInput {
  return {
    kind: "", id: name, service: name, tags: [], address: "", taggedAddresses: NIL_MAP, meta: NIL_MAP, port: 80,
    socketPath: "", weights: null, enableTagOverride: false, proxy: null, connect: null, locality: null,
  };
}

export function chk(node: string, id: string, status: CheckInput["status"], serviceId = ""): CheckInput {
  return {
    node, checkId: id, name: id, status, notes: "", output: "", serviceId, serviceName: "", serviceTags: [], type: "",
    intervalNs: 0, timeoutNs: 0, exposedPort: 0, definition: DEF,
  };
}

export function reg(node: string, over: Partial<RegisterInput> = {}): Command {
  return {
    type: "catalog-register",
    req: {
      node: { id: "", node, address: "10.0.0.1", datacenter: "dc1", taggedAddresses: NIL_MAP, meta: NIL_MAP },
      skipNodeUpdate: false, service: null, checks: [], ...over,
    },
  };
}

export function sess(id: string, node: string, over: Partial<SessionInput> = {}): SessionInput {
  return {
    id, name: "", node, lockDelayNs: 15e9, behavior: "release", ttl: "", nodeChecks: ["serfHealth"],
    serviceChecks: null, checks: null, ...over,
  };
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

export class H {
  readonly s = new Store();
  i = 0;
  apply(c: Command): ReturnType<Store["apply"]> {
    return this.s.apply(++this.i, c);
  }
  /** Node n1 with serfHealth passing, node check c1 passing, service web with check sc1 passing. */
  world(node = "n1"): void {
    this.apply(reg(node, { service: svc("web"), checks: [chk(node, "serfHealth", "passing"), chk(node, "c1", "passing"), chk(node, "sc1", "passing", "web")] }));
  }
  lock(key: string, session: string, now?: number): unknown {
    const c: Command = now === undefined
      ? { type: "kv-lock", key, value: enc("v"), flags: 0n, session }
      : { type: "kv-lock", key, value: enc("v"), flags: 0n, session, now };
    return this.apply(c);
  }
}
