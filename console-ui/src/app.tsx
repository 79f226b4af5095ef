// The console's frame: who is signed in (or the trip to sign in), the navigation, and the page the hash names.
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, setCsrfToken, signedIn, signIn } from './api';
import { AuditPage } from './pages/audit.page';
import { DeliveriesPage } from './pages/deliveries.page';
import { HealthPage } from './pages/health.page';
import { InspectorPage } from './pages/inspector.page';
import { IntentsPage } from './pages/intents.page';
import { TurnsPage } from './pages/turns.page';
import { type PageName, type Route, useRoute } from './router';
import { SessionContext } from './session';
import type { Session } from './types';
import { ErrorAlert, Loading, PageHeader } from './ui';

const NAV: readonly { path: string; label: string; pages: readonly PageName[] }[] = [
  { path: '/turns', label: 'Turns', pages: ['turns'] },
  { path: '/inspector', label: 'Inspector', pages: ['inspector', 'turn'] },
  { path: '/deliveries', label: 'Deliveries', pages: ['deliveries'] },
  { path: '/audit', label: 'Audit', pages: ['audit'] },
  { path: '/intents', label: 'Intents', pages: ['intents'] },
  { path: '/health', label: 'Health', pages: ['health'] },
];

function Page({ route }: { route: Route }): JSX.Element {
  switch (route.page) {
    case 'turns':
      return <TurnsPage params={route.params} />;
    case 'turn':
      return <InspectorPage turnId={route.id} />;
    case 'inspector':
      return <InspectorPage />;
    case 'deliveries':
      return <DeliveriesPage params={route.params} />;
    case 'audit':
      return <AuditPage params={route.params} />;
    case 'intents':
      return <IntentsPage params={route.params} />;
    case 'health':
      return <HealthPage />;
    default:
      return (
        <>
          <PageHeader title="Page not found" />
          <p>
            There is no console page at <code>{route.path}</code>. <a href="#/turns">Go to the recent turns</a>.
          </p>
        </>
      );
  }
}

function SignOut({ onDone }: { onDone: () => void }) {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const signOut = async () => {
    setBusy(true);
    try {
      await api.post('/logout');
      onDone();
    } catch (failure: unknown) {
      setError(failure);
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" class="button-quiet" disabled={busy} onClick={() => void signOut()}>
        Sign out
      </button>
      {error !== undefined && <ErrorAlert error={error} title="Could not sign out." />}
    </>
  );
}

function Shell({ session, onSignedOut }: { session: Session; onSignedOut: () => void }) {
  const route = useRoute();
  const main = useRef<HTMLElement>(null);
  const firstPath = useRef(route.path);
  // A new page: focus its heading, so a screen reader starts there and Tab continues from it.
  useEffect(() => {
    if (route.path === firstPath.current) return;
    firstPath.current = '';
    main.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [route.path]);
  const skip = (event: Event) => {
    event.preventDefault();
    main.current?.focus();
  };
  return (
    <SessionContext.Provider value={session}>
      <a class="skip-link" href="#main" onClick={skip}>
        Skip to main content
      </a>
      <header class="topbar">
        <a class="brand" href="#/turns">
          <img src="/favicon.svg" alt="" width={24} height={24} />
          <span>Operator console</span>
        </a>
        <nav aria-label="Console pages">
          <ul>
            {NAV.map((item) => (
              <li key={item.path}>
                <a href={`#${item.path}`} aria-current={item.pages.includes(route.page) ? 'page' : undefined}>
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="user">
          <span class="user-name">{session.name}</span>
          <span class="badge badge-neutral">{session.roles.join(', ') || 'no role'}</span>
          {session.via === 'oidc' ? (
            <SignOut onDone={onSignedOut} />
          ) : (
            <span class="user-note">local, development</span>
          )}
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <Page route={route} />
      </main>
    </SessionContext.Provider>
  );
}

export function App() {
  const [session, setSession] = useState<Session>();
  const [problem, setProblem] = useState<{ error: unknown; signIn?: boolean }>();
  const [signedOut, setSignedOut] = useState(false);
  useEffect(() => {
    api.get<Session>('/api/session').then(
      (current) => {
        setCsrfToken(current.csrfHeader, current.csrfToken);
        signedIn();
        setSession(current);
      },
      (error: unknown) => {
        if (error instanceof ApiError && error.status === 401) {
          if (signIn()) return;
          setProblem({ error, signIn: true });
          return;
        }
        setProblem({ error });
      },
    );
  }, []);

  if (signedOut) {
    return (
      <main id="main" class="standalone">
        <h1>Signed out</h1>
        <p>You have signed out of the operator console.</p>
        <p>
          <a class="button" href="/login">
            Sign in again
          </a>
        </p>
      </main>
    );
  }
  if (session) return <Shell session={session} onSignedOut={() => setSignedOut(true)} />;
  return (
    <main id="main" class="standalone">
      <h1>Operator console</h1>
      {problem ? (
        <>
          <ErrorAlert
            error={problem.error}
            title={problem.signIn ? 'Signing in did not start a session.' : 'The console could not start.'}
          />
          {problem.signIn && (
            <p>
              The browser came back from the identity provider without a console session (are cookies blocked for this
              address?). <a href="/login">Try signing in again</a>.
            </p>
          )}
        </>
      ) : (
        <Loading what="Checking your session" />
      )}
    </main>
  );
}
