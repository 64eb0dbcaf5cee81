// The newest operator actions (admin only): who did what, with which arguments (secrets removed by
// the server), the result and the trace. `highlight` marks the entry an action just linked to.
import { useQuery } from 'urql';
import { graphql } from '../gql';
import { ErrorBox, Id, Time } from './common';

const AuditQuery = graphql(`
  query AuditLog($first: Int) {
    auditLog(first: $first) {
      nodes {
        id
        at
        actor
        action
        arguments
        result
        traceId
      }
    }
  }
`);

export function AuditLog({ highlight, first = 50 }: { highlight?: string | null; first?: number }) {
  const [{ data, error }] = useQuery({ query: AuditQuery, variables: { first }, requestPolicy: 'cache-and-network' });
  if (error && !data) return <ErrorBox error={error} what="the audit log" />;
  const rows = data?.auditLog.nodes ?? [];
  if (data && rows.length === 0) return <p className="muted">No operator actions yet: every mutation (replay, discard, tenant and schema changes) is recorded here.</p>;
  return (
    <table className="table" data-testid="audit">
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Who</th>
          <th scope="col">Action</th>
          <th scope="col">Arguments</th>
          <th scope="col">Result</th>
          <th scope="col">Entry</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((a) => (
          <tr key={a.id} className={a.id === highlight ? 'selected' : ''} id={`audit-${a.id}`}>
            <td className="small">
              <Time iso={a.at} />
            </td>
            <td className="small mono">{a.actor}</td>
            <td className="mono small">{a.action}</td>
            <td className="mono small args" title={JSON.stringify(a.arguments, null, 1)}>
              {JSON.stringify(a.arguments)}
            </td>
            <td>
              <span className={`tag ${a.result === 'ok' ? 'ok' : 'bad'}`}>{a.result}</span>
            </td>
            <td>
              <Id value={a.id} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
