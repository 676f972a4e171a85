/**
 * Which key the user signed in with. The service has no "who am I" route; the documented rule is that the
 * read-only key (API_READ_KEY) gets 403 on admin routes. So the dashboard asks an admin route that changes
 * nothing: cancelling a job that cannot exist. Admin key: 404 (the guard let it through). Read-only key: 403.
 */
import { ApiError, request } from './api';

export type Role = 'admin' | 'read';

const PROBE = '/api/jobs/dashboard-role-probe';

export async function checkKey(key: string | null): Promise<Role> {
  // Any read route proves the key is valid at all (401 otherwise).
  await request('/api/stats', { key, quiet401: true });
  try {
    await request(PROBE, { method: 'DELETE', key, quiet401: true });
    return 'admin';
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return 'read';
    if (error instanceof ApiError && error.status === 404) return 'admin';
    throw error;
  }
}
