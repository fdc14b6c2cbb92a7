/**
 * cli/snapshot: `snapshot` (parent, shows its help) and Consul's command/snapshot
 * subcommands: `save FILE` (GET /v1/snapshot into FILE.unverified, verified, renamed:
 * "Saved and verified snapshot to index N"; -append-filename version,dc,node,status), `restore FILE` (PUT /v1/snapshot:
 * "Restored snapshot") and `inspect FILE` (meta table and per-type breakdown, with
 * -kvdetails/-kvdepth/-kvfilter and -format pretty|json), with Consul's error texts.
 *
 * The archive container is Consul's; state.bin is cairn's own store snapshot, so
 * cairn archives restore into cairn only (Consul's state.bin is not readable by cairn).
 *
 * Must never: leave a FILE behind that did not verify, or talk to the store directly.
 */

import { readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { CliIO, Command } from "./command.ts";
import { RUN_RESULT_HELP, error, info } from "./command.ts";
import { FlagSet, renderUsage } from "./flags.ts";
import { addHttpFlags, requireOk, type ConsulHttpClient } from "./http_client.ts";
import { EXIT_ERROR, EXIT_OK, parseFlags } from "./parse.ts";
import { agentClient, getJson } from "./services_common.ts";
import { SNAPSHOT_MAX_ARCHIVE_BYTES, SNAPSHOT_MAX_READ_STATE_BYTES } from "../shared/limits.ts";
import { decodeMeta, formatJson, formatPretty, inspectState, isCairnState, readArchive, type SnapshotMeta } from "../snapshot/index.ts";

/** Go's *PathError text for an open/read failure ("open FILE: no such file or directory"). */
function openError(e: unknown, file: string): string {
  const code = typeof e === "object" && e !== null ? (e as { code?: unknown }).code : undefined;
  const reason: Record<string, string> = {
    ENOENT: "no such file or directory",
    EACCES: "permission denied",
    EISDIR: "is a directory",
  };
  const r = typeof code === "string" ? reason[code] : undefined;
  return r !== undefined ? `open ${file}: ${r}` : e instanceof Error ? e.message : String(e);
}

/** The FILE argument: exactly one. */
function fileArg(args: readonly string[], io: CliIO): string | undefined {
  if (args.length === 0) {
    error(io, "Missing FILE argument");
    return undefined;
  }
  if (args.length > 1) {
    error(io, `Too many arguments (expected 1, got ${args.length})`);
    return undefined;
  }
  return args[0];
}

export const snapshotCommand: Command = {
  help: (prog) =>
    `Usage: ${prog} snapshot <subcommand> [options] [args]

  This command has subcommands for saving, restoring, and inspecting the state
  of the Consul servers for disaster recovery. These are atomic, point-in-time
  snapshots which include key/value entries, service catalog, prepared queries,
  sessions, and ACLs.

  If ACLs are enabled, a management token must be supplied in order to perform
  snapshot operations.

  Create a snapshot:

      $ ${prog} snapshot save backup.snap

  Restore a snapshot:

      $ ${prog} snapshot restore backup.snap

  Inspect a snapshot:

      $ ${prog} snapshot inspect backup.snap

  For more examples, ask for subcommand help or view the documentation.`,
  run: () => Promise.resolve(RUN_RESULT_HELP),
};

// ---- save --------------------------------------------------------------------

function httpFlags(): FlagSet {
  const fs = new FlagSet();
  addHttpFlags(fs);
  return fs;
}

function saveFlags(): FlagSet {
  const fs = httpFlags();
  fs.string(
    "append-filename",
    "",
    "Append filename flag takes two possible values. 1. version, 2. dc. 3. node 5. status. It appends consul version and datacenter to filename given in command",
  );
  return fs;
}

/** Go's filepath.Ext: the suffix from the last dot of the last path element. */
function goExt(file: string): string {
  for (let i = file.length - 1; i >= 0 && file[i] !== "/"; i--) if (file[i] === ".") return file.slice(i);
  return "";
}

/** Consul's -append-filename: version, dc, node, status (leader|follower) from /v1/agent/self, in that order. */
async function appendedName(client: ConsulHttpClient, file: string, list: string): Promise<string> {
  const want = list.split(",");
  const self = (await getJson(client, "/v1/agent/self")) as { Config?: Record<string, unknown>; Stats?: Record<string, Record<string, unknown>> };
  const ext = goExt(file);
  let name = file.slice(0, file.length - ext.length);
  const cfg = self.Config ?? {};
  const add = (v: unknown): void => {
    if (typeof v === "string") name += "-" + v;
  };
  if (want.includes("version")) add(cfg["Version"]);
  if (want.includes("dc")) add(cfg["Datacenter"]);
  if (want.includes("node")) add(cfg["NodeName"]);
  if (want.includes("status")) {
    const leader = self.Stats?.["consul"]?.["leader"];
    if (leader !== undefined) add(leader === "true" ? "leader" : "follower");
  }
  return name + ext;
}

const saveHelp = (prog: string): string => `
Usage: ${prog} snapshot save [options] FILE

  Retrieves an atomic, point-in-time snapshot of the state of the Consul servers
  which includes key/value entries, service catalog, prepared queries, sessions,
  and ACLs.

  If ACLs are enabled, a management token must be supplied in order to perform
  snapshot operations.

  To create a snapshot from the leader server and save it to "backup.snap":

    $ ${prog} snapshot save backup.snap

  To create a potentially stale snapshot from any available server (useful if no
  leader is available):

    $ ${prog} snapshot save -stale backup.snap

  For a full list of options and examples, please see the Consul documentation.
`;

export const snapshotSaveCommand: Command = {
  help: (prog) => renderUsage(saveHelp(prog), saveFlags()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = saveFlags();
    const p = parseFlags(fs, argv, io, saveHelp(io.prog));
    if (!p.ok) return p.code;
    let file = fileArg(p.args, io);
    if (file === undefined) return EXIT_ERROR;
    const client = await agentClient(fs, io);
    if (!client) return EXIT_ERROR;
    const append = fs.getString("append-filename");
    if (append !== "") {
      try {
        file = await appendedName(client, file, append);
      } catch (e) {
        error(io, `Error connecting to Consul agent and fetching datacenter/version: ${(e as Error).message}`);
        return EXIT_ERROR;
      }
    }
    let body: Buffer;
    let index: string;
    try {
      const res = await client.request("GET", "/v1/snapshot", [], undefined, true);
      requireOk(res);
      body = res.body;
      const h = res.headers["x-consul-index"];
      index = (Array.isArray(h) ? h[0] : h) ?? "0";
    } catch (e) {
      error(io, `Error saving snapshot: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    const unverified = file + ".unverified";
    try {
      await writeFile(unverified, body, { mode: 0o600 });
    } catch (e) {
      error(io, `Error writing unverified snapshot file: ${openError(e, unverified)}`);
      return EXIT_ERROR;
    }
    try {
      try {
        await readArchive(new Uint8Array(await readFile(unverified)), { maxStateBytes: SNAPSHOT_MAX_READ_STATE_BYTES });
      } catch (e) {
        error(io, `Error verifying snapshot file: ${(e as Error).message}`);
        return EXIT_ERROR;
      }
      try {
        await rename(unverified, file);
      } catch (e) {
        error(io, `Error renaming ${JSON.stringify(unverified)} to ${JSON.stringify(file)}: ${(e as Error).message}`);
        return EXIT_ERROR;
      }
    } finally {
      await rm(unverified, { force: true });
    }
    info(io, `Saved and verified snapshot to index ${index}`);
    return EXIT_OK;
  },
};

// ---- restore -----------------------------------------------------------------

const restoreHelp = (prog: string): string => `
Usage: ${prog} snapshot restore [options] FILE

  Restores an atomic, point-in-time snapshot of the state of the Consul servers
  which includes key/value entries, service catalog, prepared queries, sessions,
  and ACLs.

  Restores involve a potentially dangerous low-level Raft operation that is not
  designed to handle server failures during a restore. This command is primarily
  intended to be used when recovering from a disaster, restoring into a fresh
  cluster of Consul servers.

  If ACLs are enabled, a management token must be supplied in order to perform
  snapshot operations.

  To restore a snapshot from the file "backup.snap":

    $ ${prog} snapshot restore backup.snap

  For a full list of options and examples, please see the Consul documentation.
`;

export const snapshotRestoreCommand: Command = {
  help: (prog) => renderUsage(restoreHelp(prog), httpFlags()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = httpFlags();
    const p = parseFlags(fs, argv, io, restoreHelp(io.prog));
    if (!p.ok) return p.code;
    const file = fileArg(p.args, io);
    if (file === undefined) return EXIT_ERROR;
    const client = await agentClient(fs, io);
    if (!client) return EXIT_ERROR;
    let data: Buffer;
    try {
      const st = await stat(file);
      if (st.size > SNAPSHOT_MAX_ARCHIVE_BYTES) {
        error(io, `Error restoring snapshot: snapshot archive of ${st.size} bytes is too large: the limit is ${SNAPSHOT_MAX_ARCHIVE_BYTES} bytes`);
        return EXIT_ERROR;
      }
      data = await readFile(file);
    } catch (e) {
      error(io, `Error opening snapshot file: ${openError(e, file)}`);
      return EXIT_ERROR;
    }
    try {
      requireOk(await client.request("PUT", "/v1/snapshot", [], new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
    } catch (e) {
      error(io, `Error restoring snapshot: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    info(io, "Restored snapshot");
    return EXIT_OK;
  },
};

// ---- inspect -----------------------------------------------------------------

function inspectFlags(): FlagSet {
  const fs = new FlagSet();
  fs.bool("kvdetails", "Provides a detailed KV space usage breakdown for any KV data that's been stored.");
  fs.int("kvdepth", 2, "Can only be used with -kvdetails. The key prefix depth used to breakdown KV store data. Defaults to 2.");
  fs.string("kvfilter", "", "Can only be used with -kvdetails. Limits KV key breakdown using this prefix filter.");
  fs.string("format", "pretty", "Output format {pretty|json}");
  return fs;
}

const inspectHelp = (prog: string): string => `
Usage: ${prog} snapshot inspect [options] FILE

  Displays information about a snapshot file on disk.

  To inspect the file "backup.snap":

    $ ${prog} snapshot inspect backup.snap

  For a full list of options and examples, please see the Consul documentation.
`;

/** A raw state.bin with meta.json beside it (Consul reads raft's snapshot directory this way). */
async function readRaw(file: string, io: CliIO): Promise<{ meta: SnapshotMeta; state: Uint8Array } | undefined> {
  let state: Uint8Array;
  try {
    state = new Uint8Array(await readFile(file));
  } catch (e) {
    error(io, `Error opening snapshot file: ${openError(e, file)}`);
    return undefined;
  }
  const metaPath = path.join(path.dirname(file), "meta.json");
  let raw: Uint8Array;
  try {
    raw = new Uint8Array(await readFile(metaPath));
  } catch (e) {
    error(io, `Error reading meta.json from internal snapshot dir: ${openError(e, metaPath)}`);
    return undefined;
  }
  try {
    return { meta: decodeMeta(raw), state };
  } catch (e) {
    error(io, `Error parsing meta.json from internal snapshot dir: ${(e as Error).message}`);
    return undefined;
  }
}

export const snapshotInspectCommand: Command = {
  help: (prog) => renderUsage(inspectHelp(prog), inspectFlags()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = inspectFlags();
    const p = parseFlags(fs, argv, io, inspectHelp(io.prog));
    if (!p.ok) return p.code;
    const file = fileArg(p.args, io);
    if (file === undefined) return EXIT_ERROR;
    const format = fs.getString("format");
    let archive: { meta: SnapshotMeta; state: Uint8Array };
    if (path.basename(file).toLowerCase() === "state.bin") {
      const r = await readRaw(file, io);
      if (r === undefined) return EXIT_ERROR;
      archive = r;
    } else {
      let gz: Uint8Array;
      try {
        const st = await stat(file);
        if (st.size > SNAPSHOT_MAX_READ_STATE_BYTES) throw new Error(`file of ${st.size} bytes is larger than ${SNAPSHOT_MAX_READ_STATE_BYTES}`);
        gz = new Uint8Array(await readFile(file));
      } catch (e) {
        error(io, `Error opening snapshot file: ${openError(e, file)}`);
        return EXIT_ERROR;
      }
      try {
        archive = await readArchive(gz, { maxStateBytes: SNAPSHOT_MAX_READ_STATE_BYTES });
      } catch (e) {
        error(io, `Error reading snapshot: ${(e as Error).message}`);
        return EXIT_ERROR;
      }
    }
    if (!isCairnState(archive.state)) {
      error(io, "Error extracting snapshot data: state.bin is not a cairn state snapshot (Consul's state.bin is not readable by cairn)");
      return EXIT_ERROR;
    }
    const kvDetails = fs.getBool("kvdetails");
    let text: string;
    try {
      const infoOut = inspectState(archive.meta, archive.state, {
        kvDetails,
        kvDepth: fs.getInt("kvdepth"),
        kvFilter: fs.getString("kvfilter"),
      });
      if (format === "pretty") text = formatPretty(infoOut, kvDetails);
      else if (format === "json") text = formatJson(infoOut, kvDetails);
      else {
        error(io, `Error outputting enhanced snapshot data: Unknown format: ${format}`);
        return EXIT_ERROR;
      }
    } catch (e) {
      error(io, `Error extracting snapshot data: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    info(io, text);
    return EXIT_OK;
  },
};
