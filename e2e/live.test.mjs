// Webinar rooms as people meet them: a real Chromium against the real
// `tabys demo` binary. An organizer and a participant in one room — chat
// both ways, a banner shown and clicked, a message deleted for both — and
// two viewers of an autowebinar session replaying its recorded scenario;
// an organizer uploading a video to a room that a guest then plays.
//
//   TABYS_BIN            the binary (default ../target/debug/tabys)
//   TABYS_DATABASE_URL   passed through: set it to run on PostgreSQL
//   CHROMIUM             the browser (default /usr/bin/chromium)

import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { follow, launchBrowser, login, pathOf, scenarios, snap, startServer } from './harness.mjs';

let base;
let server;
let browser;

before(async () => {
  server = await startServer({ name: 'live' });
  base = server.base;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const scenario = scenarios(() => browser);

/** The owner of Lessbek, signed in, on the organizer's webinar page; returns that page's path. */
async function organizerLive(page) {
  await login(page, base, { email: 'owner@lessbek.kz', password: 'owner-demo-2' });
  await page.goto(`${base}/cabinet`);
  const org = page.locator('a[href^="/org/"]', { hasText: 'Lessbek' }).first();
  const orgPath = await org.getAttribute('href');
  await page.goto(`${base}${orgPath}/live`);
  return `${orgPath}/live`;
}

/** A guest who types a name on the landing page and enters the room. */
async function enterAsGuest(page, path, name) {
  await page.goto(`${base}${path}`);
  await page.fill('[data-form=guest] input[name=name]', name);
  await follow(page, () => page.click('[data-form=guest] [data-action=enter]'));
  await page.waitForSelector('[data-live][data-connected="1"]');
}

async function say(page, text) {
  await page.fill('[data-chat-form] input[name=text]', text);
  await page.click('[data-chat-form] [data-action=send]');
}

function line(page, text) {
  return page.locator('[data-chat] li', { hasText: text });
}

scenario('an organizer and a participant chat both ways, a banner is shown and clicked, a deletion reaches both', async (open) => {
  const host = await open();
  const livePath = await organizerLive(host);
  await follow(host, () => host.locator('[data-list=rooms] a').first().click());
  const roomLink = await host.locator('[data-link=room]').getAttribute('href');
  const sessionPath = livePath.replace('/live', '');
  await host.goto(`${base}${roomLink}`);
  assert.match(pathOf(host), /^\/live\/w\/\d+$/, 'the room redirects to its live webinar');
  await host.waitForSelector('[data-live][data-connected="1"]');
  assert.equal(await host.locator('[data-live]').getAttribute('data-moderator'), '1');

  const guest = await open();
  await enterAsGuest(guest, roomLink, 'Дана');
  assert.equal(await guest.locator('[data-live]').getAttribute('data-moderator'), '0');

  // Chat both ways.
  await say(guest, 'Сәлеметсіз бе! Дана из Караганды');
  await line(host, 'Дана из Караганды').waitFor();
  await say(host, 'Добро пожаловать, Дана');
  await line(guest, 'Добро пожаловать, Дана').waitFor();
  await snap(guest, 'live-room-participant');

  // A banner shown by the organizer appears for the participant, who clicks it.
  await host.locator('[data-show-banner]').first().click();
  const banner = guest.locator('[data-banner-slot] [data-banner-button]');
  await banner.waitFor();
  const [tab] = await Promise.all([guest.context().waitForEvent('page'), banner.click()]);
  await tab.waitForLoadState();
  assert.match(new URL(tab.url()).pathname, /^\/o\/lessbek\/products/, 'the banner leads to the products');
  await tab.close();

  // The organizer deletes the participant's message: gone for both.
  const theirs = line(host, 'Дана из Караганды');
  await theirs.locator('[data-delete]').click();
  await theirs.waitFor({ state: 'detached' });
  await line(guest, 'Дана из Караганды').waitFor({ state: 'detached' });
  assert.equal(await line(guest, 'Добро пожаловать, Дана').count(), 1, 'the other message stays');

  // Hiding the banner hides it for the participant.
  await host.click('[data-hide-banner]');
  await guest.locator('[data-banner-slot]').waitFor({ state: 'hidden' });
  await snap(host, 'live-room-organizer');

  // The click is in the session's analytics.
  const webinar = pathOf(host).split('/').pop();
  await host.goto(`${base}${sessionPath}/live/webinars/${webinar}`);
  assert.equal((await host.locator('[data-stat=clicks]').innerText()).trim(), '1');
  assert.ok(Number((await host.locator('[data-stat=messages]').innerText()).trim()) >= 2);
  assert.equal(await host.locator('svg.chart').count(), 1);
  await snap(host, 'live-analytics');
});

scenario('two viewers of an autowebinar session see its recorded scenario replayed and each other', async (open) => {
  const owner = await open();
  await organizerLive(owner);
  const autoLink = await owner.locator('[data-autowebinar] a[href^="/live/a/"]').first().getAttribute('href');

  const first = await open();
  await enterAsGuest(first, autoLink, 'Айгерим');
  const second = await open();
  await enterAsGuest(second, autoLink, 'Ерлан');
  assert.equal(pathOf(first), pathOf(second), 'both are in the same session');

  // The scenario's first message (3 s in) and its pin reach both, as
  // history for whoever came late.
  const opening = 'Начинаем через минуту';
  await line(first, opening).first().waitFor();
  await line(second, opening).first().waitFor();
  await first.locator('[data-pinned]:not([hidden])', { hasText: opening }).waitFor();

  // Viewers' live messages reach the other viewer of the same session.
  await say(first, 'Айгерим на связи');
  await line(second, 'Айгерим на связи').waitFor();
  await snap(second, 'live-autowebinar');
});

/** A short WebM recorded by the browser itself from a canvas: a real, playable file. */
async function recordWebm(page) {
  const bytes = await page.evaluate(async () => {
    const canvas = document.createElement('canvas');
    canvas.width = 64;
    canvas.height = 48;
    const ctx = canvas.getContext('2d');
    let n = 0;
    const paint = setInterval(() => {
      ctx.fillStyle = n++ % 2 ? '#1a7f64' : '#a8325e';
      ctx.fillRect(0, 0, 64, 48);
    }, 40);
    const recorder = new MediaRecorder(canvas.captureStream(25), { mimeType: 'video/webm' });
    const chunks = [];
    recorder.ondataavailable = (e) => chunks.push(e.data);
    const stopped = new Promise((resolve) => { recorder.onstop = resolve; });
    recorder.start();
    await new Promise((resolve) => setTimeout(resolve, 800));
    recorder.stop();
    await stopped;
    clearInterval(paint);
    return Array.from(new Uint8Array(await new Blob(chunks).arrayBuffer()));
  });
  return Buffer.from(bytes);
}

scenario('an organizer uploads a video to a room with a progress bar and a guest watches it by byte ranges', async (open) => {
  const host = await open();
  await organizerLive(host);
  await follow(host, () => host.locator('[data-list=rooms] a').first().click());
  const roomLink = await host.locator('[data-link=room]').getAttribute('href');
  const video = await recordWebm(host);
  assert.ok(video.length > 100, 'the browser recorded a video');
  await host.setInputFiles('[data-form=video] input[type=file]', { name: 'вступление.webm', mimeType: 'video/webm', buffer: video });
  await follow(host, () => host.click('[data-action=upload-video]'));
  await host.locator('[data-video-file] [data-playing]').waitFor();

  const guest = await open();
  await enterAsGuest(guest, roomLink, 'Мира');
  const player = guest.locator('video[data-video]');
  const src = await player.getAttribute('src');
  assert.match(src, /^\/live\/w\/\d+\/video\//, 'the room plays the uploaded file through its signed link');
  // The player reads the file as a browser does, by byte ranges.
  const part = await guest.evaluate(async (url) => {
    const r = await fetch(url, { headers: { Range: 'bytes=0-3' } });
    return { status: r.status, range: r.headers.get('content-range'), head: Array.from(new Uint8Array(await r.arrayBuffer())) };
  }, src);
  assert.equal(part.status, 206);
  assert.equal(part.range, `bytes 0-3/${video.length}`);
  assert.deepEqual(part.head, [0x1a, 0x45, 0xdf, 0xa3], 'a WebM file begins with its EBML header');
  await guest.waitForFunction(() => document.querySelector('video[data-video]').readyState >= 1);
  // Another browser cannot use the guest's link.
  const stranger = await open();
  await stranger.goto(`${base}/`);
  const status = await stranger.evaluate(async (url) => (await fetch(url)).status, src);
  assert.equal(status, 404);
  await snap(guest, 'live-room-uploaded-video');
});
