import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Pool } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../app/src/logger";
import { targetRefOf } from "../../app/src/webhooks/outbox";
import { signHeaders, verifySignature } from "../../app/src/webhooks/signature";
import { retryDelayMs, startOutboxWorker, type OutboxWorkerOptions } from "../../app/src/webhooks/worker";
import { startTestApi, type TestApi } from "./helpers";

/** A local receiver on 127.0.0.1 whose answers the test scripts. */
interface Received {
  readonly headers: IncomingMessage["headers"];
  readonly body: Buffer;
}
let receiver: Server;
let received: Received[] = [];
let answer: (n: number, res: ServerResponse) => void = (_n, res) => res.end();

let api: TestApi;
let receiverUrl: string;
let admin: { token: string };
const logger = createLogger("silent");
const FAST: OutboxWorkerOptions = { pollMs: 30, leaseSeconds: 1, maxAttempts: 3, baseDelayMs: 40, maxDelayMs: 200, timeoutMs: 5_000, batchSize: 10 };

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      answer(received.length, res);
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const port = (receiver.address() as AddressInfo).port;
  receiverUrl = `http://127.0.0.1:${port}/hook`;
  api = await startTestApi({ ZAPIER_OUTBOUND_URLS: receiverUrl });
  admin = await api.loginAs("admin");
}, 60_000);

afterAll(async () => {
  receiver?.closeAllConnections();
  await new Promise((resolve) => receiver?.close(resolve));
  await api?.close();
});

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function outboxRow(event: string, clientId: string) {
  const { rows } = await api.ownerPool.query<{ id: string; status: string; attempts: number; delivery_id: string }>(
    "SELECT id::text, status, attempts, delivery_id::text FROM outbox WHERE event = $1 AND payload->'data'->>'id' = $2",
    [event, clientId],
  );
  return rows[0];
}

async function newClient(name: string): Promise<string> {
  const staff = await api.loginAs("staff");
  const reply = await api.call("/clients", { token: staff.token, json: { name, phone: "6615550123" } });
  return String(reply.body.id);
}

describe("retry schedule", () => {
  it("grows exponentially with jitter between half and all of the capped ceiling", () => {
    const options = { baseDelayMs: 1_000, maxDelayMs: 10_000 };
    expect([1, 2, 3, 4, 5, 9].map((n) => retryDelayMs(n, options, () => 0))).toEqual([500, 1_000, 2_000, 4_000, 5_000, 5_000]);
    expect([1, 2, 3, 4, 5, 9].map((n) => retryDelayMs(n, options, () => 1))).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
  });
});

describe("inbound Zapier webhook", () => {
  it("creates a client when the raw body is signed with the stack's secret", async () => {
    const body = JSON.stringify({ event: "client.create", data: { name: "From Zapier", phone: "(661) 555-0133", email: "zap@example.com" } });
    const reply = await api.call("/webhooks/zapier", { method: "POST", raw: body, headers: { "content-type": "application/json", ...signHeaders(api.config.zapier.hmacSecret, randomUUID(), Buffer.from(body)) } });
    expect(reply.status).toBe(201);
    const { rows } = await api.ownerPool.query("SELECT name, phone, email FROM clients WHERE id = $1", [reply.body.id]);
    expect(rows[0]).toEqual({ name: "From Zapier", phone: "6615550133", email: "zap@example.com" });
  });
});

describe("outbound outbox", () => {
  it("retries with backoff and delivers signed requests when the receiver fails the first deliveries", async () => {
    received = [];
    // Every delivery fails its first two tries.
    answer = (n, res) => {
      const id = received[n - 1]?.headers["x-krc-delivery"];
      res.statusCode = received.filter((r) => r.headers["x-krc-delivery"] === id).length <= 2 ? 500 : 200;
      res.end();
    };
    const clientId = await newClient("Retry Me");
    expect((await outboxRow("client.created", clientId))?.status).toBe("pending");
    const worker = startOutboxWorker(api.appPool, logger, api.config.zapier, FAST);
    try {
      const row = await until(async () => {
        const r = await outboxRow("client.created", clientId);
        return r?.status === "delivered" ? r : undefined;
      });
      expect(row.attempts).toBe(3);
      const mine = received.filter((r) => r.headers["x-krc-delivery"] === row.delivery_id);
      expect(mine).toHaveLength(3);
      for (const request of mine) {
        expect(verifySignature(api.config.zapier.hmacSecret, request.headers, request.body)).toEqual({ ok: true, deliveryId: row.delivery_id });
        expect(JSON.parse(request.body.toString())).toMatchObject({ event: "client.created", data: { id: clientId, name: "Retry Me" } });
      }
    } finally {
      await worker.stop();
    }
  });

  it("dead-letters after the last attempt, shows it to admins and delivers it when replayed", async () => {
    received = [];
    answer = (_n, res) => {
      res.statusCode = 503;
      res.end();
    };
    const clientId = await newClient("Dead Letter");
    const worker = startOutboxWorker(api.appPool, logger, api.config.zapier, FAST);
    try {
      const dead = await until(async () => {
        const r = await outboxRow("client.created", clientId);
        return r?.status === "dead" ? r : undefined;
      });
      expect(dead.attempts).toBe(3);
      const listed = await api.call("/webhooks/outbox?status=dead", { token: admin.token });
      expect(listed.status).toBe(200);
      expect(listed.body.items[0]).toMatchObject({ id: dead.id, status: "dead", lastError: "HTTP 503", attempts: 3 });

      answer = (_n, res) => res.end();
      const replay = await api.call(`/webhooks/outbox/${dead.id}/replay`, { method: "POST", token: admin.token });
      expect(replay.status).toBe(202);
      const again = await api.call(`/webhooks/outbox/${dead.id}/replay`, { method: "POST", token: admin.token });
      expect(again.status).toBe(409);
      const delivered = await until(async () => {
        const r = await outboxRow("client.created", clientId);
        return r?.status === "delivered" ? r : undefined;
      });
      expect(delivered.delivery_id).toBe(dead.delivery_id);
    } finally {
      await worker.stop();
    }
  });

  it("loses nothing when the API stops mid-delivery and a new one starts", async () => {
    received = [];
    let release: (() => void) | undefined;
    // The first delivery hangs until the first "process" has gone; later ones succeed.
    answer = (n, res) => {
      if (n === 1) release = () => res.destroy();
      else res.end();
    };
    const clientId = await newClient("Mid Delivery");
    const firstPool = new Pool({ host: api.pg.host, port: api.pg.port, database: api.pg.database, user: api.pg.app.user, password: api.pg.app.password, max: 2 });
    const first = startOutboxWorker(firstPool, logger, api.config.zapier, { ...FAST, leaseSeconds: 2 });
    await until(async () => (received.length >= 1 ? true : undefined));
    await first.stop();
    await firstPool.end();
    release?.();
    const leased = await outboxRow("client.created", clientId);
    expect(leased).toMatchObject({ status: "pending", attempts: 1 });

    const second = startOutboxWorker(api.appPool, logger, api.config.zapier, FAST);
    try {
      const row = await until(async () => {
        const r = await outboxRow("client.created", clientId);
        return r?.status === "delivered" ? r : undefined;
      });
      expect(row.attempts).toBe(2);
      expect(new Set(received.map((r) => r.headers["x-krc-delivery"]))).toEqual(new Set([row.delivery_id]));
    } finally {
      await second.stop();
    }
  });

  it("queues a check-in event when the kiosk checks a client in", async () => {
    const clientId = await newClient("Checking In");
    const kiosk = await api.loginAs("kiosk");
    const lookup = await api.call("/kiosk/clients?phone=661-555-0123", { token: kiosk.token });
    expect(lookup.status).toBe(200);
    expect(lookup.body.items[0]).toEqual(expect.objectContaining({ id: expect.any(String), name: expect.any(String) }));
    expect(Object.keys(lookup.body.items[0])).toEqual(["id", "name"]);
    const checkin = await api.call("/checkins", { token: kiosk.token, json: { clientId } });
    expect(checkin.status).toBe(201);
    expect(checkin.body.source).toBe("kiosk");
    const { rows } = await api.ownerPool.query("SELECT status FROM outbox WHERE event = 'checkin.created' AND payload->'data'->>'clientId' = $1", [clientId]);
    expect(rows).toEqual([{ status: "pending" }]);
  });
});

describe("outbound receiver URLs are secrets", () => {
  const REF = /^sha256:[0-9a-f]{16}$/;

  async function targetOf(id: string): Promise<{ target_url: string; status: string; attempts: number; last_error: string | null }> {
    const { rows } = await api.ownerPool.query<{ target_url: string; status: string; attempts: number; last_error: string | null }>("SELECT target_url, status, attempts, last_error FROM outbox WHERE id = $1", [id]);
    const row = rows[0];
    if (!row) throw new Error(`no outbox row ${id}`);
    return row;
  }

  async function insertRow(target: string, marker: string): Promise<string> {
    const { rows } = await api.ownerPool.query<{ id: string }>("INSERT INTO outbox (event, payload, target_url) VALUES ('client.created', $1, $2) RETURNING id::text", [JSON.stringify({ event: "client.created", data: { id: marker } }), target]);
    return rows[0]?.id ?? "";
  }

  async function settled(id: string) {
    return until(async () => {
      const row = await targetOf(id);
      return row.status === "pending" ? undefined : row;
    });
  }

  it("stores a reference and shows only the reference and host when an event is queued", async () => {
    const clientId = await newClient("Secret Receiver");
    const row = await outboxRow("client.created", clientId);
    const stored = await targetOf(row?.id ?? "");
    expect(stored.target_url).toMatch(REF);
    expect(stored.target_url).toBe(targetRefOf(receiverUrl));
    const listed = await api.call("/webhooks/outbox?status=pending", { token: admin.token });
    const item = (listed.body.items as unknown as Record<string, unknown>[]).find((i) => i.id === row?.id);
    expect(item).toMatchObject({ targetRef: targetRefOf(receiverUrl), targetHost: new URL(receiverUrl).host });
    expect(item).not.toHaveProperty("targetUrl");
    expect(listed.text).not.toContain("/hook");
  });

  it("delivers, then rewrites and never shows a full URL stored by an older version when it is still configured", async () => {
    received = [];
    answer = (_n, res) => res.end();
    const id = await insertRow(receiverUrl, "legacy-row");
    const listed = await api.call("/webhooks/outbox?status=pending", { token: admin.token });
    expect((listed.body.items as unknown as Record<string, unknown>[]).find((i) => i.id === id)).toMatchObject({ targetRef: targetRefOf(receiverUrl), targetHost: new URL(receiverUrl).host });
    expect(listed.text).not.toContain("/hook");
    const worker = startOutboxWorker(api.appPool, logger, api.config.zapier, FAST);
    try {
      expect(await settled(id)).toMatchObject({ status: "delivered", target_url: targetRefOf(receiverUrl) });
      expect(received.some((r) => JSON.parse(r.body.toString()).data?.id === "legacy-row")).toBe(true);
    } finally {
      await worker.stop();
    }
  });

  it("dead-letters at once when the row's receiver is no longer configured", async () => {
    received = [];
    const id = await insertRow(targetRefOf("https://hooks.zapier.com/hooks/catch/123/removed-token/"), "removed-receiver");
    const worker = startOutboxWorker(api.appPool, logger, api.config.zapier, FAST);
    try {
      expect(await settled(id)).toMatchObject({ status: "dead", attempts: 1, last_error: "receiver no longer configured" });
      expect(received).toHaveLength(0);
    } finally {
      await worker.stop();
    }
  });

  it("records connect ECONNREFUSED without the URL when the receiver refuses connections", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/hooks/catch/123/secret-token/?x=1`;
    await new Promise((resolve) => closed.close(resolve));
    const id = await insertRow(targetRefOf(closedUrl), "refused");
    const worker = startOutboxWorker(api.appPool, logger, { hmacSecret: api.config.zapier.hmacSecret, outboundUrls: [closedUrl] }, { ...FAST, maxAttempts: 1 });
    try {
      expect(await settled(id)).toMatchObject({ status: "dead", last_error: "connect ECONNREFUSED" });
    } finally {
      await worker.stop();
    }
  });

  it("records timeout when the receiver does not answer in time", async () => {
    answer = () => undefined;
    const id = await insertRow(targetRefOf(receiverUrl), "too-slow");
    const worker = startOutboxWorker(api.appPool, logger, api.config.zapier, { ...FAST, maxAttempts: 1, timeoutMs: 200 });
    try {
      expect(await settled(id)).toMatchObject({ status: "dead", last_error: "timeout" });
    } finally {
      await worker.stop();
      answer = (_n, res) => res.end();
    }
  });

  it("keeps receiver URL paths out of every outbox row and every outbox response", async () => {
    const { rows } = await api.ownerPool.query<{ row: string }>("SELECT to_jsonb(o)::text AS row FROM outbox o");
    expect(rows.length).toBeGreaterThan(5);
    for (const { row } of rows) {
      expect(row).not.toContain("/hook");
      expect(row).not.toContain("secret-token");
      expect(row).not.toContain("127.0.0.1");
    }
    for (const status of ["pending", "delivered", "dead"]) {
      const listed = await api.call(`/webhooks/outbox?status=${status}&pageSize=100`, { token: admin.token });
      expect(listed.status).toBe(200);
      expect(listed.text).not.toContain("/hook");
      expect(listed.text).not.toContain("secret-token");
    }
  });
});
