/**
 * bench/lib/progress: progress display on stderr. On a TTY each phase gets a cli-progress bar;
 * otherwise one plain line when a phase starts and one when it ends (no bars, no carriage returns).
 *
 * Must never: write to stdout (stdout carries only the final Markdown report).
 */

import cliProgress from "cli-progress";

export interface Phase {
  update(value: number, info?: string): void;
  done(summary: string): void;
}

const tty = process.stderr.isTTY === true;

export function note(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

export function phase(label: string, total: number, unit: string): Phase {
  if (!tty) {
    note(`- ${label} ...`);
    return {
      update: () => undefined,
      done: (summary) => note(`  ${label}: ${summary}`),
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label.padEnd(34)} [{bar}] {value}/{total} ${unit} {info}`,
      barsize: 24,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { info: "" });
  let stopped = false;
  return {
    update: (value, info) => {
      if (!stopped) bar.update(Math.min(value, total), { info: info ?? "" });
    },
    done: (summary) => {
      if (stopped) return;
      stopped = true;
      bar.stop();
      note(`  ${label}: ${summary}`);
    },
  };
}
