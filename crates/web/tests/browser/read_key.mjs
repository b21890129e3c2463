// A private dashboard (a read key configured) in the system's headless Chromium: without the key,
// or with a wrong one, no page opens; with the key given as the browser's Basic credentials every
// page, asset and the live-update stream work. Started by crates/web/tests/browser.rs with:
//   BASE_URL, ZEBENCH_API_KEY (a write key), ZEBENCH_READ_KEY, CHROMIUM_PATH (optional)

import { chromium } from 'playwright-core';

const BASE = process.env.BASE_URL.replace(/\/$/, '');
const API_KEY = process.env.ZEBENCH_API_KEY;
const READ_KEY = process.env.ZEBENCH_READ_KEY;
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const failures = [];
const fail = (m) => { failures.push(m); console.log(`FAIL: ${m}`); };
const ok = (m) => console.log(`ok: ${m}`);

async function submit(runId) {
  const res = await fetch(`${BASE}/api/results`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify({ runId, suite: 'private', scenario: 'scenario', tier: 'L1', agent: 'agent', status: 'completed', evaluations: [] }),
  });
  if (res.status !== 201) fail(`POST /api/results answered ${res.status}`);
}

// Whether a navigation is refused: headless Chromium cannot show the password dialog, so a
// Basic challenge it cannot answer is an error (ERR_INVALID_AUTH_CREDENTIALS), else a 401.
async function refused(context, path) {
  const page = await context.newPage();
  try {
    const res = await page.goto(BASE + path);
    const text = await page.content();
    return res.status() === 401 && !text.includes('private-secret-run');
  } catch (e) {
    return /ERR_INVALID_AUTH_CREDENTIALS|401/.test(String(e));
  } finally {
    await page.close();
  }
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
try {
  await submit('private-secret-run');

  const anonymous = await browser.newContext();
  for (const path of ['/', '/runs', '/runs/private-secret-run', '/static/app.js', '/api/runs']) {
    if (await refused(anonymous, path)) ok(`${path} refused without a key`);
    else fail(`${path} opened without a key`);
  }
  const wrong = await browser.newContext({ httpCredentials: { username: 'someone', password: 'not-the-key' } });
  if (await refused(wrong, '/')) ok('/ refused with a wrong key');
  else fail('/ opened with a wrong key');

  const viewer = await browser.newContext({ httpCredentials: { username: 'someone', password: READ_KEY } });
  const page = await viewer.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  for (const path of ['/runs', '/runs/private-secret-run', '/agents', '/']) {
    const res = await page.goto(BASE + path, { waitUntil: 'load' });
    if (res.status() === 200) ok(`${path} opens with the read key`);
    else fail(`${path} answered ${res.status()} with the read key`);
  }
  const badge = await page.waitForFunction(() => { const b = document.getElementById('live'); return b && !b.hidden; }, null, { timeout: 5_000 }).then(() => true, () => false);
  if (badge) ok('the live-update stream connected with the browser\'s credentials');
  else fail('the live badge never showed: /api/events did not connect');
  const total = () => page.evaluate(() => document.querySelector('[data-testid="total-runs"]')?.textContent.trim());
  const before = await total();
  await submit(`private-live-${Date.now()}`);
  const updated = await page.waitForFunction((b) => document.querySelector('[data-testid="total-runs"]')?.textContent.trim() !== b, before, { timeout: 10_000 }).then(() => true, () => false);
  if (updated) ok(`a new run updated the overview live (${before} → ${await total()})`);
  else fail(`the overview total stayed at ${before} after a new run`);
  // Requests cut short by the next navigation (the event stream, a favicon) are aborted, not
  // refused; a refused one would be an HTTP error or ERR_INVALID_AUTH_CREDENTIALS.
  const real = errors.filter((e) => !e.includes('/api/events') && !e.endsWith('net::ERR_ABORTED'));
  if (real.length) fail(`console errors or failed requests: ${real.join(' | ')}`);
  else ok('no console errors or failed requests');
} finally {
  await browser.close();
}
if (failures.length) {
  console.log(`\n${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('\nall read-key checks passed');
