import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

/**
 * @typedef {object} Me
 * @property {import('../api/users.js').User} user
 * @property {boolean} multiuser whether there are accounts (false in single-user mode)
 * @property {() => void} logout
 */

/** @type {import('preact').Context<Me | null>} */
export const UserContext = createContext(/** @type {Me | null} */ (null));

/** The signed-in user; only used under the shell, which always provides one. */
export function useMe() {
  const me = useContext(UserContext);
  if (!me) {
    throw new Error('useMe outside the signed-in shell');
  }
  return me;
}
