import { api } from '../lib/api.js';

/**
 * An account (API.md section 2).
 * @typedef {object} User
 * @property {string} user_id
 * @property {string} email
 * @property {string} display_name
 * @property {boolean} is_admin
 * @property {boolean} is_active
 * @property {number | null} max_pending
 * @property {string} created_at
 * @property {string | null} last_login_at
 */

/**
 * @typedef {object} UserChanges
 * @property {string} [display_name]
 * @property {boolean} [is_admin]
 * @property {boolean} [is_active]
 * @property {string} [password]
 * @property {number | null} [max_pending] null: the default
 */

/** @param {string} id */
const userPath = (id) => `/users/${encodeURIComponent(id)}`;

/** Every account but `system` (admins). @returns {Promise<User[]>} */
export const listUsers = () => api('GET', '/users');

/**
 * @param {{ email: FormDataEntryValue | null, password: FormDataEntryValue | null, is_admin: boolean,
 *   display_name?: string }} body
 * @returns {Promise<User>}
 */
export const createUser = (body) => api('POST', '/users', { json: body });

/**
 * @param {string} id
 * @param {UserChanges} changes
 * @returns {Promise<User>}
 */
export const updateUser = (id, changes) => api('PATCH', userPath(id), { json: changes });

/** @param {string} id @returns {Promise<null>} */
export const deleteUser = (id) => api('DELETE', userPath(id));
