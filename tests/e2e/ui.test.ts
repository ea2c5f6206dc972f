import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textToImageGraph } from '../helpers/graphs.ts';
import { forgeToken } from '../helpers/tokens.ts';
import { projectRoot } from '../node/spawn.ts';
import {
  ADMIN,
  ARTIFACTS,
  generate,
  JWT_SECRET,
  loginPage,
  PASSWORD,
  queueRow,
  recordProgress,
  type Stack,
  screenshot,
  seenProgress,
  startStack,
  waitLive,
} from './support.ts';

// Three users in three browser contexts against the real server: Alice and Bob (plain users) and the admin.
// Set UPDATE_DOCS_SCREENSHOTS=1 to refresh docs/screenshots/ (the README's pictures) from this run.
const ALICE = { email: 'alice@example.com', display_name: 'Alice Example' };
const BOB = { email: 'bob@example.com', display_name: 'Bob Builder' };
const EXPIRED = 'Your session has expired, please log in again';
// Prompts the bundled model draws (a <colour> <shape> on a <colour> background), so screenshots show images.
const FIRST_PROMPT = 'a red circle on a blue background';
const BATCH_PROMPTS = ['a blue square on a yellow background', 'a green triangle on a white background'];
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-/;

const UPDATE_DOCS = process.env.UPDATE_DOCS_SCREENSHOTS === '1';

/** Writes a screenshot into docs/screenshots/ as a palette PNG (a third of the size, for the repository). */
async function writeDocsPng(png: Buffer, name: string): Promise<void> {
  await mkdir(join(projectRoot, 'docs/screenshots'), { recursive: true });
  await sharp(png)
    .png({ palette: true, compressionLevel: 9 })
    .toFile(join(projectRoot, `docs/screenshots/${name}.png`));
}

/**
 * With UPDATE_DOCS_SCREENSHOTS=1, a screenshot of the viewport for the README (docs/screenshots/), scrolled
 * to `at`, or to the top.
 */
async function docsScreenshot(page: Page, name: string, at?: Locator): Promise<void> {
  if (UPDATE_DOCS) {
    await (at
      ? at.evaluate((el) => el.scrollIntoView({ block: 'start' }))
      : page.evaluate(() => scrollTo(0, 0)));
    await writeDocsPng(await page.screenshot(), name);
  }
}

interface Login {
  token: string;
  user: { user_id: string };
}

describe('web UI', () => {
  let stack: Stack;
  let adminToken: string;
  let alice: { page: Page; login: Login };
  let bob: { page: Page; login: Login };
  let admin: Page;

  beforeAll(async () => {
    stack = await startStack();
    adminToken = (await stack.api<Login>('POST', '/auth/login', undefined, ADMIN)).token;
    for (const user of [ALICE, BOB]) {
      await stack.api('POST', '/users', adminToken, { ...user, password: PASSWORD });
    }
    const login = (email: string) =>
      stack.api<Login>('POST', '/auth/login', undefined, { email, password: PASSWORD });
    alice = { page: (await loginPage(stack, ALICE.email)).page, login: await login(ALICE.email) };
    bob = { page: (await loginPage(stack, BOB.email)).page, login: await login(BOB.email) };
    admin = (await loginPage(stack, ADMIN.email)).page;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('shows Alice her progress and preview, Bob her row hidden for privacy, the admin everything', async () => {
    await Promise.all([alice.page, bob.page, admin].map(recordProgress));
    const itemId = await generate(alice.page, FIRST_PROMPT);

    const aliceRow = queueRow(alice.page, itemId);
    await expect.poll(() => aliceRow.locator('.badge').textContent(), { timeout: 60_000 }).toBe('completed');
    await alice.page.getByTestId('result-image').waitFor();
    const aliceSaw = await seenProgress(alice.page);
    expect(aliceSaw.preview).toBe(true);
    expect(aliceSaw.stages).toEqual(
      expect.arrayContaining(['Encoding prompt', 'Denoising 4/4', 'Decoding image']),
    );
    expect(aliceSaw.stages.join()).not.toMatch(/_/);
    expect(await aliceRow.getByTestId('queue-values').textContent()).toContain(FIRST_PROMPT);

    // Bob sees the row (the queue is shared) with Alice's name, but none of her values, previews or images.
    const bobRow = queueRow(bob.page, itemId);
    await expect.poll(() => bobRow.locator('.badge').textContent()).toBe('completed');
    expect(await bobRow.getByTestId('queue-user').textContent()).toBe(ALICE.display_name);
    expect(await bobRow.getByTestId('queue-values').textContent()).toBe('Hidden for privacy');
    expect(await bobRow.getByRole('button').count()).toBe(0);
    expect(await seenProgress(bob.page)).toEqual({ preview: false, result: false, stages: [] });
    expect(await bob.page.locator('img').count()).toBe(0);
    await bob.page.getByRole('link', { name: 'Gallery' }).click();
    await bob.page.getByText('No images here yet.').waitFor();
    await bob.page.getByRole('link', { name: 'Create' }).click();

    // The admin watched Alice's run and reads her values.
    const adminRow = queueRow(admin, itemId);
    await expect.poll(() => adminRow.locator('.badge').textContent()).toBe('completed');
    await expect
      .poll(() => admin.getByTestId('progress').textContent())
      .toContain(`Item #${itemId} for ${ALICE.display_name}`);
    const adminSaw = await seenProgress(admin);
    expect(adminSaw.preview || adminSaw.result).toBe(true);
    expect(adminSaw.stages).toContain('Denoising 4/4');
    expect(await adminRow.getByTestId('queue-values').textContent()).toContain(FIRST_PROMPT);
    expect(await adminRow.getByRole('button', { name: `Delete item ${itemId}` }).count()).toBe(1);

    // Bob's own item, for the screenshots: each user sees their values and only the names of the others.
    const bobItem = await generate(bob.page, 'a white triangle on a green background');
    for (const page of [alice.page, bob.page, admin]) {
      await expect
        .poll(() => queueRow(page, bobItem).locator('.badge').textContent(), { timeout: 60_000 })
        .toBe('completed');
    }
    await bob.page.getByTestId('result-image').waitFor();
    expect(await queueRow(alice.page, bobItem).getByTestId('queue-values').textContent()).toBe(
      'Hidden for privacy',
    );
    await Promise.all([
      screenshot(alice.page, 'queue-alice'),
      screenshot(bob.page, 'queue-bob'),
      screenshot(admin, 'queue-admin'),
    ]);
    if (UPDATE_DOCS) {
      for (const who of ['alice', 'bob', 'admin']) {
        await writeDocsPng(await readFile(join(ARTIFACTS, `queue-${who}.png`)), `queue-${who}`);
      }
    }
  });

  it("updates Alice's second tab live", async () => {
    const second = await alice.page.context().newPage();
    await second.goto(stack.server.url);
    await waitLive(second);
    await recordProgress(second);

    const itemId = await generate(alice.page, 'a yellow square on a black background');
    for (const page of [alice.page, second]) {
      await expect
        .poll(() => queueRow(page, itemId).locator('.badge').textContent(), { timeout: 60_000 })
        .toBe('completed');
    }
    expect((await seenProgress(second)).stages).toContain('Denoising 4/4');
    await second.getByTestId('result-image').waitFor();
    await screenshot(second, 'second-tab');
    await second.close();
  });

  it('batches one prompt per line, shows the seeds used, and reuses an image: download, settings, seed', async () => {
    const page = alice.page;
    const seed = page.getByLabel('Seed', { exact: true });
    expect([await seed.inputValue(), await seed.getAttribute('placeholder')]).toEqual(['', 'random']);

    // Batch mode: the one prompt box takes a prompt per line (no second box, nothing silently ignored).
    await page.getByLabel('the prompt').check();
    expect(await page.getByLabel('Prompt', { exact: true }).count()).toBe(0);
    await page.getByLabel('Prompts, one per line').fill(BATCH_PROMPTS.join('\n'));
    await page.getByLabel('Steps').fill('4');
    await page.getByLabel('Width').selectOption('64');
    await page.getByLabel('Height').selectOption('64');
    await page.getByRole('button', { name: 'Generate' }).click();
    const queued = page.getByTestId('enqueued').filter({ hasText: 'Queued 2 items' });
    const [, first, last, used] =
      /#(\d+)–#(\d+) with seed (\d+)\.$/.exec((await queued.textContent()) ?? '') ?? [];
    expect(Number(last)).toBe(Number(first) + 1);
    const items = [Number(first), Number(last)];
    for (const [i, item] of items.entries()) {
      const row = queueRow(page, item);
      await expect.poll(() => row.locator('.badge').textContent(), { timeout: 60_000 }).toBe('completed');
      expect(await row.getByTestId('queue-values').textContent()).toContain(
        `${BATCH_PROMPTS[i]}seed ${used}`,
      );
    }
    // The finished image shows the seed it was made with; "Reuse settings" fills the form with it.
    await expect.poll(() => page.getByTestId('progress-status').textContent()).toBe('completed');
    expect(await page.getByTestId('progress-values').textContent()).toContain(`seed${used}`);
    await page.getByTestId('result-image').waitFor();
    await docsScreenshot(page, 'create-batch');
    await page.getByTestId('progress').getByRole('button', { name: 'Reuse settings' }).click();
    const prompt = page.getByLabel('Prompt', { exact: true });
    await expect.poll(() => prompt.inputValue()).toBe(BATCH_PROMPTS[1]);
    expect(await seed.inputValue()).toBe(used);
    expect(await page.getByLabel('Random seed').isChecked()).toBe(false);
    expect(await page.getByLabel('Steps').inputValue()).toBe('4');

    // From the gallery: the first test's image downloads as its PNG, and "Reuse seed" takes its seed only.
    const { items: images } = await stack.api<{
      items: { image_name: string; metadata: { prompt: string; seed: number } }[];
    }>('GET', '/images', alice.login.token);
    const image = images.find((i) => i.metadata.prompt === FIRST_PROMPT);
    if (!image) {
      throw new Error('no image of the first test');
    }
    await page.getByRole('link', { name: 'Gallery' }).click();
    await page.getByRole('button', { name: `Open image ${image.image_name}` }).click();
    const dialog = page.getByRole('dialog');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      dialog.getByRole('link', { name: 'Download' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(image.image_name);
    await docsScreenshot(page, 'image-detail');
    await dialog.getByRole('button', { name: 'Reuse seed' }).click();
    await expect.poll(() => seed.inputValue()).toBe(String(image.metadata.seed));
    expect(await prompt.inputValue()).toBe(BATCH_PROMPTS[1]);
  });

  it('starts from an image: an upload on Create with a strength, or "Use as starting image" in the gallery', async () => {
    const page = alice.page;
    // A green square on white, 64 × 64: what the bundled model knows.
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#f5f5f5' } })
      .composite([
        {
          input: { create: { width: 32, height: 32, channels: 3, background: '#00a000' } },
          left: 16,
          top: 16,
        },
      ])
      .png()
      .toBuffer();
    await page
      .getByLabel('Upload a starting image')
      .setInputFiles({ name: 'square.png', mimeType: 'image/png', buffer: png });
    const start = page.getByTestId('starting-image');
    await start.waitFor();
    const uploaded = await start.getAttribute('title');
    await page.getByLabel('Strength', { exact: true }).fill('0.6');
    expect(await page.getByTestId('strength').textContent()).toBe('0.60');
    // The square keeps its place and turns red (8 steps: 4 leave too few to run at this strength).
    await page.getByLabel('Prompt', { exact: true }).fill('a red square on a white background');
    await page.getByLabel('Steps').fill('8');
    await page.getByRole('button', { name: 'Generate' }).click();
    const queued = page.getByTestId('enqueued').filter({ hasText: 'Queued item' });
    const itemId = Number(/#(\d+)/.exec((await queued.textContent()) ?? '')?.[1]);
    const row = queueRow(page, itemId);
    await expect.poll(() => row.locator('.badge').textContent(), { timeout: 60_000 }).toBe('completed');
    expect(await row.getByTestId('queue-values').textContent()).toContain('strength 0.6');
    const item = await stack.api<{ session: { graph: { nodes: Record<string, Record<string, unknown>> } } }>(
      'GET',
      `/queue/default/i/${itemId}`,
      alice.login.token,
    );
    expect(item.session.graph.nodes.i2l?.image).toEqual({ image_name: uploaded });
    expect(item.session.graph.nodes.denoise?.denoising_start).toBe(0.4);
    expect((await seenProgress(page)).stages).toContain('Encoding starting image');
    await page.getByTestId('result-image').waitFor();
    await docsScreenshot(page, 'create-image-to-image');

    // Any image of the gallery becomes the starting image.
    await page.getByRole('link', { name: 'Gallery' }).click();
    const thumb = page.getByRole('button', { name: /^Open image / }).last();
    const name = ((await thumb.getAttribute('aria-label')) ?? '').replace('Open image ', '');
    await thumb.click();
    await page.getByRole('dialog').getByRole('button', { name: 'Use as starting image' }).click();
    await expect.poll(() => start.getAttribute('title')).toBe(name);
    await page.getByRole('button', { name: 'Remove' }).click();
    expect(await start.count()).toBe(0);
  });

  it('shows the admin whose each image is, the audit log live with names, a favicon and a dark theme', async () => {
    await admin.getByRole('link', { name: 'Gallery' }).click();
    await admin.getByLabel("Everyone's images").check();
    const owners = admin.getByTestId('image-owner');
    await expect
      .poll(async () => new Set(await owners.allTextContents()))
      .toEqual(new Set([ALICE.display_name, BOB.display_name]));
    const thumb = await admin.locator('button.thumb').first().boundingBox();
    expect(thumb?.width).toBeGreaterThanOrEqual(150);
    await docsScreenshot(admin, 'gallery-admin');

    // A favicon, and a dark theme that follows the system's preference.
    const icon = await admin.locator('link[rel=icon]').getAttribute('href');
    const res = await fetch(`${stack.server.url}${icon}`);
    expect([res.status, res.headers.get('content-type')]).toEqual([200, 'image/svg+xml']);
    const background = () => admin.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await admin.emulateMedia({ colorScheme: 'dark' });
    expect(await background()).toBe('rgb(18, 21, 28)');
    await docsScreenshot(admin, 'gallery-admin-dark');
    await admin.emulateMedia({ colorScheme: 'light' });
    expect(await background()).toBe('rgb(246, 247, 249)');

    // The audit log follows without Refresh: Bob's enqueue arrives by the stream; targets and details in words.
    await admin.getByRole('link', { name: 'Admin' }).click();
    const enqueued = admin.locator('[data-testid=audit-table] tr[data-action="queue.enqueued"]');
    await enqueued.first().waitFor();
    const before = await enqueued.count();
    await stack.api('POST', '/queue/default/enqueue_batch', bob.login.token, {
      batch: { graph: textToImageGraph({ prompt: 'a black circle on a white background' }) },
    });
    await expect.poll(() => enqueued.count()).toBe(before + 1);
    expect(await enqueued.first().locator('td[data-label=Actor]').textContent()).toBe(BOB.display_name);
    expect(await enqueued.first().getByTestId('audit-details').textContent()).toContain('enqueued 1');
    const login = admin.locator('[data-testid=audit-table] tr[data-action="auth.login"]');
    expect(await login.getByTestId('audit-target').allTextContents()).toContain(ALICE.display_name);
    const targets = await admin.getByTestId('audit-target').allTextContents();
    expect(targets.filter((t) => UUID.test(t))).toEqual([]);
    const created = admin.locator('[data-testid=audit-table] tr[data-action="user.created"]').first();
    expect(await created.getByTestId('audit-details').textContent()).toContain('administrator no');
    await docsScreenshot(admin, 'audit-log', admin.getByRole('heading', { name: 'Audit log' }));
    await admin.getByRole('link', { name: 'Create' }).click();
  });

  it('names a user by display name, else email, else user id, with the full text as tooltip', async () => {
    // A long display name is cut by the column's width; the tooltip keeps it whole.
    const long = 'Carol Longname-With-A-Very-Long-Family-Name-That-Does-Not-Fit-In-The-User-Column';
    const carol = await stack.api<{ user_id: string }>('POST', '/users', adminToken, {
      email: 'carol@example.com',
      display_name: long,
      password: PASSWORD,
    });
    const carolToken = (
      await stack.api<Login>('POST', '/auth/login', undefined, {
        email: 'carol@example.com',
        password: PASSWORD,
      })
    ).token;
    const dave = await stack.api<{ user_id: string }>('POST', '/users', adminToken, {
      email: 'dave@example.com',
      password: PASSWORD,
    });
    const daveToken = (
      await stack.api<Login>('POST', '/auth/login', undefined, {
        email: 'dave@example.com',
        password: PASSWORD,
      })
    ).token;
    const graph = textToImageGraph({ prompt: 'names' });
    const enqueue = async (token: string) =>
      (
        await stack.api<{ item_ids: number[] }>('POST', '/queue/default/enqueue_batch', token, {
          batch: { graph },
        })
      ).item_ids[0] ?? 0;
    const carolItem = await enqueue(carolToken);
    const daveItem = await enqueue(daveToken);
    // Dave's account is deleted: his item stays, with neither name nor email (the LEFT JOIN gives null).
    await stack.api('DELETE', `/users/${dave.user_id}`, adminToken);

    // An account without a display name (a legacy row) shows its email: the admin's list is altered on the way.
    await admin.route('**/api/v1/queue/default/list*', async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      for (const item of body.items) {
        if (item.user_id === carol.user_id) {
          item.user_display_name = null;
        }
      }
      await route.fulfill({ response: res, json: body });
    });
    await admin.getByRole('radio', { name: 'Mine' }).check();
    await admin.getByRole('radio', { name: 'All' }).check();
    const userCell = (page: Page, id: number) => queueRow(page, id).getByTestId('queue-user');
    await expect.poll(() => userCell(admin, carolItem).textContent()).toBe('carol@example.com');
    expect(await userCell(admin, carolItem).getAttribute('title')).toBe('carol@example.com');
    await expect.poll(() => userCell(admin, daveItem).textContent()).toBe(dave.user_id);
    expect(await userCell(admin, daveItem).getAttribute('title')).toBe(dave.user_id);
    await screenshot(admin, 'user-labels-admin');
    await admin.unrouteAll({ behavior: 'wait' });

    // Bob, unaltered: Carol's full name in the tooltip, though the cell shows it cut.
    await expect.poll(() => userCell(bob.page, carolItem).getAttribute('title')).toBe(long);
    const cell = userCell(bob.page, carolItem);
    expect(await cell.evaluate((el) => el.scrollWidth > el.clientWidth)).toBe(true);
    expect(await userCell(bob.page, daveItem).textContent()).toBe(dave.user_id);
    await screenshot(bob.page, 'user-labels-bob');
  });

  it('sends requests from the API reference (/docs) with the signed-in token, and takes the refreshed one', async () => {
    const page = await alice.page.context().newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') {
        problems.push(m.text());
      }
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${stack.server.url}/docs`);
    const token = page.locator('#try-token');
    const signedIn = await page.evaluate(() => localStorage.getItem('easel.token'));
    expect(await token.inputValue()).toBe(signedIn);

    const me = page.locator('[id="get-/api/v1/auth/me"]');
    await me.getByRole('button', { name: 'Try it' }).click();
    await me.getByRole('button', { name: 'Send GET' }).click();
    const meOut = me.locator('pre.try-out');
    await meOut.filter({ hasText: 'HTTP 200' }).waitFor();
    const [head, body] = ((await meOut.textContent()) ?? '').split('\n\n');
    expect(head?.split('\n').slice(0, 2)).toEqual(['HTTP 200 OK', 'content-type: application/json']);
    expect(JSON.parse(body ?? '')).toMatchObject({ email: ALICE.email, display_name: ALICE.display_name });

    // A write answers a fresh token, which the field takes for the next request.
    const patch = page.locator('[id="patch-/api/v1/auth/me"]');
    await patch.getByRole('button', { name: 'Try it' }).click();
    await patch.locator('textarea').fill(JSON.stringify({ display_name: ALICE.display_name }));
    await patch.getByRole('button', { name: 'Send PATCH' }).click();
    await patch.locator('pre.try-out').filter({ hasText: 'HTTP 200' }).waitFor();
    expect(await patch.locator('pre.try-out').textContent()).toContain('x-refreshed-token: ');
    const refreshed = await token.inputValue();
    expect(refreshed).not.toBe(signedIn);
    expect(refreshed.split('.')).toHaveLength(3);

    // A path parameter, and a problem answer shown as it came.
    const user = page.locator('[id="get-/api/v1/users/{user_id}"]');
    await user.getByRole('button', { name: 'Try it' }).click();
    await user.locator('input[name="user_id"]').fill(alice.login.user.user_id);
    await user.getByRole('button', { name: 'Send GET' }).click();
    await user.locator('pre.try-out').filter({ hasText: 'HTTP 403' }).waitFor();
    expect(await user.locator('pre.try-out').textContent()).toContain('"code": "forbidden"');
    await page.close();
    // No script, style or request refused by the page's Content-Security-Policy, no script error; only the
    // 403 the browser reports for the last request.
    expect(problems).toEqual([expect.stringContaining('403')]);
  });

  it('keeps the session through a 500 and a network error, and ends it on an expired token', async () => {
    const { page } = await loginPage(stack, BOB.email);
    await page.route('**/api/v1/queue/default/list*', (route) =>
      route.fulfill({
        status: 500,
        contentType: 'application/problem+json',
        body: JSON.stringify({
          status: 500,
          code: 'internal',
          title: 'Internal Server Error',
          detail: 'Something broke.',
        }),
      }),
    );
    await page.getByRole('radio', { name: 'Mine' }).check();
    await page.getByText('Could not load the queue: Something broke.').waitFor();
    await page.unrouteAll({ behavior: 'wait' });
    await page.route('**/api/v1/queue/default/status', (route) => route.abort('connectionrefused'));
    await page.getByRole('radio', { name: 'All' }).check();
    await page.getByText('Could not load the queue: The server cannot be reached.').waitFor();
    await page.unrouteAll({ behavior: 'wait' });
    expect(await page.getByTestId('whoami').textContent()).toContain(BOB.display_name);
    expect(await page.evaluate(() => localStorage.getItem('easel.token'))).toBeTruthy();
    await screenshot(page, 'server-error-stays-logged-in');

    // The same token, but expired an hour ago: the next request is a 401 token_expired.
    const now = Math.floor(Date.now() / 1000);
    const expired = await forgeToken(bob.login.user.user_id, {
      key: new TextEncoder().encode(JWT_SECRET),
      claims: { email: BOB.email },
      nowS: now - 7200,
      lifetimeS: 3600,
    });
    await page.evaluate((token) => localStorage.setItem('easel.token', token), expired);
    // click, not check: the 401 can swap the page for the login form before check() reads the radio back
    // (it then waits for a radio that is gone).
    await page.getByRole('radio', { name: 'Mine' }).click();
    await page.getByTestId('login-message').filter({ hasText: EXPIRED }).waitFor();
    expect(await page.evaluate(() => localStorage.getItem('easel.token'))).toBeNull();
    await screenshot(page, 'expired-session');

    // A fresh load with an expired token in storage lands on the login page with the message too.
    await page.evaluate((token) => localStorage.setItem('easel.token', token), expired);
    await page.reload();
    await page.getByTestId('login-message').filter({ hasText: EXPIRED }).waitFor();
    await page.context().close();
  });

  it('logs out every tab when one tab logs out', async () => {
    const { context, page } = await loginPage(stack, BOB.email);
    const other = await context.newPage();
    await other.goto(stack.server.url);
    await waitLive(other);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    await other.getByText('You were logged out in another tab.').waitFor();
    await screenshot(other, 'logged-out-in-another-tab');
    await context.close();
  });
});
