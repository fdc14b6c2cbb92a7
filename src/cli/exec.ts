/**
 * cli/exec: `consul exec` (command/exec): remote execution through KV and a user event.
 * Creates a session ("Remote Exec", TTL 15s, behavior delete), uploads the job spec to
 * <prefix>/<session>/job with ?acquire, waits -wait-repl, fires the "_rexec" event (node,
 * service and tag filters), then follows <prefix>/<session>/ with blocking key listings:
 * acks, output chunks (printed as "    <node>: <line>"), heartbeats and exit codes
 * ("==> <node>: finished with exit code N"), until -wait passes quietly (twice that while
 * some node acknowledged but has not exited). Prints "N / M node(s) completed /
 * acknowledged"; exits 2 when a node failed or did not finish, 1 on errors.
 *
 * Must never: leave its session or KV data behind (destroyed on every exit path).
 */

import type { CliIO, Command } from "./command.ts";
import { error, info } from "./command.ts";
import { FlagSet, renderUsage } from "./flags.ts";
import { addHttpFlags, clientOptions } from "./http_client.ts";
import { EXIT_ERROR, EXIT_OK, parseFlags } from "./parse.ts";
import { parseGoDuration } from "../agent/config/duration.ts";
import { REXEC_SESSION_TTL } from "../shared/limits.ts";
import { AgentClient, parseEndpoint, ResponseError } from "../watch/client.ts";
import { shutdownSignal } from "./watch_signal.ts";

const EXIT_BAD = 2;

function flags(): FlagSet {
  const fs = new FlagSet();
  addHttpFlags(fs, true);
  fs.string("node", "", "Regular expression to filter on node names.");
  fs.string("service", "", "Regular expression to filter on service instances.");
  fs.string("tag", "", "Regular expression to filter on service tags. Must be used with -service.");
  fs.string("prefix", "_rexec", "Prefix in the KV store to use for request data.");
  fs.add({ name: "shell", kind: "bool", section: "command", defaultValue: "true", usage: "Use a shell to run the command." });
  fs.string("wait", "2s", "Period to wait with no responses before terminating execution.");
  fs.string(
    "wait-repl",
    "200ms",
    "Period to wait for replication before firing event. This is an optimization to allow stale reads to be performed.",
  );
  fs.bool("verbose", "Enables verbose output.");
  return fs;
}

const help = (prog: string): string => `
Usage: ${prog} exec [options] [-|command...]

  Evaluates a command on remote Consul nodes. The nodes responding can
  be filtered using regular expressions on node name, service, and tag
  definitions. If a command is '-', stdin will be read until EOF
  and used as a script input.
`;

/** TargetedUI.prefixLines: "==> node: line" (arrow) or "    node: line". */
function prefixLines(arrow: boolean, node: string, message: string): string {
  const a = arrow ? "==>" : "   ";
  return message
    .split("\n")
    .map((l) => `${a} ${node}: ${l}`)
    .join("\n")
    .trimEnd();
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

function regexError(re: string): string | undefined {
  try {
    new RegExp(re);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

async function put(c: AgentClient, path: string, params: [string, string][], body?: Uint8Array): Promise<string> {
  const r = await c.request("PUT", path, params, body);
  if (r.status !== 200) throw new ResponseError(r.status, r.body.toString("utf8"));
  return r.body.toString("utf8");
}

export const execCommand: Command = {
  help: (prog) => renderUsage(help(prog), flags()),
  async run(argv: string[], io: CliIO): Promise<number> {
    const fs = flags();
    const p = parseFlags(fs, argv, io, help(io.prog));
    if (!p.ok) return p.code;
    const shell = fs.getOptionalBool("shell") ?? true;
    const verbose = fs.getBool("verbose");
    const prefix = fs.getString("prefix");
    const node = fs.getString("node");
    const service = fs.getString("service");
    const tag = fs.getString("tag");
    const waitMs = parseGoDuration(fs.getString("wait"));
    const replMs = parseGoDuration(fs.getString("wait-repl"));
    if (waitMs === undefined || replMs === undefined) {
      error(io, `invalid value for flag -${waitMs === undefined ? "wait" : "wait-repl"}: parse error`);
      return EXIT_ERROR;
    }
    let cmd = p.args.join(" ");
    let args: string[] = [];
    let script: Buffer | undefined;
    if (cmd === "-") {
      if (!shell) {
        error(io, "Cannot configure -shell=false when reading from stdin");
        return EXIT_ERROR;
      }
      cmd = "";
      script = Buffer.from(await io.readStdin(), "utf8");
    } else if (!shell) {
      cmd = "";
      args = p.args;
    }
    if (cmd === "" && (script === undefined || script.length === 0) && args.length === 0) {
      error(io, "Must specify a command to execute");
      error(io, "");
      error(io, renderUsage(help(io.prog), fs));
      return EXIT_ERROR;
    }
    for (const [what, re] of [["node", node], ["service", service], ["tag", tag]] as const) {
      const bad = re === "" ? undefined : regexError(re);
      if (bad !== undefined) {
        error(io, `Failed to compile ${what} filter regexp: ${bad}`);
        return EXIT_ERROR;
      }
    }
    if (tag !== "" && service === "") {
      error(io, "Cannot provide tag filter without service filter.");
      return EXIT_ERROR;
    }
    const co = await clientOptions(fs, io.env);
    const c = new AgentClient({ endpoint: parseEndpoint(co.address, co.ssl === "true" || co.ssl === "1"), token: co.token, datacenter: co.datacenter });
    try {
      await c.getJson("/v1/agent/self");
    } catch (e) {
      error(io, `Error querying Consul agent: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    const spec: Record<string, unknown> = {};
    if (cmd !== "") spec["Command"] = cmd;
    if (args.length > 0) spec["Args"] = args;
    if (script !== undefined && script.length > 0) spec["Script"] = script.toString("base64");
    spec["Wait"] = Math.round(waitMs * 1e6);
    let session: string;
    try {
      const body = await put(c, "/v1/session/create", [], new TextEncoder().encode(JSON.stringify({ Name: "Remote Exec", Behavior: "delete", TTL: REXEC_SESSION_TTL })));
      session = String((JSON.parse(body) as { ID?: unknown }).ID ?? "");
    } catch (e) {
      error(io, `Failed to create session: ${(e as Error).message}`);
      return EXIT_ERROR;
    }
    const stop = shutdownSignal();
    // A local session still has a TTL: renew it while we run.
    const renew = setInterval(() => {
      void c.request("PUT", `/v1/session/renew/${session}`).catch(() => undefined);
    }, 5_000);
    const dir = `${prefix}/${session}`;
    const cleanup = async (): Promise<void> => {
      clearInterval(renew);
      stop.off();
      await c.request("PUT", `/v1/session/destroy/${session}`).catch(() => undefined);
      await c.request("DELETE", `/v1/kv/${dir}`, [["recurse", ""]]).catch(() => undefined);
    };
    try {
      if (verbose) info(io, `Created remote execution session: ${session}`);
      try {
        const ok = await put(c, `/v1/kv/${dir}/job`, [["acquire", session]], new TextEncoder().encode(JSON.stringify(spec)));
        if (ok.trim() !== "true") throw new Error(`failed to acquire key ${dir}/job`);
      } catch (e) {
        error(io, `Failed to create job file: ${(e as Error).message}`);
        return EXIT_ERROR;
      }
      if (verbose) info(io, "Uploaded remote execution spec");
      await sleep(replMs, stop.signal);
      if (stop.signal.aborted) return EXIT_ERROR;
      let eventId: string;
      try {
        const params: [string, string][] = [];
        if (node !== "") params.push(["node", node]);
        if (service !== "") params.push(["service", service]);
        if (tag !== "") params.push(["tag", tag]);
        const body = await put(c, "/v1/event/fire/_rexec", params, new TextEncoder().encode(JSON.stringify({ Prefix: prefix, Session: session })));
        eventId = String((JSON.parse(body) as { ID?: unknown }).ID ?? "");
      } catch (e) {
        error(io, `Failed to fire event: ${(e as Error).message}`);
        return EXIT_ERROR;
      }
      if (verbose) info(io, `Fired remote execution event: ${eventId}`);
      return await waitForJob(c, io, dir, waitMs, verbose, stop.signal);
    } finally {
      await cleanup();
    }
  },
};

async function waitForJob(c: AgentClient, io: CliIO, dir: string, waitMs: number, verbose: boolean, signal: AbortSignal): Promise<number> {
  const start = Date.now();
  const seen = new Set<string>();
  let index = 0n;
  let acks = 0;
  let exits = 0;
  let bad = 0;
  let lastActivity = Date.now();
  const base = dir + "/";
  for (;;) {
    if (signal.aborted) return EXIT_ERROR;
    const quiet = acks > exits ? waitMs * 2 : waitMs;
    const left = lastActivity + quiet - Date.now();
    if (left <= 0) break;
    // Block on the key listing no longer than the quiet period left.
    const ac = new AbortController();
    const t = setTimeout(() => ac.abort(), left + 50);
    const onAbort = (): void => ac.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    let keys: string[] = [];
    try {
      const params: [string, string][] = [["keys", ""], ["index", index.toString()], ["wait", `${Math.max(1, Math.ceil(left))}ms`]];
      const r = await c.request("GET", `/v1/kv/${base}`, params, undefined, ac.signal);
      if (r.status === 200) keys = JSON.parse(r.body.toString("utf8")) as string[];
      else if (r.status !== 404) throw new ResponseError(r.status, r.body.toString("utf8"));
      if (r.index === index) continue;
      index = r.index;
    } catch (e) {
      if (ac.signal.aborted) continue;
      error(io, `Failed to read results: ${(e as Error).message}`);
      return EXIT_ERROR;
    } finally {
      clearTimeout(t);
      signal.removeEventListener("abort", onAbort);
    }
    for (const full of keys) {
      if (seen.has(full)) continue;
      seen.add(full);
      const key = full.startsWith(base) ? full.slice(base.length) : full;
      if (key === "job") continue;
      lastActivity = Date.now();
      if (key.endsWith("/ack")) {
        acks++;
        if (verbose) info(io, prefixLines(true, key.slice(0, -"/ack".length), "acknowledged"));
      } else if (key.endsWith("/exit")) {
        const n = key.slice(0, -"/exit".length);
        const v = await readValue(c, full);
        if (v === undefined) {
          error(io, `Failed to read key '${full}'`);
          continue;
        }
        const code = Number.parseInt(v.toString("utf8"), 10);
        if (!Number.isFinite(code)) {
          error(io, `Failed to parse exit code '${v.toString("utf8")}'`);
          continue;
        }
        exits++;
        info(io, prefixLines(true, n, `finished with exit code ${code}`));
        if (code !== 0) bad++;
      } else if (key.includes("/out/")) {
        const n = key.slice(0, key.lastIndexOf("/out/"));
        const v = await readValue(c, full);
        if (v === undefined) {
          error(io, `Failed to read key '${full}'`);
          continue;
        }
        if (v.length === 0) {
          if (verbose) info(io, prefixLines(true, n, "heartbeat received"));
        } else info(io, prefixLines(false, n, v.toString("utf8")));
      } else {
        error(io, `Unknown key '${key}', ignoring.`);
      }
    }
  }
  info(io, `${exits} / ${acks} node(s) completed / acknowledged`);
  if (verbose) info(io, `Completed in ${((Date.now() - start) / 1000).toFixed(2)} seconds`);
  if (exits < acks) bad++;
  return bad > 0 ? EXIT_BAD : EXIT_OK;
}

async function readValue(c: AgentClient, key: string): Promise<Buffer | undefined> {
  try {
    const r = await c.request("GET", `/v1/kv/${key}`, [["raw", ""]]);
    if (r.status !== 200) return undefined;
    return r.body;
  } catch {
    return undefined;
  }
}
