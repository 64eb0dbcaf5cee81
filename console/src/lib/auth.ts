// The caller's secret (the admin token or a tenant API key), kept in sessionStorage only: it lives as
// long as the tab, is never written to localStorage, the URL or logs, and signing out removes it.

const KEY = 'pulse.console.credential';

export interface Credential {
  secret: string;
}

export function loadCredential(storage: Storage = sessionStorage): Credential | null {
  try {
    const raw = storage.getItem(KEY);
    if (!raw) return null;
    const parsed = JSON.parse(raw) as Partial<Credential>;
    return typeof parsed.secret === 'string' && parsed.secret.trim() ? { secret: parsed.secret } : null;
  } catch {
    return null;
  }
}

export function saveCredential(secret: string, storage: Storage = sessionStorage): Credential {
  const cred = { secret: secret.trim() };
  storage.setItem(KEY, JSON.stringify(cred));
  return cred;
}

export function clearCredential(storage: Storage = sessionStorage): void {
  storage.removeItem(KEY);
}

/** HTTP headers for a credential (a tenant key works as a Bearer token too, per the API contract). */
export function authHeaders(cred: Credential | null): Record<string, string> {
  return cred ? { Authorization: `Bearer ${cred.secret}` } : {};
}

/** The graphql-ws `connection_init` payload: browsers cannot set WebSocket headers. */
export function connectionParams(cred: Credential | null): Record<string, string> {
  return cred ? { Authorization: `Bearer ${cred.secret}` } : {};
}
