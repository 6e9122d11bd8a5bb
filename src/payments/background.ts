/**
 * Payment work that outlives the call that started it — giving back a charge whose outcome was unknown —
 * tracked so that a stopping daemon lets it finish before it closes the store.
 */

export interface Background {
  /** Runs `task` without waiting for it; its failure is swallowed (the task logs or retries itself). */
  run(task: Promise<unknown>): void;
  /** Resolves when every task has settled, or after `timeoutMs`. */
  settled(timeoutMs: number): Promise<void>;
}

/** A tracker of background payment work. */
export function background(): Background {
  const tasks = new Set<Promise<unknown>>();
  return {
    run(task) {
      const tracked = task.catch(() => undefined).finally(() => tasks.delete(tracked));
      tasks.add(tracked);
    },
    async settled(timeoutMs) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((r) => {
        timer = setTimeout(r, timeoutMs);
      });
      await Promise.race([Promise.allSettled([...tasks]), timeout]);
      clearTimeout(timer);
    },
  };
}
