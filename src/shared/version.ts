/**
 * version: the versions cairn reports about itself.
 *
 * cairn implements the HTTP API, CLI and wire formats of one Consul release
 * (CONSUL_API_VERSION); tools that parse `consul version` see that version.
 * cairn's own version is reported next to it.
 *
 * Must never: do I/O (the environment comes in as an argument).
 */

/** The Consul release whose external behaviour cairn implements. */
export const CONSUL_API_VERSION = "1.22.0";
/** Consul's VersionPrerelease (empty for a release). */
export const CONSUL_VERSION_PRERELEASE = "";
/** cairn's own version (package.json "version"; a test keeps them equal). */
export const CAIRN_VERSION = "0.1.0";
/** Build date used when CAIRN_BUILD_DATE is not set (RFC 3339, UTC). */
export const DEFAULT_BUILD_DATE = "2026-01-01T00:00:00Z";
/** Consul's RPC protocol numbers: default 2, understands 2 to 3. */
export const RPC_PROTOCOL = { Default: 2, Min: 2, Max: 3 } as const;

export interface VersionInfo {
  /** "1.22.0" or "1.22.0-beta1". */
  human: string;
  version: string;
  revision: string;
  prerelease: string;
  buildDate: string;
  cairn: string;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Version facts; revision and build date may come from the environment. */
export function versionInfo(env: Readonly<Record<string, string | undefined>>): VersionInfo {
  const revision = env["CAIRN_REVISION"] || "unknown";
  const date = env["CAIRN_BUILD_DATE"];
  const buildDate = date !== undefined && RFC3339.test(date) ? date : DEFAULT_BUILD_DATE;
  const human = CONSUL_VERSION_PRERELEASE
    ? `${CONSUL_API_VERSION}-${CONSUL_VERSION_PRERELEASE}`
    : CONSUL_API_VERSION;
  return {
    human,
    version: CONSUL_API_VERSION,
    revision,
    prerelease: CONSUL_VERSION_PRERELEASE,
    buildDate,
    cairn: CAIRN_VERSION,
  };
}
