import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

/**
 * What an image hands to the generate form: all its settings (its metadata, seed included), only its seed,
 * or itself as the starting image of an image-to-image run.
 * @typedef {{ kind: 'settings' | 'seed' | 'start', image: import('../api/images.js').Image }} Reuse
 */

/**
 * @typedef {object} ReuseStore
 * @property {Reuse | null} pending handed over, not yet applied by the form
 * @property {(reuse: Reuse) => void} offer hands it to the form and opens the Create page
 * @property {() => void} taken the form applied it
 */

/** Provided by the shell, which owns the page: the gallery offers, the generate form takes. */
export const ReuseContext = createContext(
  /** @type {ReuseStore} */ ({ pending: null, offer: () => undefined, taken: () => undefined }),
);

export const useReuse = () => useContext(ReuseContext);
