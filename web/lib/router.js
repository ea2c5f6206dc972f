import { useCallback, useEffect, useState } from 'preact/hooks';

/**
 * One page of the signed-in UI: its URL path (no hash, no query), its label in the navigation, and the view
 * it shows.
 * @typedef {object} Route
 * @property {string} path
 * @property {string} label
 * @property {import('preact').ComponentType} view
 * @property {boolean} [admin] shown to administrators only
 */

/**
 * The routes `isAdmin` may visit, in the order of the table.
 * @param {readonly Route[]} routes
 * @param {boolean} isAdmin
 */
export const visibleRoutes = (routes, isAdmin) => routes.filter((r) => !r.admin || isAdmin);

/**
 * The route of `path`; any other path (unknown, or not visible) shows the first route and keeps its URL.
 * @param {readonly Route[]} routes the visible routes, the first one being the default
 * @param {string} path
 * @returns {Route | undefined} undefined only for an empty table
 */
export const matchRoute = (routes, path) => routes.find((r) => r.path === path) ?? routes[0];

/**
 * The current `location.pathname`, following the back and forward buttons, and `navigate(to)`, which pushes
 * a history entry.
 * @returns {[string, (to: string) => void]}
 */
export function useLocation() {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const onPop = () => setPath(location.pathname);
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const navigate = useCallback((/** @type {string} */ to) => {
    history.pushState(null, '', to);
    setPath(to);
  }, []);
  return [path, navigate];
}
