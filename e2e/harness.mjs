// What every browser test needs: the real `tabys demo` binary on a port of
// its own, a headless Chromium, the locale messages the person reads, and
// screenshots that land in test-results/.
//
//   TABYS_BIN            the binary (default ../target/debug/tabys)
//   TABYS_DATABASE_URL   passed through: set it to run on PostgreSQL
//   CHROMIUM             the browser (default /usr/bin/chromium)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const bin = path.resolve(here, process.env.TABYS_BIN || '../target/debug/tabys');
const browserPath = process.env.CHROMIUM || '/usr/bin/chromium';

/** Where screenshots and server logs go. */
export const results = path.join(here, 'test-results');

/** The database the server runs on, so the two runs' files do not overwrite each other. */
export const backend = process.env.TABYS_DATABASE_URL?.startsWith('postgres') ? 'postgres' : 'sqlite';

export const PHONE = { width: 375, height: 740 };
export const DESKTOP = { width: 1280, height: 800 };

// Kazakhstan's browsers mostly ask for Russian; Chromium's own default
// (en-US) would otherwise pick English before the person chooses anything.
export const VISITOR = { locale: 'ru-RU', viewport: DESKTOP };

/** A port nobody is listening on at the moment of asking. */
export function freePort() {
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

/** A name no other run or scenario sharing the database will pick. */
export function unique(prefix) {
  return `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/** The one-line messages of a locale file: what the person reads. */
export function messages(lang) {
  const text = readFileSync(path.join(root, 'locales', lang, 'main.ftl'), 'utf8');
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^([a-z0-9-]+) = (.+)$/.exec(line);
    if (m) out[m[1]] = m[2].trim();
  }
  return out;
}

/**
 * Starts `tabys demo` on a free port and a fresh data folder, its output in
 * test-results/<name>-server-<backend>.log, and waits until it answers
 * /healthz. `env` is added to this process's environment, `args` to the
 * command line. `restart({ env })` stops it and starts it again with that
 * `env` instead, on the same port and data, so the browser's cookies and the
 * database carry over;
 * `stop()` ends it and removes the data folder.
 */
export async function startServer({ name, env = {}, args = [] }) {
  mkdirSync(results, { recursive: true });
  if (!existsSync(bin)) {
    throw new Error(`no tabys binary at ${bin}: run \`cargo build -p tabys\` or set TABYS_BIN`);
  }
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `tabys-e2e-${name}-`));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let child;
  let exited;
  let logPath;
  let starts = 0;

  const launch = async (extraEnv) => {
    // Each start keeps its own log: the one before a restart is often the
    // one that explains a failure after it.
    const suffix = starts++ ? `-${starts - 1}` : '';
    logPath = path.join(results, `${name}-server-${backend}${suffix}.log`);
    const log = createWriteStream(logPath);
    child = spawn(bin, ['demo', '--listen', `127.0.0.1:${port}`, '--data', dataDir, ...args], {
      env: { ...process.env, NO_COLOR: '1', ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await waitForHealth(`${base}/healthz`, 60_000, child, logPath);
    } catch (e) {
      await halt();
      throw e;
    }
  };

  const halt = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const stopped = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]);
    if (stopped === 'timeout') {
      child.kill('SIGKILL');
      await exited;
    }
  };

  try {
    await launch(env);
  } catch (e) {
    await rm(dataDir, { recursive: true, force: true });
    throw e;
  }
  return {
    base,
    get logPath() {
      return logPath;
    },
    async restart({ env: restartEnv = {} } = {}) {
      await halt();
      await launch(restartEnv);
    },
    async stop() {
      await halt();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function waitForHealth(url, deadlineMs, child, logPath) {
  const until = Date.now() + deadlineMs;
  let last;
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const how = child.signalCode ? `was killed by ${child.signalCode}` : `exited with code ${child.exitCode}`;
      throw new Error(`tabys ${how} before answering; see ${logPath}`);
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

/** A headless Chromium (CHROMIUM, default /usr/bin/chromium). */
export async function launchBrowser() {
  if (!existsSync(browserPath)) {
    throw new Error(`no Chromium at ${browserPath}: apt-get install chromium`);
  }
  // launch() gives the browser a new empty profile in a temporary folder
  // and removes it on close. The networking flags keep Chromium from
  // calling out to Google's services, which this machine's network refuses.
  return chromium.launch({
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
}

/** A full-page screenshot, test-results/<name>-<backend><suffix>.png. */
export async function shot(page, name, suffix = '') {
  await page.screenshot({ path: path.join(results, `${name}-${backend}${suffix}.png`), fullPage: true });
}

/** The page at a phone's width and at a desktop's. */
export async function snap(page, name) {
  await page.setViewportSize(PHONE);
  await shot(page, name, '-phone');
  await page.setViewportSize(DESKTOP);
  await shot(page, name, '-desktop');
}

/**
 * A screenshot of every page, <name>-<backend>-failed-<i>.png, so the report
 * shows what the person saw; a page that cannot be captured any more (closed,
 * crashed) must not hide the failure being reported.
 */
export async function shootFailure(pages, name) {
  let i = 0;
  for (const p of pages) {
    await shot(p, name, `-failed-${i++}`).catch(() => {});
  }
}

/**
 * A `scenario(name, body)` that runs `body(open)` as a test, where `open()`
 * gives a page in a fresh context of `browserOf()`, so no cookie or language
 * choice leaks from one scenario to the next.
 */
export function scenarios(browserOf) {
  return (name, body) =>
    test(name, async () => {
      const contexts = [];
      const open = async (options = {}) => {
        const context = await browserOf().newContext({ ...VISITOR, ...options });
        context.setDefaultTimeout(15_000);
        contexts.push(context);
        return context.newPage();
      };
      try {
        await body(open);
      } catch (e) {
        await shootFailure(contexts.flatMap((c) => c.pages()), slugOf(name));
        throw e;
      } finally {
        for (const c of contexts) await c.close();
      }
    });
}

function slugOf(name) {
  return name.replace(/^\((\w)\).*/, '$1').replace(/[^a-z0-9]+/gi, '-');
}

/** Does `act` and waits for the document it leads to (after any redirect). */
export async function follow(page, act) {
  const loaded = page.waitForEvent('load');
  await act();
  await loaded;
}

/** Submits the page's main form and returns the status of the answer to the POST. */
export async function submit(page, form = page.locator('main form.stack')) {
  // Resolved as the browser resolves it, against the page the form is on.
  const action = new URL(await form.getAttribute('action'), page.url()).href;
  const answer = page.waitForResponse((r) => r.url() === action && r.request().method() === 'POST');
  await follow(page, () => form.locator('button[type=submit]').click());
  return (await answer).status();
}

export function pathOf(page) {
  return new URL(page.url()).pathname;
}

/** The trimmed visible text of the first element matching `selector`. */
export async function text(page, selector) {
  return (await page.locator(selector).first().innerText()).trim();
}

/** Signs in through the login form of the server at `base`; a refusal fails the test. */
export async function login(page, base, { email, password }) {
  await page.goto(`${base}/login`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  const status = await submit(page);
  assert.equal(status, 303, `signing in as ${email}`);
}
