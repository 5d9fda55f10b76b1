// Drives the admin page in headless Chromium like a person would: signs in, reads the
// updates, rolls back the iOS scope of `production`, and sets the rollout of the newest
// Android update to 30%. The Rust test that runs it checks the effects through the CLI.
//
// usage: node admin-ui.test.mjs BASE_URL TOKEN
// env:   CHROMIUM (default /usr/bin/chromium), ADMIN_UI_SCREENSHOT (a PNG path to write)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [base, token] = process.argv.slice(2);
if (!base || !token) {
  console.error('usage: node admin-ui.test.mjs BASE_URL TOKEN');
  process.exit(2);
}

const userDataDir = mkdtempSync(join(tmpdir(), 'admin-ui-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});

const problems = [];
function check(condition, message) {
  if (!condition) throw new Error(message);
}

try {
  const page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(20_000);
  // A CSP violation or a script error shows up here.
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('dialog', (dialog) => dialog.accept());

  await page.goto(`${base}/admin/ui`);
  // A wrong token is refused and the form comes back.
  await page.getByLabel('Admin token').fill('wrong-token-000000');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'refused the token' }).waitFor();
  problems.length = 0; // the 401 itself is logged by the browser

  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('status').filter({ hasText: 'Signed in.' }).waitFor();

  const ios = page.getByRole('region', { name: 'channel production, runtime 1.0.0, ios' });
  const android = page.getByRole('region', { name: 'channel production, runtime 1.0.0, android' });
  await ios.waitFor();
  const iosRows = await ios.locator('tbody tr').count();
  const androidRows = await android.locator('tbody tr').count();
  check(iosRows === 2, `expected 2 iOS updates, saw ${iosRows}`);
  check(androidRows === 2, `expected 2 Android updates, saw ${androidRows}`);

  // The token survives a reload of the tab.
  await page.reload();
  await ios.waitFor();

  await ios.getByRole('button', { name: /^Roll back to previous/ }).click();
  await page.getByRole('status').filter({ hasText: 'Rolled back channel production, runtime 1.0.0, ios' }).waitFor();
  const iosAfter = await ios.locator('tbody tr').count();
  check(iosAfter === 3, `expected 3 iOS updates after the rollback, saw ${iosAfter}`);

  const newest = android.locator('tbody tr').first();
  const androidId = await newest.getAttribute('data-id');
  await newest.getByLabel(`Rollout percent of ${androidId}`).fill('30');
  await newest.getByRole('button', { name: `Set rollout of ${androidId}` }).click();
  await page.getByRole('status').filter({ hasText: `${androidId} is now rolled out to 30%` }).waitFor();
  const cell = await android.locator(`tr[data-id="${androidId}"] td`).nth(3).textContent();
  check(cell === '30%', `the table shows ${cell}, not 30%`);

  if (process.env.ADMIN_UI_SCREENSHOT) {
    await page.screenshot({ path: process.env.ADMIN_UI_SCREENSHOT, fullPage: true });
  }
  check(problems.length === 0, problems.join('\n'));
  console.log(JSON.stringify({ ok: true, rolled_out: androidId }));
} catch (error) {
  console.error(`admin page test failed: ${error.message}`);
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
