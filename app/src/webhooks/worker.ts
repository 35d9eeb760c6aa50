import type { Pool } from "pg";
import type { Logger } from "pino";
import { redactLegacyTargets, resolveTarget } from "./outbox";
import { signHeaders } from "./signature";

/** Tuning of the outbound delivery loop. */
export interface OutboxWorkerOptions {
  readonly pollMs: number;
  /** How long a claimed delivery stays reserved; after that a restarted worker takes it again. */
  readonly leaseSeconds: number;
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly timeoutMs: number;
  readonly batchSize: number;
  readonly random?: () => number;
}

/** Production defaults: about 8 attempts over roughly an hour, then dead-letter. */
export const DEFAULT_OUTBOX_OPTIONS: OutboxWorkerOptions = Object.freeze({
  pollMs: 2_000,
  leaseSeconds: 60,
  maxAttempts: 8,
  baseDelayMs: 5_000,
  maxDelayMs: 30 * 60_000,
  timeoutMs: 10_000,
  batchSize: 10,
});

/**
 * Delay before retry number `attempt` (1-based): exponential, capped, with "equal jitter" (half
 * fixed, half random) so retries from many events spread out but still grow.
 */
export function retryDelayMs(attempt: number, options: Pick<OutboxWorkerOptions, "baseDelayMs" | "maxDelayMs">, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** What the worker needs of the Zapier config: the signing secret and the receivers' URLs. */
export interface OutboundTargets {
  readonly hmacSecret: Uint8Array;
  readonly outboundUrls: readonly string[];
}

const CODE = /^[A-Z][A-Z0-9_]{1,40}$/;
const SYSCALL = /^[a-z]{1,20}$/;

/**
 * Why a delivery failed, for `last_error` and the log: built only from error names and system
 * codes (e.g. "connect ECONNREFUSED", "timeout"), never from messages, which can carry the URL.
 */
export function describeFailure(failure: unknown): string {
  if (!(failure instanceof Error)) return "delivery failed";
  if (failure.name === "TimeoutError") return "timeout";
  const cause: unknown = failure.cause;
  if (cause instanceof Error) {
    const { code, syscall } = cause as Error & { code?: unknown; syscall?: unknown };
    if (typeof code === "string" && CODE.test(code)) return typeof syscall === "string" && SYSCALL.test(syscall) ? `${syscall} ${code}` : code;
    if (cause.message === "unexpected redirect") return "redirect refused";
    if (cause.name === "TimeoutError") return "timeout";
  }
  return failure.name === "TypeError" ? "request failed" : failure.name;
}

interface Claimed {
  id: string;
  delivery_id: string;
  event: string;
  body: string;
  target_url: string;
  attempts: number;
}

/** A running delivery loop. */
export interface OutboxWorker {
  /** Claims and delivers one batch now; returns how many were attempted. */
  runOnce(): Promise<number>;
  /** Stops polling and waits for the batch in flight (deliveries keep their lease if cut short). */
  stop(): Promise<void>;
}

/**
 * Starts the loop that delivers the outbox. Claiming sets a lease and counts the attempt in one
 * statement (SKIP LOCKED), so a crash mid-delivery leaves the row to be retried after the lease,
 * never lost. Delivery is at least once; receivers deduplicate on the delivery id header.
 */
export function startOutboxWorker(pool: Pool, logger: Logger, targets: OutboundTargets, options: OutboxWorkerOptions = DEFAULT_OUTBOX_OPTIONS, autoStart = true): OutboxWorker {
  const random = options.random ?? Math.random;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<number> | undefined;
  const controller = new AbortController();
  let legacyRedacted = false;

  async function deliver(row: Claimed): Promise<void> {
    const url = resolveTarget(row.target_url, targets.outboundUrls);
    if (url === undefined) {
      // Retrying cannot help: the receiver was removed from the configuration.
      await pool.query("UPDATE outbox SET status = 'dead', leased_until = NULL, last_error = $2 WHERE id = $1", [row.id, "receiver no longer configured"]);
      logger.warn({ outboxId: row.id, event: row.event, attempts: row.attempts }, "webhook dead-lettered: receiver no longer configured");
      return;
    }
    const body = Buffer.from(row.body, "utf8");
    let error: string | undefined;
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", "x-krc-event": row.event, ...signHeaders(targets.hmacSecret, row.delivery_id, body) },
        body,
        redirect: "error",
        signal: AbortSignal.any([AbortSignal.timeout(options.timeoutMs), controller.signal]),
      });
      await response.body?.cancel();
      if (!response.ok) error = `HTTP ${response.status}`;
    } catch (failure) {
      error = describeFailure(failure);
    }
    if (controller.signal.aborted) return; // shutting down: the lease expires and a later run retries
    if (error === undefined) {
      await pool.query("UPDATE outbox SET status = 'delivered', delivered_at = now(), leased_until = NULL, last_error = NULL WHERE id = $1", [row.id]);
      logger.info({ outboxId: row.id, event: row.event, attempts: row.attempts }, "webhook delivered");
    } else if (row.attempts >= options.maxAttempts) {
      await pool.query("UPDATE outbox SET status = 'dead', leased_until = NULL, last_error = $2 WHERE id = $1", [row.id, error]);
      logger.warn({ outboxId: row.id, event: row.event, attempts: row.attempts, error }, "webhook dead-lettered");
    } else {
      const delay = retryDelayMs(row.attempts, options, random);
      await pool.query(
        "UPDATE outbox SET next_attempt_at = now() + make_interval(secs => $2), leased_until = NULL, last_error = $3 WHERE id = $1",
        [row.id, delay / 1000, error],
      );
      logger.warn({ outboxId: row.id, event: row.event, attempts: row.attempts, error, retryInMs: delay }, "webhook delivery failed");
    }
  }

  async function runOnce(): Promise<number> {
    if (!legacyRedacted) {
      const redacted = await redactLegacyTargets(pool);
      if (redacted > 0) logger.info({ redacted }, "outbox: replaced stored receiver URLs with references");
      legacyRedacted = true;
    }
    const { rows } = await pool.query<Claimed>(
      `UPDATE outbox SET leased_until = now() + make_interval(secs => $1), attempts = attempts + 1
       WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= now()
                      AND (leased_until IS NULL OR leased_until < now())
                    ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING id::text, delivery_id::text, event, payload::text AS body, target_url, attempts`,
      [options.leaseSeconds, options.batchSize],
    );
    await Promise.all(rows.map(deliver));
    return rows.length;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      inFlight = runOnce().catch((error: unknown) => {
        logger.error({ err: error }, "outbox run failed");
        return 0;
      });
      void inFlight.finally(schedule);
    }, options.pollMs);
  }
  if (autoStart) schedule();

  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      controller.abort();
      await inFlight;
    },
  };
}
