import { useEffect, useMemo, useState } from 'preact/hooks';
import { BusContext, createBus } from '../lib/bus.js';
import { openEventStream } from '../lib/events.js';
import { html } from '../lib/html.js';
import { UserContext } from '../lib/user-context.js';
import { AdminView } from './admin-view.js';
import { CreateView } from './create-view.js';
import { GalleryView } from './gallery-view.js';

const VIEWS = [
  { path: '/', label: 'Create' },
  { path: '/gallery', label: 'Gallery' },
  { path: '/admin', label: 'Admin', admin: true },
];

/**
 * The signed-in page: navigation, the event stream (one per tab), and the current view.
 * @param {{ me: import('../lib/user-context.js').Me, onSessionEnd: () => void }} props
 */
export function Shell({ me, onSessionEnd }) {
  const bus = useMemo(createBus, []);
  const [path, setPath] = useState(location.pathname);
  const [stream, setStream] = useState('connecting');
  const views = VIEWS.filter((v) => !v.admin || me.user.is_admin);

  useEffect(() => {
    const onPop = () => setPath(location.pathname);
    window.addEventListener('popstate', onPop);
    const close = openEventStream({
      onEvent: (name, data) => bus.publish(name, data),
      onResync: () => bus.publish('resync', null),
      onState: setStream,
      onSessionEnd,
    });
    return () => {
      window.removeEventListener('popstate', onPop);
      close();
    };
  }, [bus, onSessionEnd]);

  const go = (/** @type {MouseEvent} */ e, /** @type {string} */ to) => {
    e.preventDefault();
    history.pushState(null, '', to);
    setPath(to);
  };
  const current = views.find((v) => v.path === path) ?? views[0];
  const name = me.user.display_name || me.user.email || me.user.user_id;

  return html`<${UserContext.Provider} value=${me}>
    <${BusContext.Provider} value=${bus}>
      <header class="top">
        <strong class="brand">Easel</strong>
        <nav aria-label="Main">
          ${views.map(
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
      <main id="main">
        ${
          current?.path === '/gallery'
            ? html`<${GalleryView} />`
            : current?.path === '/admin'
              ? html`<${AdminView} />`
              : html`<${CreateView} />`
        }
      </main>
    <//>
  <//>`;
}
