import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { migratedDataDir } from '../node/data-dir.ts';
import { childEnv, freePort, projectRoot, type RunningServer, startServer } from '../node/spawn.ts';

/** Debian's chromium; CI installs it when missing, and no browser is ever downloaded. */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];
export const ARTIFACTS = join(projectRoot, 'tests/e2e/artifacts');
export const JWT_SECRET = 'e2e-secret-e2e-secret-e2e-secret-0123456789';
export const PASSWORD = 'correct horse battery';
export const ADMIN = { email: 'admin@example.com', password: PASSWORD };

export interface Stack {
  server: RunningServer;
  browser: Browser;
  /** Calls the API directly (fixtures), with a token when given. */
  api<T = unknown>(method: string, path: string, token?: string, json?: unknown): Promise<T>;
  stop(): Promise<void>;
}

/**
 * The real server as `npm start` runs it (embedded PGlite on a temp DATA_DIR, the bundled tiny model, a
 * known JWT secret so tests can sign an expired token), and one headless chromium. With `headlessAdmin` false
 * no account exists, as on a first `npm start`.
 * @example const stack = await startStack(); const ctx = await stack.browser.newContext();
 */
export async function startStack(options: { headlessAdmin?: boolean } = {}): Promise<Stack> {
  const admin: Record<string, string> =
    options.headlessAdmin === false ? {} : { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password };
  const root = await mkdtemp(join(tmpdir(), 'easel-e2e-'));
  await mkdir(ARTIFACTS, { recursive: true });
  const env = childEnv({
    HOST: '127.0.0.1',
    PORT: String(await freePort()),
    DATA_DIR: await migratedDataDir(join(root, 'data')),
    MODELS_DIR: join(projectRoot, 'models'),
    JWT_SECRET,
    ...admin,
    PROGRESS_MAX_HZ: '1000',
    LOG_LEVEL: 'warn',
  });
  const server = await startServer(process.execPath, ['--import', 'tsx', 'src/main.node.ts'], env);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  async function api<T>(method: string, path: string, token?: string, json?: unknown): Promise<T> {
    const res = await fetch(`${server.url}/api/v1${path}`, {
      method,
      headers: {
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(json === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: json === undefined ? undefined : JSON.stringify(json),
    });
    if (!res.ok) {
      throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    }
    return (res.status === 204 ? null : await res.json()) as T;
  }
  return {
    server,
    browser,
    api,
    async stop() {
      await browser.close();
      await server.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/**
 * A fresh browser context logged in through the login page, on the create view with a live event stream.
 * @example const alice = await loginPage(stack, 'alice@example.com');
 */
export async function loginPage(
  stack: Stack,
  email: string,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await stack.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(stack.server.url);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('Remember me for 7 days').check();
  await page.getByRole('button', { name: 'Log in' }).click();
  await waitLive(page);
  return { context, page };
}

/** Waits until the page's event stream says `connected`. */
export async function waitLive(page: Page): Promise<void> {
  await page.getByTestId('stream-state').filter({ hasText: 'Live' }).waitFor();
}

/**
 * Records from now on whether the page ever showed a step preview or a finished image (they come and go
 * within a second with the tiny model), and every stage the progress panel named ("Encoding prompt",
 * "Denoising 3/4", …).
 */
export async function recordProgress(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen = { preview: false, result: false, stages: [] as string[] };
    (window as unknown as { seen: typeof seen }).seen = seen;
    const look = () => {
      seen.preview ||= document.querySelector('[data-testid=preview-image]') !== null;
      seen.result ||= document.querySelector('[data-testid=result-image]') !== null;
      const stage = document.querySelector('[data-testid=progress-stage]')?.textContent;
      if (stage && !seen.stages.includes(stage)) {
        seen.stages.push(stage);
      }
    };
    new MutationObserver(look).observe(document.body, {
      subtree: true,
      childList: true,
      characterData: true,
    });
  });
}

export function seenProgress(page: Page): Promise<{ preview: boolean; result: boolean; stages: string[] }> {
  return page.evaluate(
    () => (window as unknown as { seen: { preview: boolean; result: boolean; stages: string[] } }).seen,
  );
}

/** The queue row of an item. */
export const queueRow = (page: Page, itemId: number) =>
  page.locator(`[data-testid=queue-table] tr[data-item-id="${itemId}"]`);

/** Saves a full-page screenshot under `tests/e2e/artifacts/` (kept by CI, ignored by git). */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Fills the generate form for a tiny, fast run (64 × 64, 4 steps) and returns the new item's id. */
export async function generate(page: Page, prompt: string): Promise<number> {
  await page.getByLabel('Prompt', { exact: true }).fill(prompt);
  await page.getByLabel('Negative prompt').fill('blurry');
  await page.getByLabel('Steps').fill('4');
  await page.getByLabel('Width').selectOption('64');
  await page.getByLabel('Height').selectOption('64');
  const message = page.getByTestId('enqueued');
  const before = (await message.count()) > 0 ? await message.textContent() : null;
  await page.getByRole('button', { name: 'Generate' }).click();
  await expect.poll(() => message.textContent()).not.toBe(before);
  const text = (await message.textContent()) ?? '';
  const id = /#(\d+)/.exec(text)?.[1];
  expect(id, text).toBeDefined();
  return Number(id);
}
