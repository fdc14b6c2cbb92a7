/**
 * agent/local/persist: services, checks and TTL check states registered through the
 * API survive a restart (Consul's data_dir/services, data_dir/checks,
 * data_dir/checks/state, one JSON file per entry named by the SHA-256 of its ID,
 * written atomically: temp file, fsync, rename). Writes to one file are serialized.
 *
 * Must never: block the event loop with synchronous disk I/O, or leave a half-written
 * file under its final name.
 */

import { createHash } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import type { CheckSpec, CheckStatus } from "../../checks/index.ts";
import type { ConfigSource, LocalCheck, LocalService } from "./types.ts";

export interface PersistedService {
  readonly token: string;
  readonly source: ConfigSource;
  readonly service: LocalService;
}

export interface PersistedCheck {
  readonly token: string;
  readonly source: ConfigSource;
  readonly check: LocalCheck;
  /** null for checks without a type (maintenance). */
  readonly spec: CheckSpec | null;
}

export interface PersistedCheckState {
  readonly checkId: string;
  readonly status: CheckStatus;
  readonly output: string;
  /** Unix seconds after which the state is not restored. */
  readonly expires: number;
}

const hashName = (id: string): string => createHash("sha256").update(id).digest("hex");

export class Persistence {
  private readonly dir: string;
  private readonly chains = new Map<string, Promise<void>>();

  constructor(dataDir: string) {
    this.dir = dataDir;
  }

  private servicePath(id: string): string {
    return path.join(this.dir, "services", hashName(id));
  }
  private checkPath(id: string): string {
    return path.join(this.dir, "checks", hashName(id));
  }
  private statePath(id: string): string {
    return path.join(this.dir, "checks", "state", hashName(id));
  }

  /** Run `op` after every earlier write to the same file. */
  private serial(file: string, op: () => Promise<void>): Promise<void> {
    const prev = this.chains.get(file) ?? Promise.resolve();
    const next = prev.then(op, op);
    this.chains.set(file, next);
    void next.finally(() => {
      if (this.chains.get(file) === next) this.chains.delete(file);
    }).catch(() => {});
    return next;
  }

  private writeAtomic(file: string, data: string): Promise<void> {
    return this.serial(file, async () => {
      await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      const tmp = file + ".tmp";
      const fh = await open(tmp, "w", 0o600);
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, file);
    });
  }

  private remove(file: string): Promise<void> {
    return this.serial(file, () => rm(file, { force: true }));
  }

  saveService(p: PersistedService): Promise<void> {
    return this.writeAtomic(this.servicePath(p.service.id), JSON.stringify({ Token: p.token, Source: p.source, Service: p.service }));
  }
  removeService(id: string): Promise<void> {
    return this.remove(this.servicePath(id));
  }
  saveCheck(p: PersistedCheck): Promise<void> {
    return this.writeAtomic(this.checkPath(p.check.checkId), JSON.stringify({ Token: p.token, Source: p.source, Check: p.check, ChkType: p.spec }));
  }
  removeCheck(id: string): Promise<void> {
    return Promise.all([this.remove(this.checkPath(id)), this.remove(this.statePath(id))]).then(() => undefined);
  }
  saveCheckState(s: PersistedCheckState): Promise<void> {
    return this.writeAtomic(this.statePath(s.checkId), JSON.stringify({ CheckID: s.checkId, Status: s.status, Output: s.output, Expires: s.expires }));
  }

  /** Wait for every pending write. */
  async flush(): Promise<void> {
    while (this.chains.size > 0) await Promise.allSettled([...this.chains.values()]);
  }

  private async readJsonDir(dir: string, warn: (msg: string) => void): Promise<Record<string, unknown>[]> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return [];
    }
    const out: Record<string, unknown>[] = [];
    for (const n of names.sort()) {
      if (n.endsWith("tmp") || n === "state") continue;
      try {
        const v: unknown = JSON.parse(await readFile(path.join(dir, n), "utf8"));
        if (typeof v === "object" && v !== null && !Array.isArray(v)) out.push(v as Record<string, unknown>);
      } catch (e) {
        warn(`Failed decoding file ${path.join(dir, n)}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    return out;
  }

  async loadServices(warn: (msg: string) => void): Promise<PersistedService[]> {
    const out: PersistedService[] = [];
    for (const v of await this.readJsonDir(path.join(this.dir, "services"), warn)) {
      const s = v["Service"] as LocalService | undefined;
      if (s === undefined || typeof s.id !== "string") continue;
      out.push({ token: String(v["Token"] ?? ""), source: v["Source"] === "local" ? "local" : "remote", service: s });
    }
    return out;
  }

  async loadChecks(warn: (msg: string) => void): Promise<PersistedCheck[]> {
    const out: PersistedCheck[] = [];
    for (const v of await this.readJsonDir(path.join(this.dir, "checks"), warn)) {
      const c = v["Check"] as LocalCheck | undefined;
      if (c === undefined || typeof c.checkId !== "string") continue;
      out.push({
        token: String(v["Token"] ?? ""),
        source: v["Source"] === "local" ? "local" : "remote",
        check: c,
        spec: (v["ChkType"] as CheckSpec | null | undefined) ?? null,
      });
    }
    return out;
  }

  async loadCheckState(id: string): Promise<PersistedCheckState | undefined> {
    try {
      const v = JSON.parse(await readFile(this.statePath(id), "utf8")) as Record<string, unknown>;
      const status = v["Status"];
      if (status !== "passing" && status !== "warning" && status !== "critical") return undefined;
      return { checkId: id, status, output: String(v["Output"] ?? ""), expires: Number(v["Expires"] ?? 0) };
    } catch {
      return undefined;
    }
  }

  removeServiceFile(id: string): Promise<void> {
    return this.removeService(id);
  }
}
