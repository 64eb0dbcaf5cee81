// What GraphiQL opens with: an example document, and the headers editor pre-filled with the console's
// credential when this tab is signed in to the console (sessionStorage, same origin), else a template.
import { loadCredential } from '../src/lib/auth';

export const EXAMPLE_QUERY = `# Pulse admin API. Put the admin token (make up printed it; .run/admin-token)
# or a tenant API key in the Headers tab below, then run an operation.

query Overview {
  me { role tenantName }
  health { status components { name status } }
  stats(window: "1h") { received stored deadLettered dlqRate topEventTypes { eventType count } }
}

# A live subscription (over WebSocket; the headers are sent in connection_init):
subscription Throughput {
  throughput(intervalMs: 1000) { at ingestPerSecond processedPerSecond deadLetteredPerSecond }
}
`;

export function defaultHeadersText(storage: Storage): string {
  const cred = loadCredential(storage);
  const value = cred ? `Bearer ${cred.secret}` : 'Bearer <admin token or tenant API key>';
  return JSON.stringify({ Authorization: value }, null, 2);
}
