/**
 * authorize: the decision behind POST /v1/agent/connect/authorize (Consul's
 * Agent.ConnectAuthorize), with Consul's request checks and reason texts.
 *
 * Intentions are not modelled here: a caller that has them passes `matchIntention`;
 * without a match the default applies (allow while ACLs are disabled).
 *
 * Must never: do I/O or look at ACL tokens itself.
 */

import { CairnError } from "../shared/errors.ts";
import { parseSpiffeURI } from "./spiffe.ts";
import type { ServiceIdentity } from "./spiffe.ts";

/** The request body: Consul's structs.ConnectAuthorizeRequest. */
export interface AuthorizeRequest {
  Target: string;
  ClientCertURI: string;
  ClientCertSerial?: string;
}

/** The response body. */
export interface AuthorizeResponse {
  Authorized: boolean;
  Reason: string;
}

export interface AuthorizeOptions {
  /** Whether ACLs are enabled; when not, the default is allow. */
  aclsEnabled: boolean;
  /** With ACLs enabled: does the default policy allow intentions (acl.default_policy = allow)? */
  aclDefaultAllow?: boolean;
  /** An L4 intention decision for source -> target, if one matches. */
  matchIntention?: (source: ServiceIdentity, target: string) => AuthorizeResponse | undefined;
}

/** Reads an authorize body; errors are Consul's 400 texts. */
export function parseAuthorizeRequest(body: unknown): AuthorizeRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new CairnError("bad-request", "Invalid request");
  }
  const b = body as Record<string, unknown>;
  const str = (v: unknown): string => (typeof v === "string" ? v : "");
  const req: AuthorizeRequest = { Target: str(b["Target"]), ClientCertURI: str(b["ClientCertURI"]) };
  if (typeof b["ClientCertSerial"] === "string") req.ClientCertSerial = b["ClientCertSerial"];
  return req;
}

export function authorize(req: AuthorizeRequest, opts: AuthorizeOptions): AuthorizeResponse {
  if (req.Target === "") throw new CairnError("bad-request", "Target service must be specified");
  const id = parseSpiffeURI(req.ClientCertURI);
  if (id === undefined) throw new CairnError("bad-request", "ClientCertURI not a valid Connect identifier");
  if (id.kind !== "service") throw new CairnError("bad-request", "ClientCertURI not a valid Service identifier");
  const matched = opts.matchIntention?.(id, req.Target);
  if (matched !== undefined) return matched;
  if (!opts.aclsEnabled) return { Authorized: true, Reason: "ACLs disabled, access is allowed by default" };
  return { Authorized: opts.aclDefaultAllow === true, Reason: "Default behavior configured by ACLs" };
}
