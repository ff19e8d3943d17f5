// Online courses as people meet them: a real Chromium against the real
// `tabys demo` binary. The school builds a course with a lesson, an
// assignment and a quiz and sells it through its course product; a student
// buys it with the gateway's test card, hands in the assignment, the
// curator returns it and then accepts it, the student passes the quiz and
// gets the certificate as a PDF (its text read back with pdftotext) and
// the public verification page.
//
//   TABYS_BIN            the binary (default ../target/debug/tabys)
//   TABYS_DATABASE_URL   passed through: set it to run on PostgreSQL
//   CHROMIUM             the browser (default /usr/bin/chromium)

import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backend, follow, launchBrowser, login, pathOf, results, scenarios, snap, startServer, submit, unique } from './harness.mjs';

let base;
let server;
let browser;

before(async () => {
  server = await startServer({ name: 'learning' });
  base = server.base;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const scenario = scenarios(() => browser);

const OWNER = { email: 'owner@lessbek.kz', password: 'owner-demo-2' };
const CURATOR = { email: 'curator@lessbek.kz', password: 'curator-demo-1' };
// A new person each run: on PostgreSQL the browser tests share one
// database, and the demo's customer may have bought the course already.
const STUDENT = { email: `${unique('student')}@example.kz`, password: 'correct-horse-42' };

/** Signs the student up with the school, ticking its offer and the consent. */
async function signUpWithTheSchool(page) {
  await page.goto(`${base}/signup?org=lessbek`);
  await page.fill('input[name=name]', 'Айжан Студентова');
  await page.fill('input[name=email]', STUDENT.email);
  await page.fill('input[name=password]', STUDENT.password);
  for (const box of ['input[data-accept]', 'input[data-consent]']) {
    if (await page.locator(box).count()) await page.check(box);
  }
  assert.equal(await submit(page), 303, `signing up as ${STUDENT.email}`);
}

/** Submits the form marked `data-form=<name>` and returns the POST's status. */
async function send(page, name) {
  return submit(page, page.locator(`form[data-form=${name}]`));
}

/** A few KB that begin like an MP4 file. */
function mp4() {
  const head = Buffer.from([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d, 0, 0, 2, 0]);
  return Buffer.concat([head, Buffer.from('isomiso2avc1mp41'), Buffer.alloc(4096, 7)]);
}

function pdfText(bytes) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tabys-cert-'));
  try {
    const file = path.join(dir, 'certificate.pdf');
    writeFileSync(file, bytes);
    return execFileSync('pdftotext', ['-enc', 'UTF-8', file, '-']).toString('utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

scenario('a school sells a course; a student buys, studies with a curator, passes the quiz and gets the certificate', async (open) => {
  // The school builds the course.
  const school = await open();
  await login(school, base, OWNER);
  await school.goto(`${base}/cabinet`);
  await school.goto(`${base}/o/lessbek`);
  const orgPath = await school.evaluate(async (b) => {
    const r = await fetch(`${b}/api/v1/me`);
    const me = await r.json();
    return `/org/${me.memberships.find((m) => m.slug === 'lessbek').org_id}`;
  }, base);
  await school.goto(`${base}${orgPath}/courses`);
  await school.fill('form[data-form=course] input[name=title]', 'Сторис, которые продают');
  await school.selectOption('form[data-form=course] select[name=product_id]', { index: 1 });
  await school.selectOption('form[data-form=course] select[name=locale]', 'ru');
  await school.check('form[data-form=course] input[name=late_submissions]');
  assert.equal(await send(school, 'course'), 303, 'creating the course');
  assert.match(pathOf(school), /\/courses\/\d+$/);
  const coursePath = pathOf(school);
  const courseId = coursePath.split('/').pop();

  // Lesson 1: text with a video link, and an assignment.
  await school.fill('form[data-form=add-lesson] input[name=title]', 'Видеоурок: первые сторис');
  await follow(school, () => school.click('[data-action=add-lesson]'));
  await school.fill('form[data-form=lesson] textarea[name=body]', '# Первые сторис\n\nСмотрите [видео](https://video.lessbek.kz/stories) и повторите.\n\n<b>HTML не работает</b>');
  await school.fill('form[data-form=lesson] textarea[name=assignment]', 'Снимите три сторис и опишите их.');
  await school.fill('form[data-form=lesson] input[name=deadline_days]', '7');
  assert.equal(await send(school, 'lesson'), 303, 'saving lesson 1');
  // The lesson's video, uploaded with the progress bar's script.
  await school.setInputFiles('form[data-form=media] input[name=file]', { name: 'stories.mp4', mimeType: 'video/mp4', buffer: mp4() });
  await follow(school, () => school.click('[data-action=upload-media]'));
  assert.equal(await school.locator('[data-list=media] li').count(), 1, 'the video is in the lesson');
  await follow(school, () => school.click('[data-action=preview]'));
  assert.equal(await school.locator('[data-preview]').count(), 1);
  assert.match(await school.locator('[data-lesson-body]').innerHTML(), /&lt;b&gt;HTML/);
  await snap(school, 'learning-preview');

  // Lesson 2: a quiz, opening after lesson 1's assignment is accepted.
  await school.goto(`${base}${coursePath}`);
  await school.fill('form[data-form=add-lesson] input[name=title]', 'Итоговый тест');
  await follow(school, () => school.click('[data-action=add-lesson]'));
  await school.selectOption('form[data-form=lesson] select[name=drip]', 'stop');
  await school.fill('form[data-form=lesson] input[name=quiz_pass]', '100');
  await school.fill('form[data-form=lesson] input[name=quiz_attempts]', '2');
  await school.fill('form[data-form=lesson] input[name=quiz_minutes]', '10');
  assert.equal(await send(school, 'lesson'), 303, 'saving lesson 2');
  await school.selectOption('form[data-form=question] select[name=kind]', 'single');
  await school.fill('form[data-form=question] input[name=prompt]', 'Сколько сторис снять?');
  await school.fill('form[data-form=question] textarea[name=options]', 'Одну\nТри\nДесять');
  await school.fill('form[data-form=question] input[name=answer]', '2');
  assert.equal(await send(school, 'question'), 303, 'adding a question');

  // Publish both lessons and the course.
  await school.goto(`${base}${coursePath}`);
  while (await school.locator('[data-action=publish-lesson]').count()) {
    await follow(school, () => school.locator('[data-action=publish-lesson]').first().click());
  }
  await follow(school, () => school.click('[data-action=publish-course]'));
  assert.equal(await school.locator('[data-course-status]').getAttribute('data-course-status'), 'published');
  await snap(school, 'learning-builder');

  // The student buys the course product with the test card.
  const student = await open();
  await signUpWithTheSchool(student);
  await student.goto(`${base}/cabinet/courses/${courseId}`);
  assert.equal(student.url().includes(`/cabinet/courses/${courseId}`), true);
  assert.match(await student.locator('main').innerText(), /нет доступа/i, 'no access before paying');
  await student.goto(`${base}/o/lessbek/products`);
  await follow(student, () => student.locator('[data-list=catalog] li a').first().click());
  assert.equal(await submit(student), 303, 'ordering');
  await student.check('input[name=method][value=card]');
  await follow(student, () => student.click('[data-action=pay]'));
  await student.fill('#card', '4242 4242 4242 4242');
  await follow(student, () => student.click('#pay'));
  assert.ok(student.url().startsWith(`${base}/cabinet/payments/`), `back at Tabys, not ${student.url()}`);
  await student.goto(`${base}/cabinet/courses`);
  assert.equal(await student.locator(`[data-list=my-courses] [data-course="${courseId}"]`).count(), 1, 'the course is in My courses');
  await follow(student, () => student.locator(`[data-course="${courseId}"] a`).click());
  const lessons = student.locator('[data-list=lessons] li');
  assert.equal(await lessons.nth(1).getAttribute('data-open'), 'false', 'the quiz waits for the assignment');

  // The school assigns its curator to the student.
  await school.goto(`${base}${coursePath}/students`);
  const row = school.locator('[data-list=students] tr', { hasText: STUDENT.email });
  await row.locator('select[name=curator]').selectOption({ label: 'Әсем Куратова' });
  await follow(school, () => row.locator('[data-action=set-curator]').click());

  // The student hands in the assignment.
  await follow(student, () => lessons.nth(0).locator('a').click());
  await snap(student, 'learning-lesson');
  // The video plays through a link signed for this student, with byte ranges.
  const src = await student.locator('[data-media-kind=video] video').getAttribute('src');
  assert.match(src, /^\/files\//);
  const part = await student.request.get(`${base}${src}`, { headers: { range: 'bytes=0-15' } });
  assert.equal(part.status(), 206);
  assert.match(await student.locator('[data-media-kind=video] [data-watermark]').innerText(), new RegExp(STUDENT.email.replaceAll('.', '\\.')));
  await student.fill('form[data-form=submit] textarea[name=body]', 'Сторис 1: утро, сторис 2: кофе.');
  assert.equal(await send(student, 'submit'), 303, 'handing in');
  const lessonPath = pathOf(student);
  assert.equal(await student.locator('#assignment').getAttribute('data-submission'), 'submitted');

  // The curator returns it with a comment.
  const curator = await open();
  await login(curator, base, CURATOR);
  await curator.goto(`${base}${orgPath}/learning/queue`);
  await follow(curator, () => curator.locator('[data-list=queue] a').first().click());
  await curator.fill('form[data-form=decision] textarea[name=comment]', 'Нужна третья сторис.');
  await follow(curator, () => curator.click('[data-action=return]'));

  // The student reads the comment and hands in again; the curator accepts.
  await student.goto(`${base}${lessonPath}`);
  assert.equal(await student.locator('#assignment').getAttribute('data-submission'), 'returned');
  assert.match(await student.locator('#assignment').innerText(), /Нужна третья сторис/);
  await student.fill('form[data-form=submit] textarea[name=body]', 'Сторис 1: утро, 2: кофе, 3: вечер.');
  assert.equal(await send(student, 'submit'), 303, 'handing in again');
  await curator.goto(`${base}${orgPath}/learning/queue`);
  await follow(curator, () => curator.locator('[data-list=queue] a').first().click());
  await follow(curator, () => curator.click('[data-action=accept]'));
  await student.goto(`${base}/cabinet/notifications`);
  assert.match(await student.locator('main').innerText(), /принял/i, 'the student is told');

  // The quiz opens; the student passes it.
  await student.goto(`${base}/cabinet/courses/${courseId}`);
  assert.equal(await lessons.nth(1).getAttribute('data-open'), 'true');
  await follow(student, () => lessons.nth(1).locator('a').click());
  await follow(student, () => student.click('[data-action=start-quiz]'));
  await student.locator('form[data-form=quiz] input[type=radio][value="2"]').check();
  await follow(student, () => student.click('[data-action=finish-quiz]'));
  assert.equal(await student.locator('#quiz').getAttribute('data-quiz-passed'), 'true');

  // Completed: the student gives the recipient data and gets the certificate.
  await student.goto(`${base}/cabinet/courses/${courseId}`);
  assert.equal(await student.locator('[data-completed]').count(), 1);
  await student.goto(`${base}/cabinet/courses/${courseId}/certificate`);
  await student.fill('form[data-form=recipient] input[name=full_name]', 'Жанна Ерланқызы Сапарова');
  await student.fill('form[data-form=recipient] input[name=address]', 'г. Алматы, ул. Толе би, 5');
  assert.equal(await send(student, 'recipient'), 303, 'recipient data');
  const issued = student.locator('[data-certificate-status]');
  assert.equal(await issued.getAttribute('data-certificate-status'), 'issued');
  await snap(student, 'learning-certificate');
  const pdf = await student.request.get(`${base}/cabinet/courses/${courseId}/certificate.pdf`);
  assert.equal(pdf.status(), 200);
  const body = await pdf.body();
  assert.equal(body.subarray(0, 5).toString(), '%PDF-');
  writeFileSync(path.join(results, `learning-certificate-${backend}.pdf`), body);
  const words = pdfText(body);
  for (const expected of ['СЕРТИФИКАТ', 'Жанна Ерланқызы Сапарова', 'Сторис, которые продают', 'Lessbek Zapusk Academy', 'TBS-']) {
    assert.ok(words.includes(expected), `the PDF says ${expected}:\n${words}`);
  }

  // The verification page the QR code leads to.
  await follow(student, () => student.click('a[href^="/certificates/"]'));
  assert.match(pathOf(student), /^\/certificates\/TBS-/);
  assert.match(await student.locator('[data-holder]').innerText(), /Жанна Ерланқызы Сапарова/);
  await snap(student, 'learning-verify');
});
