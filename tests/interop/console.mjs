// Drives the metrobadge console in Debian's headless Chromium (playwright-core), on a phone:
// the platform admin creates an issuer and invites a trainer and an auditor; the trainer sets a
// password from the invitation, awards a cohort of three from pasted rows (one row fixed after
// Check), double-submits Award, opens the result, decodes the QR sheet, revokes one badge and
// reads the pages in Dutch; the auditor filters the trail, verifies the chain and downloads
// the CSV export. axe-core checks every page for WCAG 2.1 A/AA.
// Usage: node console.mjs INPUT.json — prints one JSON report to stdout.
// INPUT: {"base", "admin_invitation", "issuer", "module", "password", "artifacts"}
import {readFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {chromium} from 'playwright-core';
import jsQR from 'jsqr';
import {PNG} from 'pngjs';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const report = {axe: {}, screenshots: []};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  // bypassCSP only lets the test inject axe-core; the pages themselves run no script.
  const options = {viewport: {width: 360, height: 780}, locale: 'en-GB', bypassCSP: true, acceptDownloads: true};
  let context = await browser.newContext(options);
  let page = await context.newPage();

  // Clicks something that loads a new page and waits for that page: waitForLoadState alone
  // can answer for the old page before the navigation has even started.
  const follow = async selector => {
    await Promise.all([page.waitForEvent('framenavigated', f => f === page.mainFrame()), page.click(selector)]);
    await page.waitForLoadState();
  };
  const audit = async name => {
    await page.addScriptTag({content: axeSource});
    const result = await page.evaluate(async () => {
      const r = await window.axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
      return r.violations.map(v => ({id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}));
    });
    report.axe[name] = result;
  };
  const shoot = async name => {
    for (const [width, height] of [[360, 780], [1280, 900]]) {
      await page.setViewportSize({width, height});
      const file = `${input.artifacts}/console-${name}-${width}.png`;
      await page.screenshot({path: file, fullPage: true});
      report.screenshots.push(file);
      if (width === 360) {
        // Nothing may run off a phone screen sideways.
        report[`overflow_${name}`] = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
      }
    }
    await page.setViewportSize({width: 360, height: 780});
  };

  // The sign-in page, as anyone sees it first.
  await page.goto(`${input.base}/console`);
  await audit('sign-in');
  await shoot('sign-in');

  // The platform admin: sets a password, creates an issuer, invites a trainer and an auditor
  // to the training provider's issuer.
  await page.goto(input.admin_invitation);
  await page.fill('#password', input.password);
  await Promise.all([page.waitForURL(`${input.base}/console`), page.click('button.primary')]);
  await follow('a[href="/console/issuers"]');
  await page.fill('#issuer-name', 'Zorg Zwolle');
  await Promise.all([page.waitForURL(/\/console\/issuers\/.+/), page.click('button.primary')]);
  report.created_issuer = await page.textContent('h1');
  await page.goto(`${input.base}/console/issuers`);
  await audit('issuers');
  await follow(`a[href="/console/issuers/${input.issuer}"]`);
  const invite = async (name, email, role) => {
    await page.fill('#member-name', name);
    await page.fill('#member-email', email);
    await page.selectOption('#member-role', role);
    await follow('form[action$="/members"] button.primary');
    return page.inputValue('#invitation-link');
  };
  const trainerLink = await invite('Tessa Trainer', 'tessa@twente.example', 'trainer');
  const auditorLink = await invite('Arjen Auditor', 'arjen@accreditatie.example', 'auditor');
  const issuerAdminLink = await invite('Ilse Beheer', 'ilse@twente.example', 'issuer_admin');
  await audit('members');
  await shoot('members');
  await context.close();
  context = await browser.newContext(options);
  page = await context.newPage();

  // The trainer's invitation: set a password, land signed in.
  await page.goto(trainerLink);
  await audit('invitation');
  await page.fill('#password', input.password);
  await Promise.all([page.waitForURL(`${input.base}/console`), page.click('button.primary')]);
  await audit('home');
  await shoot('home');

  // Award a cohort: pick the module from the list, paste rows with one mistake, Check.
  await follow(`a[href="/console/award?module=${input.module}"]`);
  await audit('award-form');
  await page.fill('#session_location', 'Hengelo');
  await page.fill('#rows', 'Ann de Vries\tann@example.nl\nBob Bakker\tbob(at)example.nl\nCarla Smit\tcarla@example.nl');
  await follow('button[value="check"]');
  report.check_problems = await page.textContent('#problems');
  await audit('check-problems');
  await shoot('check');

  // Fix the row the check named, check again.
  await page.fill('#rows', 'Ann de Vries\tann@example.nl\nBob Bakker\tbob@example.nl\nCarla Smit\tcarla@example.nl');
  await follow('button[value="check"]');
  report.check_ok = await page.textContent('#check-ok');

  // A double submit: the same form posted twice at once, then the button pressed for real.
  report.double_submit = await page.evaluate(async () => {
    const form = document.querySelector('form[action="/console/award"]');
    const send = () => {
      const data = new FormData(form);
      data.set('action', 'award');
      return fetch('/console/award', {method: 'POST', body: data, redirect: 'manual'}).then(r => r.type + ':' + r.status);
    };
    return Promise.all([send(), send()]);
  });
  await Promise.all([page.waitForURL(/\/console\/awards\//), page.click('button[value="award"]')]);
  report.result_url = page.url();
  report.links = await page.$$eval('a.badge-link', as => as.map(a => a.href));
  await audit('awarded');
  await shoot('awarded');

  // The printable sheet: every QR code decodes to a participant's badge link.
  await page.goto(`${report.result_url}/sheet`);
  await audit('sheet');
  report.qr = [];
  for (const svg of await page.$$('.qr svg')) {
    const png = PNG.sync.read(await svg.screenshot());
    const code = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
    report.qr.push(code ? code.data : null);
  }

  // Revoke one, with a reason.
  await page.goto(report.result_url);
  await page.fill('#reason-1', 'Wrong participant');
  await follow('form.revoke button');
  report.standings = await page.$$eval('.standing', s => s.map(x => x.textContent));

  // The same pages in Dutch, remembered after the switch.
  await page.goto(`${input.base}/console?lang=nl`);
  await audit('home-nl');
  await shoot('home-nl');
  await page.goto(`${input.base}/console/award?module=${input.module}`);
  report.nl_award_heading = await page.textContent('h1');
  report.nl_labels = await page.$$eval('label', ls => ls.map(l => l.textContent));
  await audit('award-form-nl');
  await shoot('award-nl');
  await context.close();

  // The issuer admin: a two-station line with the rule builder; a badge revoked with a reason;
  // the catalogue's pages.
  context = await browser.newContext(options);
  page = await context.newPage();
  await page.goto(issuerAdminLink);
  await page.fill('#password', input.password);
  await Promise.all([page.waitForURL(`${input.base}/console`), page.click('button.primary')]);
  await follow('a[href="/console/metro-lines"]');
  await audit('lines');
  await follow('a[href="/console/metro-lines/new"]');
  await audit('line-form');
  await page.fill('#name', 'Onderhoud basis');
  await page.fill('#new_map', 'Techniek');
  await page.fill('#cert_name', 'Deelcertificaat onderhoud');
  await page.fill('#cert_description', 'Basis onderhoud, eerste deel');
  await page.fill(`input[name="station-${input.module}"]`, '1');
  await page.fill(`input[name="station-${input.module2}"]`, '2');
  await page.check('#kind-at-least');
  await page.fill('#n', '2');
  await Promise.all([page.waitForURL(/\/console\/metro-lines\/.+/), page.click('form button.primary')]);
  report.line_url = page.url();
  await audit('line-edit');
  await shoot('line');
  await follow('a[href="/console/metro-maps"]');
  await audit('maps');
  await follow('.map-entry h2 a');
  await audit('map');
  await page.goto(`${input.base}/console/nanomodules/${input.module}`);
  await audit('nanomodule');
  await page.goto(`${input.base}/console/settings`);
  await audit('settings');
  await follow('.keys form button');
  report.compromise_page = await page.textContent('h1');
  await audit('compromise-confirm');
  await page.goto(`${input.base}/console/skills`);
  await audit('skills');
  await page.goto(`${input.base}/console/groups/new`);
  await page.fill('#name', 'Groep Hengelo');
  await page.fill('#participants', 'Ann de Vries\tann@example.nl\tFirma BV\nBob Bakker\tbob@example.nl\tBouw BV');
  await Promise.all([page.waitForURL(/\/console\/groups\/.+/), page.click('form button.primary')]);
  await audit('group');
  await shoot('group');
  await page.goto(`${input.base}/console/credentials`);
  await audit('credentials');
  const picks = await page.$$('input[name="ids"]');
  report.credentials_listed = picks.length;
  await picks[0].check();
  await page.fill('#bulk-reason', 'Not present at the session');
  await follow('fieldset button.primary');
  report.credential_standings = await page.$$eval('.found .standing', s => s.map(x => x.textContent));
  await follow('.found a[href^="/console/credentials/"]');
  await audit('credential-history');
  await page.goto(`${input.base}/console/groups`);
  await audit('groups');
  await context.close();

  // The auditor: the trail, filtered; the chain verified; the export downloaded.
  context = await browser.newContext(options);
  page = await context.newPage();
  await page.goto(auditorLink);
  await page.fill('#password', input.password);
  await Promise.all([page.waitForURL(`${input.base}/console`), page.click('button.primary')]);
  await follow('a[href="/console/audit"]');
  await audit('audit');
  await shoot('audit');
  await page.fill('#action', 'credential.');
  await follow('.filters button');
  report.audit_actions = await page.$$eval('.event-action', s => s.map(x => x.textContent));
  await page.click('.events details summary');
  await audit('audit-filtered');
  await follow('a[href="/console/audit/verify"]');
  report.chain_result = await page.textContent('#chain-result');
  await audit('audit-verify');
  await page.goto(`${input.base}/console/audit`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('a[href="/console/audit/export.csv"]')]);
  report.export_name = download.suggestedFilename();
  report.export_csv = readFileSync(await download.path(), 'utf8');
  await page.goto(`${input.base}/console/reports?group=nanomodule`);
  await audit('reports');
  await shoot('reports');
  await page.goto(`${input.base}/console/learners?identity=bob@example.nl`);
  await audit('learner');
  await page.goto(`${input.base}/console/account`);
  await audit('account');
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
