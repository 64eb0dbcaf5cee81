// Talks to the real stack from the test process: the admin token of `make up`, GraphQL calls with it,
// and events posted to ingest with a tenant key.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const GRAPHQL = process.env.PULSE_GRAPHQL_URL ?? 'http://127.0.0.1:8081/graphql';
export const INGEST = process.env.PULSE_INGEST_URL ?? 'http://127.0.0.1:8080';

export function adminToken(): string {
  if (process.env.PULSE_ADMIN_TOKEN) return process.env.PULSE_ADMIN_TOKEN;
  const file = resolve(import.meta.dirname, '../../.run/admin-token');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    throw new Error(`no admin token: set PULSE_ADMIN_TOKEN or run \`make up\` (it writes ${file})`);
  }
}

export async function gql<T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, secret = adminToken()): Promise<T> {
  const res = await fetch(GRAPHQL, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', Authorization: `Bearer ${secret}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: Array<{ message: string }> };
  if (body.errors?.length) throw new Error(`GraphQL error: ${body.errors.map((e) => e.message).join('; ')}`);
  return body.data as T;
}

export interface TestTenant {
  id: string;
  name: string;
  apiKey: string;
}

export async function createTenant(prefix: string, rateLimitPerMinute?: number): Promise<TestTenant> {
  const name = `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  const d = await gql<{ createTenant: { apiKey: string; tenant: { id: string; name: string } } }>(
    `mutation($name: String!, $rate: Int) { createTenant(name: $name, rateLimitPerMinute: $rate) { apiKey tenant { id name } } }`,
    { name, rate: rateLimitPerMinute ?? null },
  );
  return { id: d.createTenant.tenant.id, name: d.createTenant.tenant.name, apiKey: d.createTenant.apiKey };
}

export async function postEvent(apiKey: string, body: unknown, idempotencyKey?: string): Promise<{ status: number; eventId: string }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'X-API-Key': apiKey };
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
  const res = await fetch(`${INGEST}/events`, { method: 'POST', headers, body: JSON.stringify(body) });
  const json = (await res.json()) as { event_id?: string };
  if (res.status !== 202 && res.status !== 200) throw new Error(`ingest answered ${res.status}: ${JSON.stringify(json)}`);
  return { status: res.status, eventId: json.event_id! };
}

export async function postBatch(apiKey: string, events: unknown[]): Promise<number> {
  const res = await fetch(`${INGEST}/events/batch`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-API-Key': apiKey },
    body: JSON.stringify({ events }),
  });
  if (res.status >= 300) return 0;
  const json = (await res.json()) as { results?: Array<{ status?: string | number }> };
  return json.results?.length ?? events.length;
}
