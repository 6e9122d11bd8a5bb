/**
 * Bounded polling for suites that must wait for something another process does (a call reaching the
 * service, a background claim, a member coming back). They wait for progress, never measure it: the
 * bound only turns a hang into a failure that names what never happened.
 *
 * @example
 * await until(() => world.echo.calls === before + 1, "the Slow call to reach the service");
 * const tx = await waitFor("the claim's log line", () => pattern.exec(daemon.logs())?.[1]);
 */

export interface WaitOptions {
  /** Give up after this long (default 20 s) */
  timeoutMs?: number;
  /** Pause between probes (default 10 ms) */
  intervalMs?: number;
}

/** Polls `probe` until it returns something other than undefined, and returns that. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  opts: WaitOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Gave up after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(opts.intervalMs ?? 10);
  }
}

/** Polls `ready` until it holds. */
export async function until(
  ready: () => boolean | Promise<boolean>,
  what: string,
  opts: WaitOptions = {},
): Promise<void> {
  await waitFor(what, async () => ((await ready()) ? true : undefined), opts);
}
