import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate, PASSWORD, queueRow, type Stack, screenshot, startStack, waitLive } from './support.ts';

// The first visit on a fresh `npm start`: set up the admin in the page, create a second user under Admin,
// and both generate and watch their own work.
describe('first run in the browser', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ headlessAdmin: false });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('sets up the admin, who creates a user; both generate', async () => {
    const adminContext = await stack.browser.newContext({ viewport: { width: 1280, height: 900 } });
    const admin = await adminContext.newPage();
    await admin.goto(stack.server.url);
    await admin.getByRole('heading', { name: 'Set up Easel' }).waitFor();
    await screenshot(admin, 'first-run-setup');
    await admin.getByLabel('Email').fill('root@example.com');
    await admin.getByLabel('Display name (optional)').fill('Root');
    await admin.getByLabel('Password (8 characters or more)').fill(PASSWORD);
    await admin.getByLabel('Repeat the password').fill(PASSWORD);
    await admin.getByRole('button', { name: 'Create the administrator' }).click();
    await waitLive(admin);

    await admin.getByRole('link', { name: 'Admin' }).click();
    const form = admin.locator('form.create-user');
    await form.getByLabel('Email').fill('erin@example.com');
    await form.getByLabel('Display name (optional)').fill('Erin');
    await form.getByLabel('Password').fill(PASSWORD);
    await form.getByRole('button', { name: 'Create user' }).click();
    await admin.getByText('Created erin@example.com.').waitFor();
    await screenshot(admin, 'first-run-admin');

    // Erin on a phone-sized screen.
    const erinContext = await stack.browser.newContext({ viewport: { width: 375, height: 740 } });
    const erin = await erinContext.newPage();
    await erin.goto(stack.server.url);
    await erin.getByLabel('Email').fill('erin@example.com');
    await erin.getByLabel('Password').fill(PASSWORD);
    await erin.getByRole('button', { name: 'Log in' }).click();
    await waitLive(erin);

    await admin.getByRole('link', { name: 'Create' }).click();
    const erinItem = await generate(erin, 'a tiny garden');
    const rootItem = await generate(admin, 'a tall tower');
    for (const [page, item] of [
      [erin, erinItem],
      [admin, rootItem],
    ] as const) {
      await expect
        .poll(() => queueRow(page, item).locator('.badge').textContent(), { timeout: 60_000 })
        .toBe('completed');
      await page.getByTestId('result-image').waitFor();
    }
    expect(await erin.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await screenshot(erin, 'first-run-phone');
    await screenshot(admin, 'first-run-queue-admin');
  });
});
