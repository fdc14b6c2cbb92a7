/**
 * agent/unix_socket: apply Consul's `unix_sockets { mode, user, group }` to a listening socket.
 *
 * Consul takes `mode` as an octal string ("0770") and `user`/`group` as numeric IDs;
 * an empty value leaves that attribute as the OS made it. Bad values are errors.
 *
 * Must never: change anything but the socket file it is given.
 */

import { chmodSync, chownSync, statSync } from "node:fs";
import { CairnError } from "../shared/errors.ts";

export interface UnixSocketPerms {
  readonly mode: string;
  readonly user: string;
  readonly group: string;
}

export function parsePerms(p: UnixSocketPerms): { mode?: number; uid?: number; gid?: number } {
  const out: { mode?: number; uid?: number; gid?: number } = {};
  if (p.mode !== "") {
    if (!/^[0-7]{3,4}$/.test(p.mode)) throw new CairnError("bad-request", `invalid unix_sockets.mode ${JSON.stringify(p.mode)}: expected an octal mode such as "0770"`);
    out.mode = parseInt(p.mode, 8);
  }
  if (p.user !== "") {
    if (!/^\d+$/.test(p.user)) throw new CairnError("bad-request", `invalid unix_sockets.user ${JSON.stringify(p.user)}: expected a numeric user ID`);
    out.uid = Number(p.user);
  }
  if (p.group !== "") {
    if (!/^\d+$/.test(p.group)) throw new CairnError("bad-request", `invalid unix_sockets.group ${JSON.stringify(p.group)}: expected a numeric group ID`);
    out.gid = Number(p.group);
  }
  return out;
}

export function applySocketPerms(path: string, p: UnixSocketPerms): void {
  const { mode, uid, gid } = parsePerms(p);
  if (mode !== undefined) chmodSync(path, mode);
  if (uid !== undefined || gid !== undefined) {
    const st = statSync(path);
    chownSync(path, uid ?? st.uid, gid ?? st.gid);
  }
}
