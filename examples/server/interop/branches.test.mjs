// Drives the admin page's channel map in headless Chromium: splits channel `production`
// between its branch and `canary`, rolls back the iOS scope of branch `canary`, then ends
// the split keeping `canary`. After each step it asks /manifest (iOS, runtime 1.0.0,
// channel production) for each of the installs named in INSTALLS and prints, as JSON, the
// update each was served; the Rust test that runs it checks them.
//
// usage: node branches.test.mjs BASE_URL TOKEN
// env:   CHROMIUM (default /usr/bin/chromium), INSTALLS (comma-separated eas-client-ids)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [base, token] = process.argv.slice(2);
const installs = (process.env.INSTALLS ?? '').split(',').filter(Boolean);
if (!base || !token || installs.length === 0) {
  console.error('usage: INSTALLS=a,b node branches.test.mjs BASE_URL TOKEN');
  process.exit(2);
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// The update /manifest serves each install (null: none).
async function served() {
  const answers = {};
  for (const install of installs) {
    const response = await fetch(`${base}/manifest`, {
      headers: {
        'expo-protocol-version': '1', 'expo-platform': 'ios', 'expo-runtime-version': '1.0.0',
        'expo-channel-name': 'production', accept: 'multipart/mixed', 'eas-client-id': install,
      },
    });
    check(response.status === 200, `manifest ${response.status}`);
    const match = /"id":"([0-9a-f-]{36})"/.exec(await response.text());
    answers[install] = match ? match[1] : null;
  }
  return answers;
}

const userDataDir = mkdtempSync(join(tmpdir(), 'admin-ui-branches-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});
const problems = [];
try {
  const page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('dialog', (dialog) => dialog.accept());

  await page.goto(`${base}/admin/ui`);
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('status').filter({ hasText: 'Signed in.' }).waitFor();
  // The browser's own request for /favicon.ico (the page has none) is a 404 before this.
  problems.length = 0;
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`);
  });

  const production = page.getByRole('region', { name: 'channel production', exact: true });
  await production.waitFor();
  const before = await production.locator('.serves').textContent();
  check(before === 'serves branch production', `before: ${before}`);

  // Start a split: half the installs get branch canary.
  await production.getByLabel('Split branch of production').selectOption('canary');
  await production.getByLabel('Split percent of production').fill('50');
  await production.getByRole('button', { name: 'Split production' }).click();
  await page.getByRole('status')
    .filter({ hasText: 'Channel production now serves branch canary to 50% of installs.' }).waitFor();
  const split = await production.locator('.serves').textContent();
  check(split === 'serves branch production, and branch canary to 50% of installs', `split: ${split}`);
  const afterSplit = await served();

  // Roll back branch canary's iOS updates from its scope.
  const canaryIos = page.getByRole('region', { name: 'channel canary, runtime 1.0.0, ios' });
  await canaryIos.getByRole('button', { name: /^Roll back to previous/ }).click();
  await page.getByRole('status').filter({ hasText: 'Rolled back channel canary, runtime 1.0.0, ios' }).waitFor();
  const afterRollback = await served();

  // End the split keeping canary.
  await production.getByRole('button', { name: 'End the split of production keeping canary' }).click();
  await page.getByRole('status')
    .filter({ hasText: 'Split of production ended: it serves branch canary.' }).waitFor();
  const ended = await production.locator('.serves').textContent();
  check(ended === 'serves branch canary', `ended: ${ended}`);
  const afterEnd = await served();

  check(problems.length === 0, problems.join('\n'));
  console.log(JSON.stringify({ after_split: afterSplit, after_rollback: afterRollback, after_end: afterEnd }));
} catch (error) {
  console.error(`admin page branches test failed: ${error.message}`);
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
