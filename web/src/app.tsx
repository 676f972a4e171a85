import { useEffect, useState } from 'preact/hooks';
import { ApiError, getKey, handleUnauthorized, setKey } from './api';
import { LiveProvider, useLive } from './live';
import { CostPage } from './pages/cost';
import { ControlsPage } from './pages/controls';
import { JobDetailPage } from './pages/job-detail';
import { JobsPage } from './pages/jobs';
import { OverviewPage } from './pages/overview';
import { SignInPage } from './pages/sign-in';
import { linkClick, useLocation } from './router';
import { checkKey, type Role, storedRole, storeRole } from './session';

type SessionState =
  { phase: 'checking' } | { phase: 'signed-out'; notice?: string } | { phase: 'in'; role: Role };

export function App() {
  const [session, setSession] = useState<SessionState>({ phase: 'checking' });

  useEffect(() => {
    handleUnauthorized(() => {
      setKey(null);
      storeRole(null);
      setSession({ phase: 'signed-out', notice: 'The service no longer accepts this key: sign in again.' });
    });
    // A key stored earlier in this tab: show the dashboard at once with the role found then, and check both in
    // the background (the first page is usable one round trip sooner). Without a stored key, a service
    // without API_KEY (loopback only) needs no form either.
    const remembered = storedRole();
    if (getKey() && remembered) setSession({ phase: 'in', role: remembered });
    // No key: the form at once; it goes away by itself if the service turns out to need none.
    if (!getKey()) setSession({ phase: 'signed-out' });
    const check = () =>
      checkKey(getKey())
        .then((role) => {
          storeRole(role);
          setSession((current) =>
            current.phase === 'in' && current.role === role ? current : { phase: 'in', role },
          );
        })
        .catch((error: unknown) => {
          // A remembered session survives a network hiccup; only the service refusing the key ends it.
          if (getKey() && remembered && !(error instanceof ApiError && error.status === 401)) return;
          setKey(null);
          storeRole(null);
          setSession({ phase: 'signed-out' });
        });
    // With a remembered role the check is only a safeguard (any 401 signs out anyway): after the first page.
    const timer = setTimeout(() => void check(), getKey() && remembered ? 1500 : 0);
    return () => clearTimeout(timer);
  }, []);

  if (session.phase === 'checking')
    return (
      <p class="loading" aria-live="polite">
        Loading…
      </p>
    );
  if (session.phase === 'signed-out') {
    return (
      <SignInPage
        notice={session.notice}
        onSignedIn={(key, role) => {
          setKey(key);
          storeRole(role);
          setSession({ phase: 'in', role });
        }}
      />
    );
  }
  return (
    <LiveProvider>
      <Shell
        role={session.role}
        onSignOut={() => {
          setKey(null);
          storeRole(null);
          setSession({ phase: 'signed-out' });
        }}
      />
    </LiveProvider>
  );
}

const NAV = [
  { href: '/', label: 'Overview' },
  { href: '/jobs', label: 'Jobs' },
  { href: '/cost', label: 'Cost' },
  { href: '/controls', label: 'Controls' },
];

function Shell({ role, onSignOut }: { role: Role; onSignOut: () => void }) {
  const { path } = useLocation();
  const { streamState } = useLive();
  const section = path === '/' ? '/' : `/${path.split('/')[1]}`;
  const title = NAV.find((item) => item.href === section)?.label ?? 'Not found';
  useEffect(() => {
    document.title = `${title} · ComfyUI Cloud Workers`;
  }, [title]);

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Cloud Workers</span>
        <nav aria-label="Main">
          <ul>
            {NAV.map((item) => (
              <li key={item.href}>
                <a
                  href={item.href}
                  onClick={linkClick}
                  aria-current={section === item.href ? 'page' : undefined}
                >
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class={`stream stream-${streamState}`} role="status" title="Live event stream">
          {streamLabel[streamState]}
        </span>
        <span class="role" data-testid="role">
          {role === 'admin' ? 'admin' : 'read-only'}
        </span>
        <button type="button" class="link" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Page path={path} role={role} />
      </main>
    </>
  );
}

const streamLabel: Record<string, string> = {
  connecting: 'connecting…',
  live: '● live',
  reconnecting: 'reconnecting…',
  unavailable: 'no live events (polling)',
  unauthorized: 'events refused',
};

function Page({ path, role }: { path: string; role: Role }) {
  const admin = role === 'admin';
  if (path === '/') return <OverviewPage />;
  if (path === '/jobs') return <JobsPage admin={admin} />;
  if (path.startsWith('/jobs/'))
    return <JobDetailPage id={decodeURIComponent(path.slice('/jobs/'.length))} admin={admin} />;
  if (path === '/cost') return <CostPage />;
  if (path === '/controls') return <ControlsPage admin={admin} />;
  return (
    <section class="card">
      <h1>Not found</h1>
      <p>
        Nothing at {path}.{' '}
        <a href="/" onClick={linkClick}>
          Back to the overview
        </a>
      </p>
    </section>
  );
}
