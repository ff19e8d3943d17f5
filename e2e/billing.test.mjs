// Money as a person meets it: a real Chromium against the real `tabys
// demo` binary, which runs the card gateway's local stand-in beside it (the
// CloudPayments protocol: payment page, signed Check and Pay notifications,
// the merchant's re-query). Each scenario opens its own browser contexts;
// the server and its database are shared.
//
//   TABYS_BIN            the binary (default ../target/debug/tabys)
//   TABYS_DATABASE_URL   passed through: set it to run on PostgreSQL
//   CHROMIUM             the browser (default /usr/bin/chromium)

import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { follow, launchBrowser, login, pathOf, scenarios, snap, startServer, submit, text } from './harness.mjs';

let base;
let server;
let browser;

before(async () => {
  server = await startServer({ name: 'billing' });
  base = server.base;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const scenario = scenarios(() => browser);

scenario('a customer buys the Lessbek course by card at the gateway and gets access', async (open) => {
  const page = await open();
  await login(page, base, { email: 'customer@example.kz', password: 'customer-demo-1' });

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
  await login(page, base, { email: 'client@example.kz', password: 'client-demo-1' });
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
