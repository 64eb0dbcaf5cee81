// Offline GraphiQL for Pulse: built from the `graphiql` npm package into console/dist/graphiql.html
// (no CDN), served by `pulse graphql` on GET /graphql for browsers. Queries and mutations go over
// HTTP with the headers from the headers editor; subscriptions go over graphql-ws, and the same
// header values (Authorization / X-API-Key) are sent as the `connection_init` payload, because
// browsers cannot set WebSocket headers.
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { defaultHeadersText, EXAMPLE_QUERY } from './defaults';

const http = `${location.origin}/graphql`;
const ws = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/graphql`;

const fetcher = createGraphiQLFetcher({
  url: http,
  subscriptionUrl: ws,
  // the server answers JSON (no multipart incremental delivery)
  enableIncrementalDelivery: false,
});

createRoot(document.getElementById('graphiql')!).render(
  <StrictMode>
    <GraphiQL fetcher={fetcher} defaultQuery={EXAMPLE_QUERY} initialHeaders={defaultHeadersText(sessionStorage)} defaultEditorToolsVisibility="headers" shouldPersistHeaders={false} />
  </StrictMode>,
);
