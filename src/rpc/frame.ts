/**
 * rpc/frame: the wire format of the server port (8300): a u32 big-endian
 * length, then a msgpackr body. Bodies are small arrays:
 *
 *   [0, id, method, body]     request (answered by a response with the same id)
 *   [1, id, body]             response: success
 *   [2, id, kind, message]    response: error (kind is an ErrorKind)
 *   [3, method, body]         cast: one-way, never answered (Raft traffic)
 *
 * A connection starts with one protocol byte (PROTOCOL_CAIRN) so the port can
 * later carry other protocols (TLS) chosen by that byte, as Consul's 8300 mux does.
 *
 * Must never: accept a frame above RPC_MAX_FRAME_BYTES, return a frame that is
 * not one of the four shapes, or copy a large frame more than once.
 */

import { Packr } from "msgpackr";
import { RPC_MAX_FRAME_BYTES, RPC_MAX_METHOD_LENGTH } from "../shared/limits.ts";
import type { ErrorKind } from "../shared/errors.ts";

/** First byte a client sends on a new connection: cairn's framed RPC, version 1. */
export const PROTOCOL_CAIRN = 0x43;

export type Frame =
  | { readonly t: "request"; readonly id: number; readonly method: string; readonly body: unknown }
  | { readonly t: "ok"; readonly id: number; readonly body: unknown }
  | { readonly t: "error"; readonly id: number; readonly kind: ErrorKind; readonly message: string }
  | { readonly t: "cast"; readonly method: string; readonly body: unknown };

const KINDS: ReadonlySet<string> = new Set<ErrorKind>([
  "bad-request",
  "permission-denied",
  "not-found",
  "method-not-allowed",
  "conflict",
  "too-large",
  "rate-limited",
  "no-leader",
  "internal",
  "unavailable",
]);

// copyBuffers: decoded byte strings must not keep whole frames alive (log entries live long).
const packr = new Packr({ useRecords: false, copyBuffers: true } as ConstructorParameters<typeof Packr>[0]);

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FrameError";
  }
}

/** Encode a frame as [header, body] buffers (written together under cork). */
export function encodeFrame(f: Frame): [Buffer, Buffer] {
  let arr: unknown[];
  switch (f.t) {
    case "request":
      arr = [0, f.id, f.method, f.body];
      break;
    case "ok":
      arr = [1, f.id, f.body];
      break;
    case "error":
      arr = [2, f.id, f.kind, f.message];
      break;
    case "cast":
      arr = [3, f.method, f.body];
      break;
  }
  const body = packr.pack(arr);
  if (body.length > RPC_MAX_FRAME_BYTES) throw new FrameError(`rpc: frame of ${body.length} bytes exceeds ${RPC_MAX_FRAME_BYTES}`);
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(body.length, 0);
  return [head, body];
}

function isId(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x > 0;
}

function isMethod(x: unknown): x is string {
  return typeof x === "string" && x.length > 0 && x.length <= RPC_MAX_METHOD_LENGTH;
}

/** Validate a decoded body; throws FrameError on anything but the four shapes. */
export function parseFrame(body: Uint8Array): Frame {
  let v: unknown;
  try {
    v = packr.unpack(body);
  } catch (e) {
    throw new FrameError(`rpc: undecodable frame (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!Array.isArray(v) || v.length < 3) throw new FrameError("rpc: frame is not an array");
  const tag: unknown = v[0];
  if (tag === 0 && v.length === 4 && isId(v[1]) && isMethod(v[2])) return { t: "request", id: v[1], method: v[2], body: v[3] };
  if (tag === 1 && v.length === 3 && isId(v[1])) return { t: "ok", id: v[1], body: v[2] };
  if (tag === 2 && v.length === 4 && isId(v[1]) && typeof v[2] === "string" && KINDS.has(v[2]) && typeof v[3] === "string") {
    return { t: "error", id: v[1], kind: v[2] as ErrorKind, message: v[3] };
  }
  if (tag === 3 && v.length === 3 && isMethod(v[1])) return { t: "cast", method: v[1], body: v[2] };
  throw new FrameError("rpc: malformed frame");
}

/**
 * Splits a byte stream into frame bodies. Chunks are kept in a list until a
 * whole frame is there, then joined once.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private have = 0;
  /** Body length of the frame being collected, -1 while the header is incomplete. */
  private need = -1;
  private readonly max: number;

  constructor(max: number = RPC_MAX_FRAME_BYTES) {
    this.max = max;
  }

  /** Feed bytes; returns the complete bodies. Throws FrameError on an oversized length. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.have += chunk.length;
    }
    for (;;) {
      if (this.need < 0) {
        if (this.have < 4) return out;
        const head = this.take(4);
        const n = head.readUInt32BE(0);
        if (n > this.max) throw new FrameError(`rpc: frame length ${n} exceeds ${this.max}`);
        this.need = n;
      }
      if (this.have < this.need) return out;
      out.push(this.take(this.need));
      this.need = -1;
    }
  }

  /** Bytes buffered but not yet returned. */
  buffered(): number {
    return this.have;
  }

  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) {
      const part = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.have -= n;
      return part;
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.have -= n;
    return out;
  }
}
