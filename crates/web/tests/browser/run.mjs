// Drives the zebench dashboard in the system's headless Chromium (via playwright-core; no
// browser download). Started by crates/web/tests/browser.rs, which seeds a database, starts the
// real server on 127.0.0.1 and passes:
//   BASE_URL         http://127.0.0.1:PORT
//   EXPECT_FILE      JSON with what the seeded data must show (see browser.rs `seed`)
//   ZEBENCH_API_KEY  a write key, for POST /api/results from this side
//   SCREENSHOT_DIR   where <page>.png files go
//   CHROMIUM_PATH    optional; default /usr/bin/chromium
//
// Every check runs even when an earlier one failed; the summary lists them all and the exit
// status is non-zero when any failed. To cover a new page, add an entry to PAGES below.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) {
    console.error(`run.mjs: environment variable ${name} is required`);
    process.exit(2);
  }
  return v;
};
const BASE = env('BASE_URL').replace(/\/$/, '');
const ORIGIN = new URL(BASE).origin;
const SHOTS = env('SCREENSHOT_DIR');
const API_KEY = env('ZEBENCH_API_KEY');
const CHROMIUM = env('CHROMIUM_PATH', '/usr/bin/chromium');
const exp = JSON.parse(fs.readFileSync(env('EXPECT_FILE'), 'utf8'));
fs.mkdirSync(SHOTS, { recursive: true });

// Ends a stuck session cleanly (closing Chromium) before browser.rs's hard limit kills node.
const WATCHDOG_MS = Number(process.env.BROWSER_TEST_TIMEOUT_MS || 100_000);
let stopping = false;
const watchdog = setTimeout(async () => {
  stopping = true;
  console.log(`\nFAIL: the browser session did not finish within ${WATCHDOG_MS / 1000} s (stuck at: ${results.at(-1)?.name ?? 'start'})`);
  try { await browser?.close(); } catch { /* exiting anyway */ }
  process.exit(1);
}, WATCHDOG_MS);
watchdog.unref();

const enc = encodeURIComponent;
const runPath = (id) => `/runs/${enc(id)}`;
const batchPath = (id) => `/batches/${enc(id)}`;
const [batchA, batchB] = exp.batches;
const LIVE_TIMEOUT_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// The pages. `texts`: must appear in the rendered text. `mentions`: must appear as text or as
// the target of a link on the page (ids). `status`: expected HTTP status (default 200).
// `html: false`: not a dashboard page (no title/h1/screenshot checks).
// ---------------------------------------------------------------------------------------------
const PAGES = [
  { name: 'overview', path: '/', texts: [exp.totalRunsText, exp.totalCostText, ...exp.agents] },
  { name: 'runs', path: '/runs', texts: exp.agents, mentions: [exp.newestRunId] },
  {
    name: 'run', path: runPath(exp.normalRun.id),
    texts: [exp.normalRun.scenario, ...exp.evaluators, exp.normalRun.details], mentions: [exp.normalRun.id],
  },
  {
    name: 'run-failed', path: runPath(exp.failedRun.id),
    texts: [exp.failedRun.errorType, exp.failedRun.error], mentions: [exp.failedRun.id],
  },
  { name: 'run-xss', path: runPath(exp.xssRun.id), texts: [exp.xssRun.id, exp.xssRun.imgPayload] },
  { name: 'batches', path: '/batches', mentions: [batchA.id, batchB.id] },
  { name: 'batch', path: batchPath(batchA.id), texts: [batchA.id, batchA.runsText] },
  { name: 'batch-running', path: batchPath(batchB.id), texts: [batchB.id, batchB.runsText] },
  {
    name: 'compare', path: `/batches/compare?ids=${enc(batchA.id)}&ids=${enc(batchB.id)}`,
    texts: [batchA.id, batchB.id],
  },
  { name: 'compare-empty', path: '/batches/compare' },
  { name: 'agents', path: '/agents', texts: [...exp.agents, ...exp.models] },
  { name: 'suites', path: '/suites', texts: [...exp.suites, ...exp.scenarios] },
  { name: 'evaluators', path: '/evaluators', texts: exp.evaluators },
  { name: 'costs', path: '/costs', texts: [exp.totalCostText, ...exp.agents] },
  // Deliberately missing: a 404 page, not a crash or a blank page.
  { name: 'missing-run', path: '/runs/no-such-run', status: 404 },
  { name: 'missing-batch', path: '/batches/no-such-batch', status: 404 },
  { name: 'missing-static', path: '/static/no-such-file.js', status: 404, html: false },
];

// ---------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------
const results = []; // { name, status: 'PASS'|'FAIL'|'WARN'|'PLACEHOLDER', notes: [] }
const started = Date.now();

class CheckFailure extends Error {}
function fail(msg) { throw new CheckFailure(msg); }

async function check(name, fn) {
  const r = { name, status: 'PASS', notes: [], failures: [] };
  results.push(r);
  const t0 = Date.now();
  try {
    await fn(r);
  } catch (e) {
    r.failures.push(e instanceof CheckFailure ? e.message : `${e.stack || e}`);
  }
  if (r.failures.length) r.status = r.placeholder ? 'PLACEHOLDER' : 'FAIL';
  else if (r.warnings?.length) r.status = 'WARN';
  r.ms = Date.now() - t0;
  if (stopping) return;
  const line = `${r.status.padEnd(11)} ${name} (${r.ms} ms)`;
  console.log(line);
  for (const f of r.failures) console.log(`            ✗ ${f.replace(/\n/g, '\n              ')}`);
  for (const w of r.warnings ?? []) console.log(`            ! ${w}`);
  for (const n of r.notes) console.log(`            · ${n}`);
}
const warn = (r, msg) => (r.warnings ??= []).push(msg);

// ---------------------------------------------------------------------------------------------
// Watching a page: console errors, page errors, failed same-origin requests, off-origin requests.
// ---------------------------------------------------------------------------------------------
function monitor(page) {
  const m = { problems: [], allow: new Set() };
  const allowed = (url) => {
    try { const u = new URL(url); return m.allow.has(u.pathname + u.search); } catch { return false; }
  };
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const where = msg.location()?.url || '';
    if (allowed(where) && /Failed to load resource/.test(msg.text())) return;
    m.problems.push(`console error: ${msg.text()}${where ? ` (at ${where})` : ''}`);
  });
  page.on('pageerror', (err) => m.problems.push(`page error: ${err.message}`));
  page.on('request', (req) => {
    const url = req.url();
    if (url.startsWith('data:') || url.startsWith('about:') || url.startsWith('blob:')) return;
    if (new URL(url).origin !== ORIGIN) m.problems.push(`request to another origin: ${req.method()} ${url}`);
  });
  page.on('response', (res) => {
    const u = new URL(res.url());
    if (u.origin !== ORIGIN || res.status() < 400 || allowed(res.url())) return;
    m.problems.push(`HTTP ${res.status()} for ${res.request().method()} ${u.pathname}${u.search} (${res.request().resourceType()})`);
  });
  page.on('requestfailed', (req) => {
    const u = new URL(req.url());
    const why = req.failure()?.errorText || 'unknown';
    // The browser cancels the event stream when the page goes away; that is not an error.
    if (u.pathname === '/api/events' && why === 'net::ERR_ABORTED') return;
    m.problems.push(`request failed: ${req.method()} ${u.pathname}${u.search}: ${why}`);
  });
  m.take = () => m.problems.splice(0);
  return m;
}

async function settle(page, ms = 300) {
  // Lets deferred scripts run and the event stream connect, so late errors are seen.
  await page.waitForTimeout(ms);
}

const bodyText = (page) => page.evaluate(() => document.body ? document.body.innerText : '');

/** Decoded pathnames (+search) of every same-origin link on the page. */
const linkTargets = (page) => page.evaluate((origin) => {
  const out = [];
  for (const a of document.querySelectorAll('a[href]')) {
    try {
      const u = new URL(a.getAttribute('href'), location.href);
      if (u.origin === origin) out.push(u.pathname + u.search);
    } catch { /* reported by the link check */ }
  }
  return out;
}, ORIGIN);

const safeDecode = (s) => { try { return decodeURIComponent(s); } catch { return s; } };

async function mentioned(page, text, id) {
  if (text.includes(id)) return true;
  const links = await linkTargets(page);
  return links.some((l) => safeDecode(l.split('?')[0]) === `/runs/${id}` || safeDecode(l.split('?')[0]) === `/batches/${id}`
    || l.split('?')[0] === runPath(id) || l.split('?')[0] === batchPath(id));
}

/** The run ids linked from table rows of the main content. */
const rowRunIds = (page) => page.evaluate(() => {
  const ids = [];
  for (const a of document.querySelectorAll('main table tbody tr a[href]')) {
    const u = new URL(a.getAttribute('href'), location.href);
    const m = u.pathname.match(/^\/runs\/([^/]+)$/);
    if (m) { try { ids.push(decodeURIComponent(m[1])); } catch { ids.push(m[1]); } }
  }
  return [...new Set(ids)];
});

/** Rows of the biggest table in the main content (the runs table on /runs). */
const mainRows = (page) => page.evaluate(() => {
  let best = [];
  for (const t of document.querySelectorAll('main table')) {
    const rows = [...t.querySelectorAll('tbody tr')];
    if (rows.length > best.length) best = rows;
  }
  return best.map((r) => r.innerText);
});

async function poll(fn, timeoutMs, stepMs = 100) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return last;
}

const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------
var browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const seenLinks = new Map(); // path → first page that links to it

async function newPage(options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const m = monitor(page);
  return { context, page, m };
}

async function visitPage(page, m, spec, r) {
  const want = spec.status ?? 200;
  m.take();
  if (spec.html === false) {
    // Fetched, not opened: a non-HTML document would make the browser ask for /favicon.ico.
    const res = await page.context().request.get(BASE + spec.path, { maxRedirects: 0 });
    if (res.status() !== want) r.failures.push(`GET ${spec.path}: HTTP ${res.status()}, expected ${want}`);
    return '';
  }
  m.allow = new Set(want >= 400 ? [spec.path] : []);
  const res = await page.goto(BASE + spec.path, { waitUntil: 'load' });
  const status = res ? res.status() : 0;
  await settle(page);
  const text = await bodyText(page);
  if (status !== want) {
    if (status === 404 && /being written/i.test(text)) {
      r.placeholder = true;
      fail(`placeholder: ${spec.path} still answers 404 "this page is being written"`);
    }
    r.failures.push(`GET ${spec.path}: HTTP ${status}, expected ${want}${text ? `; page says: ${text.slice(0, 300)}` : ''}`);
  }
  const missing = (spec.texts ?? []).filter((t) => !text.includes(t));
  if (missing.length) r.failures.push(`missing text: ${missing.map((t) => JSON.stringify(t)).join(', ')}`);
  for (const id of spec.mentions ?? []) {
    if (!(await mentioned(page, text, id))) r.failures.push(`neither text nor a link mentions ${JSON.stringify(id)}`);
  }
  const shape = await page.evaluate(() => ({
    title: document.title,
    h1: document.querySelectorAll('h1').length,
    lang: document.documentElement.lang,
    xss: window.__xss,
    injected: [...document.querySelectorAll('script')].filter((s) => s.textContent.includes('__xss')).length
      + document.querySelectorAll('[onerror],[onload]').length,
  }));
  if (!shape.title.trim()) r.failures.push('empty <title>');
  if (shape.h1 !== 1) r.failures.push(`expected one <h1>, found ${shape.h1}`);
  if (!shape.lang) r.failures.push('<html> has no lang attribute');
  if (shape.xss !== undefined) r.failures.push(`window.__xss is ${shape.xss}: seeded markup ran as script`);
  if (shape.injected) r.failures.push(`${shape.injected} injected element(s) from seeded markup in the DOM`);
  const clipped = await page.evaluate(() => {
    const out = [];
    for (const svg of document.querySelectorAll('main svg')) {
      const box = svg.getBoundingClientRect();
      for (const t of svg.querySelectorAll('text')) {
        const b = t.getBoundingClientRect();
        if (b.width && (b.left < box.left - 1 || b.right > box.right + 1 || b.top < box.top - 1 || b.bottom > box.bottom + 1)) {
          const title = svg.getAttribute('aria-label') || svg.querySelector('title')?.textContent || '';
          out.push(`"${t.textContent.trim()}" in ${title ? `"${title}"` : 'a chart'}`);
        }
      }
    }
    return out;
  });
  if (clipped.length) warn(r, `chart label(s) cut off at the chart's edge: ${clipped.slice(0, 5).join(', ')}${clipped.length > 5 ? ` and ${clipped.length - 5} more` : ''}`);
  for (const l of await linkTargets(page)) if (!seenLinks.has(l)) seenLinks.set(l, spec.path);
  await shot(page, spec.name);
  for (const p of m.take()) r.failures.push(p);
  return text;
}

// 1. Every page, desktop width, light scheme.
{
  const { context, page, m } = await newPage();
  for (const spec of PAGES) {
    await check(`page ${spec.name} (${spec.path})`, (r) => visitPage(page, m, spec, r));
  }

  // 2. The run with markup everywhere: it shows as text and never runs.
  await check('xss: seeded <script> shows as text and does not run', async (r) => {
    m.take();
    await page.goto(BASE + runPath(exp.xssRun.id), { waitUntil: 'load' });
    await settle(page);
    // Open every collapsed section (artifacts may load on demand).
    const summaries = page.locator('details:not([open]) > summary');
    for (let i = await summaries.count(); i > 0; i--) {
      await summaries.first().click().catch(() => {});
    }
    await settle(page, 1000);
    const state = await page.evaluate((payload) => {
      const all = document.body.textContent;
      const visible = [...document.querySelectorAll('main *')].filter((el) =>
        [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.includes(payload))
        && el.getClientRects().length > 0);
      return {
        xss: window.__xss,
        scripts: [...document.querySelectorAll('script')].filter((s) => s.textContent.includes('__xss')).length,
        handlers: document.querySelectorAll('[onerror],[onload]').length,
        occurrences: all.split(payload).length - 1,
        visible: visible.length,
        where: visible.slice(0, 8).map((el) => el.tagName.toLowerCase() + (el.className ? `.${String(el.className).split(' ')[0]}` : '')),
        sections: {
          diff: all.includes(`+// ${payload}`),
          commands: all.includes(`$ echo '${payload}'`),
          prompt: all.includes(`Prompt ${payload}`),
          evaluation: all.includes(`details ${payload}`),
          transcript: all.includes(`Update the dependencies.${payload}`),
        },
      };
    }, exp.xssRun.scriptPayload);
    if (state.xss !== undefined) fail(`window.__xss is ${state.xss}`);
    if (state.scripts) fail(`${state.scripts} <script> element(s) carry the seeded payload`);
    if (state.handlers) fail(`${state.handlers} element(s) with onerror/onload attributes`);
    if (!state.visible) fail(`the payload text ${exp.xssRun.scriptPayload} is not visible as text (${state.occurrences} occurrence(s) in the DOM text)`);
    r.notes.push(`payload visible as text in ${state.visible} element(s): ${state.where.join(', ')}`);
    const shown = Object.entries(state.sections).filter(([, v]) => v).map(([k]) => k);
    const hidden = Object.entries(state.sections).filter(([, v]) => !v).map(([k]) => k);
    r.notes.push(`sections showing it: ${shown.join(', ') || 'none'}${hidden.length ? `; not on the page: ${hidden.join(', ')}` : ''}`);
    await shot(page, 'run-xss-open');
    for (const p of m.take()) r.failures.push(p);
  });

  // 3. Filter on /runs.
  await check('runs: filter by agent', (r) => filterRuns(page, m, r, 'runs-filtered'));

  // 4. Paging.
  await check('runs: "Next page"', async (r) => {
    m.take();
    await page.goto(BASE + '/runs', { waitUntil: 'load' });
    await settle(page);
    const first = await rowRunIds(page);
    const firstUrl = page.url();
    const next = page.locator('main a, main button').filter({ hasText: /next/i }).first();
    if (!(await next.count())) fail(`no "Next page" link or button on /runs with ${exp.totalRuns} runs (${first.length} rows shown)`);
    await next.click();
    const second = await poll(async () => {
      if (page.url() === firstUrl) return null;
      const ids = await rowRunIds(page).catch(() => null);
      return ids && ids.length && ids.join() !== first.join() ? ids : null;
    }, LIVE_TIMEOUT_MS);
    if (!second) fail(`after clicking "Next page" the URL (${page.url()}) or the rows did not change`);
    await settle(page);
    const overlap = second.filter((id) => first.includes(id));
    if (overlap.length) r.failures.push(`page 2 repeats ${overlap.length} run(s) of page 1: ${overlap.slice(0, 5).join(', ')}`);
    if (first.length + second.length >= exp.totalRuns && !second.includes(exp.oldestRunId)) {
      r.failures.push(`the oldest run ${exp.oldestRunId} is not on the last page`);
    }
    r.notes.push(`page 1: ${first.length} runs, page 2: ${second.length} runs; page 2 URL ${page.url().slice(BASE.length)}`);
    await shot(page, 'runs-page2');
    for (const p of m.take()) r.failures.push(p);
  });
  await context.close();
}

async function filterRuns(page, m, r, shotName) {
  m.take();
  const { param, value, runs } = exp.filter;
  await page.goto(BASE + '/runs', { waitUntil: 'load' });
  await settle(page);
  const before = await mainRows(page);
  const form = page.locator('main form, form').filter({
    has: page.locator(`select[name="${param}"], input[name="${param}"], input[name="q"]`),
  }).first();
  if (!(await form.count())) fail(`/runs has no form with a ${param} select or a q input`);
  let used;
  const select = form.locator(`select[name="${param}"]`);
  const input = form.locator(`input[name="${param}"]`);
  if (await select.count()) {
    await select.first().selectOption(value).catch(() => select.first().selectOption({ label: value }));
    used = `select[name=${param}]`;
  } else if (await input.count()) {
    await input.first().fill(value);
    used = `input[name=${param}]`;
  } else {
    await form.locator('input[name="q"]').first().fill(value);
    used = 'input[name=q]';
  }
  const submit = form.locator('button[type=submit], input[type=submit], button:not([type])').first();
  if (await submit.count()) await submit.click();
  else await form.locator('select, input').first().press('Enter');
  const inUrl = await poll(async () => {
    const u = new URL(page.url());
    return u.searchParams.get(param) === value || u.searchParams.get('q') === value;
  }, LIVE_TIMEOUT_MS);
  if (!inUrl) r.failures.push(`after submitting the filter form the URL has no ${param}=${value} or q=${value}: ${page.url()}`);
  const after = await poll(async () => {
    const rows = await mainRows(page).catch(() => null);
    return rows && rows.length && rows.length < before.length && rows.every((t) => t.includes(value)) ? rows : null;
  }, LIVE_TIMEOUT_MS);
  await settle(page);
  const rows = after ?? (await mainRows(page));
  if (!after) {
    const others = rows.filter((t) => !t.includes(value));
    r.failures.push(`filtered table: ${rows.length} rows (was ${before.length}), ${others.length} without "${value}"${others.length ? `, e.g. ${JSON.stringify(others[0].slice(0, 120))}` : ''}`);
  } else if (rows.length !== runs) {
    r.failures.push(`filtered table shows ${rows.length} rows, seeded ${runs} runs of ${param} ${value}`);
  }
  r.notes.push(`used ${used}; rows ${before.length} → ${rows.length}; URL ${page.url().slice(BASE.length)}`);
  await shot(page, shotName);
  for (const p of m.take()) r.failures.push(p);
}

// 5. Without JavaScript: the pages are complete, the filter form still works.
{
  const { context, page, m } = await newPage({ javaScriptEnabled: false });
  await check('no JavaScript: /runs shows the table', async (r) => {
    await page.goto(BASE + '/runs', { waitUntil: 'load' });
    const rows = await mainRows(page);
    if (!rows.length) fail('no table rows on /runs without JavaScript');
    const text = await bodyText(page);
    if (!(await mentioned(page, text, exp.newestRunId))) r.failures.push(`newest run ${exp.newestRunId} not shown`);
    r.notes.push(`${rows.length} rows`);
    await shot(page, 'runs-nojs');
    for (const p of m.take()) r.failures.push(p);
  });
  await check('no JavaScript: overview shows the totals', async (r) => {
    await page.goto(BASE + '/', { waitUntil: 'load' });
    const text = await bodyText(page);
    if (!text.includes(exp.totalRunsText)) r.failures.push(`total runs ${exp.totalRunsText} not shown`);
    await shot(page, 'overview-nojs');
    for (const p of m.take()) r.failures.push(p);
  });
  await check('no JavaScript: the /runs filter form submits', (r) => filterRuns(page, m, r, 'runs-filtered-nojs'));
  await context.close();
}

// 6. Phone width: no horizontal scrolling of the page (tables may scroll inside their wrapper).
{
  const { context, page, m } = await newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  for (const spec of PAGES.filter((p) => (p.status ?? 200) === 200 && p.html !== false)) {
    const required = spec.name === 'overview';
    await check(`phone 390px: ${spec.name}${required ? '' : ' (width: warning only)'}`, async (r) => {
      m.take();
      const res = await page.goto(BASE + spec.path, { waitUntil: 'load' });
      if (res.status() !== 200) fail(`HTTP ${res.status()}`);
      await settle(page);
      const w = await page.evaluate(() => {
        const vw = window.innerWidth;
        const wide = [...document.querySelectorAll('body *')]
          .filter((el) => el.getBoundingClientRect().right > vw + 1 && !el.closest('.table-wrap, pre'))
          .map((el) => el.tagName.toLowerCase() + (el.id ? `#${el.id}` : '') + (el.className && typeof el.className === 'string' ? `.${el.className.split(' ')[0]}` : ''));
        return { scroll: document.documentElement.scrollWidth, inner: vw, wide: [...new Set(wide)].slice(0, 6) };
      });
      const msg = `scrollWidth ${w.scroll} > innerWidth ${w.inner}${w.wide.length ? `; too wide: ${w.wide.join(', ')}` : ''}`;
      if (w.scroll > w.inner + 1) {
        if (required) r.failures.push(msg);
        else warn(r, msg);
      }
      await shot(page, `${spec.name}-phone`);
      for (const p of m.take()) r.failures.push(p);
    });
  }
  await context.close();
}

// 7. Dark scheme.
{
  const lum = (rgb) => {
    const m = rgb.match(/\d+(\.\d+)?/g);
    if (!m) return null;
    const [r, g, b] = m.slice(0, 3).map(Number);
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
  };
  for (const scheme of ['light', 'dark']) {
    const { context, page, m } = await newPage({ colorScheme: scheme });
    await check(`${scheme} scheme renders`, async (r) => {
      for (const spec of [PAGES[0], PAGES[1], PAGES[2]]) {
        const res = await page.goto(BASE + spec.path, { waitUntil: 'load' });
        if (res.status() !== 200) { r.failures.push(`${spec.path}: HTTP ${res.status()}`); continue; }
        await settle(page);
        const c = await page.evaluate(() => {
          const s = getComputedStyle(document.body);
          return { bg: s.backgroundColor, fg: s.color };
        });
        const bg = lum(c.bg), fg = lum(c.fg);
        const ok = scheme === 'dark' ? bg < 0.25 && fg > 0.6 : bg > 0.75 && fg < 0.4;
        if (!ok) r.failures.push(`${spec.path}: body background ${c.bg}, text ${c.fg} do not look ${scheme}`);
        if (scheme === 'dark') await shot(page, `${spec.name}-dark`);
      }
      for (const p of m.take()) r.failures.push(p);
    });
    await context.close();
  }
}

// 8. Links: every same-origin link seen on the pages answers < 400.
{
  const context = await browser.newContext();
  await check(`links: ${seenLinks.size} distinct same-origin links answer`, async (r) => {
    const broken = [];
    for (const [link, from] of seenLinks) {
      if (link.startsWith('/api/events')) continue;
      const res = await context.request.get(BASE + link, { maxRedirects: 5, timeout: 10_000 });
      if (res.status() >= 400) broken.push(`${link} → HTTP ${res.status()} (linked from ${from})`);
    }
    if (broken.length) fail(`${broken.length} broken link(s):\n${broken.slice(0, 20).join('\n')}`);
  });
  await context.close();
}

// 9. Live updates: a run submitted through the API appears without a reload.
async function submitRun(suffix) {
  const now = Date.now();
  const body = {
    ...exp.liveRun,
    runId: `run-live-${suffix}-${now}`,
    startedAt: new Date(now).toISOString(),
    completedAt: new Date(now + 60_000).toISOString(),
  };
  const res = await fetch(`${BASE}/api/results`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) fail(`POST /api/results answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  return body.runId;
}

let liveTotal = exp.totalRuns;
const thousands = (n) => n.toLocaleString('en-US');

async function liveCheck(r, pagePath, shotName, { optional = false } = {}) {
  const { context, page, m } = await newPage();
  try {
    await page.goto(BASE + pagePath, { waitUntil: 'load' });
    const live = await page.evaluate(() => [...document.querySelectorAll('[data-live]')].map((e) => `#${e.id} → ${e.getAttribute('data-live')}`));
    if (!live.length) {
      if (optional) { warn(r, `${pagePath} has no element with data-live: it does not update live`); return; }
      fail(`${pagePath} has no element with data-live`);
    }
    const noId = await page.evaluate(() => document.querySelectorAll('[data-live]:not([id])').length);
    if (noId) r.failures.push(`${noId} data-live element(s) without an id cannot be refreshed`);
    r.notes.push(`live regions: ${live.join(', ')}`);
    const ready = await poll(() => page.evaluate(() => { const b = document.getElementById('live'); return b && !b.hidden; }), 5_000);
    if (!ready) r.failures.push('the "live" badge never showed (no ready event from /api/events?)');
    await page.evaluate(() => { window.__notReloaded = true; });
    for (const round of [1, 2]) {
      const t0 = Date.now();
      const id = await submitRun(`${shotName}-${round}`);
      liveTotal += 1;
      const seen = await poll(() => page.evaluate(({ id, total }) => {
        const links = [...document.querySelectorAll('a[href]')].some((a) => {
          try { return decodeURIComponent(new URL(a.href).pathname) === `/runs/${id}`; } catch { return false; }
        });
        const counter = document.querySelector('[data-testid="total-runs"]');
        return links || document.body.innerText.includes(id) || (counter && counter.textContent.trim() === total);
      }, { id, total: thousands(liveTotal) }), LIVE_TIMEOUT_MS);
      const reloaded = !(await page.evaluate(() => window.__notReloaded === true));
      if (reloaded) fail('the page reloaded instead of updating in place');
      if (!seen) fail(`run ${id} (submitted #${round}) did not appear within ${LIVE_TIMEOUT_MS / 1000} s, nor did the total become ${thousands(liveTotal)}`);
      r.notes.push(`submission ${round} appeared after ${Date.now() - t0} ms`);
    }
    await settle(page, 500);
    await shot(page, shotName);
    for (const p of m.take()) r.failures.push(p);
  } finally {
    await context.close();
  }
}

await check('live: overview shows a submitted run without reload', (r) => liveCheck(r, '/', 'overview-live'));
await check('live: /runs shows a submitted run without reload', (r) => liveCheck(r, '/runs', 'runs-live', { optional: true }));

await browser.close();

// ---------------------------------------------------------------------------------------------
const failed = results.filter((r) => r.status === 'FAIL' || r.status === 'PLACEHOLDER');
const placeholders = results.filter((r) => r.status === 'PLACEHOLDER');
const warned = results.filter((r) => r.status === 'WARN');
console.log('\n==== browser test summary ====');
console.log(`${results.length} checks: ${results.length - failed.length - warned.length} passed, ${warned.length} with warnings, ${failed.length} failed (${placeholders.length} placeholder pages) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
// The same problem (say, a console error from a shared script) usually hits many checks: list
// each distinct one once, with where it was seen.
const distinct = (kind, pick) => {
  const seen = new Map();
  for (const r of results) {
    for (const msg of pick(r)) {
      const key = msg.split(ORIGIN).join('');
      if (!seen.has(key)) seen.set(key, []);
      if (!seen.get(key).includes(r.name)) seen.get(key).push(r.name);
    }
  }
  for (const [msg, where] of seen) {
    const list = where.length > 4 ? `${where.slice(0, 4).join('; ')}; and ${where.length - 4} more` : where.join('; ');
    console.log(`  ${kind} (${where.length} checks) ${msg.replace(/\n/g, '\n      ')}\n      in: ${list}`);
  }
};
distinct('FAIL', (r) => (r.status === 'PLACEHOLDER' ? [] : r.failures));
distinct('PLACEHOLDER', (r) => (r.status === 'PLACEHOLDER' ? r.failures : []));
distinct('WARN', (r) => r.warnings ?? []);
console.log(`screenshots: ${SHOTS}`);
process.exit(failed.length ? 1 : 0);
