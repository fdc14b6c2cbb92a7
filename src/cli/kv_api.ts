/**
 * cli/kv_api: the KV calls of Consul's Go api package (api/kv.go), over ConsulHttpClient.
 *
 * Must never: print or decide exit codes.
 */

import { type ConsulHttpClient, HttpClientError, requireOk } from "./http_client.ts";

export interface KVPair {
  readonly key: string;
  readonly createIndex: number;
  readonly modifyIndex: number;
  readonly lockIndex: number;
  readonly flags: number;
  readonly value: Buffer;
  readonly session: string;
}

function field(o: Record<string, unknown>, name: string): unknown {
  return o[name];
}

function toPair(raw: unknown): KVPair {
  if (typeof raw !== "object" || raw === null) throw new HttpClientError("malformed KV entry in response");
  const o = raw as Record<string, unknown>;
  const num = (n: string): number => {
    const v = field(o, n);
    return typeof v === "number" ? v : 0;
  };
  const v = field(o, "Value");
  const s = field(o, "Session");
  const k = field(o, "Key");
  return {
    key: typeof k === "string" ? k : "",
    createIndex: num("CreateIndex"),
    modifyIndex: num("ModifyIndex"),
    lockIndex: num("LockIndex"),
    flags: num("Flags"),
    value: typeof v === "string" ? Buffer.from(v, "base64") : Buffer.alloc(0),
    session: typeof s === "string" ? s : "",
  };
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (e) {
    throw new HttpClientError(`malformed response: ${(e as Error).message}`);
  }
}

function pairs(body: Buffer): KVPair[] {
  const j = parseJson(body);
  if (j === null) return [];
  if (!Array.isArray(j)) throw new HttpClientError("malformed response: expected a JSON array");
  return j.map(toPair);
}

function boolBody(body: Buffer): boolean {
  return body.toString("utf8").trim() === "true";
}

export class KVApi {
  private readonly c: ConsulHttpClient;
  constructor(client: ConsulHttpClient) {
    this.c = client;
  }

  /** A missing key is null. */
  async get(key: string): Promise<KVPair | null> {
    const res = await this.c.request("GET", `/v1/kv/${key}`, [], undefined, true);
    if (res.status === 404) return null;
    requireOk(res);
    return pairs(res.body)[0] ?? null;
  }

  async list(prefix: string): Promise<KVPair[]> {
    const res = await this.c.request("GET", `/v1/kv/${prefix}`, [["recurse", ""]], undefined, true);
    if (res.status === 404) return [];
    requireOk(res);
    return pairs(res.body);
  }

  async keys(prefix: string, separator: string): Promise<string[]> {
    const params: Array<readonly [string, string]> = [["keys", ""]];
    if (separator !== "") params.push(["separator", separator]);
    const res = await this.c.request("GET", `/v1/kv/${prefix}`, params, undefined, true);
    if (res.status === 404) return [];
    requireOk(res);
    const j = parseJson(res.body);
    if (j === null) return [];
    if (!Array.isArray(j)) throw new HttpClientError("malformed response: expected a JSON array");
    return j.map((k) => String(k));
  }

  private async put(key: string, value: Uint8Array, params: Array<readonly [string, string]>, flags: number): Promise<boolean> {
    if (flags !== 0) params.push(["flags", String(flags)]);
    const res = await this.c.request("PUT", `/v1/kv/${key}`, params, value);
    requireOk(res);
    return boolBody(res.body);
  }

  async putValue(key: string, value: Uint8Array, flags: number): Promise<void> {
    await this.put(key, value, [], flags);
  }
  cas(key: string, value: Uint8Array, flags: number, modifyIndex: number): Promise<boolean> {
    return this.put(key, value, [["cas", String(modifyIndex)]], flags);
  }
  acquire(key: string, value: Uint8Array, flags: number, session: string): Promise<boolean> {
    return this.put(key, value, [["acquire", session]], flags);
  }
  release(key: string, value: Uint8Array, flags: number, session: string): Promise<boolean> {
    return this.put(key, value, [["release", session]], flags);
  }

  async delete(key: string): Promise<void> {
    requireOk(await this.c.request("DELETE", `/v1/kv/${key}`));
  }
  async deleteTree(prefix: string): Promise<void> {
    requireOk(await this.c.request("DELETE", `/v1/kv/${prefix}`, [["recurse", ""]]));
  }
  async deleteCas(key: string, modifyIndex: number): Promise<boolean> {
    const res = await this.c.request("DELETE", `/v1/kv/${key}`, [["cas", String(modifyIndex)]]);
    requireOk(res);
    return boolBody(res.body);
  }
}
