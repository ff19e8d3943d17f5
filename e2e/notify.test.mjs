// The support chat as people use it, in a real Chromium against the real
// `tabys demo` binary: a student writes to the school's support from the
// cabinet, the school's support person (in a second browser, with
// JavaScript switched off: the chat must work without it) answers from the
// shared inbox, the student's open page shows the answer by itself, the
// thread is assigned and closed, and the answer's e-mail reaches the
// demo's SMTP sink, readable on its /mail page.
//
//   TABYS_BIN            the binary (default ../target/debug/tabys)
//   TABYS_DATABASE_URL   passed through: set it to run on PostgreSQL
//   CHROMIUM             the browser (default /usr/bin/chromium)
//
// Run: cargo build -p tabys && cd e2e && node --test notify.test.mjs

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { follow, launchBrowser, shootFailure, shot, startServer, unique } from './harness.mjs';

const STUDENT = { email: 'customer@example.kz', password: 'customer-demo-1' };
const SUPPORT = { email: 'support@lessbek.kz', password: 'support-demo-1' };

let base;
let server;
let browser;

before(async () => {
  server = await startServer({ name: 'notify' });
  base = server.base;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function signIn(page, who) {
  await page.goto('/login');
  await page.fill('input[name=email]', who.email);
  await page.fill('input[name=password]', who.password);
  await follow(page, () => page.click('main form button[type=submit]'));
}

/** The demo prints where its post office shows the mail. */
function mailPage() {
  const log = readFileSync(server.logPath, 'utf8');
  const m = /read it at (http:\/\/[^\s]+\/mail)/.exec(log);
  assert.ok(m, `the demo did not say where its mail is: ${log}`);
  return m[1];
}

test('a student and the school support person talk in a thread, live and without JavaScript', async () => {
  const student = await (await browser.newContext({ locale: 'ru-RU', baseURL: base })).newPage();
  const staff = await (await browser.newContext({ locale: 'ru-RU', baseURL: base, javaScriptEnabled: false })).newPage();
  const pages = [student, staff];
  const subject = unique('Модуль не открывается');
  try {
    // The student opens a thread from the cabinet.
    await signIn(student, STUDENT);
    await student.goto('/cabinet/support');
    const orgs = await (await student.request.get('/api/v1/orgs')).json();
    const lessbek = orgs.find((m) => m.slug === 'lessbek');
    assert.ok(lessbek, JSON.stringify(orgs));
    const form = student.locator('[data-section="support-new"] form');
    await form.locator('select[name=to]').selectOption(`org:${lessbek.org_id}`);
    await form.locator('input[name=subject]').fill(subject);
    await form.locator('textarea[name=body]').fill('Оплатил курс, а второй модуль закрыт.');
    await follow(student, () => form.locator('button[type=submit]').click());
    assert.match(new URL(student.url()).pathname, /^\/cabinet\/support\/\d+$/);
    const thread = new URL(student.url()).pathname.split('/').pop();
    await shot(student, 'notify-student-thread');

    // The support person finds it in the shared inbox and answers, without JavaScript.
    await signIn(staff, SUPPORT);
    await staff.goto(`/org/${lessbek.org_id}/support`);
    const row = staff.locator(`tr[data-thread="${thread}"]`);
    assert.match(await row.innerText(), new RegExp(subject));
    assert.equal(await row.locator('[data-status]').getAttribute('data-status'), 'open');
    await follow(staff, () => row.locator('a').click());
    await staff.fill('[data-form="reply"] textarea[name=body]', 'Второй модуль откроется через неделю после первого.');
    await follow(staff, () => staff.click('[data-action="reply"]'));
    assert.match(await staff.locator('[data-list="messages"]').innerText(), /через неделю после первого/);
    await shot(staff, 'notify-staff-thread');

    // The student's page, left open, shows the answer by itself.
    await student.waitForSelector('text=через неделю после первого', { timeout: 20_000 });
    assert.equal(await student.locator('[data-status]').first().getAttribute('data-status'), 'waiting');
    const bell = await student.locator('header .bell .count').innerText();
    assert.ok(Number(bell) >= 1, `unread count ${bell}`);

    // The student answers; the support person assigns the thread to herself and closes it.
    await student.fill('[data-form="reply"] textarea[name=body]', 'Понял, спасибо!');
    await follow(student, () => student.click('[data-action="reply"]'));
    await staff.reload();
    assert.match(await staff.locator('[data-list="messages"]').innerText(), /Понял, спасибо!/);
    await staff.locator('[data-form="update"] select[name=assignee]').selectOption({ label: 'Дана Ахметова' });
    await staff.locator('[data-form="update"] select[name=status]').selectOption('closed');
    await follow(staff, () => staff.click('[data-action="update-thread"]'));
    assert.equal(await staff.locator('[data-section="thread"] [data-status]').first().getAttribute('data-status'), 'closed');
    await staff.goto(`/org/${lessbek.org_id}/support?status=closed`);
    assert.match(await staff.locator(`tr[data-thread="${thread}"]`).innerText(), /Дана Ахметова/);

    // The answer's e-mail reached the demo's SMTP sink and can be read there.
    const mail = mailPage();
    let found = false;
    for (let i = 0; i < 40 && !found; i++) {
      const text = await (await fetch(mail)).text();
      found = text.includes(`Ответ поддержки: ${subject}`);
      if (!found) await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(found, `no e-mail about ${subject} at ${mail}`);
    const reader = await (await browser.newContext({ locale: 'ru-RU' })).newPage();
    pages.push(reader);
    await reader.goto(mail);
    await follow(reader, () => reader.getByText(`Ответ поддержки: ${subject}`).first().click());
    assert.match(await reader.locator('pre').first().innerText(), /ответил на ваше обращение/);
    await shot(reader, 'notify-mail');
  } catch (e) {
    await shootFailure(pages, 'notify');
    throw e;
  }
});
