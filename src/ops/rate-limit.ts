/**
 * Token buckets for call admission (protocol/operations.md#rate-limits): the reference's one global bucket
 * (`rate_limit_per_minute`, `burst_size`) plus buckets per key in named scopes (payer address, channel
 * id), so one busy payer cannot starve the others. A call is admitted only if every bucket it touches
 * has a token, and then takes one from each; a refusal takes none and says when to retry.
 *
 * Per-key buckets live in a map bounded by `maxKeys`, least recently used dropped first. A dropped key
 * comes back with a full bucket, so the bound trades exactness for memory: with more active keys than
 * `maxKeys` a key can burst again sooner than its rate allows. Buckets are per process; replicas behind
 * a load balancer each apply the limits on their own (N replicas admit up to N times the rate).
 *
 * @example
 * const limiter = createRateLimiter({ global: { perMinute: 600, burst: 50 }, scopes: { payer: { perMinute: 60, burst: 10 } } });
 * const d = limiter.take({ payer: "0xab…" });
 * if (!d.allowed) refuse(RATE_LIMIT_MESSAGE, d.retryAfterMs);
 */

/** The reference's wire text (space before the comma included): clients and operators grep it. */
export const RATE_LIMIT_MESSAGE = "rate limiting , too many requests to handle";

export interface BucketSpec {
  /** Tokens added per minute; fractions allowed (0.5 = one every two minutes). */
  perMinute: number;
  /** Bucket size: calls admitted at once after a quiet period. */
  burst: number;
}

export type Decision = { allowed: true } | { allowed: false; retryAfterMs: number; scope: string };

export interface RateLimiterOptions<S extends string> {
  global?: BucketSpec;
  scopes?: Partial<Record<S, BucketSpec>>;
  /** Per-key buckets kept, over all scopes; default 10 000 (about 1 MB). */
  maxKeys?: number;
  /** Milliseconds, monotonic; default performance.now. */
  clock?: () => number;
}

export interface RateLimiter<S extends string> {
  /** Admits one call for these keys (a scope without a key, or without a spec, is not limited). */
  take(keys?: Partial<Record<S, string>>): Decision;
  /** Per-key buckets held now. */
  size(): number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Validated bucket spec from the config values; undefined when the limit is off (unset or 0 rate). */
export function bucketSpec(perMinute: number | undefined, burst: number | undefined): BucketSpec | undefined {
  if (perMinute === undefined || !(perMinute > 0)) return undefined;
  if (burst !== undefined && !(burst >= 1))
    throw new RangeError(`Burst size "${burst}" is not usable; expected at least 1`);
  // Without a burst the reference's bucket holds 2^31 tokens and never limits; ours defaults to one
  // minute's worth, which is what an operator setting only a rate expects.
  return { perMinute, burst: burst ?? Math.max(1, Math.ceil(perMinute)) };
}

/** A limiter over a global bucket and per-key scopes; pure apart from the clock. */
export function createRateLimiter<S extends string>(opts: RateLimiterOptions<S>): RateLimiter<S> {
  const clock = opts.clock ?? (() => performance.now());
  const maxKeys = opts.maxKeys ?? 10_000;
  const specs = (opts.scopes ?? {}) as Partial<Record<S, BucketSpec>>;
  const global: Bucket | undefined = opts.global ? { tokens: opts.global.burst, at: clock() } : undefined;
  // A Map iterates in insertion order; re-inserting on use makes the first entry the least recently used.
  const buckets = new Map<string, Bucket>();

  const refill = (b: Bucket, spec: BucketSpec, now: number) => {
    if (now > b.at) b.tokens = Math.min(spec.burst, b.tokens + ((now - b.at) * spec.perMinute) / 60_000);
    b.at = now;
  };
  const waitMs = (b: Bucket, spec: BucketSpec) => Math.ceil(((1 - b.tokens) * 60_000) / spec.perMinute);

  return {
    take(keys = {}) {
      const now = clock();
      const touched: { bucket: Bucket; spec: BucketSpec; scope: string }[] = [];
      if (global && opts.global) touched.push({ bucket: global, spec: opts.global, scope: "global" });
      for (const scope of Object.keys(keys) as S[]) {
        const key = keys[scope];
        const spec = specs[scope];
        if (key === undefined || !spec) continue;
        const id = `${scope}\u0000${key}`;
        let bucket = buckets.get(id);
        if (bucket) buckets.delete(id);
        else bucket = { tokens: spec.burst, at: now };
        buckets.set(id, bucket);
        touched.push({ bucket, spec, scope });
      }
      while (buckets.size > maxKeys) buckets.delete(buckets.keys().next().value as string);

      let refusal: Decision | undefined;
      for (const t of touched) {
        refill(t.bucket, t.spec, now);
        if (t.bucket.tokens < 1) {
          const retryAfterMs = waitMs(t.bucket, t.spec);
          if (!refusal || (!refusal.allowed && retryAfterMs > refusal.retryAfterMs))
            refusal = { allowed: false, retryAfterMs, scope: t.scope };
        }
      }
      if (refusal) return refusal;
      for (const t of touched) t.bucket.tokens -= 1;
      return { allowed: true };
    },
    size: () => buckets.size,
  };
}

/** The `Retry-After` value (whole seconds, at least 1) for HTTP headers and gRPC metadata. */
export function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}
