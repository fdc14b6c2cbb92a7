/**
 * server/rpc_endpoints: what a server (single-voter or Raft) answers client agents on its
 * server port, as Consul's servers answer their clients' RPC:
 *
 * - Client.HTTP: a request a client agent's HTTP API forwards (anything not agent-local)
 *   runs through this server's own HTTP handler in process (an Exchange without a socket),
 *   so every endpoint keeps one implementation; blocking queries park here, and the
 *   client's call timeout is their wait plus a margin. Client.HTTPCancel aborts one when
 *   the client's caller left.
 * - Client.Apply: the client's anti-entropy writes (catalog register/deregister, coordinate
 *   updates) go through this server's Backend.apply — on a Raft follower that forwards them
 *   to the leader like any write.
 * - Client.NodeState: the catalog rows of one node (the client's own), blocking on the
 *   node's watch, so a client's anti-entropy compares against the servers' catalog.
 * - Client.DNS: a raw DNS query answered by this server's resolver.
 * - Client.Ping: liveness for the client's server pool.
 *
 * Must never: let a malformed request reach the handler, keep an exchange after its reply
 * or its caller's cancel, or answer a forwarded request twice.
 */

import type { Backend } from "./types.ts";
import type { Exchange, ExchangeHandler, HeaderMap, StreamWriter } from "../http/index.ts";
import type { BodyResult } from "../http/context.ts";
import type { Handler } from "../rpc/index.ts";
import { CairnError } from "../shared/errors.ts";
import { decodeCommand, encodeApplyResult } from "../state/index.ts";
import type { CatalogReader } from "../state/catalog_types.ts";
import type { TxnResult } from "../state/types.ts";
import {
  bytesField,
  isAgentLocal,
  isHttpForwardRequest,
  isKeyringForwardRequest,
  splitTarget,
  isNodeStateRequest,
  METHOD_CLIENT_APPLY,
  METHOD_CLIENT_DNS,
  METHOD_CLIENT_HTTP,
  METHOD_CLIENT_HTTP_CANCEL,
  METHOD_CLIENT_NODE_STATE,
  METHOD_CLIENT_PING,
  METHOD_INTERNAL_KEYRING,
  stringField,
  type KeyringWireOp,
  type KeyringWireResult,
  type HttpForwardReply,
  type HttpForwardRequest,
  type NodeStateReply,
} from "./rpc_endpoints_wire.ts";
import { CLIENT_NODE_WATCH_WAIT_MS } from "../shared/limits.ts";

/** The part of an RpcServer the endpoints need. */
export interface RpcHandlers {
  handle(method: string, h: Handler): void;
  unhandle(method: string): void;
}

export interface ClientEndpointDeps {
  readonly backend: Backend;
  readonly catalog: CatalogReader;
  /** This server's HTTP handler (undefined until it exists: Client.HTTP then fails as unavailable). */
  readonly http: () => ExchangeHandler | undefined;
  /** Answers a raw DNS query (undefined: Client.DNS fails as unavailable). */
  readonly dns?: ((query: Buffer, tcp: boolean) => Promise<Buffer | null>) | undefined;
  /** This datacenter's LAN keyring operation (undefined: Internal.KeyringOperation fails as unavailable). */
  readonly keyring?: ((op: KeyringWireOp, key: string, relayFactor: number) => Promise<readonly KeyringWireResult[]>) | undefined;
  readonly log: (level: "debug" | "info" | "warn" | "error", msg: string) => void;
}

/** A forwarded request as the HTTP handler sees it: body from the message, reply into a promise. */
export class ForwardedExchange implements Exchange {
  readonly method: string;
  readonly target: string;
  readonly headers: HeaderMap;
  readonly contentLength: number;
  private readonly req: HttpForwardRequest;
  private bodyRead = false;
  private abortCbs: Array<() => void> = [];
  private wasAborted = false;
  private finished = false;
  private readonly resolve: (r: HttpForwardReply) => void;
  readonly done: Promise<HttpForwardReply>;

  constructor(req: HttpForwardRequest) {
    this.req = req;
    this.method = req.method;
    this.target = req.target;
    const h: HeaderMap = {};
    for (const [k, v] of Object.entries(req.headers)) h[k] = v;
    this.headers = h;
    this.contentLength = req.contentLength;
    let res: (r: HttpForwardReply) => void = () => {};
    this.done = new Promise((r) => (res = r));
    this.resolve = res;
  }

  get aborted(): boolean {
    return this.wasAborted;
  }

  readBody(limit: number): Promise<BodyResult> {
    if (this.bodyRead) return Promise.resolve({ ok: true, data: Buffer.alloc(0) });
    this.bodyRead = true;
    const tl = this.req.tooLarge;
    if (tl !== null) return Promise.resolve({ ok: false, received: tl.received, declared: tl.declared });
    const b = this.req.body;
    if (b === null) return Promise.resolve({ ok: true, data: Buffer.alloc(0) });
    if (b.length > limit) return Promise.resolve({ ok: false, received: b.length, declared: this.contentLength >= 0 });
    return Promise.resolve({ ok: true, data: Buffer.from(b.buffer, b.byteOffset, b.length) });
  }

  onAbort(cb: () => void): void {
    if (this.wasAborted) cb();
    else this.abortCbs.push(cb);
  }

  /** The client's caller left: run the abort hooks, answer nothing more. */
  abort(): void {
    if (this.wasAborted || this.finished) return;
    this.wasAborted = true;
    for (const cb of this.abortCbs.splice(0)) {
      try {
        cb();
      } catch {
        /* a hook's failure must not stop the others */
      }
    }
    this.finish({ status: 499, headers: [], body: null });
  }

  reply(status: number, headers: readonly string[], body: Buffer | undefined, _close: boolean): void {
    this.finish({ status, headers: [...headers], body: body === undefined ? null : new Uint8Array(body.buffer, body.byteOffset, body.length) });
  }

  stream(status: number, headers: readonly string[], _close: boolean): StreamWriter | undefined {
    if (this.finished || this.wasAborted) return undefined;
    const chunks: Buffer[] = [];
    let closed = false;
    return {
      write: (data) => {
        if (!closed) chunks.push(Buffer.from(data));
        return true;
      },
      onDrain: (cb) => cb(),
      end: () => {
        if (closed) return;
        closed = true;
        const body = Buffer.concat(chunks);
        this.finish({ status, headers: [...headers], body: new Uint8Array(body.buffer, body.byteOffset, body.length) });
      },
      get closed() {
        return closed;
      },
    };
  }

  private finish(r: HttpForwardReply): void {
    if (this.finished) return;
    this.finished = true;
    this.abortCbs = [];
    this.resolve(r);
  }
}

/** The rows of one node as a txn result (the state codec carries rows exactly). */
export function nodeStateRows(catalog: CatalogReader, node: string): { index: number; results: TxnResult[] } {
  const n = catalog.catalogNode(node);
  const h = catalog.healthNode(node);
  const results: TxnResult[] = [];
  if (n.value !== undefined) {
    results.push({ kind: "node", node: n.value.node });
    for (const s of n.value.services) results.push({ kind: "service", service: s });
    for (const c of h.value) results.push({ kind: "check", check: c });
  }
  return { index: Math.max(n.index, h.index, 1), results };
}

/** Register the client RPC methods on `srv`; returns a function that removes them. */
export function registerClientEndpoints(srv: RpcHandlers, deps: ClientEndpointDeps): () => void {
  const inflight = new Map<string, ForwardedExchange>();
  /** Parked node-state watches: woken at once on unregister (no timer outlives the server). */
  const parked = new Set<() => void>();
  let closed = false;

  srv.handle(METHOD_CLIENT_PING, () => ({ ok: true }));

  srv.handle(METHOD_INTERNAL_KEYRING, async (body) => {
    if (!isKeyringForwardRequest(body)) throw new CairnError("bad-request", "malformed keyring operation");
    const run = deps.keyring;
    if (run === undefined) throw new CairnError("unavailable", "this server has no LAN keyring");
    return { results: await run(body.op, body.key, body.relayFactor) };
  });

  srv.handle(METHOD_CLIENT_HTTP, async (body, ctx) => {
    if (!isHttpForwardRequest(body)) throw new CairnError("bad-request", "malformed forwarded HTTP request");
    // Only what a client agent forwards: never this server's own agent endpoints (leave, register...).
    let path: string;
    try {
      path = decodeURIComponent(splitTarget(body.target).path);
    } catch {
      throw new CairnError("bad-request", "malformed forwarded request path");
    }
    if (isAgentLocal(path)) throw new CairnError("permission-denied", "agent endpoints are not served to client agents");
    const h = deps.http();
    if (h === undefined) throw new CairnError("unavailable", "this server does not serve forwarded HTTP requests yet");
    const key = `${ctx.remote}/${body.id}`;
    const ex = new ForwardedExchange(body);
    inflight.set(key, ex);
    try {
      h(ex);
      return await ex.done;
    } finally {
      inflight.delete(key);
    }
  });

  srv.handle(METHOD_CLIENT_HTTP_CANCEL, (body, ctx) => {
    const id = stringField(body, "id");
    if (id !== undefined) inflight.get(`${ctx.remote}/${id}`)?.abort();
    return undefined;
  });

  srv.handle(METHOD_CLIENT_APPLY, async (body) => {
    const raw = bytesField(body, "cmd");
    if (raw === undefined) throw new CairnError("bad-request", "malformed forwarded apply");
    const cmd = decodeCommand(raw);
    const result = await deps.backend.apply(cmd);
    return { result: encodeApplyResult(result) };
  });

  srv.handle(METHOD_CLIENT_NODE_STATE, async (body): Promise<NodeStateReply> => {
    if (!isNodeStateRequest(body)) throw new CairnError("bad-request", "malformed node state request");
    const waitMs = Math.max(0, Math.min(body.waitMs, CLIENT_NODE_WATCH_WAIT_MS));
    const deadline = performance.now() + waitMs;
    for (;;) {
      const st = nodeStateRows(deps.catalog, body.node);
      const left = deadline - performance.now();
      if (st.index > body.minIndex || left <= 0 || closed) {
        return { index: st.index, rows: encodeApplyResult({ type: "txn", results: st.results, errors: [] }) };
      }
      await new Promise<void>((resolve) => {
        let cancel: () => void = () => {};
        const wake = (): void => {
          clearTimeout(timer);
          cancel();
          parked.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        cancel = deps.catalog.watchNode(body.node, wake);
        parked.add(wake);
      });
    }
  });

  srv.handle(METHOD_CLIENT_DNS, async (body) => {
    const q = bytesField(body, "query");
    if (q === undefined) throw new CairnError("bad-request", "malformed forwarded DNS query");
    const dns = deps.dns;
    if (dns === undefined) throw new CairnError("unavailable", "this server has no DNS resolver");
    const tcp = typeof body === "object" && body !== null && (body as { tcp?: unknown }).tcp === true;
    const answer = await dns(Buffer.from(q.buffer, q.byteOffset, q.length), tcp);
    return { answer: answer === null ? null : new Uint8Array(answer.buffer, answer.byteOffset, answer.length) };
  });

  const methods = [METHOD_CLIENT_PING, METHOD_CLIENT_HTTP, METHOD_CLIENT_HTTP_CANCEL, METHOD_CLIENT_APPLY, METHOD_CLIENT_NODE_STATE, METHOD_CLIENT_DNS];
  return () => {
    closed = true;
    for (const m of methods) srv.unhandle(m);
    for (const w of [...parked]) w();
    for (const ex of inflight.values()) ex.abort();
    inflight.clear();
  };
}
