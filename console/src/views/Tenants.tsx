// Tenants: create (the key is shown once, with copy), rotate the key, limits, disable/enable, and a
// JSON Schema per event type (checked here and by the server before it is stored). A tenant key sees
// its own tenant, read-only.
import { Fragment, useMemo, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../gql';
import type { TenantsQuery } from '../gql/graphql';
import { CopyButton, Dialog, Empty, ErrorBox, Id, Loading, Time } from '../components/common';
import { JsonView } from '../components/JsonView';
import { AuditLog } from '../components/AuditLog';
import { explainError } from '../lib/errors';
import { formatDuration, formatNumber } from '../lib/format';
import { checkJsonSchema, parseJson } from '../lib/schemaCheck';
import { useUrlState } from '../lib/router';
import { useSession } from '../lib/session';

const TenantsQueryDoc = graphql(`
  query Tenants {
    tenants {
      id
      name
      apiKeyPrefix
      rateLimitPerMinute
      idempotencyTtlSeconds
      disabled
      disabledAt
      createdAt
      schemas {
        tenantId
        eventType
        schema
        updatedAt
      }
    }
  }
`);

const CreateTenant = graphql(`
  mutation CreateTenant($name: String!, $rateLimitPerMinute: Int, $idempotencyTtlSeconds: Int) {
    createTenant(name: $name, rateLimitPerMinute: $rateLimitPerMinute, idempotencyTtlSeconds: $idempotencyTtlSeconds) {
      apiKey
      tenant {
        id
        name
        apiKeyPrefix
      }
    }
  }
`);

const RotateKey = graphql(`
  mutation RotateApiKey($tenantId: UUID!) {
    rotateApiKey(tenantId: $tenantId) {
      apiKey
      tenant {
        id
        name
        apiKeyPrefix
      }
    }
  }
`);

const UpdateLimits = graphql(`
  mutation UpdateTenantLimits($tenantId: UUID!, $rateLimitPerMinute: Int, $idempotencyTtlSeconds: Int) {
    updateTenantLimits(tenantId: $tenantId, rateLimitPerMinute: $rateLimitPerMinute, idempotencyTtlSeconds: $idempotencyTtlSeconds) {
      id
      rateLimitPerMinute
      idempotencyTtlSeconds
    }
  }
`);

const DisableTenant = graphql(`
  mutation DisableTenant($tenantId: UUID!) {
    disableTenant(tenantId: $tenantId) {
      id
      disabled
      disabledAt
    }
  }
`);

const EnableTenant = graphql(`
  mutation EnableTenant($tenantId: UUID!) {
    enableTenant(tenantId: $tenantId) {
      id
      disabled
      disabledAt
    }
  }
`);

const SetSchema = graphql(`
  mutation SetEventSchema($tenantId: UUID!, $eventType: String!, $schema: JSON!) {
    setEventSchema(tenantId: $tenantId, eventType: $eventType, schema: $schema) {
      tenantId
      eventType
      updatedAt
    }
  }
`);

const DeleteSchema = graphql(`
  mutation DeleteEventSchema($tenantId: UUID!, $eventType: String!) {
    deleteEventSchema(tenantId: $tenantId, eventType: $eventType)
  }
`);

type Tenant = TenantsQuery['tenants'][number];
type Modal =
  | { kind: 'create' }
  | { kind: 'key'; name: string; apiKey: string; rotated: boolean }
  | { kind: 'rotate'; tenant: Tenant }
  | { kind: 'limits'; tenant: Tenant }
  | { kind: 'toggle'; tenant: Tenant }
  | { kind: 'schema'; tenant: Tenant; eventType: string; schema: unknown | null }
  | { kind: 'delete-schema'; tenant: Tenant; eventType: string };

export function Tenants() {
  const session = useSession();
  const admin = session.role === 'ADMIN';
  const [params, setParams] = useUrlState();
  const [{ data, error, fetching }, refetch] = useQuery({ query: TenantsQueryDoc });
  const [modal, setModal] = useState<Modal | null>(null);
  const open = params.get('t');
  const filter = (params.get('q') ?? '').toLowerCase();
  const tenants = useMemo(() => (data?.tenants ?? []).filter((t) => !filter || t.name.toLowerCase().includes(filter)), [data, filter]);
  const reload = () => refetch({ requestPolicy: 'network-only' });
  const close = () => setModal(null);

  return (
    <div className="view">
      <div className="toolbar">
        <h2>Tenants</h2>
        <span className="muted small">{data ? `${formatNumber(data.tenants.length)} tenant${data.tenants.length === 1 ? '' : 's'}` : ''}</span>
        <div className="spacer" />
        {admin ? (
          <>
            <label className="inline">
              Find{' '}
              <input data-search value={params.get('q') ?? ''} onChange={(e) => setParams({ q: e.target.value || null }, true)} placeholder="name" />
            </label>
            <button type="button" className="btn primary" onClick={() => setModal({ kind: 'create' })}>
              + Create tenant
            </button>
          </>
        ) : (
          <span className="muted small">Read-only: a tenant key sees its own tenant; the admin manages keys, limits and schemas.</span>
        )}
      </div>
      {error && !data ? <ErrorBox error={error} what="tenants" retry={reload} /> : null}
      {fetching && !data ? <Loading what="tenants" /> : null}
      {data && data.tenants.length === 0 ? (
        <Empty title="No tenants yet">
          <p>Create one here (its API key is shown once), or with the CLI: <code>pulse tenant create --name acme</code>.</p>
        </Empty>
      ) : null}
      {tenants.length > 0 ? (
        <section className="panel">
        <table className="table sticky nowrap" data-testid="tenants">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Id</th>
              <th scope="col">Key prefix</th>
              <th scope="col" className="num">
                Rate limit
              </th>
              <th scope="col" className="num" title="Idempotency window">
                Idempotency
              </th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
              <th scope="col" className="num">
                Schemas
              </th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tenants.map((t) => {
              const isOpen = open === t.id || (!admin && tenants.length === 1);
              return (
                <Fragment key={t.id}>
                  <tr className={isOpen ? 'expanded' : ''} data-tenant={t.name}>
                    <td>
                      <strong>{t.name}</strong>
                    </td>
                    <td>
                      <Id value={t.id} />
                    </td>
                    <td className="mono small">{t.apiKeyPrefix}…</td>
                    <td className="num">{formatNumber(t.rateLimitPerMinute)}/min</td>
                    <td className="num">{formatDuration(t.idempotencyTtlSeconds * 1000)}</td>
                    <td>{t.disabled ? <span className="tag bad">disabled</span> : <span className="tag ok">active</span>}</td>
                    <td>
                      <Time iso={t.createdAt} />
                    </td>
                    <td className="num">{t.schemas.length}</td>
                    <td className="row-actions">
                      <button type="button" className="btn small" aria-expanded={isOpen} aria-label={`${isOpen ? 'Hide' : 'Details'}: schemas of ${t.name}`} onClick={() => setParams({ t: isOpen ? null : t.id }, true)}>
                        {isOpen ? 'Hide' : 'Details'}
                      </button>
                      {admin ? (
                        <>
                          <button type="button" className="btn small" aria-label={`Rotate the API key of ${t.name}`} onClick={() => setModal({ kind: 'rotate', tenant: t })}>
                            Rotate…
                          </button>
                          <button type="button" className="btn small" aria-label={`Limits of ${t.name}`} onClick={() => setModal({ kind: 'limits', tenant: t })}>
                            Limits…
                          </button>
                          <button type="button" className={`btn small${t.disabled ? '' : ' danger'}`} aria-label={`${t.disabled ? 'Enable' : 'Disable'} ${t.name}`} onClick={() => setModal({ kind: 'toggle', tenant: t })}>
                            {t.disabled ? 'Enable…' : 'Disable…'}
                          </button>
                        </>
                      ) : null}
                    </td>
                  </tr>
                  {isOpen ? (
                    <tr className="detail-row">
                      <td colSpan={9}>
                        <div className="panel-head">
                          <h3>Event schemas of {t.name}</h3>
                          {admin ? (
                            <button type="button" className="btn small primary" onClick={() => setModal({ kind: 'schema', tenant: t, eventType: '', schema: null })}>
                              + Add schema
                            </button>
                          ) : null}
                        </div>
                        {t.schemas.length === 0 ? (
                          <p className="muted">No JSON Schema: every well-formed event of this tenant is stored. A schema checks the payload of events of its type; those that do not match go to the dead letters as <code>schema_violation</code>.</p>
                        ) : (
                          <div className="schemas">
                            {t.schemas.map((s) => (
                              <div key={s.eventType} className="schema-card">
                                <div className="panel-head">
                                  <h4 className="mono">{s.eventType}</h4>
                                  <span className="small muted">
                                    updated <Time iso={s.updatedAt} />
                                  </span>
                                  {admin ? (
                                    <span>
                                      <button type="button" className="btn small" onClick={() => setModal({ kind: 'schema', tenant: t, eventType: s.eventType, schema: s.schema })}>
                                        Edit…
                                      </button>{' '}
                                      <button type="button" className="btn small danger" onClick={() => setModal({ kind: 'delete-schema', tenant: t, eventType: s.eventType })}>
                                        Delete…
                                      </button>
                                    </span>
                                  ) : null}
                                </div>
                                <JsonView value={s.schema} label={`schema of ${s.eventType}`} />
                              </div>
                            ))}
                          </div>
                        )}
                      </td>
                    </tr>
                  ) : null}
                </Fragment>
              );
            })}
          </tbody>
        </table>
        </section>
      ) : null}
      {admin ? (
        <section className="panel" aria-labelledby="audit-h">
          <h3 id="audit-h">Operator actions (audit log)</h3>
          <AuditLog highlight={params.get('audit')} />
        </section>
      ) : null}
      {modal?.kind === 'create' ? <CreateDialog onClose={close} onCreated={(name, apiKey) => { reload(); setModal({ kind: 'key', name, apiKey, rotated: false }); }} /> : null}
      {modal?.kind === 'key' ? <KeyOnce name={modal.name} apiKey={modal.apiKey} rotated={modal.rotated} onClose={close} /> : null}
      {modal?.kind === 'rotate' ? <RotateDialog tenant={modal.tenant} onClose={close} onRotated={(apiKey) => { reload(); setModal({ kind: 'key', name: modal.tenant.name, apiKey, rotated: true }); }} /> : null}
      {modal?.kind === 'limits' ? <LimitsDialog tenant={modal.tenant} onClose={close} onSaved={reload} /> : null}
      {modal?.kind === 'toggle' ? <ToggleDialog tenant={modal.tenant} onClose={close} onDone={reload} /> : null}
      {modal?.kind === 'schema' ? <SchemaDialog tenant={modal.tenant} eventType={modal.eventType} schema={modal.schema} onClose={close} onSaved={reload} /> : null}
      {modal?.kind === 'delete-schema' ? <DeleteSchemaDialog tenant={modal.tenant} eventType={modal.eventType} onClose={close} onDone={reload} /> : null}
    </div>
  );
}

function intOrNull(s: string): number | null {
  return s.trim() === '' ? null : Number.parseInt(s, 10);
}

function CreateDialog({ onClose, onCreated }: { onClose(): void; onCreated(name: string, key: string): void }) {
  const [name, setName] = useState('');
  const [rate, setRate] = useState('');
  const [ttl, setTtl] = useState('');
  const [state, create] = useMutation(CreateTenant);
  const [err, setErr] = useState<string | null>(null);
  return (
    <Dialog title="Create a tenant" onClose={onClose}>
      <form
        className="form"
        onSubmit={async (e) => {
          e.preventDefault();
          setErr(null);
          const r = await create({ name: name.trim(), rateLimitPerMinute: intOrNull(rate), idempotencyTtlSeconds: intOrNull(ttl) });
          if (r.error) return setErr(explainError(r.error, 'creating a tenant').title);
          onCreated(r.data!.createTenant.tenant.name, r.data!.createTenant.apiKey);
        }}
      >
        <label htmlFor="t-name">Name</label>
        <input id="t-name" required value={name} onChange={(e) => setName(e.target.value)} />
        <label htmlFor="t-rate">Rate limit per minute (default 300)</label>
        <input id="t-rate" type="number" min={1} value={rate} onChange={(e) => setRate(e.target.value)} />
        <label htmlFor="t-ttl">Idempotency window in seconds (default 1800)</label>
        <input id="t-ttl" type="number" min={1} value={ttl} onChange={(e) => setTtl(e.target.value)} />
        {err ? (
          <p className="form-error" role="alert">
            {err}
          </p>
        ) : null}
        <div className="actions">
          <button type="submit" className="btn primary" disabled={state.fetching || !name.trim()}>
            Create
          </button>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function KeyOnce({ name, apiKey, rotated, onClose }: { name: string; apiKey: string; rotated: boolean; onClose(): void }) {
  return (
    <Dialog title={rotated ? `New API key of ${name}` : `Tenant ${name} created`} onClose={onClose}>
      <p>
        <strong>Copy the API key now — you will not see it again.</strong> Pulse keeps only its hash.
      </p>
      <div className="command key-once">
        <code className="mono" data-testid="api-key">
          {apiKey}
        </code>
        <CopyButton text={apiKey} label="Copy API key" />
      </div>
      {rotated ? <p className="small">The previous key stopped working.</p> : null}
      <p className="small">Send an event with it:</p>
      <pre className="mono small command-pre">{`curl -sS localhost:8080/events -H 'X-API-Key: ${apiKey}' -H 'Content-Type: application/json' -d '{"event_type":"order.created","payload":{"id":1}}'`}</pre>
      <div className="actions">
        <button type="button" className="btn primary" onClick={onClose}>
          I have copied it
        </button>
      </div>
    </Dialog>
  );
}

function RotateDialog({ tenant, onClose, onRotated }: { tenant: Tenant; onClose(): void; onRotated(key: string): void }) {
  const [state, rotate] = useMutation(RotateKey);
  const [err, setErr] = useState<string | null>(null);
  return (
    <Dialog title={`Rotate the API key of ${tenant.name}`} onClose={onClose}>
      <p>
        A new key is made and shown once. <strong>The current key (prefix <code>{tenant.apiKeyPrefix}</code>) stops working immediately</strong>: clients using it get 401 until they switch.
      </p>
      {err ? (
        <p className="form-error" role="alert">
          {err}
        </p>
      ) : null}
      <div className="actions">
        <button
          type="button"
          className="btn danger"
          disabled={state.fetching}
          onClick={async () => {
            const r = await rotate({ tenantId: tenant.id });
            if (r.error) return setErr(explainError(r.error, 'rotating the key').title);
            onRotated(r.data!.rotateApiKey.apiKey);
          }}
        >
          Rotate the key
        </button>
        <button type="button" className="btn" onClick={onClose}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}

function LimitsDialog({ tenant, onClose, onSaved }: { tenant: Tenant; onClose(): void; onSaved(): void }) {
  const [rate, setRate] = useState(String(tenant.rateLimitPerMinute));
  const [ttl, setTtl] = useState(String(tenant.idempotencyTtlSeconds));
  const [state, update] = useMutation(UpdateLimits);
  const [err, setErr] = useState<string | null>(null);
  return (
    <Dialog title={`Limits of ${tenant.name}`} onClose={onClose}>
      <form
        className="form"
        onSubmit={async (e) => {
          e.preventDefault();
          const r = await update({ tenantId: tenant.id, rateLimitPerMinute: intOrNull(rate), idempotencyTtlSeconds: intOrNull(ttl) });
          if (r.error) return setErr(explainError(r.error, 'updating limits').title);
          onSaved();
          onClose();
        }}
      >
        <label htmlFor="l-rate">Rate limit per minute (sliding window)</label>
        <input id="l-rate" type="number" min={1} required value={rate} onChange={(e) => setRate(e.target.value)} />
        <label htmlFor="l-ttl">Idempotency window (seconds)</label>
        <input id="l-ttl" type="number" min={1} required value={ttl} onChange={(e) => setTtl(e.target.value)} />
        <p className="small muted">Ingest applies new limits within seconds.</p>
        {err ? (
          <p className="form-error" role="alert">
            {err}
          </p>
        ) : null}
        <div className="actions">
          <button type="submit" className="btn primary" disabled={state.fetching}>
            Save limits
          </button>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function ToggleDialog({ tenant, onClose, onDone }: { tenant: Tenant; onClose(): void; onDone(): void }) {
  const [dState, disable] = useMutation(DisableTenant);
  const [eState, enable] = useMutation(EnableTenant);
  const [err, setErr] = useState<string | null>(null);
  const verb = tenant.disabled ? 'Enable' : 'Disable';
  return (
    <Dialog title={`${verb} ${tenant.name}`} onClose={onClose}>
      <p>{tenant.disabled ? 'Its API key works again: ingest accepts its events.' : 'Ingest refuses its key with 401 from now on. Its stored events and dead letters are kept; you can enable it again.'}</p>
      {err ? (
        <p className="form-error" role="alert">
          {err}
        </p>
      ) : null}
      <div className="actions">
        <button
          type="button"
          className={`btn ${tenant.disabled ? 'primary' : 'danger'}`}
          disabled={dState.fetching || eState.fetching}
          onClick={async () => {
            const r = tenant.disabled ? await enable({ tenantId: tenant.id }) : await disable({ tenantId: tenant.id });
            if (r.error) return setErr(explainError(r.error, `${verb.toLowerCase()} tenant`).title);
            onDone();
            onClose();
          }}
        >
          {verb} {tenant.name}
        </button>
        <button type="button" className="btn" onClick={onClose}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}

const EXAMPLE_SCHEMA = { type: 'object', required: ['order_id'], properties: { order_id: { type: 'string' }, amount: { type: 'number', minimum: 0 } } };

function SchemaDialog({ tenant, eventType, schema, onClose, onSaved }: { tenant: Tenant; eventType: string; schema: unknown | null; onClose(): void; onSaved(): void }) {
  const [type, setType] = useState(eventType);
  const [text, setText] = useState(() => JSON.stringify(schema ?? EXAMPLE_SCHEMA, null, 2));
  const parsed = useMemo(() => parseJson(text), [text]);
  const problems = useMemo(() => (parsed.error === undefined ? checkJsonSchema(parsed.value) : []), [parsed]);
  const typeOk = /^[A-Za-z0-9_.:-]{1,128}$/.test(type);
  const valid = parsed.error === undefined && problems.length === 0 && typeOk;
  const [state, save] = useMutation(SetSchema);
  const [err, setErr] = useState<string | null>(null);
  return (
    <Dialog title={eventType ? `Schema of ${eventType} (${tenant.name})` : `New schema for ${tenant.name}`} onClose={onClose} wide>
      <form
        className="form"
        onSubmit={async (e) => {
          e.preventDefault();
          if (!valid) return;
          setErr(null);
          const r = await save({ tenantId: tenant.id, eventType: type, schema: parsed.value });
          if (r.error) return setErr(explainError(r.error, 'saving the schema').title);
          onSaved();
          onClose();
        }}
      >
        <label htmlFor="s-type">Event type</label>
        <input id="s-type" className="mono" required readOnly={!!eventType} value={type} onChange={(e) => setType(e.target.value)} aria-invalid={!typeOk} />
        {!typeOk && type ? <p className="form-error small">1–128 characters of A–Z a–z 0–9 _ . : -</p> : null}
        <label htmlFor="s-schema">JSON Schema for the event's payload (failures point into /payload/…)</label>
        <textarea id="s-schema" className="mono editor" rows={16} spellCheck={false} value={text} onChange={(e) => setText(e.target.value)} aria-invalid={!valid} aria-describedby="s-status" />
        <div id="s-status" role="status" className="small">
          {parsed.error ? <p className="form-error">Not JSON: {parsed.error}</p> : null}
          {problems.length > 0 ? (
            <ul className="form-error">
              {problems.map((p, i) => (
                <li key={i}>
                  <code>{p.path}</code> {p.message}
                </li>
              ))}
            </ul>
          ) : null}
          {parsed.error === undefined && problems.length === 0 ? <p className="ok-text">Looks like a valid JSON Schema; the server checks it again before storing it.</p> : null}
        </div>
        {err ? (
          <p className="form-error" role="alert">
            {err}
          </p>
        ) : null}
        <div className="actions">
          <button type="submit" className="btn primary" disabled={!valid || state.fetching}>
            Save schema
          </button>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function DeleteSchemaDialog({ tenant, eventType, onClose, onDone }: { tenant: Tenant; eventType: string; onClose(): void; onDone(): void }) {
  const [state, del] = useMutation(DeleteSchema);
  const [err, setErr] = useState<string | null>(null);
  return (
    <Dialog title={`Delete the schema of ${eventType}`} onClose={onClose}>
      <p>
        Events of type <code>{eventType}</code> from {tenant.name} are then no longer checked against a schema (only the envelope is validated).
      </p>
      {err ? (
        <p className="form-error" role="alert">
          {err}
        </p>
      ) : null}
      <div className="actions">
        <button
          type="button"
          className="btn danger"
          disabled={state.fetching}
          onClick={async () => {
            const r = await del({ tenantId: tenant.id, eventType });
            if (r.error) return setErr(explainError(r.error, 'deleting the schema').title);
            onDone();
            onClose();
          }}
        >
          Delete schema
        </button>
        <button type="button" className="btn" onClick={onClose}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}
