/**
 * grpc.health.v1.Health for the daemon itself: Check answers NOT_SERVING as a normal reply (the reference
 * returns an error), Watch streams real changes, List reports the daemon's view.
 */
import {
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthListRequestSchema,
  HealthListResponseSchema,
  HealthCheckResponse_ServingStatus as Status,
} from "../../gen/grpc/health/v1/health_pb.ts";
import type { ProbeResult } from "../health-probe.ts";
import { type DaemonMethod, serverStream, unary } from "./method.ts";

const statusOf = (p: ProbeResult) => (p.serving ? Status.SERVING : Status.NOT_SERVING);

export function healthMethods(probe: () => Promise<ProbeResult>, watchIntervalMs = 2000): DaemonMethod[] {
  return [
    unary("/grpc.health.v1.Health/Check", HealthCheckRequestSchema, HealthCheckResponseSchema, async () => ({
      status: statusOf(await probe()),
    })),
    unary("/grpc.health.v1.Health/List", HealthListRequestSchema, HealthListResponseSchema, async () => ({
      statuses: { "": { status: statusOf(await probe()) } },
    })),
    serverStream(
      "/grpc.health.v1.Health/Watch",
      HealthCheckRequestSchema,
      HealthCheckResponseSchema,
      async (_req, ctx, send) => {
        let last: Status | undefined;
        while (!ctx.signal.aborted) {
          const now = statusOf(await probe());
          if (now !== last) {
            send({ status: now });
            last = now;
          }
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, watchIntervalMs);
            const stop = () => {
              clearTimeout(t);
              resolve();
            };
            ctx.signal.addEventListener("abort", stop, { once: true });
          });
        }
      },
    ),
  ];
}
