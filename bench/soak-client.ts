/**
 * One paying client of the soak (bench/soak.ts): a channel of its own, escrow calls one after another
 * over TLS, keeping its own tally of what every successful call paid. It behaves like a real client:
 * on "income X does not equal to price P" it adopts the new price and pays again (a metadata update), on
 * UNAVAILABLE (the service is down) it waits a little, and on anything unexpected it re-reads the channel
 * state from the daemon. At the end, `lost` compares its tally with what the daemon holds.
 */
import * as grpc from "@grpc/grpc-js";
import type { DaemonProcess } from "../tests/kit/daemon.ts";
import { call, echoClient } from "../tests/kit/echo-service.ts";
import { channelState, stateRpc } from "../tests/kit/paid-daemon.ts";
import type { Channel, World } from "../tests/kit/world.ts";

const INCOME = /^income (\d+) does not equal to price (\d+)$/;

export interface ClientTally {
  ok: number;
  /** Cogs paid by the calls that succeeded: what the daemon must hold for this channel. */
  paid: bigint;
  refused: Record<string, number>;
  /** Times the client re-read the channel state after an unexpected answer. */
  resyncs: number;
}

export interface SoakClient {
  readonly tally: ClientTally;
  /** Runs until `stop()`; resolves when the last call has ended. */
  run(): Promise<void>;
  stop(): void;
  /** What the daemon holds for the channel minus what the successful calls paid (0 = nothing lost or overcharged). */
  reconcile(): Promise<{ held: bigint; paid: bigint }>;
  close(): void;
}

export function soakClient(
  world: World,
  daemon: DaemonProcess,
  ch: Channel,
  tls: { roots: Buffer; name: string },
  price: () => bigint,
  onPrice: (p: bigint) => void,
): SoakClient {
  const channel = {
    credentials: grpc.credentials.createSsl(tls.roots),
    options: { "grpc.ssl_target_name_override": tls.name },
  };
  const echo = echoClient(daemon.endpoint, channel);
  const state = stateRpc(daemon.endpoint, channel);
  const tally: ClientTally = { ok: 0, paid: 0n, refused: {}, resyncs: 0 };
  let signed = 0n;
  let stopped = false;
  const count = (reason: string) => {
    tally.refused[reason] = (tally.refused[reason] ?? 0) + 1;
  };

  const resync = async () => {
    tally.resyncs++;
    try {
      signed = (await channelState(world, state, ch)).amount;
    } catch {
      // The daemon is busy or restarting its connection; the next call tells.
    }
  };

  return {
    tally,
    async run() {
      while (!stopped) {
        const p = price();
        const r = await call(echo, "Echo", { text: "soak" }, ch.pay(signed + p), { deadlineMs: 10_000 });
        if (r.status.code === grpc.status.OK) {
          signed += p;
          tally.ok++;
          tally.paid += p;
          continue;
        }
        const income = INCOME.exec(r.status.details);
        if (r.status.code === grpc.status.UNAUTHENTICATED && income) {
          count("price changed");
          onPrice(BigInt(income[2] as string));
        } else if (r.status.code === grpc.status.UNAVAILABLE) {
          count(`UNAVAILABLE: ${r.status.details.replace(/\d+/g, "N").slice(0, 80)}`);
          await Bun.sleep(100);
        } else {
          count(`${grpc.status[r.status.code]}: ${r.status.details.replace(/\d+/g, "N").slice(0, 80)}`);
          await resync();
          await Bun.sleep(50);
        }
      }
    },
    stop: () => {
      stopped = true;
    },
    async reconcile() {
      return { held: (await channelState(world, state, ch)).amount, paid: tally.paid };
    },
    close() {
      echo.close();
      state.close();
    },
  };
}
