// The foundation as a person meets it: a real Chromium against the real
// `tabys demo` binary. Each scenario opens its own browser contexts, so no
// cookie or language choice leaks from one to the next; the server and its
// database are shared, so every scenario makes up its own emails and slugs.
//
//   TABYS_BIN            the binary (default ../target/debug/tabys)
//   TABYS_DATABASE_URL   passed through: set it to run on PostgreSQL
//   CHROMIUM             the browser (default /usr/bin/chromium)

import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  PHONE, follow, launchBrowser, login, messages, pathOf, scenarios, snap, startServer, submit, text, unique,
} from './harness.mjs';

const T = { ru: messages('ru'), kk: messages('kk'), en: messages('en') };

const DEMO = {
  exintraOwner: { email: 'owner@exintra.kz', password: 'owner-demo-1' },
  lessbekOwner: { email: 'owner@lessbek.kz', password: 'owner-demo-2' },
};

// A valid BIN and bank details (the demo coworking's); the BIN's last digit
// changed breaks its checksum.
const GOOD_BIN = '180540001239';
const BAD_BIN = '180540001238';

let base;
let server;
let browser;

before(async () => {
  server = await startServer({ name: 'foundation' });
  base = server.base;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const scenario = scenarios(() => browser);

async function signup(page, person) {
  await page.goto(`${base}/`);
  await follow(page, () => page.click('[data-nav=signup]'));
  assert.equal(pathOf(page), '/signup');
  await page.fill('input[name=name]', person.name);
  await page.fill('input[name=email]', person.email);
  await page.fill('input[name=password]', person.password);
  await acceptTerms(page);
  const status = await submit(page);
  assert.equal(status, 303, `signing up as ${person.email}`);
}

/** Ticks the boxes for the operator's terms and the data-processing consent. */
async function acceptTerms(page) {
  for (const box of ['input[data-accept]', 'input[data-consent]']) {
    if (await page.locator(box).count()) await page.check(box);
  }
}

/** The organizers the cabinet lists: name → link. */
async function memberships(page) {
  await page.goto(`${base}/cabinet`);
  return page.$$eval('ul[data-list=memberships] li a', (links) =>
    links.map((a) => ({ name: a.textContent.trim(), href: a.getAttribute('href') })),
  );
}

async function orgId(page, name) {
  const found = (await memberships(page)).find((m) => m.name.includes(name));
  assert.ok(found, `${name} is in the cabinet's list`);
  const m = /^\/org\/(\d+)$/.exec(found.href);
  assert.ok(m, `${name} links to its dashboard, not ${found.href}`);
  return m[1];
}

function newPerson(name) {
  const tag = unique('p');
  return { name, email: `${tag}@example.kz`, password: `pw-${tag}` };
}

scenario('(a) a visitor signs up, lands in the cabinet, signs out and back in', async (open) => {
  const page = await open();
  const person = newPerson('Асель Нурланова');

  await signup(page, person);
  assert.equal(pathOf(page), '/cabinet');
  assert.equal(await text(page, '.who'), person.name);
  assert.equal(await text(page, 'main h1'), T.ru['nav-cabinet']);
  assert.equal(await text(page, 'main .empty'), T.ru['cabinet-no-organizers']);
  assert.equal(await page.locator('[data-nav=login]').count(), 0);

  await follow(page, () => page.click('[data-action=logout]'));
  assert.equal(pathOf(page), '/');
  assert.equal(await page.locator('[data-action=logout]').count(), 0);
  await page.locator('[data-nav=login]').waitFor();
  // The session is over on the server too, not only in the header.
  await page.goto(`${base}/cabinet`);
  assert.equal(pathOf(page), '/login');

  await page.fill('input[name=email]', person.email.toUpperCase());
  await page.fill('input[name=password]', person.password);
  assert.equal(await submit(page), 303);
  assert.equal(pathOf(page), '/cabinet');
  assert.equal(await text(page, '.who'), person.name);
  await snap(page, 'a-signup-login');
});

scenario('(b) the language switches RU → ҚАЗ → EN and is remembered', async (open) => {
  const page = await open();
  const person = newPerson('Language Switcher');
  const lang = () => page.getAttribute('html', 'lang');

  await signup(page, person);
  assert.equal(await lang(), 'ru');
  assert.equal(await text(page, 'main h1'), T.ru['nav-cabinet']);
  assert.equal(await text(page, 'main h2'), T.ru['cabinet-my-organizers']);

  await follow(page, () => page.click('a[hreflang=kk]'));
  assert.equal(pathOf(page), '/cabinet', 'the switch returns to the same page');
  assert.equal(await lang(), 'kk');
  assert.equal(await text(page, 'main h1'), T.kk['nav-cabinet']);
  assert.equal(await text(page, 'main h2'), T.kk['cabinet-my-organizers']);
  assert.equal(await text(page, '[data-action=logout]'), T.kk['nav-logout']);
  assert.equal(await page.getAttribute('a[hreflang=kk]', 'aria-current'), 'true');

  await follow(page, () => page.click('a[hreflang=en]'));
  assert.equal(await lang(), 'en');
  assert.equal(await text(page, 'main h1'), T.en['nav-cabinet']);
  assert.equal(await text(page, 'main h2'), T.en['cabinet-my-organizers']);

  // Other pages follow the choice.
  await follow(page, () => page.click('nav.side a[href="/cabinet/security"]'));
  assert.equal(await text(page, 'main h1'), T.en['cabinet-security']);
  await page.goto(`${base}/`);
  assert.equal(await text(page, 'main h1'), T.en['home-title']);
  await page.goto(`${base}/org/999999`);
  assert.equal(await text(page, '[data-error]'), T.en['err-not-found']);

  await page.goto(`${base}/`);
  await follow(page, () => page.click('[data-action=logout]'));
  assert.equal(await text(page, 'main h1'), T.en['home-title'], 'signed out, the browser keeps the choice');

  // Another browser that asks for Russian: the account remembers English.
  const other = await open();
  await other.goto(`${base}/login`);
  assert.equal(await text(other, 'main h1'), T.ru['login-title']);
  await login(other, base, person);
  assert.equal(pathOf(other), '/cabinet');
  assert.equal(await other.getAttribute('html', 'lang'), 'en');
  assert.equal(await text(other, 'main h1'), T.en['nav-cabinet']);
  assert.equal(await text(other, '[data-nav=cabinet]'), T.en['nav-cabinet']);
  await snap(other, 'b-language');
});

scenario('(c) an owner adds a curator, who sees only that organizer', async (open) => {
  const owner = await open();
  await login(owner, base, DEMO.exintraOwner);
  const exintra = await orgId(owner, 'Exintra');

  const lessbekOwner = await open();
  await login(lessbekOwner, base, DEMO.lessbekOwner);
  const lessbek = await orgId(lessbekOwner, 'Lessbek');
  assert.notEqual(exintra, lessbek);

  const curator = { name: 'Мадина Curator', email: `${unique('curator')}@exintra.kz`, password: 'curator-pass-1' };
  await owner.goto(`${base}/org/${exintra}/staff`);
  const form = owner.locator(`form[action="/org/${exintra}/staff"]`);
  await form.locator('input[name=email]').fill(curator.email);
  await form.locator('input[name=name]').fill(curator.name);
  await form.locator('select[name=role]').selectOption('curator');
  await form.locator('input[name=password]').fill(curator.password);
  assert.equal(await submit(owner, form), 303);
  assert.equal(pathOf(owner), `/org/${exintra}/staff`);
  const row = owner.locator(`tr[data-staff="${curator.email}"]`);
  await row.waitFor();
  assert.match(await row.innerText(), new RegExp(T.ru['role-curator']));
  assert.match(await row.innerText(), new RegExp(curator.name));
  await snap(owner, 'c-staff-owner');

  const staff = await open({ viewport: PHONE });
  await login(staff, base, curator);
  assert.equal(pathOf(staff), '/cabinet');
  const list = await memberships(staff);
  assert.deepEqual(
    list.map((m) => m.href),
    [`/org/${exintra}`],
    `the curator's organizers: ${JSON.stringify(list)}`,
  );
  assert.match(list[0].name, /Exintra/);

  await follow(staff, () => staff.click(`ul[data-list=memberships] a[href="/org/${exintra}"]`));
  assert.equal(await staff.getAttribute('h1[data-org]', 'data-org'), exintra);
  assert.match(await text(staff, 'h1[data-org]'), /Exintra/);

  // Another organizer's pages do not exist for this person.
  for (const p of [`/org/${lessbek}`, `/org/${lessbek}/staff`]) {
    const r = await staff.goto(`${base}${p}`);
    assert.equal(r.status(), 404, p);
    assert.equal(await text(staff, 'main h1'), '404');
    assert.equal(await text(staff, '[data-error]'), T.ru['err-not-found']);
    assert.equal(await staff.locator('h1[data-org]').count(), 0);
    assert.equal(await staff.locator('[data-action=logout]').count(), 1, 'the header still shows the person signed in');
  }
  await snap(staff, 'c-staff-404');
});

scenario('(d) bad input shows a translated error and keeps the other fields', async (open) => {
  const page = await open();
  const person = newPerson('Ерлан Тестов');

  // Sign-up: a malformed email.
  await page.goto(`${base}/signup`);
  await page.fill('input[name=name]', person.name);
  await page.fill('input[name=email]', 'not-an-email');
  await page.fill('input[name=password]', person.password);
  assert.equal(await submit(page), 422);
  assert.equal(await text(page, '[data-error-for=email]'), T.ru['err-email-format']);
  assert.equal(await page.inputValue('input[name=name]'), person.name);
  assert.equal(await page.inputValue('input[name=email]'), 'not-an-email');
  assert.equal(await page.locator('[data-error-for=name]').count(), 0);
  await page.fill('input[name=email]', person.email);
  await page.fill('input[name=password]', person.password);
  await acceptTerms(page);
  assert.equal(await submit(page), 303);
  assert.equal(pathOf(page), '/cabinet');

  // The organizer form, in Kazakh: a BIN with a typo.
  await follow(page, () => page.click('a[hreflang=kk]'));
  await follow(page, () => page.click('a[href="/organizers/new"]'));
  assert.equal(pathOf(page), '/organizers/new');
  const slug = unique('school');
  const filled = {
    slug,
    legal_name: 'ТОО «Тест Мектеп»',
    iin_bin: BAD_BIN,
    email: `${slug}@example.kz`,
    legal_address: 'г. Астана, ул. Кенесары, 1',
    iik: 'KZ86125KZT5004100100',
    bik: 'HSBKKZKX',
    kbe: '17',
    head_name: 'Тестов Ерлан',
    head_position: 'Директор',
  };
  await page.selectOption('select[name=legal_form]', 'legal_entity');
  for (const [name, value] of Object.entries(filled)) await page.fill(`input[name=${name}]`, value);
  await page.check('input[name=requires_adult]');
  assert.equal(await submit(page), 422);
  assert.equal(pathOf(page), '/organizers/new');
  assert.equal(await text(page, '[data-error-for=iin_bin]'), T.kk['err-iin-bin-checksum']);
  assert.equal(await text(page, 'main [role=alert]'), T.kk['form-has-errors']);
  assert.deepEqual(
    await page.$$eval('[data-error-for]', (els) => els.map((e) => e.dataset.errorFor)),
    ['iin_bin'],
  );
  for (const [name, value] of Object.entries(filled)) {
    assert.equal(await page.inputValue(`input[name=${name}]`), value, `${name} is kept`);
  }
  assert.equal(await page.inputValue('select[name=legal_form]'), 'legal_entity');
  assert.ok(await page.isChecked('input[name=requires_adult]'));
  await snap(page, 'd-field-error');

  // Fixing the BIN but breaking the email moves the error, nothing else.
  await page.fill('input[name=iin_bin]', GOOD_BIN);
  await page.fill('input[name=email]', 'school@');
  assert.equal(await submit(page), 422);
  assert.deepEqual(
    await page.$$eval('[data-error-for]', (els) => els.map((e) => e.dataset.errorFor)),
    ['email'],
  );
  assert.equal(await text(page, '[data-error-for=email]'), T.kk['err-email-format']);
  assert.equal(await page.inputValue('input[name=iin_bin]'), GOOD_BIN);

  await page.fill('input[name=email]', filled.email);
  assert.equal(await submit(page), 303);
  assert.match(pathOf(page), /^\/org\/\d+$/);
  assert.equal(await text(page, 'h1[data-org]'), filled.legal_name);
  assert.equal(await page.getAttribute('html', 'lang'), 'kk');
});
