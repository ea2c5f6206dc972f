import { useEffect, useMemo, useState } from 'preact/hooks';
import { BusContext, createBus } from '../lib/bus.js';
import { openEventStream } from '../lib/events.js';
import { html } from '../lib/html.js';
import { ReuseContext } from '../lib/reuse.js';
import { matchRoute, useLocation, visibleRoutes } from '../lib/router.js';
import { UserContext } from '../lib/user-context.js';
import { AdminView } from './admin-view.js';
import { CreateView } from './create-view.js';
import { GalleryView } from './gallery-view.js';

/**
 * The pages, by URL path; the first is the default for any other path.
 * @type {import('../lib/router.js').Route[]}
 */
export const ROUTES = [
  { path: '/', label: 'Create', view: CreateView },
  { path: '/gallery', label: 'Gallery', view: GalleryView },
  { path: '/admin', label: 'Admin', view: AdminView, admin: true },
];

/**
 * The signed-in page: navigation, the event stream (one per tab), and the current view.
 * @param {{ me: import('../lib/user-context.js').Me, onSessionEnd: () => void }} props
 */
export function Shell({ me, onSessionEnd }) {
  const bus = useMemo(createBus, []);
  const [path, navigate] = useLocation();
  const [stream, setStream] = useState('connecting');
  const [pending, setPending] = useState(/** @type {import('../lib/reuse.js').Reuse | null} */ (null));
  const routes = visibleRoutes(ROUTES, me.user.is_admin);

  useEffect(() => {
    const close = openEventStream({
      onEvent: (name, data) => bus.publish(name, data),
      onResync: () => bus.publish('resync', null),
      onState: setStream,
      onSessionEnd,
    });
    return close;
  }, [bus, onSessionEnd]);

  const go = (/** @type {MouseEvent} */ e, /** @type {string} */ to) => {
    e.preventDefault();
    navigate(to);
  };
  const current = matchRoute(routes, path);
  const View = current?.view ?? CreateView;
  const onCreate = current === routes[0];
  const reuse = useMemo(
    () => ({
      pending,
      offer: (/** @type {import('../lib/reuse.js').Reuse} */ r) => {
        setPending(r);
        if (!onCreate) {
          navigate('/');
        }
      },
      taken: () => setPending(null),
    }),
    [pending, onCreate, navigate],
  );
  const name = me.user.display_name || me.user.email || me.user.user_id;

  return html`<${UserContext.Provider} value=${me}>
    <${BusContext.Provider} value=${bus}>
    <${ReuseContext.Provider} value=${reuse}>
      <header class="top">
        <strong class="brand">Easel</strong>
        <nav aria-label="Main">
          ${routes.map(
            (v) =>
              html`<a href=${v.path} aria-current=${v === current ? 'page' : undefined} onClick=${(
                /** @type {MouseEvent} */ e,
              ) => go(e, v.path)}>${v.label}</a>`,
          )}
        </nav>
        <span class="who" data-testid="whoami" title=${me.user.email}>${name}${me.user.is_admin ? ' (admin)' : ''}</span>
        <span class=${`stream ${stream}`} role="status" data-testid="stream-state">
          ${stream === 'live' ? 'Live' : stream === 'connecting' ? 'Connecting…' : 'Reconnecting…'}
        </span>
        ${me.multiuser && html`<button type="button" class="secondary" onClick=${me.logout}>Log out</button>`}
      </header>
      <main id="main"><${View} /></main>
    <//>
    <//>
  <//>`;
}
