/**
 * gossip/driver_packets: the gossip driver's UDP side: framing (compound, compression,
 * CRC), sealing with a random nonce under the primary key (when verifyOutgoing) and the
 * label, sending; and opening, verifying and decoding a received packet for the SWIM core.
 *
 * Must never: throw out of a socket callback (a bad packet is logged and dropped), or
 * send after close.
 */

import { randomBytes } from "node:crypto";
import type { RemoteInfo } from "node:dgram";
import type { Address } from "./core_types.ts";
import { ipBytes, ipText } from "./driver_net.ts";
import type { DriverState } from "./driver_state.ts";
import { framePayloads, openPacket, sealPacket } from "./packet.ts";
import { decodeFrame, frameMessages } from "./wire.ts";

export function sealKey(d: DriverState): Uint8Array | undefined {
  return d.verifyOutgoing ? d.keyring.primaryKey() : undefined;
}

export function sendPacket(d: DriverState, to: Address, parts: Uint8Array[], crc: boolean): void {
  if (d.closed) return;
  let payloads: Uint8Array[];
  try {
    payloads = framePayloads(parts, { crc, compress: d.config.enableCompression });
  } catch (e) {
    d.log("warn", `cannot frame packet: ${String(e)}`);
    return;
  }
  const key = sealKey(d);
  for (const p of payloads) {
    const sealed = sealPacket(p, { label: d.label, key, nonce: key ? randomBytes(12) : undefined });
    d.udp.send(sealed, to.port, ipText(to.addr), (err) => {
      if (err) d.log("debug", `udp send to ${ipText(to.addr)}:${to.port}: ${err.message}`);
    });
  }
}

export function onPacket(d: DriverState, buf: Uint8Array, rinfo: RemoteInfo): void {
  if (d.closed) return;
  try {
    const { frame } = openPacket(buf, {
      label: d.label, keys: d.keyring.keys(), verifyIncoming: d.verifyIncoming,
    });
    const msgs = frameMessages(decodeFrame(frame));
    const from = { addr: ipBytes(rinfo.address), port: rinfo.port };
    d.sink.apply(d.core.handlePacket(performance.now(), from, msgs));
  } catch (e) {
    d.log("debug", `dropping packet from ${rinfo.address}:${rinfo.port}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
