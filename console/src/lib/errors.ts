// Turns a failed GraphQL request into words an operator can act on: which component failed and the
// command that fixes it.
import type { CombinedError } from 'urql';

export interface Explained {
  title: string;
  hint?: string;
  code?: string;
}

export function errorCode(err: CombinedError | undefined | null): string | undefined {
  const e = err?.graphQLErrors?.[0];
  const code = e?.extensions?.code;
  return typeof code === 'string' ? code : undefined;
}

export function explainError(err: CombinedError | Error | undefined | null, what = 'this view'): Explained {
  if (!err) return { title: 'Unknown error' };
  const combined = err as CombinedError;
  if (combined.networkError) {
    const status = (combined.response as Response | undefined)?.status;
    if (status === 401) return { title: 'Not signed in or the credential was refused', hint: 'Sign out and sign in again with the admin token (.run/admin-token) or a tenant key.', code: 'UNAUTHENTICATED' };
    if (status && status >= 500) return { title: `The graphql service failed (HTTP ${status}) while loading ${what}`, hint: 'Look at .run/logs/graphql.log; `make up` restarts the services.' };
    return { title: 'The graphql service is not reachable', hint: 'Start it with `make up` (it listens on http://127.0.0.1:8081).' };
  }
  const code = errorCode(combined);
  const message = combined.graphQLErrors?.[0]?.message ?? err.message;
  switch (code) {
    case 'UNAUTHENTICATED':
      return { title: 'Your credential was not accepted', hint: 'Sign out and sign in again.', code };
    case 'FORBIDDEN':
      return { title: `${what} needs the admin token`, hint: 'A tenant key is read-only and sees only its own tenant.', code };
    case 'NOT_FOUND':
      return { title: message, code };
    case 'BAD_USER_INPUT':
      return { title: message, hint: 'Check the values you entered.', code };
    default:
      return { title: message || `Loading ${what} failed`, hint: 'If this persists, look at .run/logs/graphql.log.', code };
  }
}

/** Message for a component that reports DOWN in `health`. */
export function componentHint(name: string): string {
  switch (name) {
    case 'processor':
      return 'processor not running — run `make up`';
    case 'ingest':
      return 'ingest not running — run `make up`';
    case 'kafka':
      return 'Kafka is down — run `make up` (or `make status`)';
    case 'postgres':
      return 'PostgreSQL is down — run `make up`';
    case 'redis':
      return 'Redis is down — run `make up`';
    case 'jaeger':
      return 'Jaeger is down — traces are not collected; run `make up`';
    default:
      return `${name} is down — run \`make up\``;
  }
}
