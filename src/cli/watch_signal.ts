/**
 * cli/watch_signal: Consul's ShutdownCh for long-running commands (watch, monitor, exec):
 * an AbortSignal that fires on the first SIGINT/SIGTERM; off() removes the handlers.
 *
 * Must never: exit the process.
 */

export function shutdownSignal(): { readonly signal: AbortSignal; off(): void } {
  const ac = new AbortController();
  const on = (): void => ac.abort();
  process.on("SIGINT", on);
  process.on("SIGTERM", on);
  return {
    signal: ac.signal,
    off: () => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
    },
  };
}
