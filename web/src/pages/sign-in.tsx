import { useState } from 'preact/hooks';
import { ApiError } from '../api';
import { checkKey, type Role } from '../session';

export function SignInPage({
  notice,
  onSignedIn,
}: {
  notice?: string;
  onSignedIn: (key: string, role: Role) => void;
}) {
  const [key, setKeyInput] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const role = await checkKey(key.trim());
      onSignedIn(key.trim(), role);
    } catch (caught) {
      if (caught instanceof ApiError && caught.status === 401)
        setError('The service does not accept this key.');
      else if (caught instanceof ApiError && caught.status === 429) setError(caught.message);
      else setError(caught instanceof Error ? caught.message : String(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="sign-in">
      <form class="card" onSubmit={submit} aria-describedby="sign-in-help">
        <h1>ComfyUI Cloud Workers</h1>
        {notice && (
          <p class="notice" role="status">
            {notice}
          </p>
        )}
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="current-password"
          required
          value={key}
          onInput={(event) => setKeyInput((event.target as HTMLInputElement).value)}
          aria-invalid={error ? true : undefined}
          aria-errormessage={error ? 'sign-in-error' : undefined}
        />
        <p id="sign-in-help" class="hint">
          The admin key (API_KEY) or the read-only key (API_READ_KEY, a view without controls). It is kept in
          this tab only (sessionStorage) and sent in the Authorization header, never in a URL.
        </p>
        {error && (
          <p id="sign-in-error" class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
