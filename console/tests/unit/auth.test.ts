import { beforeEach, describe, expect, it } from 'vitest';
import { authHeaders, clearCredential, connectionParams, loadCredential, saveCredential } from '../../src/lib/auth';
import { defaultHeadersText } from '../../graphiql/defaults';

describe('auth storage', () => {
  beforeEach(() => {
    sessionStorage.clear();
    localStorage.clear();
  });

  it('keeps the secret in sessionStorage only and forgets it on sign out', () => {
    expect(loadCredential()).toBeNull();
    saveCredential('  s3cret-token  ');
    expect(loadCredential()).toEqual({ secret: 's3cret-token' });
    expect(localStorage.length).toBe(0);
    clearCredential();
    expect(loadCredential()).toBeNull();
    expect(sessionStorage.length).toBe(0);
  });

  it('ignores a corrupt entry', () => {
    sessionStorage.setItem('pulse.console.credential', '{not json');
    expect(loadCredential()).toBeNull();
    sessionStorage.setItem('pulse.console.credential', JSON.stringify({ secret: '' }));
    expect(loadCredential()).toBeNull();
  });

  it('sends the credential as a Bearer header and in connection_init', () => {
    const c = saveCredential('abc');
    expect(authHeaders(c)).toEqual({ Authorization: 'Bearer abc' });
    expect(connectionParams(c)).toEqual({ Authorization: 'Bearer abc' });
    expect(authHeaders(null)).toEqual({});
  });

  it('pre-fills GraphiQL headers with the signed-in credential, else a template', () => {
    expect(JSON.parse(defaultHeadersText(sessionStorage))).toEqual({ Authorization: 'Bearer <admin token or tenant API key>' });
    saveCredential('tok');
    expect(JSON.parse(defaultHeadersText(sessionStorage))).toEqual({ Authorization: 'Bearer tok' });
  });
});
