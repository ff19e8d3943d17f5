// Coworking and events as a member and the staff meet them, on the real
// `tabys demo` binary with its card gateway stand-in: the member books
// Exintra's meeting room and pays by card, registers for the upcoming event,
// the manager checks them in at the door from a phone by the ticket's QR
// link, and — the server restarted with its clock 30 hours before the room
// booking starts — the member cancels and gets half back (EX §6).
//
//   TABYS_BIN            the binary (default ../target/debug/tabys)
//   TABYS_DATABASE_URL   passed through: set it to run on PostgreSQL
//   CHROMIUM             the browser (default /usr/bin/chromium)

import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { PHONE, follow, launchBrowser, login, pathOf, scenarios, snap, startServer, submit } from './harness.mjs';

let base;
let server;
let browser;

before(async () => {
  server = await startServer({ name: 'bookings' });
  base = server.base;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const scenario = scenarios(() => browser);

const MEMBER = { email: 'customer@example.kz', password: 'customer-demo-1' };
const MANAGER = { email: 'manager@exintra.kz', password: 'staff-demo-1' };

/** `YYYY-MM-DD` of a moment in Almaty (UTC+5). */
function almatyDate(ms) {
  return new Date(ms + 5 * 3600_000).toISOString().slice(0, 10);
}

scenario('a member books and pays for a room, gets an event ticket checked in by QR, and cancels the room 30 hours ahead for half back', async (open) => {
  const page = await open();
  await login(page, base, MEMBER);

  // The coworking's page lists the room; its page shows the free hours.
  await page.goto(`${base}/o/exintra/bookings`);
  await snap(page, 'bookings-public');
  const room = page.locator('[data-resource]', { hasText: 'Тобыл' }).first();
  await follow(page, () => room.locator('h3 a').click());
  assert.match(pathOf(page), /^\/o\/exintra\/bookings\/resources\/\d+$/);
  const roomPath = pathOf(page);

  // A working day at least three days ahead (not a Sunday or a holiday).
  let day;
  for (let i = 3; i < 20; i++) {
    const d = almatyDate(Date.now() + i * 86_400_000);
    await page.goto(`${base}${roomPath}?date=${d}`);
    if ((await page.locator('[data-closed]').count()) === 0) {
      day = d;
      break;
    }
  }
  assert.ok(day, 'an open day');
  assert.equal(await page.locator('tr[data-hour="10"]').getAttribute('data-free'), '1');
  await page.fill('input[name=date]', day);
  await page.selectOption('select[name=unit]', 'hour');
  await page.fill('input[name=start]', '10');
  await page.fill('input[name=hours]', '1');
  await snap(page, 'bookings-room');
  assert.equal(await submit(page), 303, 'booking');
  assert.match(pathOf(page), /^\/cabinet\/orders\/\d+$/, 'to the order to pay');
  const orderPath = pathOf(page);

  // Paying by card at the gateway's page confirms the booking.
  await page.check('input[name=method][value=card]');
  await follow(page, () => page.click('[data-action=pay]'));
  await page.fill('#card', '4242 4242 4242 4242');
  await follow(page, () => page.click('#pay'));
  assert.equal(await page.locator('[data-payment]').getAttribute('data-status'), 'completed');
  await page.goto(`${base}/cabinet/bookings`);
  const booking = page.locator('[data-booking]', { hasText: 'Тобыл' }).first();
  assert.equal(await booking.getAttribute('data-status'), 'confirmed');
  await follow(page, () => booking.locator('a').click());
  const bookingPath = pathOf(page);
  const price = Number(await page.locator('[data-price]').getAttribute('data-price'));
  assert.equal(price, 500000, '5 000 ₸ for the hour');
  const startsAt = Number(await page.locator('section[data-booking]').getAttribute('data-starts-at'));
  await snap(page, 'bookings-booking');

  // A ticket to the upcoming event: free, with the registration question answered.
  await page.goto(`${base}/o/exintra/bookings`);
  await follow(page, () => page.locator('[data-event] a').first().click());
  await page.check('input[name=ticket_type] >> nth=0');
  await page.fill('input[name=answer_0]', 'Дизайн интерфейсов');
  assert.equal(await submit(page), 303, 'registering');
  assert.match(pathOf(page), /^\/cabinet\/tickets\/\d+$/);
  assert.equal(await page.locator('section[data-ticket]').getAttribute('data-status'), 'confirmed');
  const qr = await page.request.get(`${base}${await page.locator('[data-qr]').getAttribute('src')}`);
  assert.equal(qr.status(), 200);
  assert.match((await qr.body()).toString(), /<svg/);
  const checkinUrl = new URL(await page.locator('[data-checkin-url]').getAttribute('data-checkin-url'));
  await snap(page, 'bookings-ticket');

  // At the door the manager's phone opens the QR's link and checks the member in, once.
  const door = await open({ viewport: PHONE });
  await login(door, base, MANAGER);
  await door.goto(`${base}${checkinUrl.pathname}${checkinUrl.search}`);
  await snap(door, 'bookings-check-in');
  await follow(door, () => door.click('[data-action=check-in]'));
  assert.equal(await door.locator('[data-checked-in]').count(), 1, 'checked in');
  await door.goto(`${base}${checkinUrl.pathname}`);
  await door.fill('input[name=code]', checkinUrl.searchParams.get('code'));
  await follow(door, () => door.click('[data-action=check-in-code]'));
  assert.equal(await door.locator('[data-checked-in]').count(), 0);
  assert.match(await door.locator('[data-error]').first().innerText(), /уже использован/);

  // 30 hours before the room's start: half comes back (EX §6: 24–48 h, 50 % kept).
  const shift = Math.floor((startsAt - 30 * 3600_000 - Date.now()) / 1000);
  await server.restart({ env: { TABYS_TEST_CLOCK_SHIFT_SECONDS: String(shift) } });
  await page.goto(`${base}${bookingPath}`);
  assert.equal(await page.locator('[data-refund-preview]').getAttribute('data-refund-preview'), String(price / 2));
  await snap(page, 'bookings-cancel');
  await follow(page, () => page.click('[data-action=cancel]'));
  assert.equal(await page.locator('section[data-booking]').getAttribute('data-status'), 'cancelled');
  assert.equal(await page.locator('[data-refunded]').getAttribute('data-refunded'), String(price / 2));
  await page.goto(`${base}${orderPath}`);
  assert.equal(await page.locator('[data-refunded]').getAttribute('data-refunded'), String(price / 2), 'the refund went through the money capability');
  await page.goto(`${base}${roomPath}?date=${day}`);
  assert.equal(await page.locator('tr[data-hour="10"]').getAttribute('data-free'), '1', 'the hour is free again');
});

scenario('a member posts in the community feed and staff remove the post', async (open) => {
  const page = await open();
  await login(page, base, MEMBER);
  await page.goto(`${base}/o/exintra/community`);
  await page.fill('textarea[name=body]', 'Кто идёт на нетворкинг?');
  assert.equal(await submit(page), 303);
  const post = page.locator('[data-post]', { hasText: 'Кто идёт на нетворкинг?' });
  assert.equal(await post.count(), 1);
  await snap(page, 'bookings-community');

  const staff = await open();
  await login(staff, base, MANAGER);
  await staff.goto(`${base}/cabinet`);
  const href = await staff.locator('a[href^="/org/"]').first().getAttribute('href');
  const org = href.split('/')[2];
  await staff.goto(`${base}/org/${org}/community`);
  const mod = staff.locator('[data-post]', { hasText: 'Кто идёт на нетворкинг?' });
  await follow(staff, () => mod.locator('[data-action=remove-post]').click());
  await page.goto(`${base}/o/exintra/community`);
  assert.equal(await page.locator('[data-post]', { hasText: 'Кто идёт на нетворкинг?' }).count(), 0);
});
