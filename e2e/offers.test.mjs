// Offers as people meet them, in a real Chromium against the real `tabys
// demo` binary: an organizer publishes an offer, a customer signs up
// accepting it, the organizer publishes version 2 with a day's notice, the
// customer sees the notice and downloads version 1 exactly as published,
// and once the clock has passed the effective date the customer's next
// visit is recorded as accepting version 2 by continued use.
//
// Time moves by restarting the server with TABYS_TEST_CLOCK_SHIFT_SECONDS,
// which only debug builds honour (see crates/tabys/src/main.rs).
//
//   TABYS_BIN            the binary (default ../target/debug/tabys; a debug build)
//   TABYS_DATABASE_URL   passed through: set it to run on PostgreSQL
//   CHROMIUM             the browser (default /usr/bin/chromium)
//
// Run: cargo build -p tabys && cd e2e && node --test offers.test.mjs

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { follow, launchBrowser, shootFailure, shot, startServer } from './harness.mjs';

const OWNER = { email: 'owner@lessbek.kz', password: 'owner-demo-2' };
/** A day and a quarter of an hour: the new version's notice, with a margin. */
const NOTICE_MS = 24 * 3600 * 1000 + 15 * 60 * 1000;
/** How far the restarted server's clock is moved: past the effective date. */
const SHIFT_SECONDS = 25 * 3600;

let base;
let server;
let browser;

before(async () => {
  server = await startServer({ name: 'offers' });
  base = server.base;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Kazakhstan's civil time (UTC+5) as a `datetime-local` value. */
function almatyLocal(ms) {
  return new Date(ms + 5 * 3600 * 1000).toISOString().slice(0, 16);
}

test('an offer is published, accepted at sign-up, changed with notice, downloaded as accepted, and accepted by use', async () => {
  const owner = await (await browser.newContext({ locale: 'ru-RU', baseURL: base })).newPage();
  const customer = await (await browser.newContext({ locale: 'ru-RU', baseURL: base, userAgent: 'E2E-Customer/1.0' })).newPage();
  const pages = [owner, customer];
  try {
    // The organizer signs in and adds terms of use, accepted by a box at sign-up, with a day's notice.
    await owner.goto('/login');
    await owner.fill('input[name=email]', OWNER.email);
    await owner.fill('input[name=password]', OWNER.password);
    await follow(owner, () => owner.click('main form button[type=submit]'));
    const orgs = await (await owner.request.get('/api/v1/orgs')).json();
    const org = orgs.find((m) => m.slug === 'lessbek');
    assert.ok(org, `the owner's organizations: ${JSON.stringify(orgs)}`);
    await owner.goto(`/org/${org.org_id}/offers`);
    const create = owner.locator(`form[action="/org/${org.org_id}/offers"]`);
    await create.locator('select[name=kind]').selectOption('terms');
    await create.locator('input[name=m_checkbox]').check();
    await create.locator('input[name=notice_days]').fill('1');
    await follow(owner, () => create.locator('button[type=submit]').click());
    const offerUrl = new URL(owner.url()).pathname;
    assert.match(offerUrl, /\/org\/\d+\/offers\/\d+$/);

    const v1 = 'Условия обучения в Lessbek Zapusk Academy\n\n1. Курс «SMMARKETING» проходит онлайн.\n2. Материалы курса нельзя записывать и передавать третьим лицам.';
    const v1kk = 'Lessbek Zapusk Academy оқу шарттары\n\n1. «SMMARKETING» курсы онлайн өтеді.\n2. Курс материалдарын жазуға және үшінші тұлғаларға беруге болмайды.';
    await owner.fill('textarea[name=text_ru]', v1);
    await owner.fill('textarea[name=text_kk]', v1kk);
    await follow(owner, () => owner.click('button[data-action=publish]'));
    assert.match(owner.url(), /published=1/, 'version 1 is published');

    // A customer signs up with the academy: the offer is linked, the box unticked until they tick it.
    await customer.goto('/signup?org=lessbek');
    assert.equal(await customer.locator('input[data-accept]').isChecked(), false);
    assert.ok((await customer.locator('[data-offer-link]').count()) >= 2, 'the platform and the academy documents are linked');
    const email = `student-${Date.now().toString(36)}@example.kz`;
    await customer.fill('input[name=name]', 'Студент Тестов');
    await customer.fill('input[name=email]', email);
    await customer.fill('input[name=password]', 'correct-horse-42');
    await follow(customer, () => customer.click('main form button[type=submit]'));
    assert.match(await customer.locator('[data-error-for=accept]').innerText(), /.+/, 'refused without the box');
    await customer.fill('input[name=password]', 'correct-horse-42');
    await customer.check('input[data-accept]');
    await customer.check('input[data-consent]');
    await follow(customer, () => customer.click('main form button[type=submit]'));
    assert.equal(new URL(customer.url()).pathname, '/o/lessbek');

    // Version 2, effective a day (and a quarter of an hour) from now.
    await owner.goto(offerUrl);
    await owner.fill('textarea[name=text_ru]', `${v1}\n3. Сертификат выдаётся в течение 5 рабочих дней.`);
    await owner.fill('textarea[name=text_kk]', `${v1kk}\n3. Сертификат 5 жұмыс күні ішінде беріледі.`);
    await owner.fill('input[name=effective_at]', almatyLocal(Date.now() + NOTICE_MS));
    await follow(owner, () => owner.click('button[data-action=publish]'));
    assert.match(owner.url(), /published=1/, 'version 2 is published with notice');

    // The customer sees the notice, and downloads version 1 exactly as published.
    await customer.goto('/cabinet/documents');
    const terms = customer.locator('[data-standing=terms][data-org=lessbek]');
    await terms.locator('[data-upcoming="2"]').waitFor();
    assert.ok(await customer.locator('[data-unread]').count(), 'an unread notification in the header');
    const raw = await terms.locator('tr[data-number="1"] a[data-download=text-ru]').getAttribute('href');
    const download = await customer.request.get(raw);
    assert.equal(download.status(), 200);
    assert.equal(await download.text(), v1, 'the downloaded text is byte-equal to what was published');
    const kk = await customer.request.get(raw.replace(/\/ru$/, '/kk'));
    assert.equal(await kk.text(), v1kk);
    const html = await customer.request.get(await terms.locator('tr[data-number="1"] a[data-download=html]').getAttribute('href'));
    assert.ok((await html.text()).includes('Материалы курса нельзя записывать'), 'the HTML copy holds the accepted text');
    const pdf = await customer.request.get(await terms.locator('tr[data-number="1"] a[data-download=pdf]').getAttribute('href'));
    assert.equal(pdf.headers()['content-type'], 'application/pdf');
    assert.equal(Buffer.from(await pdf.body()).subarray(0, 8).toString('latin1'), '%PDF-1.7');
    await shot(customer, 'offers-notice');

    // A day later: the next visit counts as accepting version 2 by continued use.
    await server.restart({ env: { TABYS_TEST_CLOCK_SHIFT_SECONDS: String(SHIFT_SECONDS) } });
    await customer.goto('/cabinet');
    await customer.goto('/cabinet/documents');
    await terms.locator('tr[data-method=continued_use][data-number="2"]').waitFor();
    assert.equal(await terms.locator('[data-upcoming]').count(), 0, 'no notice once in effect');
    await shot(customer, 'offers-accepted-by-use');
  } catch (e) {
    await shootFailure(pages, 'offers');
    throw e;
  }
});
