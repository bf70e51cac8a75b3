/**
 * Internal: SIGINT / SIGTERM stop a run after its step, with a checkpoint.
 *
 * @module
 */

/**
 * SIGINT (Ctrl-C) and SIGTERM abort `signal`: `fit` finishes its step, writes a checkpoint and
 * returns. A second signal ends the process at once (the last checkpoint stays intact).
 */
export function interruptOnSignals(): {
  readonly signal: AbortSignal;
  readonly received: "SIGINT" | "SIGTERM" | undefined;
  [Symbol.dispose](): void;
} {
  const controller = new AbortController();
  let received: "SIGINT" | "SIGTERM" | undefined;
  const listeners: [Deno.Signal, () => void][] = [];
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    const listener = () => {
      if (received !== undefined) {
        console.error(`${sig} again: stopping now, without a checkpoint of this step`);
        Deno.exit(sig === "SIGINT" ? 130 : 143);
      }
      received = sig;
      console.error(
        `${sig}: finishing this step and writing a checkpoint (${sig} again to stop at once)`,
      );
      controller.abort();
    };
    try {
      Deno.addSignalListener(sig, listener);
      listeners.push([sig, listener]);
    } catch {
      // SIGTERM cannot be listened to on Windows: the default applies there.
    }
  }
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    [Symbol.dispose]() {
      for (const [sig, l] of listeners) Deno.removeSignalListener(sig, l);
    },
  };
}
