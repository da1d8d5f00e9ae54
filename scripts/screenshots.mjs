#!/usr/bin/env node
// `npm run screenshots`: the overview page (/) of a fresh demo in every scenario, as a newcomer's
// first screen shows it (1280x800, headless Debian chromium), written to docs/screenshots/ as
// small PNGs linked from the README. Runs the built code (npm run build first).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';
import { toPalettePng } from './png-palette.mjs';

const root = fileURLToPath(new URL('../', import.meta.url));
const { startShowcase } = await import(
  new URL('../dist/src/demo/showcase.js', import.meta.url).href
);
const { SCENARIOS } = await import(new URL('../dist/src/simulator/index.js', import.meta.url).href);
const version = JSON.parse(readFileSync(`${root}package.json`, 'utf8')).version;
const only = process.argv.slice(2);
const out = `${root}docs/screenshots`;
mkdirSync(out, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
try {
  for (const scenario of SCENARIOS) {
    if (only.length > 0 && !only.includes(scenario)) continue;
    const show = await startShowcase({ scenario, requests: 300, version });
    try {
      // Sparklines want a few samples of the scenario.
      await sleep(8_000);
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await page.goto(`${show.admin}/`);
      const file = `${out}/overview-${scenario}.png`;
      const shot = await page.screenshot({ clip: { x: 0, y: 0, width: 1280, height: 800 } });
      // Indexed colours: about a third of the size, no visible difference on this page.
      writeFileSync(file, toPalettePng(shot));
      await page.close();
      process.stdout.write(`wrote ${file}\n`);
    } finally {
      await show.stop();
    }
  }
} finally {
  await browser.close();
}
