import { api } from '../lib/api.js';

/**
 * A single-use ticket (60 s) that authenticates one `EventSource` connection.
 * @returns {Promise<{ ticket: string, expires_in: number }>}
 */
export const createEventTicket = () => api('POST', '/events/ticket');
