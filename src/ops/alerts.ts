/**
 * Operator alerts (protocol/operations.md#health-and-heartbeat, issue "alerts"): a dependency going down and coming back, and a
 * channel worth claiming near expiry while auto-claim is off. Unlike the reference (one POST per failing
 * heartbeat request), alerts follow state *changes*: an outage sends one "down" alert and one "recovered"
 * alert, however many probes fail in between. A component that flaps sends at most one "down" per
 * cool-down; when the cool-down ends and the state still differs from the last one sent, that state is
 * sent, so the operator's inbox always ends with the truth.
 *
 * `report` and `channelNearExpiry` only enqueue: each sink has its own bounded queue and worker, so a call
 * path never waits for SMTP or a webhook, and a slow sink does not hold up the others.
 *
 * @example
 * const alerts = createAlerter({ sinks: [emailSink(…), webhookSink(…)], log, daemon: { organization_id, service_id, group } });
 * alerts.report("service", probe.serving, probe.detail); // from the heartbeat loop, every probe
 */
import type { Logger } from "./log.ts";

export type Component = "service" | "chain" | "ipfs" | "store";
export type AlertKind = "component_down" | "component_up" | "channel_near_expiry" | "metadata_refused";

export interface DaemonIdentity {
  organization_id: string;
  service_id: string;
  group: string;
  daemon_id?: string;
}

/** One alert, as sent: the webhook's JSON body, and the e-mail's subject and text. */
export interface Alert {
  kind: AlertKind;
  level: "error" | "warning" | "info";
  /** One line: the e-mail subject. */
  title: string;
  message: string;
  component?: Component;
  /** Values as strings (bigints included) so the JSON is lossless. */
  details: Record<string, string>;
  /** ISO 8601. */
  time: string;
  daemon: DaemonIdentity;
}

export interface AlertSink {
  readonly name: string;
  /** Delivers one alert, retrying as the sink sees fit; rejects when it gives up. */
  send(alert: Alert): Promise<void>;
}

export interface ChannelExpiry {
  channelId: bigint;
  sender: string;
  unclaimedCogs: bigint;
  expiration: bigint;
  currentBlock: bigint;
}

export interface AlerterOptions {
  sinks: readonly AlertSink[];
  log: Logger;
  daemon: DaemonIdentity;
  /** Least time between two "down" alerts of one component; default 15 min. */
  cooldownMs?: number;
  /** Alerts waiting per sink before the oldest is dropped; default 100. */
  queueLimit?: number;
  /** Milliseconds; default Date.now. */
  clock?: () => number;
}

export interface Alerter {
  /** The latest probe result of a component; call it on every probe, it alerts on changes only. */
  report(component: Component, up: boolean, detail?: string): void;
  /** A channel worth claiming is near expiry and auto-claim is off; alerts once per channel and expiration. */
  channelNearExpiry(channel: ChannelExpiry): void;
  /** New metadata on the Registry was refused and the old kept; alerts once per distinct reason. */
  metadataRefused(reason: string): void;
  /** Resolves when every queued alert was delivered or given up on. */
  drained(): Promise<void>;
  close(): void;
}

type State = "up" | "down";

interface Tracked {
  current?: State;
  alerted: State;
  lastDownSentAt: number;
  changes: number;
  detail: string;
  pending?: ReturnType<typeof setTimeout> | undefined;
}

const WHAT: Record<Component, string> = {
  service: "the AI service",
  chain: "the blockchain RPC",
  ipfs: "IPFS",
  store: "the payment store",
};
const MAX_CHANNELS_REMEMBERED = 10_000;

export function createAlerter(opts: AlerterOptions): Alerter {
  const clock = opts.clock ?? Date.now;
  const cooldownMs = opts.cooldownMs ?? 15 * 60_000;
  const queues = opts.sinks.map((sink) => sinkQueue(sink, opts.log, opts.queueLimit ?? 100));
  const tracked = new Map<Component, Tracked>();
  const channelsSent = new Set<string>();
  const who = `${opts.daemon.organization_id}/${opts.daemon.service_id}/${opts.daemon.group}`;
  let closed = false;
  let lastMetadataRefusal = "";

  const emit = (a: Omit<Alert, "time" | "daemon">) => {
    if (closed) return;
    const alert: Alert = { ...a, time: new Date(clock()).toISOString(), daemon: opts.daemon };
    opts.log.info("Alert queued", { kind: alert.kind, title: alert.title, sinks: queues.length });
    for (const q of queues) q.push(alert);
  };

  const sendState = (component: Component, t: Tracked, state: State) => {
    t.alerted = state;
    const flapped = t.changes > 1 ? { changes_since_last_alert: String(t.changes) } : {};
    t.changes = 0;
    if (state === "down") {
      t.lastDownSentAt = clock();
      emit({
        kind: "component_down",
        level: "error",
        component,
        title: `snetd ${who}: ${component} is down`,
        message: `snetd cannot reach ${WHAT[component]}: ${t.detail || "no detail"}`,
        details: { component, detail: t.detail, ...flapped },
      });
    } else {
      emit({
        kind: "component_up",
        level: "info",
        component,
        title: `snetd ${who}: ${component} recovered`,
        message: `${WHAT[component]} is reachable again`,
        details: { component, detail: t.detail, ...flapped },
      });
    }
  };

  return {
    report(component, up, detail = "") {
      const t = tracked.get(component) ?? {
        alerted: "up",
        lastDownSentAt: Number.NEGATIVE_INFINITY,
        changes: 0,
        detail: "",
      };
      tracked.set(component, t);
      const state: State = up ? "up" : "down";
      t.detail = detail;
      if (t.current === state) return;
      // The first report is where the component starts, not a change.
      if (t.current !== undefined) t.changes++;
      t.current = state;
      if (state === t.alerted) {
        clearTimeout(t.pending);
        t.pending = undefined;
        return;
      }
      // Recovery of a reported outage is always told at once.
      if (state === "up") return sendState(component, t, "up");
      const wait = t.lastDownSentAt + cooldownMs - clock();
      if (wait <= 0) return sendState(component, t, "down");
      if (t.pending) return;
      t.pending = setTimeout(() => {
        t.pending = undefined;
        if (t.current && t.current !== t.alerted) sendState(component, t, t.current);
      }, wait);
      t.pending.unref?.();
    },

    channelNearExpiry(ch) {
      const key = `${ch.channelId}:${ch.expiration}`;
      if (channelsSent.has(key)) return;
      if (channelsSent.size >= MAX_CHANNELS_REMEMBERED)
        channelsSent.delete(channelsSent.values().next().value as string);
      channelsSent.add(key);
      emit({
        kind: "channel_near_expiry",
        level: "warning",
        title: `snetd ${who}: channel ${ch.channelId} expires in ${ch.expiration - ch.currentBlock} blocks with ${ch.unclaimedCogs} cogs unclaimed`,
        message: `Channel ${ch.channelId} holds ${ch.unclaimedCogs} unclaimed cogs and expires at block ${ch.expiration}; auto_claim is off: run "snetd claim --channel-id ${ch.channelId}" before then, or the sender can take the funds back`,
        details: {
          channel_id: String(ch.channelId),
          sender: ch.sender,
          unclaimed_cogs: String(ch.unclaimedCogs),
          expiration_block: String(ch.expiration),
          current_block: String(ch.currentBlock),
        },
      });
    },

    metadataRefused(reason) {
      if (reason === lastMetadataRefusal) return;
      lastMetadataRefusal = reason;
      emit({
        kind: "metadata_refused",
        level: "error",
        title: `snetd ${who}: new metadata refused, still serving the previous one`,
        message: `The organization or service metadata changed on the Registry but cannot be used: ${reason}. snetd keeps serving the previous metadata; publish a corrected document`,
        details: { reason },
      });
    },

    drained: () => Promise.all(queues.map((q) => q.drained())).then(() => {}),
    close() {
      closed = true;
      for (const t of tracked.values()) clearTimeout(t.pending);
    },
  };
}

interface SinkQueue {
  push(alert: Alert): void;
  drained(): Promise<void>;
}

function sinkQueue(sink: AlertSink, log: Logger, limit: number): SinkQueue {
  const waiting: Alert[] = [];
  let worker: Promise<void> | undefined;
  const run = async () => {
    for (let alert = waiting.shift(); alert; alert = waiting.shift()) {
      try {
        await sink.send(alert);
        log.info("Alert sent", { sink: sink.name, kind: alert.kind, title: alert.title });
      } catch (err) {
        log.error("Alert not delivered", {
          sink: sink.name,
          kind: alert.kind,
          title: alert.title,
          reason: (err as Error).message,
        });
      }
    }
  };
  // An alert pushed between the loop's last shift and the worker's end starts a new worker.
  const kick = () => {
    worker ??= run().finally(() => {
      worker = undefined;
      if (waiting.length > 0) kick();
    });
  };
  return {
    push(alert) {
      if (waiting.length >= limit) {
        const dropped = waiting.shift();
        log.warn("Alert queue full; dropping the oldest alert", { sink: sink.name, dropped: dropped?.title });
      }
      waiting.push(alert);
      kick();
    },
    drained: async () => {
      while (worker) await worker;
    },
  };
}
