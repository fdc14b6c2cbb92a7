/**
 * agent/local: the agent's own services and checks — local state (source of truth),
 * check runtimes, persistence under the data dir, and anti-entropy to the catalog.
 *
 *   const local = await startLocalAgent({ backend, nodeName, nodeId, datacenter, address, dataDir, config, logger });
 *   ... startHttpServer({ ..., local })
 *   await local.close();
 *
 * Must never: be imported by src/state or src/server (it sits above them).
 */

export { startLocalAgent, type LocalAgent, type LocalAgentOptions, type LocalConfig, type LocalLogFn } from "./agent.ts";
export { defaultNodeTaggedAddresses, metaError, weightsError } from "./validate.ts";
export { decodeCheck, decodeCheckUpdate, decodeService, DefinitionError, type CheckDefinition, type ServiceDefinition } from "./decode.ts";
export { createCheckPool, type CheckPool } from "./pool.ts";
export { scaleFactor, nextFullSyncMs } from "./ae.ts";
export {
  NODE_MAINT_CHECK_ID,
  SERVICE_MAINT_PREFIX,
  type ConfigSource,
  type LocalAgentApi,
  type LocalCheck,
  type LocalService,
} from "./types.ts";
