/**
 * Arranging the deployed API for the benchmarks through its own routes (over TLS through Caddy):
 * the bootstrap admin's login (changing its generated password first when the API demands it), a
 * throwaway staff user, seeded clients, and their removal afterwards.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Client } from "undici";
import { send, type Endpoint, type RequestSpec } from "../lib/load";

/** An authenticated caller. */
export interface Session {
  readonly token: string;
  readonly userId: string;
}

/** Where the bench keeps the admin password it set (the API forces a change of the generated one). */
export interface AdminStore {
  readonly path: string;
}

interface Saved {
  readonly stack: string;
  readonly email: string;
  readonly password: string;
}

/** A password the API's policy accepts (length, classes, a listed symbol, not common). */
export function benchPassword(): string {
  return `Bq${randomBytes(9).toString("hex")}#7Zr`;
}

async function call(client: Client, endpoint: Endpoint, spec: RequestSpec, token?: string): Promise<{ status: number; json: Record<string, unknown>; headers: Record<string, string | string[] | undefined> }> {
  const reply = await send(client, endpoint, { ...spec, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...spec.headers } });
  let json: Record<string, unknown> = {};
  try {
    json = reply.body === "" ? {} : (JSON.parse(reply.body) as Record<string, unknown>);
  } catch {
    json = {};
  }
  return { status: reply.status, json, headers: reply.headers };
}

/**
 * Logs in; on 429 (the per-address budget, shared by every client of the host's published port)
 * waits the Retry-After it is given, at most twice.
 */
export async function login(client: Client, endpoint: Endpoint, email: string, password: string): Promise<{ status: number; token?: string; userId?: string; mustChange?: boolean; remaining?: number; resetSeconds?: number }> {
  for (let attempt = 0; ; attempt += 1) {
    const reply = await call(client, endpoint, { method: "POST", path: "/auth/login", body: JSON.stringify({ email, password }) });
    if (reply.status === 429 && attempt < 2) {
      const wait = Number(reply.headers["retry-after"] ?? 60);
      console.log(`  login budget of this address used up; waiting ${wait} s as the API asks`);
      await new Promise((r) => setTimeout(r, Math.min(wait, 61) * 1000));
      continue;
    }
    // draft-7 header: `limit=5, remaining=3, reset=42`.
    const header = String(reply.headers["ratelimit"] ?? "");
    const remaining = /remaining=(\d+)/.exec(header)?.[1];
    const reset = /reset=(\d+)/.exec(header)?.[1];
    const user = reply.json["user"] as { id?: string; mustChangePassword?: boolean } | undefined;
    return {
      status: reply.status,
      token: typeof reply.json["token"] === "string" ? reply.json["token"] : undefined,
      userId: user?.id,
      mustChange: user?.mustChangePassword,
      remaining: remaining === undefined ? undefined : Number(remaining),
      resetSeconds: reset === undefined ? undefined : Number(reset),
    };
  }
}

function readSaved(store: AdminStore, stack: string, email: string): string | undefined {
  if (!existsSync(store.path)) return undefined;
  const saved = JSON.parse(readFileSync(store.path, "utf8")) as Saved;
  return saved.stack === stack && saved.email === email ? saved.password : undefined;
}

function save(store: AdminStore, value: Saved): void {
  mkdirSync(dirname(store.path), { recursive: true, mode: 0o700 });
  writeFileSync(store.path, JSON.stringify(value) + "\n", { mode: 0o600 });
  chmodSync(store.path, 0o600);
}

/**
 * The admin's session. The generated password from stack.json is tried first (a fresh stack); a
 * password the bench set on an earlier run of the same stack second. When the API requires the
 * first-login change, the bench sets a new password and keeps it (mode 0600) in `store`.
 */
export async function adminSession(client: Client, endpoint: Endpoint, stack: string, email: string, generated: string, store: AdminStore): Promise<Session> {
  let password = generated;
  let reply = await login(client, endpoint, email, password);
  const saved = readSaved(store, stack, email);
  if (reply.status === 401 && saved !== undefined) {
    password = saved;
    reply = await login(client, endpoint, email, password);
  }
  if (reply.status !== 200 || !reply.token || !reply.userId) {
    throw new Error(`the admin ${email} cannot log in (HTTP ${reply.status}); with a changed password and no ${store.path}, redeploy the stack (npm run live:down && npm run live:up)`);
  }
  if (!reply.mustChange) return { token: reply.token, userId: reply.userId };
  const next = benchPassword();
  const changed = await call(client, endpoint, { method: "POST", path: "/auth/password", body: JSON.stringify({ currentPassword: password, newPassword: next }) }, reply.token);
  if (changed.status !== 200 || typeof changed.json["token"] !== "string") throw new Error(`the admin's first-login password change failed (HTTP ${changed.status})`);
  save(store, { stack, email, password: next });
  console.log(`  the API required the bootstrap admin's first-login password change; the new password is in ${store.path}`);
  return { token: changed.json["token"], userId: reply.userId };
}

/** Creates a staff user that needs no password change, logs it in, and returns it with its password. */
export async function staffSession(client: Client, endpoint: Endpoint, admin: Session): Promise<Session & { email: string; password: string }> {
  const email = `bench-staff-${randomBytes(4).toString("hex")}@example.com`;
  const password = benchPassword();
  const created = await call(client, endpoint, { method: "POST", path: "/users", body: JSON.stringify({ email, role: "staff", password, mustChangePassword: false }) }, admin.token);
  if (created.status !== 201) throw new Error(`creating the bench's staff user failed (HTTP ${created.status}: ${JSON.stringify(created.json)})`);
  const reply = await login(client, endpoint, email, password);
  if (reply.status !== 200 || !reply.token) throw new Error(`the bench's staff user cannot log in (HTTP ${reply.status})`);
  return { token: reply.token, userId: String(created.json["id"]), email, password };
}

/** A valid POST /clients body, unique per `n`. */
export function clientBody(run: string, n: number): string {
  const digits = String(n % 10_000_000).padStart(7, "0");
  return JSON.stringify({ name: `bench ${run} client ${n}`, phone: `555${digits}`, email: `bench-${run}-${n}@example.com` });
}

/** Creates `count` clients as `session`; returns their ids. */
export async function seedClients(client: Client, endpoint: Endpoint, session: Session, run: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let n = 0; n < count; n += 1) {
    const reply = await call(client, endpoint, { method: "POST", path: "/clients", body: clientBody(`${run}s`, n) }, session.token);
    if (reply.status !== 201) throw new Error(`seeding client ${n} failed (HTTP ${reply.status}: ${JSON.stringify(reply.json)})`);
    ids.push(String(reply.json["id"]));
  }
  return ids;
}

/** Deletes clients (admin only), `parallel` at a time; returns how many could not be deleted. */
export async function deleteClients(clients: readonly Client[], endpoint: Endpoint, admin: Session, ids: readonly string[]): Promise<number> {
  let next = 0;
  let failed = 0;
  await Promise.all(
    clients.map(async (c) => {
      while (next < ids.length) {
        const id = ids[next++] as string;
        const reply = await call(c, endpoint, { method: "DELETE", path: `/clients/${id}` }, admin.token);
        if (reply.status !== 204) failed += 1;
      }
    }),
  );
  return failed;
}

/** Deletes a user (admin only); true when it is gone. */
export async function deleteUser(client: Client, endpoint: Endpoint, admin: Session, id: string): Promise<boolean> {
  const reply = await call(client, endpoint, { method: "DELETE", path: `/users/${id}` }, admin.token);
  return reply.status === 204;
}
