/** `fn` run with console.log / warn / error captured: what an example printed, for assertions. */
export async function quietly<T>(
  fn: () => Promise<T>,
): Promise<{ value: T; out: string; err: string }> {
  const out: string[] = [], err: string[] = [];
  const { log, warn, error } = console;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.warn = (...a: unknown[]) => err.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    return { value: await fn(), out: out.join("\n"), err: err.join("\n") };
  } finally {
    Object.assign(console, { log, warn, error });
  }
}
