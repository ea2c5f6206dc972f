import { createContext } from 'preact';
import { useContext, useEffect, useRef } from 'preact/hooks';

/** A channel event of the stream, or `resync` (refetch everything). @typedef {import('./constants.js').ServerEvent | 'resync'} BusEvent */

/**
 * A tiny publish/subscribe for the event stream: the shell publishes, components subscribe by event name.
 * `resync` is published when the stream asks for a refetch.
 */
export function createBus() {
  /** @type {Map<BusEvent, Set<(data: any) => void>>} */
  const listeners = new Map();
  return {
    /** @param {BusEvent} name @param {any} data */
    publish(name, data) {
      for (const fn of listeners.get(name) ?? []) {
        fn(data);
      }
    },
    /** @param {BusEvent} name @param {(data: any) => void} fn */
    subscribe(name, fn) {
      const set = listeners.get(name) ?? new Set();
      listeners.set(name, set);
      set.add(fn);
      return () => set.delete(fn);
    },
  };
}

/** @type {import('preact').Context<ReturnType<typeof createBus>>} */
export const BusContext = createContext(createBus());

/**
 * Calls `fn(data, name)` for each of the named events while the component is mounted; the latest `fn` is
 * used, so it may close over state.
 * @param {BusEvent[]} names
 * @param {(data: any, name: BusEvent) => void} fn
 */
export function useEvents(names, fn) {
  const bus = useContext(BusContext);
  const latest = useRef(fn);
  latest.current = fn;
  const key = names.join(',');
  useEffect(() => {
    const offs = /** @type {BusEvent[]} */ (key.split(',')).map((name) =>
      bus.subscribe(name, (data) => latest.current(data, name)),
    );
    return () => {
      for (const off of offs) {
        off();
      }
    };
  }, [bus, key]);
}
