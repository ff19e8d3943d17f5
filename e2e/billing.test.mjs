// Money as a person meets it: a real Chromium against the real `tabys
// demo` binary, which runs the card gateway's local stand-in beside it (the
// CloudPayments protocol: payment page, signed Check and Pay notifications,
// the merchant's re-query). Each scenario opens its own browser contexts;
// the server and its database are shared.
//
//   TABYS_BIN            the binary (default ../target/debug/tabys)
//   TABYS_DATABASE_URL   passed through: set it to run on PostgreSQL
//   CHROMIUM             the browser (default /usr/bin/chromium)

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const results = path.join(here, 'test-results');
const bin = path.resolve(here, process.env.TABYS_BIN || '../target/debug/tabys');
const browserPath = process.env.CHROMIUM || '/usr/bin/chromium';
const backend = process.env.TABYS_DATABASE_URL?.startsWith('postgres') ? 'postgres' : 'sqlite';

const PHONE = { width: 375, height: 740 };
const DESKTOP = { width: 1280, height: 800 };

// Kazakhstan's browsers mostly ask for Russian; Chromium's own default
// (en-US) would otherwise pick English before the person chooses anything.
const VISITOR = { locale: 'ru-RU', viewport: DESKTOP };

let base;
let server;
let serverExit;
let dataDir;
let browser;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitForHealth(url, deadlineMs) {
  const until = Date.now() + deadlineMs;
  let last;
  while (Date.now() < until) {
    if (server.exitCode !== null) {
      throw new Error(`tabys exited with code ${server.exitCode} before answering; see ${results}/server-${backend}.log`);
    }
    try {
      const r = await fetch(url);
      if (r.ok) return;
      last = `status ${r.status}`;
    } catch (e) {
      last = e.cause?.code || e.message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer within ${deadlineMs} ms (${last})`);
}

before(async () => {
  mkdirSync(results, { recursive: true });
  if (!existsSync(bin)) {
    throw new Error(`no tabys binary at ${bin}: run \`cargo build -p tabys\` or set TABYS_BIN`);
  }
  if (!existsSync(browserPath)) {
    throw new Error(`no Chromium at ${browserPath}: apt-get install chromium`);
  }
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'tabys-e2e-'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const log = createWriteStream(path.join(results, `server-${backend}.log`));
  server = spawn(bin, ['demo', '--listen', `127.0.0.1:${port}`, '--data', dataDir], {
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout.pipe(log);
  server.stderr.pipe(log);
  serverExit = new Promise((resolve) => server.once('exit', resolve));
  await waitForHealth(`${base}/healthz`, 60_000);

  // launch() gives the browser a new empty profile in a temporary folder
  // and removes it on close. The networking flags keep Chromium from
  // calling out to Google's services, which this machine's network refuses.
  browser = await chromium.launch({
    executablePath: browserPath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    const stopped = await Promise.race([serverExit, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]);
    if (stopped === 'timeout') {
      server.kill('SIGKILL');
      await serverExit;
    }
  }
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/**
 * Runs a scenario with fresh contexts from `open()`; on failure leaves a
 * screenshot of every page it opened, so the report shows what the person saw.
 */
function scenario(name, body) {
  test(name, async () => {
    const contexts = [];
    const open = async (options = {}) => {
      const context = await browser.newContext({ ...VISITOR, ...options });
      context.setDefaultTimeout(15_000);
      contexts.push(context);
      return context.newPage();
    };
    try {
      await body(open);
    } catch (e) {
      let i = 0;
      for (const c of contexts) {
        for (const p of c.pages()) {
          await p
            .screenshot({ path: path.join(results, `${slugOf(name)}-${backend}-failed-${i++}.png`), fullPage: true })
            .catch(() => {});
        }
      }
      throw e;
    } finally {
      for (const c of contexts) await c.close();
    }
  });
}

function slugOf(name) {
  return name.replace(/^\((\w)\).*/, '$1').replace(/[^a-z0-9]+/gi, '-');
}

/** The page at a phone's width and at a desktop's. */
async function snap(page, name) {
  await page.setViewportSize(PHONE);
  await page.screenshot({ path: path.join(results, `${name}-${backend}-phone.png`), fullPage: true });
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: path.join(results, `${name}-${backend}-desktop.png`), fullPage: true });
}

/** Does `act` and waits for the document it leads to (after any redirect). */
async function follow(page, act) {
  const loaded = page.waitForEvent('load');
  await act();
  await loaded;
}

/** Submits the page's main form and returns the status of the answer to the POST. */
async function submit(page, form = page.locator('main form.stack')) {
  const action = new URL(await form.getAttribute('action'), base).href;
  const answer = page.waitForResponse((r) => r.url() === action && r.request().method() === 'POST');
  await follow(page, () => form.locator('button[type=submit]').click());
  return (await answer).status();
}

function pathOf(page) {
  return new URL(page.url()).pathname;
}

async function text(page, selector) {
  return (await page.locator(selector).first().innerText()).trim();
}

async function login(page, { email, password }) {
  await page.goto(`${base}/login`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  const status = await submit(page);
  assert.equal(status, 303, `signing in as ${email}`);
}

async function signup(page, person) {
  await page.goto(`${base}/`);
  await follow(page, () => page.click('[data-nav=signup]'));
  assert.equal(pathOf(page), '/signup');
  await page.fill('input[name=name]', person.name);
  await page.fill('input[name=email]', person.email);
  await page.fill('input[name=password]', person.password);
  const status = await submit(page);
  assert.equal(status, 303, `signing up as ${person.email}`);
}


scenario('a customer buys the Lessbek course by card at the gateway and gets access', async (open) => {
  const page = await open();
  await login(page, { email: 'customer@example.kz', password: 'customer-demo-1' });

  await page.goto(`${base}/o/lessbek`);
  await follow(page, () => page.click('[data-nav=products]'));
  const item = page.locator('[data-list=catalog] li').first();
  await follow(page, () => item.locator('a').click());
  assert.match(pathOf(page), /^\/o\/lessbek\/products\/\d+$/);
  assert.equal(await page.locator('[data-price]').getAttribute('data-price'), '9399000', 'the listed price, 93 990 ₸');
  await snap(page, 'billing-product');

  // Ordering takes the customer to the order, awaiting payment.
  assert.equal(await submit(page), 303, 'ordering');
  assert.match(pathOf(page), /^\/cabinet\/orders\/\d+$/);
  const orderPath = pathOf(page);
  assert.equal(await page.locator('section[data-order]').getAttribute('data-status'), 'awaiting-payment');

  // Paying by card leaves for the gateway's page.
  await page.check('input[name=method][value=card]');
  await follow(page, () => page.click('[data-action=pay]'));
  assert.ok(!page.url().startsWith(base), `the gateway's own page, not ${page.url()}`);
  assert.match(await page.locator('[data-amount]').getAttribute('data-amount'), /^93990\.00$/);
  await snap(page, 'billing-gateway');
  await page.fill('#card', '4242 4242 4242 4242');
  await follow(page, () => page.click('#pay'));

  // Back at Tabys: the signed Pay notification was verified and posted.
  assert.ok(page.url().startsWith(`${base}/cabinet/payments/`), `back at Tabys, not ${page.url()}`);
  assert.equal(await page.locator('[data-payment]').getAttribute('data-status'), 'completed');
  await snap(page, 'billing-paid');
  await page.goto(`${base}${orderPath}`);
  assert.equal(await page.locator('section[data-order]').getAttribute('data-status'), 'paid');
  assert.equal(await page.locator('[data-access]').getAttribute('data-access'), 'active');
  assert.equal(await page.locator('[data-refund-preview]').getAttribute('data-rule'), 'none', 'LZ 4.6: no refund');

  // The receipt is in the documents, and it is a PDF.
  await page.goto(`${base}/cabinet/documents`);
  const receipt = page.locator('[data-list=money-receipts] a').first();
  const href = await receipt.getAttribute('href');
  const pdf = await page.request.get(`${base}${href}`);
  assert.equal(pdf.status(), 200);
  assert.equal((await pdf.body()).subarray(0, 5).toString(), '%PDF-');

  // The orders section lists it as paid.
  await page.goto(`${base}/cabinet/orders`);
  assert.ok(await page.locator('[data-list=orders] tr[data-status=paid]').count() >= 1);
});

scenario('a declined card leaves the order unpaid and says so', async (open) => {
  const page = await open();
  await login(page, { email: 'client@example.kz', password: 'client-demo-1' });
  await page.goto(`${base}/o/lessbek/products`);
  await follow(page, () => page.locator('[data-list=catalog] li a').first().click());
  assert.equal(await submit(page), 303);
  const orderPath = pathOf(page);
  await page.check('input[name=method][value=card]');
  await follow(page, () => page.click('[data-action=pay]'));
  await page.fill('#card', '4000 0000 0000 0002');
  await follow(page, () => page.click('#pay'));
  assert.match(await text(page, '#result'), /отклонена/);
  await page.goto(`${base}${orderPath}`);
  assert.equal(await page.locator('section[data-order]').getAttribute('data-status'), 'awaiting-payment');
});
