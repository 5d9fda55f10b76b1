// Drives the admin page in headless Chromium like a person would: signs in, reads the
// updates, rolls back the iOS scope of `production`, and sets the rollout of the newest
// Android update to 30%. The Rust test that runs it checks the effects through the CLI.
//
// usage: node admin-ui.test.mjs BASE_URL TOKEN
// env:   CHROMIUM (default /usr/bin/chromium), ADMIN_UI_SCREENSHOT (a PNG path to write),
//        EXPECT_HEALTH (ID:SERVED:LAUNCHED:FAILED, an update whose charts are checked),
//        EXPECT_NO_REPORTS (an update nothing was reported on)
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

  // The charts of an update with real reports: one bar per bucket and series, the bars'
  // values adding up to the counts, the same numbers in the hidden table.
  if (process.env.EXPECT_HEALTH) {
    const [id, served, launched, failed] = process.env.EXPECT_HEALTH.split(':');
    await page.getByRole('button', { name: `Health of ${id}` }).click();
    const health = page.getByRole('region', { name: `Health of ${id}` });
    await health.waitFor();
    const launches = health.getByRole('img', { name: /^Launches and failures over time/ });
    const downloads = health.getByRole('img', { name: /^Downloads over time/ });
    await launches.waitFor();
    const bars = async (chart, series) => chart.locator(`rect[data-series="${series}"]`)
      .evaluateAll((rects) => rects.map((r) => Number(r.getAttribute('data-value'))));
    const launchedBars = await bars(launches, 'launched');
    const failedBars = await bars(launches, 'failed');
    const servedBars = await bars(downloads, 'served');
    const total = (values) => values.reduce((a, b) => a + b, 0);
    check(launchedBars.length > 0 && launchedBars.length <= 96, `launched bars: ${launchedBars.length}`);
    check(failedBars.length === launchedBars.length && servedBars.length === launchedBars.length,
      `one bar per bucket in each series: ${launchedBars.length}, ${failedBars.length}, ${servedBars.length}`);
    check(total(servedBars) === Number(served), `downloads ${total(servedBars)}, not ${served}`);
    check(total(launchedBars) === Number(launched), `launches ${total(launchedBars)}, not ${launched}`);
    check(total(failedBars) === Number(failed), `failures ${total(failedBars)}, not ${failed}`);
    // The tallest bar reaches the top of the axis, whose label is the largest value.
    const top = await downloads.locator('text.tick').nth(1).textContent();
    check(top === String(Math.max(...servedBars)), `y axis top ${top}, bars ${servedBars}`);
    // The hidden table has one row per bucket, summing to the same counts.
    const rows = await health.getByRole('table', { name: 'Downloads over time' }).locator('tbody tr').count();
    check(rows === servedBars.length, `table rows ${rows}, bars ${servedBars.length}`);
    const legend = await health.locator('.legend li').allTextContents();
    check(legend.join(',') === 'launched,failed,downloads', `legend ${legend}`);
    const totals = await health.locator('.totals').textContent();
    check(totals.includes(`Served to ${served} installs; ${launched} launched it, ${failed} failed`), totals);
    const rollbackState = await health.locator('.auto-rollback').textContent();
    check(rollbackState.includes('Automatic rollback is off'), rollbackState);
  }
  if (process.env.EXPECT_NO_REPORTS) {
    const id = process.env.EXPECT_NO_REPORTS;
    await page.getByRole('button', { name: `Health of ${id}` }).click();
    const health = page.getByRole('region', { name: `Health of ${id}` });
    await health.getByText('No reports yet').waitFor();
    const charts = await health.locator('svg').count();
    check(charts === 0, `${charts} charts without reports`);
  }

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
