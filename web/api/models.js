import { api } from '../lib/api.js';

/** @typedef {{ key: string, name: string, base: string, description: string }} Model */

/** @returns {Promise<Model[]>} */
export const listModels = () => api('GET', '/models');
