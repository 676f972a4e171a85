/**
 * Which key the user signed in with. The service has no "who am I" route; the documented rule is that the
 * read-only key (API_READ_KEY) gets 403 on admin routes. So the dashboard asks an admin route that changes
 * nothing: cancelling a job that cannot exist. Admin key: 404 (the guard let it through). Read-only key: 403.
 */
import { ApiError, request } from './api';

export type Role = 'admin' | 'read';

const PROBE = '/api/jobs/dashboard-role-probe';

export async function checkKey(key: string | null): Promise<Role> {
  // Both at once: any read route proves the key is valid at all (401 otherwise); the probe tells the role.
  const [, role] = await Promise.all([
    request('/api/stats', { key, quiet401: true }),
    request(PROBE, { method: 'DELETE', key, quiet401: true }).then(
      (): Role => 'admin',
      (error: unknown): Role => {
        if (error instanceof ApiError && error.status === 403) return 'read';
        if (error instanceof ApiError && error.status === 404) return 'admin';
        throw error;
      },
    ),
  ]);
  return role;
}

const ROLE_STORAGE = 'cloud-workers.role';

/** The role found at sign-in, kept beside the key so a reload shows the right view before the check answers. */
export function storedRole(): Role | null {
  try {
    const role = sessionStorage.getItem(ROLE_STORAGE);
    return role === 'admin' || role === 'read' ? role : null;
  } catch {
    return null;
  }
}

export function storeRole(role: Role | null): void {
  try {
    if (role === null) sessionStorage.removeItem(ROLE_STORAGE);
    else sessionStorage.setItem(ROLE_STORAGE, role);
  } catch {
    // No storage: the role is checked on every load.
  }
}
