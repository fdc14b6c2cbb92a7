/**
 * agent/config: public face of the configuration loader.
 *
 * Must never: hold logic (see load.ts, build.ts, tree.ts).
 */

export type { RuntimeConfig, LogLevel, PortsConfig, ListenAddresses, GossipConfig, AclConfig, DnsConfig } from "./types.ts";
export type { ConfigTree, ConfigValue } from "./tree.ts";
export type { LoadOptions, LoadDeps, LoadResult } from "./load.ts";
export type { BuildDeps } from "./build.ts";
export { loadConfig, hostDeps } from "./load.ts";
export { agentFlagSet, loadOptionsFromFlags } from "./flags.ts";
export { parseGoDuration } from "./duration.ts";
