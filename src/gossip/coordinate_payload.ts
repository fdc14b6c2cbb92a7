/**
 * gossip/coordinate_payload: serf's ping ack payload: `[1 = PingVersion]` +
 * msgpack {Adjustment, Error, Height, Vec} (Go's msgpack field order), encoded
 * from and decoded to a Vivaldi coordinate.
 *
 * Must never: throw on a peer's malformed payload (decode answers undefined).
 */

import type { Coordinate } from "../coordinate/index.ts";
import { ByteWriter, MsgFloat, decodeValue, writeValue } from "./msgpack.ts";
import type { MsgValue } from "./msgpack.ts";

/** serf's PingVersion. */
export const PING_VERSION = 1;

export function encodeCoordinatePayload(c: Coordinate): Uint8Array {
  const w = new ByteWriter(128);
  w.u8(PING_VERSION);
  const m = new Map<string, MsgValue>([
    ["Adjustment", new MsgFloat(c.Adjustment)],
    ["Error", new MsgFloat(c.Error)],
    ["Height", new MsgFloat(c.Height)],
    ["Vec", c.Vec.map((x) => new MsgFloat(x))],
  ]);
  writeValue(w, m);
  return w.finish();
}

function num(v: MsgValue | undefined): number | undefined {
  if (v instanceof MsgFloat) return v.value;
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  return undefined;
}

/** The peer's coordinate from an ack payload; undefined when absent, of another version or malformed. */
export function decodeCoordinatePayload(p: Uint8Array | null): Coordinate | undefined {
  if (p === null || p.length < 2 || p[0] !== PING_VERSION) return undefined;
  let v: MsgValue;
  try {
    v = decodeValue(p.subarray(1));
  } catch {
    return undefined;
  }
  if (!(v instanceof Map)) return undefined;
  const vec = v.get("Vec");
  if (!Array.isArray(vec)) return undefined;
  const xs = vec.map(num);
  if (!xs.every((x): x is number => x !== undefined)) return undefined;
  const err = num(v.get("Error")), adj = num(v.get("Adjustment")), h = num(v.get("Height"));
  if (err === undefined || adj === undefined || h === undefined) return undefined;
  return { Vec: xs, Error: err, Adjustment: adj, Height: h };
}
