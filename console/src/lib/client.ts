// The GraphQL client: urql over HTTP for queries and mutations, graphql-ws for subscriptions. The
// credential goes in the Authorization header on HTTP and in the `connection_init` payload on the
// WebSocket (browsers cannot set WebSocket headers). The socket reconnects forever with backoff and
// reports its state so live views can say "reconnecting" instead of freezing silently.
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from 'urql';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { authHeaders, connectionParams, type Credential } from './auth';

export type SocketState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

type Listener = (s: SocketState, detail?: string) => void;

export class SocketStatus {
  state: SocketState = 'connecting';
  detail = '';
  lastMessageAt = 0;
  private listeners = new Set<Listener>();
  set(s: SocketState, detail = '') {
    this.state = s;
    this.detail = detail;
    this.listeners.forEach((l) => l(s, detail));
  }
  subscribe(l: Listener) {
    this.listeners.add(l);
    return () => {
      this.listeners.delete(l);
    };
  }
}

export function graphqlUrl(): string {
  return `${location.origin}/graphql`;
}

export function wsUrl(): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/graphql`;
}

export interface Clients {
  urql: Client;
  ws: WsClient;
  status: SocketStatus;
  dispose(): void;
}

export function createClients(cred: Credential | null): Clients {
  const status = new SocketStatus();
  let everConnected = false;
  let abnormalClose = false;
  const ws = createWsClient({
    url: wsUrl(),
    lazy: true,
    lazyCloseTimeout: 3000,
    connectionParams: () => connectionParams(cred),
    retryAttempts: Number.POSITIVE_INFINITY,
    // retry network failures and restarts; a refusal (4401 is never retried by graphql-ws, 4403 here)
    // ends the subscription with an error the view shows instead of "reconnecting" forever
    shouldRetry: (e) => !(typeof e === 'object' && e !== null && 'code' in e && (e as CloseEvent).code === 4403),
    retryWait: async (retries) => {
      await new Promise((r) => setTimeout(r, Math.min(1000 * 2 ** retries, 10000) * (0.75 + Math.random() / 2)));
    },
    on: {
      connecting: () => status.set(everConnected && abnormalClose ? 'reconnecting' : 'connecting'),
      connected: () => {
        everConnected = true;
        abnormalClose = false;
        status.set('connected');
      },
      message: () => {
        status.lastMessageAt = Date.now();
      },
      closed: (ev) => {
        const code = (ev as CloseEvent | undefined)?.code;
        // 1000: closed on purpose (no subscription left); anything else is a drop
        abnormalClose = code !== 1000;
        status.set(abnormalClose ? (everConnected ? 'reconnecting' : 'closed') : 'connecting', code ? `closed with code ${code}` : '');
      },
    },
  });
  const urql = new Client({
    url: graphqlUrl(),
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query || '' };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
    fetchOptions: () => ({ headers: { ...authHeaders(cred), Accept: 'application/graphql-response+json, application/json' } }),
    requestPolicy: 'cache-and-network',
    // POST for every operation: GET is reserved for browsers opening GraphiQL and for caches
    preferGetMethod: false,
  });
  return {
    urql,
    ws,
    status,
    dispose() {
      void ws.dispose();
    },
  };
}
