/**
 * connect: public face of the built-in Connect CA (config parsing/validation, root
 * generation, rotation and pruning, leaf signing, the roots JSON) and the authorize decision.
 *
 * HTTP routes, blocking queries, the FSM commands that store roots/config and the agent's
 * leaf cache live elsewhere and use only what is exported here.
 *
 * Must never: export private-key-bearing records in a client-facing shape (use rootsResponse).
 */

export type {
  AgentCAConfigResult,
  AgentConnectCA,
  CAConfig,
  CAProviderSettings,
  PrivateKeyType,
  PutCAConfigResult,
} from "./config.ts";
export {
  CONSUL_CA_PROVIDER,
  caConfigFromAgent,
  defaultCAConfig,
  parseCAConfigPut,
  providerState,
  parseProviderSettings,
  providerIdentityChanged,
} from "./config.ts";

export type {
  CADeps,
  CARootJSON,
  CARootList,
  CARootRecord,
  LeafCert,
  LeafRequest,
  RotateOptions,
  RotateResult,
} from "./ca.ts";
export {
  colonHex,
  crossSign,
  generateRoot,
  leafAuthorityKeyID,
  leafSignedByActiveRoot,
  leafSoftExpiry,
  pruneRoots,
  rootsResponse,
  rotate,
  signLeaf,
  systemCADeps,
} from "./ca.ts";

export type { AgentIdentity, ServiceIdentity, SigningIdentity, SpiffeIdentity } from "./spiffe.ts";
export { parseSpiffeURI, serviceURI, signingURI, trustDomainFor } from "./spiffe.ts";

export type { AuthorizeOptions, AuthorizeRequest, AuthorizeResponse } from "./authorize.ts";
export { authorize, parseAuthorizeRequest } from "./authorize.ts";

export { formatGoDuration, formatGoTime, parseGoDurationMs } from "./duration.ts";

export type { CALeaderDeps, ConnectAgent, ConnectAgentOptions } from "./leader.ts";
export { CALeader, caConfigJSON, rootRecord, startConnectAgent, storedTrustDomain } from "./leader.ts";
export type { LeafCacheDeps, LeafQuery, LeafResult, LeafSigner } from "./leaf_cache.ts";
export { LeafCache, realLeafCacheDeps, storeLeafSigner } from "./leaf_cache.ts";
