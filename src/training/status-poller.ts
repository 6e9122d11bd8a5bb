/**
 * Background refresh of models the provider is still working on (status VALIDATING or TRAINING, the
 * pending index): every interval, each one's get_model_status over the provider's shared connection (the
 * reference dials a new connection per model per tick and never closes it). A model leaves the index when
 * its status does. Ticks never overlap; `stop` cancels the calls in flight and waits for the tick to end.
 */
import { Status } from "../gen/training_pb.ts";
import { nowIso, STATUS_TIMEOUT_MS, type TrainingDeps } from "./context.ts";

export interface StatusPoller {
  /** One pass over the pending models (also what each tick runs). */
  pollOnce(): Promise<void>;
  stop(): Promise<void>;
}

/** The reference polls every 3 s. */
export const POLL_INTERVAL_MS = 3000;

/** Starts polling; the first pass runs after one interval. */
export function startStatusPoller(
  d: Pick<TrainingDeps, "book" | "provider" | "now" | "onBackgroundError">,
  intervalMs = POLL_INTERVAL_MS,
): StatusPoller {
  const stopping = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | undefined;
  // A provider that is down would fail every model every tick: say so once per model until it answers.
  const failing = new Set<string>();

  const refresh = async (id: string) => {
    const status = await d.provider.getModelStatus(id, { timeoutMs: STATUS_TIMEOUT_MS, signal: stopping.signal });
    const at = nowIso(d);
    await d.book.update(id, (m) =>
      m.status === status || m.status === Status.DELETED ? m : { ...m, status, updatedAt: at },
    );
  };
  const pollOnce = async () => {
    let ids: string[];
    try {
      ids = await d.book.pendingIds();
    } catch (err) {
      d.onBackgroundError?.("list the models whose status is pending", err);
      return;
    }
    for (const id of ids) {
      if (stopping.signal.aborted) return;
      try {
        await refresh(id);
        failing.delete(id);
      } catch (err) {
        if (stopping.signal.aborted || failing.has(id)) continue;
        failing.add(id);
        d.onBackgroundError?.(`refresh the status of model "${id}" (said once until it works again)`, err);
      }
    }
    for (const id of failing) if (!ids.includes(id)) failing.delete(id);
  };
  const schedule = () => {
    if (stopping.signal.aborted) return;
    timer = setTimeout(() => {
      running = pollOnce().finally(() => {
        running = undefined;
        schedule();
      });
    }, intervalMs);
    timer.unref?.();
  };
  schedule();

  return {
    pollOnce,
    async stop() {
      stopping.abort();
      clearTimeout(timer);
      await running;
    },
  };
}
