/**
 * Token buckets (src/ops/rate-limit.ts) on a hand-moved clock: the global bucket as the reference's
 * rate_limit_per_minute/burst_size, per-payer and per-channel buckets, retry-after, and bounded memory.
 */
import { describe, expect, test } from "bun:test";
import { bucketSpec, createRateLimiter, RATE_LIMIT_MESSAGE, retryAfterSeconds } from "../../src/ops/rate-limit.ts";

function clock(start = 0) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const admitted = (n: number, take: () => { allowed: boolean }) =>
  Array.from({ length: n }, take).filter((d) => d.allowed).length;

describe("the global bucket (rate_limit_per_minute, burst_size)", () => {
  test("admits a burst, then one call per 60000/rate ms, and says how long to wait", () => {
    const c = clock();
    const limiter = createRateLimiter({ global: { perMinute: 60, burst: 3 }, clock: c.now });
    expect(admitted(3, () => limiter.take())).toBe(3);
    expect(limiter.take()).toEqual({ allowed: false, retryAfterMs: 1000, scope: "global" });
    c.advance(400);
    expect(limiter.take()).toEqual({ allowed: false, retryAfterMs: 600, scope: "global" });
    c.advance(600);
    expect(limiter.take()).toEqual({ allowed: true });
    expect(limiter.take().allowed).toBe(false);
    c.advance(60_000);
    expect(admitted(10, () => limiter.take())).toBe(3); // refills up to the burst, not beyond
  });

  test("a rate with no burst gets a burst of one minute's worth, not the reference's 2^31", () => {
    expect(bucketSpec(120, undefined)).toEqual({ perMinute: 120, burst: 120 });
    expect(bucketSpec(0.5, undefined)).toEqual({ perMinute: 0.5, burst: 1 });
    expect(bucketSpec(120, 7)).toEqual({ perMinute: 120, burst: 7 });
  });

  test("unset or zero rate means unlimited", () => {
    expect(bucketSpec(undefined, 5)).toBeUndefined();
    expect(bucketSpec(0, 5)).toBeUndefined();
    const limiter = createRateLimiter({ clock: clock().now });
    expect(admitted(10_000, () => limiter.take())).toBe(10_000);
  });

  test("a fractional rate refills slowly", () => {
    const c = clock();
    const limiter = createRateLimiter({ global: bucketSpec(0.5, undefined)!, clock: c.now });
    expect(limiter.take().allowed).toBe(true);
    expect(limiter.take()).toEqual({ allowed: false, retryAfterMs: 120_000, scope: "global" });
  });

  test("the refusal text is the reference's, space before the comma included", () => {
    expect(RATE_LIMIT_MESSAGE).toBe("rate limiting , too many requests to handle");
    expect(retryAfterSeconds(1)).toBe("1");
    expect(retryAfterSeconds(1001)).toBe("2");
  });
});

describe("per-key buckets", () => {
  const scopes = { payer: { perMinute: 60, burst: 2 }, channel: { perMinute: 6, burst: 1 } };

  test("one busy payer is refused while another is still served", () => {
    const c = clock();
    const limiter = createRateLimiter({ global: { perMinute: 6000, burst: 100 }, scopes, clock: c.now });
    expect(admitted(5, () => limiter.take({ payer: "0xaa" }))).toBe(2);
    expect(limiter.take({ payer: "0xaa" })).toEqual({ allowed: false, retryAfterMs: 1000, scope: "payer" });
    expect(limiter.take({ payer: "0xbb" }).allowed).toBe(true);
  });

  test("a refused call takes no token from the other buckets", () => {
    const c = clock();
    const limiter = createRateLimiter({ global: { perMinute: 60, burst: 3 }, scopes, clock: c.now });
    expect(limiter.take({ payer: "0xaa", channel: "1" }).allowed).toBe(true);
    // The channel bucket is empty: these are refused and must leave the global bucket's 2 tokens alone.
    for (let i = 0; i < 5; i++)
      expect(limiter.take({ payer: "0xaa", channel: "1" })).toMatchObject({ allowed: false, scope: "channel" });
    expect(admitted(3, () => limiter.take({ payer: "0xcc" }))).toBe(2);
  });

  test("the longest wait among the refusing buckets is returned", () => {
    const c = clock();
    const limiter = createRateLimiter({ global: { perMinute: 60, burst: 1 }, scopes, clock: c.now });
    expect(limiter.take({ channel: "7" }).allowed).toBe(true);
    expect(limiter.take({ channel: "7" })).toEqual({ allowed: false, retryAfterMs: 10_000, scope: "channel" });
  });

  test("a scope with no spec or no key is not limited", () => {
    const limiter = createRateLimiter<"payer" | "channel">({
      scopes: { payer: { perMinute: 1, burst: 1 } },
      clock: clock().now,
    });
    expect(admitted(50, () => limiter.take({ channel: "1" }))).toBe(50);
    expect(admitted(50, () => limiter.take({}))).toBe(50);
    expect(limiter.size()).toBe(0);
  });

  test("memory is bounded: the least recently used key is dropped first", () => {
    const c = clock();
    const limiter = createRateLimiter({ scopes: { payer: { perMinute: 1, burst: 1 } }, maxKeys: 100, clock: c.now });
    expect(limiter.take({ payer: "busy" }).allowed).toBe(true);
    for (let i = 0; i < 1000; i++) {
      limiter.take({ payer: `p${i}` });
      if (i % 10 === 0) expect(limiter.take({ payer: "busy" }).allowed).toBe(false); // kept: used recently
    }
    expect(limiter.size()).toBe(100);
    // p0 was dropped long ago, so it starts again with a full bucket
    expect(limiter.take({ payer: "p0" }).allowed).toBe(true);
  });
});
