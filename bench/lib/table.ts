/**
 * bench/lib/table: Markdown tables and the report header (date, runtime, CPUs) for bench output.
 *
 * Must never: write anywhere itself; it returns strings.
 */

import os from "node:os";

export function markdownTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  const sep = `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`;
  return [line(headers), sep, ...rows.map((r) => line(headers.map((_, i) => r[i] ?? "")))].join("\n");
}

export interface Environment {
  readonly date: string;
  readonly node: string;
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memGiB: number;
  readonly kernel: string;
}

export function environment(): Environment {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? "?",
    memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
  };
}

export function headerLine(title: string, env: Environment): string {
  return `## ${title}\n\n${env.date} · node ${env.node} · ${env.cpus} CPU (${env.cpuModel}) · ${env.memGiB} GiB · ${env.kernel}`;
}

export function fmtInt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "—";
}

export function fmtRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : "—";
}

export function fmtOk(ok: boolean | null): string {
  return ok === null ? "—" : ok ? "yes" : "**NO**";
}

export function fmtBytes(b: number): string {
  if (!Number.isFinite(b)) return "—";
  if (b >= 2 ** 30) return `${(b / 2 ** 30).toFixed(2)} GiB`;
  return `${(b / 2 ** 20).toFixed(0)} MiB`;
}
