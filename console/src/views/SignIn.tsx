// Sign in with the admin token or a tenant API key. The secret is checked with `me` before it is kept
// (in sessionStorage only).
import { useState } from 'react';
import { graphqlUrl } from '../lib/client';
import { Command } from '../components/common';

export async function checkSecret(secret: string): Promise<{ ok: true; role: string } | { ok: false; message: string }> {
  let res: Response;
  try {
    res = await fetch(graphqlUrl(), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/graphql-response+json, application/json', Authorization: `Bearer ${secret}` },
      body: JSON.stringify({ query: 'query SignInCheck { me { role } }' }),
    });
  } catch {
    return { ok: false, message: 'The graphql service is not reachable — start it with `make up`.' };
  }
  let body: { data?: { me?: { role?: string } }; errors?: Array<{ message: string; extensions?: { code?: string } }> } = {};
  try {
    body = await res.json();
  } catch {
    return { ok: false, message: `The graphql service answered HTTP ${res.status} without JSON — is it the Pulse graphql service?` };
  }
  const role = body.data?.me?.role;
  if (role === 'ADMIN' || role === 'TENANT') return { ok: true, role };
  const code = body.errors?.[0]?.extensions?.code;
  if (res.status === 401 || code === 'UNAUTHENTICATED' || role === 'ANONYMOUS') {
    return { ok: false, message: 'This token or key was not accepted. Check it, or whether the tenant is disabled.' };
  }
  return { ok: false, message: body.errors?.[0]?.message ?? `Sign-in check failed (HTTP ${res.status}).` };
}

export function SignIn({ signedIn, onSignIn, onSignOut }: { signedIn: boolean; onSignIn(secret: string): void; onSignOut(): void }) {
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <main className="signin" id="main">
      <div className="signin-card">
        <h1>
          <span className="logo" aria-hidden="true">
            ◉
          </span>{' '}
          Pulse console
        </h1>
        <p className="muted">Sign in with the admin token (all tenants, operator actions) or a tenant API key (read-only, that tenant only).</p>
        <form
          onSubmit={async (e) => {
            e.preventDefault();
            if (!secret.trim()) {
              setError('Enter the admin token or a tenant API key.');
              return;
            }
            setBusy(true);
            setError(null);
            const r = await checkSecret(secret.trim());
            setBusy(false);
            if (r.ok) onSignIn(secret.trim());
            else setError(r.message);
          }}
        >
          <label htmlFor="secret">Admin token or tenant API key</label>
          <input
            id="secret"
            name="secret"
            type="password"
            autoComplete="off"
            spellCheck={false}
            value={secret}
            onChange={(e) => setSecret(e.target.value)}
            aria-describedby={error ? 'signin-error' : 'signin-help'}
            aria-invalid={error ? true : undefined}
            autoFocus
          />
          {error ? (
            <p id="signin-error" className="form-error" role="alert">
              {error}
            </p>
          ) : null}
          <button type="submit" className="btn primary" disabled={busy}>
            {busy ? 'Checking…' : 'Sign in'}
          </button>
        </form>
        <div id="signin-help" className="help">
          <p>
            <code>make up</code> printed the admin token; it is also kept in a file only you can read:
          </p>
          <Command text="cat .run/admin-token" />
          <p className="muted small">The secret stays in this browser tab (sessionStorage) and is forgotten when you sign out or close the tab.</p>
        </div>
        {signedIn ? (
          <button type="button" className="btn" onClick={onSignOut}>
            Sign out
          </button>
        ) : null}
      </div>
    </main>
  );
}
