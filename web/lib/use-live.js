import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { useEvents } from './bus.js';

/**
 * Loads data with `load()`, and loads it again (coalesced to one call per 200 ms) whenever one of `events`
 * arrives, on `resync`, and when `key` changes. Keeps the last good data while a reload fails.
 * @template T
 * @param {() => Promise<T>} load
 * @param {import('./constants.js').ServerEvent[]} events
 * @param {string} key what the load depends on (filters)
 * @returns {{ data: T | undefined, error: string, reload: () => void }}
 */
export function useLive(load, events, key) {
  const [data, setData] = useState(/** @type {T | undefined} */ (undefined));
  const [error, setError] = useState('');
  const latest = useRef(load);
  latest.current = load;
  const timer = useRef(/** @type {ReturnType<typeof setTimeout> | undefined} */ (undefined));
  const generation = useRef(0);

  const reload = useCallback(() => {
    const mine = ++generation.current;
    latest.current().then(
      (value) => {
        if (mine === generation.current) {
          setData(value);
          setError('');
        }
      },
      (/** @type {Error} */ err) => mine === generation.current && setError(err.message),
    );
  }, []);

  useEffect(() => {
    reload();
    return () => clearTimeout(timer.current);
  }, [key, reload]);

  useEvents([...events, 'resync'], () => {
    clearTimeout(timer.current);
    timer.current = setTimeout(reload, 200);
  });
  return { data, error, reload };
}

/**
 * Calls `reload` every `ms` while the page is visible, and at once when it becomes visible again: for data
 * that changes without an event on the stream (the audit log's logins and account changes).
 * @param {() => void} reload
 * @param {number} ms
 */
export function usePoll(reload, ms) {
  const latest = useRef(reload);
  latest.current = reload;
  useEffect(() => {
    const visible = () => document.visibilityState === 'visible';
    const timer = setInterval(() => visible() && latest.current(), ms);
    const onVisibility = () => visible() && latest.current();
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [ms]);
}
