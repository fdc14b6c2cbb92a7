/**
 * tests/agent/config/load_args: an agent's runtime config from its command-line args, as
 * `cairn agent` builds it, on a fixed test host (hostname "testhost", private IPv4 10.1.2.3);
 * any flag or config error throws with its messages. Not a test file.
 *
 * Must never: read the real host's name or addresses.
 */
import { agentFlagSet, hostDeps, loadConfig, loadOptionsFromFlags, type LoadDeps, type RuntimeConfig } from "../../../src/agent/config/index.ts";

export const TEST_HOST_DEPS: LoadDeps = { ...hostDeps(), hostname: () => "testhost", privateIPv4: () => ["10.1.2.3"], publicIPv6: () => [] };

export async function loadArgs(args: string[]): Promise<RuntimeConfig> {
  const fs = agentFlagSet();
  const p = fs.parse(args);
  if (p.kind !== "ok") throw new Error(`flags: ${JSON.stringify(p)}`);
  const o = loadOptionsFromFlags(fs);
  if (!o.ok) throw new Error(o.errors.join("\n"));
  const r = await loadConfig(o.options, TEST_HOST_DEPS);
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return r.config;
}
