// The learner's and the manager's pages in headless Chromium (playwright-core driving Debian's
// Chromium) at phone width: the manager answers the impact review, the learner reads it on
// their own page, makes a wallet offer, and sees the badge page say "Applied at work".
// axe-core checks every page for WCAG 2.1 A/AA; nothing may run off a phone screen sideways.
// Usage: node learner.mjs <input.json>; prints one JSON report.
import {readFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {chromium} from 'playwright-core';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const report = {axe: {}, overflow: {}, text: {}};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  const context = await browser.newContext({viewport: {width: 360, height: 780}, locale: input.locale, bypassCSP: true});
  const page = await context.newPage();
  const audit = async name => {
    await page.addScriptTag({content: axeSource});
    report.axe[name] = await page.evaluate(async () => {
      const r = await window.axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
      return r.violations.map(v => ({id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}));
    });
    report.overflow[name] = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    await page.screenshot({path: `${input.artifacts}/learner-${name}.png`, fullPage: true});
  };
  const submit = async selector => {
    await Promise.all([page.waitForEvent('framenavigated', f => f === page.mainFrame()), page.click(selector)]);
    await page.waitForLoadState();
  };

  // The manager: a form without an example is refused with the errors linked, then "yes" with one.
  await page.goto(input.review_link);
  await audit('review');
  await page.check('#answer');
  // As a browser without form validation would send it (the field is `required`).
  await page.evaluate(() => document.querySelector('#example').removeAttribute('required'));
  await submit('form button[type=submit]');
  await audit('review-errors');
  report.text.review_errors = await page.textContent('[role=alert]');
  await page.check('#answer');
  await page.fill('#example', input.example);
  await submit('form button[type=submit]');
  report.text.review_done = await page.textContent('[role=status]');

  // The learner, signed in: the review with a comment, then a wallet offer.
  await context.addCookies([{name: 'mb_learner', value: input.session, url: `${input.base}/me`}]);
  await page.goto(`${input.base}/me`);
  await audit('me');
  await page.fill('textarea[name=comment]', input.comment);
  await submit('form[action$="/seen"] button');
  report.text.me = await page.textContent('main');
  await submit('form[action$="/wallet"] button');
  await audit('wallet');
  report.text.tx_code = await page.textContent('#tx-code');
  report.text.offer = await page.getAttribute('#offer', 'href');

  // The badge page with its confirmation.
  await page.goto(input.badge);
  await audit('badge');
  report.text.applied = await page.textContent('#applied');
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
