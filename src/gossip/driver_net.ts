/**
 * gossip/driver_net: socket-side helpers of the gossip driver: IP text <-> raw bytes as
 * memberlist puts them on the wire, and reading one memberlist stream message (with the
 * dialer's optional label header) from a TCP socket under a deadline. Plaintext stream
 * messages have no length prefix, so a message is complete once it decodes.
 *
 * Must never: read past GOSSIP_MAX_STREAM_BYTES, or wait without a deadline.
 */

import { isIPv4, isIPv6 } from "node:net";
import type { Socket } from "node:net";
import { CairnError } from "../shared/errors.ts";
import { GOSSIP_MAX_STREAM_BYTES } from "../shared/limits.ts";
import { openStream } from "./packet.ts";
import type { StreamMessage } from "./packet.ts";
import { HAS_LABEL, stripLabel } from "./wire.ts";

/** "127.0.0.1" / "::1" -> 4 or 16 raw bytes (v4-mapped v6 becomes 4 bytes). */
export function ipBytes(ip: string): Uint8Array {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) ip = mapped[1] ?? ip;
  if (isIPv4(ip)) return Uint8Array.from(ip.split(".").map(Number));
  if (!isIPv6(ip)) throw new CairnError("bad-request", `not an IP address: ${ip}`);
  const zone = ip.indexOf("%");
  if (zone >= 0) ip = ip.slice(0, zone);
  const [head = "", tail = ""] = ip.split("::");
  const part = (s: string): number[] => (s === "" ? [] : s.split(":").flatMap((g) => {
    if (g.includes(".")) return [...Uint8Array.from(g.split(".").map(Number))].reduce<number[]>((acc, b, i) => {
      if (i % 2 === 0) acc.push(b << 8);
      else acc[acc.length - 1] = (acc[acc.length - 1] ?? 0) | b;
      return acc;
    }, []);
    return [parseInt(g, 16)];
  }));
  const h = part(head);
  const t = ip.includes("::") ? part(tail) : [];
  const groups = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => ((out[i * 2] = g >> 8), (out[i * 2 + 1] = g & 0xff)));
  return out;
}

export { ipText } from "./ip_text.ts";

export interface StreamOpenOptions {
  keys: readonly Uint8Array[];
  verifyIncoming: boolean;
  label: string;
  /** Inbound streams start with the dialer's label header; replies have none. */
  expectLabelHeader: boolean;
  skipLabelCheck?: boolean;
}

function needsMore(e: unknown): boolean {
  const m = e instanceof Error ? e.message : String(e);
  return /truncated|longer than input/.test(m);
}

/**
 * Incremental parser for one stream message: feed bytes, get the message once complete.
 * Throws CairnError for a bad label, bad crypto or a malformed message.
 */
export class StreamParser {
  readonly #opts: StreamOpenOptions;
  #buf = new Uint8Array(0);
  #labelDone: boolean;

  constructor(opts: StreamOpenOptions) {
    this.#opts = opts;
    this.#labelDone = !opts.expectLabelHeader;
  }

  push(chunk: Uint8Array): { msg: StreamMessage; encrypted: boolean } | null {
    if (this.#buf.length + chunk.length > GOSSIP_MAX_STREAM_BYTES + 64) {
      throw new CairnError("too-large", "stream message is larger than the limit");
    }
    const next = new Uint8Array(this.#buf.length + chunk.length);
    next.set(this.#buf);
    next.set(chunk, this.#buf.length);
    this.#buf = next;
    if (!this.#labelDone) {
      if (this.#buf.length < 1) return null;
      if (this.#buf[0] === HAS_LABEL) {
        if (this.#buf.length < 2 || this.#buf.length < 2 + (this.#buf[1] ?? 0)) return null;
      }
      const { label, rest } = stripLabel(this.#buf);
      if (!this.#opts.skipLabelCheck && label !== this.#opts.label) {
        throw new CairnError("bad-request", label === "" ? `missing label header "${this.#opts.label}"`
          : `discarding stream with unacceptable label "${label}"`);
      }
      this.#buf = rest.slice();
      this.#labelDone = true;
    }
    if (this.#buf.length === 0) return null;
    try {
      const r = openStream(this.#buf, this.#opts);
      return { msg: r.msg, encrypted: r.encrypted };
    } catch (e) {
      if (needsMore(e)) return null;
      throw e;
    }
  }
}

/** Reads one message from a socket before deadlineMs (Date.now() based). */
export function readStreamMessage(sock: Socket, opts: StreamOpenOptions, timeoutMs: number): Promise<StreamMessage> {
  return new Promise((resolve, reject) => {
    const parser = new StreamParser(opts);
    const done = (err: Error | null, msg?: StreamMessage): void => {
      clearTimeout(timer);
      sock.off("data", onData);
      sock.off("error", onErr);
      sock.off("close", onClose);
      if (err) reject(err);
      else if (msg) resolve(msg);
    };
    const onData = (d: Uint8Array): void => {
      try {
        const r = parser.push(d);
        if (r) done(null, r.msg);
      } catch (e) {
        done(e instanceof Error ? e : new Error(String(e)));
      }
    };
    const onErr = (e: Error): void => done(e);
    const onClose = (): void => done(new CairnError("unavailable", "stream closed before a full message"));
    const timer = setTimeout(() => done(new CairnError("unavailable", "i/o timeout reading stream")), Math.max(1, timeoutMs));
    sock.on("data", onData);
    sock.on("error", onErr);
    sock.on("close", onClose);
  });
}
