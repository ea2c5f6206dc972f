import { api } from '../lib/api.js';

/** @typedef {import('./users.js').User} User */

/**
 * @typedef {object} AuthStatus
 * @property {boolean} setup_required no user exists yet
 * @property {boolean} multiuser_enabled false in single-user mode (`AUTH_MODE=single`)
 */

/**
 * A new session: the bearer token, its lifetime in seconds, and its user.
 * @typedef {{ token: string, expires_in: number, user: User }} SignedIn
 */

/** @returns {Promise<AuthStatus>} */
export const getAuthStatus = () => api('GET', '/auth/status');

/** The signed-in user (in single-user mode, `system`). @returns {Promise<User>} */
export const getMe = () => api('GET', '/auth/me');

/**
 * @param {{ email: FormDataEntryValue | null, password: FormDataEntryValue | null, remember_me: boolean }} body
 * @returns {Promise<SignedIn>}
 */
export const login = (body) => api('POST', '/auth/login', { json: body });

/**
 * Creates the first administrator, while no user exists.
 * @param {{ email: FormDataEntryValue | null, password: FormDataEntryValue | null, display_name?: string }} body
 * @returns {Promise<SignedIn>}
 */
export const setup = (body) => api('POST', '/auth/setup', { json: body });

/** Revokes the whole login session. @returns {Promise<null>} */
export const logout = () => api('POST', '/auth/logout');
