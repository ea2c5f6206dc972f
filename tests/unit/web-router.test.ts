import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../web/components/shell.js';
import { matchRoute, visibleRoutes } from '../../web/lib/router.js';

// The signed-in UI's route table (web/components/shell.js) as the router reads it; the e2e tests click through it.
const shown = (path: string, isAdmin: boolean) => matchRoute(visibleRoutes(ROUTES, isAdmin), path)?.label;

describe('the web UI router', () => {
  it('shows the page of a known path', () => {
    expect(shown('/', false)).toBe('Create');
    expect(shown('/gallery', false)).toBe('Gallery');
    expect(shown('/admin', true)).toBe('Admin');
  });

  it('shows the first page for any other path, and for a page the user may not see', () => {
    for (const path of ['/nope', '/gallery/', '/Gallery', '', '/admin/x']) {
      expect(shown(path, true)).toBe('Create');
    }
    expect(shown('/admin', false)).toBe('Create');
  });

  it('lists the admin page in the navigation for administrators only', () => {
    expect(visibleRoutes(ROUTES, false).map((r) => r.path)).toEqual(['/', '/gallery']);
    expect(visibleRoutes(ROUTES, true).map((r) => r.path)).toEqual(['/', '/gallery', '/admin']);
  });

  it('gives every path one view', () => {
    expect(new Set(ROUTES.map((r) => r.path)).size).toBe(ROUTES.length);
    expect(ROUTES.every((r) => typeof r.view === 'function')).toBe(true);
  });
});
