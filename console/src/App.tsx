// The console's shell: sign-in gate, the session (`me`), navigation, theme and time-zone switches,
// the `/` shortcut, and the current view.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { Provider, useQuery } from 'urql';
import { graphql } from './gql';
import { clearCredential, loadCredential, saveCredential, type Credential } from './lib/auth';
import { createClients, type Clients } from './lib/client';
import { PrefsContext, applyTheme, initialTheme, initialUtc, type Theme } from './lib/prefs';
import { VIEWS, href, navigate, useLocation, viewOf } from './lib/router';
import { SessionContext, type Session } from './lib/session';
import { ErrorBox, Link, Loading } from './components/common';
import { SignIn } from './views/SignIn';
import { Overview } from './views/Overview';
import { Pipeline } from './views/Pipeline';
import { DeadLetters } from './views/DeadLetters';
import { Search } from './views/Search';
import { LiveTail } from './views/LiveTail';
import { Tenants } from './views/Tenants';

const MeQuery = graphql(`
  query Me {
    me {
      role
      tenantId
      tenantName
    }
    version
  }
`);

export function App() {
  const [theme, setThemeState] = useState<Theme>(initialTheme);
  const [utc, setUtcState] = useState(initialUtc);
  const [cred, setCred] = useState<Credential | null>(() => loadCredential());
  const prefs = useMemo(
    () => ({
      theme,
      utc,
      setTheme: (t: Theme) => {
        applyTheme(t);
        setThemeState(t);
      },
      setUtc: (u: boolean) => {
        localStorage.setItem('pulse.console.tz', u ? 'utc' : 'local');
        setUtcState(u);
      },
    }),
    [theme, utc],
  );
  useEffect(() => applyTheme(theme), [theme]);

  // one client pair per credential, disposed when it changes (created in an effect so React's
  // development double-mount disposes and recreates it instead of reusing a closed socket)
  const [clients, setClients] = useState<Clients | null>(null);
  useEffect(() => {
    if (!cred) {
      setClients(null);
      return;
    }
    const c = createClients(cred);
    setClients(c);
    return () => c.dispose();
  }, [cred]);

  const signOut = useCallback(() => {
    clearCredential();
    setCred(null);
    navigate('/sign-in');
  }, []);

  const { pathname } = useLocation();
  const view = viewOf(pathname);

  // not signed in: keep the link the user opened so it is restored after signing in
  useEffect(() => {
    if (!cred && view !== 'sign-in') {
      const next = location.pathname + location.search;
      navigate(href('/sign-in', { next: next === '/' ? '' : next }), true);
    }
  }, [cred, view]);

  let body;
  if (cred && !clients && view !== 'sign-in') {
    body = <Loading what="the console" />;
  } else if (!cred || !clients || view === 'sign-in') {
    body = (
      <SignIn
        signedIn={!!cred}
        onSignIn={(secret) => {
          const c = saveCredential(secret);
          setCred(c);
          const next = new URLSearchParams(location.search).get('next');
          navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', true);
        }}
        onSignOut={signOut}
      />
    );
  } else {
    body = (
      <Provider value={clients.urql}>
        <SignedIn clients={clients} signOut={signOut} view={view} />
      </Provider>
    );
  }
  return <PrefsContext.Provider value={prefs}>{body}</PrefsContext.Provider>;
}

function SignedIn({ clients, signOut, view }: { clients: Clients; signOut(): void; view: ReturnType<typeof viewOf> }) {
  const [{ data, error, fetching }, refetch] = useQuery({ query: MeQuery, requestPolicy: 'network-only' });
  const session: Session | null = useMemo(
    () =>
      data
        ? {
            role: data.me.role,
            tenantId: data.me.tenantId ?? null,
            tenantName: data.me.tenantName ?? null,
            clients,
            signOut,
          }
        : null,
    [data, clients, signOut],
  );
  useEffect(() => {
    if (data && data.me.role === 'ANONYMOUS') signOut();
  }, [data, signOut]);
  if (!session) {
    return (
      <Shell session={null} version={null} view={view}>
        {error ? <ErrorBox error={error} what="the console" retry={() => refetch({ requestPolicy: 'network-only' })} /> : fetching ? <Loading what="your session" /> : null}
      </Shell>
    );
  }
  const admin = session.role === 'ADMIN';
  let content;
  switch (view) {
    case 'overview':
      content = <Overview />;
      break;
    case 'pipeline':
      content = admin ? <Pipeline /> : <NotForTenants what="The pipeline (Kafka lag and group members)" />;
      break;
    case 'dead-letters':
      content = <DeadLetters />;
      break;
    case 'search':
      content = <Search />;
      break;
    case 'live':
      content = <LiveTail />;
      break;
    case 'tenants':
      content = <Tenants />;
      break;
    default:
      content = (
        <div className="state">
          <p className="state-title">No such page</p>
          <Link to="/">Go to the overview</Link>
        </div>
      );
  }
  return (
    <SessionContext.Provider value={session}>
      <Shell session={session} version={data?.version ?? null} view={view}>
        {content}
      </Shell>
    </SessionContext.Provider>
  );
}

function NotForTenants({ what }: { what: string }) {
  return (
    <div className="state">
      <p className="state-title">{what} is shown to the admin only</p>
      <p>A tenant key sees its own events, dead letters and live tail. Sign in with the admin token to see the platform.</p>
    </div>
  );
}

function Shell({ session, version, view, children }: { session: Session | null; version: string | null; view: ReturnType<typeof viewOf>; children: React.ReactNode }) {
  const admin = session?.role === 'ADMIN';
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== '/' || e.metaKey || e.ctrlKey || e.altKey) return;
      const t = e.target as HTMLElement | null;
      if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)) return;
      e.preventDefault();
      const search = document.querySelector<HTMLInputElement>('[data-search]');
      if (search) search.focus();
      else navigate('/search');
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
  const label = VIEWS.find((v) => v.name === view)?.label ?? 'Console';
  useEffect(() => {
    document.title = `${label} · Pulse console`;
  }, [label]);
  return (
    <div className="app">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="brand">
          <span className="logo" aria-hidden="true">
            ◉
          </span>{' '}
          Pulse
        </div>
        <nav aria-label="Views">
          <ul>
            {VIEWS.filter((v) => admin || !v.adminOnly).map((v) => (
              <li key={v.name}>
                <Link to={v.path} className={v.name === view ? 'active' : ''}>
                  <span aria-current={v.name === view ? 'page' : undefined}>{v.label}</span>
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="top-tools">
          <Switches />
          {session ? (
            <span className="who" data-testid="who">
              <span className={`tag ${admin ? 'accent' : 'neutral'}`}>{admin ? 'admin' : 'tenant'}</span>
              {session.tenantName ? <span className="mono small"> {session.tenantName}</span> : null}
            </span>
          ) : null}
          {session ? (
            <button type="button" className="btn" onClick={session.signOut}>
              Sign out
            </button>
          ) : null}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <h1 className="sr-only">Pulse console</h1>
        {children}
      </main>
      <footer className="footer muted small">
        Pulse {version ?? ''} · <a href="/graphql">GraphiQL</a> · press <kbd>/</kbd> to search
      </footer>
    </div>
  );
}

function Switches() {
  return (
    <PrefsContext.Consumer>
      {(p) => (
        <>
          <button type="button" className="btn" aria-pressed={p.theme === 'dark'} onClick={() => p.setTheme(p.theme === 'dark' ? 'light' : 'dark')} title="Switch between light and dark">
            {p.theme === 'dark' ? '☀ Light' : '☾ Dark'}
          </button>
          <button type="button" className="btn" aria-pressed={p.utc} onClick={() => p.setUtc(!p.utc)} title="Show times in UTC or local time">
            {p.utc ? 'UTC' : 'Local'}
          </button>
        </>
      )}
    </PrefsContext.Consumer>
  );
}
