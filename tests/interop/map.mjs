// Loads a metro map SVG in Debian's headless Chromium at 360 and 1280 px wide and prints the
// rendered boxes of every label, station and track segment (by id), for the Rust test to check
// that none overlaps another. Usage: node map.mjs URL — prints JSON {"360": [...], "1280": [...]}.
import {chromium} from 'playwright-core';

const url = process.argv[2];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const out = {};
try {
  for (const width of [360, 1280]) {
    const page = await browser.newPage({viewport: {width, height: 900}});
    await page.goto(url);
    out[width] = await page.evaluate(() => [...document.querySelectorAll('.label, .station, .track')].map(e => {
      const r = e.getBoundingClientRect();
      return {id: e.id, x: r.x, y: r.y, w: r.width, h: r.height};
    }));
    out[`${width}_fits`] = await page.evaluate(() => document.documentElement.getBoundingClientRect().width <= window.innerWidth + 1);
    await page.screenshot({path: `${process.env.ARTIFACTS}/metro-map-${width}.png`});
    await page.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
