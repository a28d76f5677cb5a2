// Browser test of the dashboard: starts `critmin serve` on a free loopback port, drives Debian's
// Chromium headless through playwright-core, runs two example scenarios as jobs and a compare of
// two example scenarios from the page, and checks that every chart drew something and that the
// figures the page shows are those of the JSON API. Screenshots are kept as test artefacts.
//
//   node tests/browser/dashboard_test.mjs --critmin build/critmin --scenarios scenarios \
//     --artifacts build/test-artifacts/browser [--chromium /usr/bin/chromium]
//
// Exits 0 when every check passed, 1 otherwise (each failure printed).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  if (at >= 0 && at + 1 < process.argv.length) return process.argv[at + 1];
  if (fallback === undefined) {
    console.error(`dashboard_test: ${name} is required`);
    process.exit(2);
  }
  return fallback;
}

const critmin = option('--critmin');
const scenariosDir = option('--scenarios');
const artifacts = option('--artifacts');
const chromiumPath = option('--chromium', '/usr/bin/chromium');
const jobFiles = ['sim-gallium-ban-stockpile.toml', 'baseline.toml'];
// The compare: two small example scenarios (one material, six years), 4 ensemble runs each.
const compareFiles = ['sim-gallium-ban.toml', 'sim-gallium-ban-stockpile.toml'];
const compareRuns = 4;
mkdirSync(artifacts, { recursive: true });

const failures = [];
function check(condition, message) {
  if (!condition) {
    failures.push(message);
    console.error(`FAIL: ${message}`);
  }
}

// Starts the server and resolves with its base URL once it printed the port.
function startServer(marketDir) {
  return new Promise((resolve, reject) => {
    const child = spawn(critmin, ['serve', '--port', '0', '--db', marketDir, '--scenarios', scenariosDir],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`critmin serve did not start: ${err}`)), 60000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = out.match(/listening on (http:\/\/[0-9.]+:\d+)/);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1] });
      }
    });
    child.stderr.on('data', (chunk) => { err += chunk; });
    child.on('exit', (code) => reject(new Error(`critmin serve exited with ${code}: ${err}`)));
  });
}

// Runs the CLI and resolves with its stdout (rejects on a non-zero exit).
function runCritmin(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(critmin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => { out += chunk; });
    child.stderr.on('data', (chunk) => { err += chunk; });
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`critmin ${args.join(' ')}: ${err}`))));
  });
}

async function api(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

// Per canvas of the container: its id and how many pixels are not transparent.
async function canvasInk(page, selector) {
  return page.$$eval(`${selector} canvas`, (canvases) => canvases.map((canvas) => {
    const { width, height } = canvas;
    const data = canvas.getContext('2d').getImageData(0, 0, width, height).data;
    let ink = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) ink += 1;
    return { id: canvas.id, width, height, ink };
  }));
}

const work = mkdtempSync(join(tmpdir(), 'critmin_browser_'));
let server = null;
let browser = null;
try {
  server = await startServer(join(work, 'market'));
  browser = await chromium.launch({ executablePath: chromiumPath, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(server.url + '/');
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30000 });

  // The dataset view shows the rows the API gives for the same filters.
  await page.waitForSelector('#assess-rows tbody tr', { timeout: 30000 });
  const shownRows = await page.$$eval('#assess-rows tbody tr', (rows) => rows.length);
  const apiRows = await api(server.url + '/api/v1/assess?stage=both&bloc=club&breaches_only=false');
  check(shownRows === apiRows.length, `assess table shows ${shownRows} rows, the API ${apiRows.length}`);
  await page.screenshot({ path: join(artifacts, 'dashboard-dataset.png') });

  // The dependency view of a picked region shows, per material, what `critmin assess --region
  // NLD --format json` gives: values in EUR and USD, China's share (always among the partners),
  // the shared-basket flag; its total counts each shared basket once.
  await page.click('nav.tabs button[data-panel="panel-dependency"]');
  await page.fill('#dependency-region', 'EU27');
  await page.click('#dependency-run');
  await page.waitForSelector('#dependency-rows[data-region="EU27"] tbody tr', { timeout: 30000 });
  await page.fill('#dependency-region', 'nld');
  await page.click('#dependency-run');
  await page.waitForSelector('#dependency-rows[data-region="NLD"] tbody tr', { timeout: 30000 });
  const shownDependency = await page.$$eval('#dependency-rows tbody tr', (trs) => trs.map((tr) => ({
    key: tr.dataset.material + '/' + tr.dataset.stage, eur: tr.dataset.valueEur, usd: tr.dataset.valueUsd,
    china: tr.dataset.chinaShare, basket: tr.dataset.sharedBasket,
    partners: tr.querySelector('td.partners').textContent })));
  const cliRows = JSON.parse(await runCritmin(['assess', '--region', 'NLD', '--format', 'json']))
    .filter((r) => r.imports.NLD);
  check(shownDependency.length === cliRows.length && cliRows.length > 0,
    `dependency: ${shownDependency.length} rows shown, the CLI has ${cliRows.length} with NLD imports`);
  let naiveEur = 0;
  let sharedRows = 0;
  for (const r of cliRows) {
    const nl = r.imports.NLD;
    naiveEur += nl.value_eur;
    if (nl.shared_basket) sharedRows += 1;
    const shown = shownDependency.find((s) => s.key === r.material + '/' + r.stage);
    check(shown && shown.eur === String(nl.value_eur) && shown.usd === String(nl.value_usd) &&
      shown.china === String(nl.china_share) && shown.basket === String(nl.shared_basket),
      `dependency: ${r.material} ${r.stage} shows ${JSON.stringify(shown)}, the CLI ${JSON.stringify(nl)}`);
    check(shown && shown.partners.includes('CHN ') &&
      nl.main_partners.every((p) => shown.partners.includes(p.iso3 + ' ')),
      `dependency: ${r.material} ${r.stage} lists partners "${shown && shown.partners}"`);
  }
  const total = await page.$eval('#dependency-total', (tr) => ({ eur: Number(tr.dataset.valueEur),
    usd: Number(tr.dataset.valueUsd) }));
  const apiTotal = (await api(server.url + '/api/v1/dependency?region=NLD')).total;
  check(total.eur === apiTotal.value_eur && total.usd === apiTotal.value_usd,
    `dependency: the total shown ${JSON.stringify(total)} is the API's ${JSON.stringify(apiTotal)}`);
  check(sharedRows > 1 && total.eur < naiveEur - 1,
    `dependency: the total (${total.eur} EUR) counts the shared baskets of ${sharedRows} rows once ` +
    `(the rows sum to ${naiveEur} EUR)`);
  await page.screenshot({ path: join(artifacts, 'dashboard-dependency.png'), fullPage: true });

  // A scenario with a mistake is refused with the reader's message, and nothing runs.
  await page.click('nav.tabs button[data-panel="panel-scenarios"]');
  await page.fill('#scenario-text', '[scenario]\nyears = [2030, 2025]\nseed = 1\nmaterials = ["gallium"]\n');
  await page.fill('#scenario-name', 'broken.toml');
  await page.click('#run-job');
  await page.waitForFunction(() => document.getElementById('scenario-error').textContent.length > 0);
  const error = await page.textContent('#scenario-error');
  check(error.includes('broken.toml:2:years'), `the scenario error names file:line:key: ${error}`);
  await page.screenshot({ path: join(artifacts, 'dashboard-scenario-error.png') });

  // Run the two example scenarios from the page.
  for (const file of jobFiles) {
    await page.selectOption('#scenario-select', file);
    await page.click('#run-job');
  }
  await page.click('nav.tabs button[data-panel="panel-jobs"]');
  await page.waitForFunction((count) => {
    const rows = document.querySelectorAll('#jobs tbody tr');
    return rows.length === count &&
      [...rows].every((r) => r.dataset.status === 'done' || r.dataset.status === 'failed');
  }, jobFiles.length, { timeout: 240000, polling: 250 });
  await page.screenshot({ path: join(artifacts, 'dashboard-jobs.png') });
  const jobs = await api(server.url + '/api/v1/jobs');
  check(jobs.length === jobFiles.length, `${jobs.length} jobs listed, ${jobFiles.length} submitted`);

  for (const job of jobs) {
    check(job.status === 'done', `job ${job.id} (${job.name}) is ${job.status}: ${job.error || ''}`);
    if (job.status !== 'done') continue;
    await page.click('nav.tabs button[data-panel="panel-jobs"]');
    await page.click(`#jobs button.view-job[data-job-id="${job.id}"]`);
    await page.waitForFunction((id) => {
      const r = document.getElementById('results-report');
      return r.dataset.jobId === String(id) && r.querySelectorAll('canvas').length > 0;
    }, job.id, { timeout: 30000 });

    // Every chart drew: each canvas has a size and ink.
    const model = await api(server.url + job.results.report);
    const canvases = await canvasInk(page, '#results-report');
    const expectedCharts = model.materials.reduce((n, m) => n + 3 + m.production.length, 0) +
      (model.assess.rows.length ? 1 : 0);
    check(canvases.length === expectedCharts,
      `job ${job.id}: ${canvases.length} charts drawn, ${expectedCharts} expected`);
    for (const c of canvases) {
      check(c.width > 0 && c.height > 0 && c.ink > 1000, `job ${job.id}: chart ${c.id} is empty (${JSON.stringify(c)})`);
    }

    // The scorecards shown are the API's, figure by figure.
    const cards = await page.$$eval('#results-report .card', (nodes) => nodes.map((n) => ({
      key: n.dataset.key, value: Number(n.dataset.value),
      label: n.querySelector('h4').textContent, unit: n.dataset.unit,
      figure: n.querySelector('.figure').textContent, words: n.querySelector('.words').textContent })));
    // Cards carry the output table's labels and units (data/outputs/figures.csv), never field
    // names ("Club investment usd") or a currency guessed from a name ("Usd per eur 1.082 EUR").
    for (const c of cards) {
      check(!/_|\busd\b|\beur\b/.test(c.label), `job ${job.id}: card ${c.key} is labelled "${c.label}"`);
      check(!/e[+-]\d/.test(c.figure), `job ${job.id}: card ${c.key} shows "${c.figure}" in scientific notation`);
    }
    const rate = cards.find((c) => c.key === 'dutch_business.usd_per_eur');
    check(rate && rate.label === 'Exchange rate' && rate.unit === 'USD/EUR' && rate.figure.endsWith(' USD/EUR'),
      `job ${job.id}: the exchange-rate card reads "${rate && rate.label}: ${rate && rate.figure}"`);
    const investment = cards.find((c) => c.key === 'dutch_business.club_investment_usd');
    check(investment && investment.label === 'Investment attracted inside the club' && investment.unit === 'USD',
      `job ${job.id}: the club-investment card reads "${investment && investment.label}"`);
    check(cards.length === model.scorecards.length,
      `job ${job.id}: ${cards.length} scorecards shown, ${model.scorecards.length} in the API`);
    check(cards.length > 0, `job ${job.id}: no scorecard shown`);
    for (const expected of model.scorecards) {
      const shown = cards.find((c) => c.key === expected.key);
      check(shown !== undefined, `job ${job.id}: scorecard ${expected.key} is not shown`);
      if (!shown) continue;
      check(shown.figure === expected.display, `job ${job.id}: ${expected.key} shows ${shown.figure}, the API ${expected.display}`);
      check(shown.words === expected.text, `job ${job.id}: ${expected.key} says "${shown.words}", the API "${expected.text}"`);
      check(shown.value === expected.value, `job ${job.id}: ${expected.key} holds ${shown.value}, the API ${expected.value}`);
    }
    // The summary behind the report is the JSON the API serves for download.
    const summary = await api(server.url + job.results.summary);
    const fiscal = model.scorecards.find((c) => c.key === 'dutch_business.fiscal_cost_usd_total');
    check(fiscal && fiscal.value === summary.scorecard.dutch_business.fiscal_cost_usd_total,
      `job ${job.id}: the fiscal cost of the report is the summary's`);
    await page.screenshot({ path: join(artifacts, `dashboard-job-${job.id}-report.png`), fullPage: true });
  }
  // A compare of two example scenarios with a small ensemble per design, from the page.
  await page.click('nav.tabs button[data-panel="panel-scenarios"]');
  await page.check(`#compare-designs input[value="${compareFiles[0]}"]`);
  await page.click('#run-compare');  // one design only: refused with the API's message
  await page.waitForFunction(() => document.getElementById('compare-error').textContent.length > 0);
  const compareError = await page.textContent('#compare-error');
  check(compareError.includes('needs 2 to'), `a one-design compare is refused with a message: ${compareError}`);
  await page.check(`#compare-designs input[value="${compareFiles[1]}"]`);
  await page.fill('#compare-runs', String(compareRuns));
  await page.click('#run-compare');
  await page.click('nav.tabs button[data-panel="panel-jobs"]');
  await page.waitForFunction(() => [...document.querySelectorAll('#jobs tbody tr')].some((r) =>
    r.querySelector('td.kind').textContent === 'compare' &&
    (r.dataset.status === 'done' || r.dataset.status === 'failed')), null, { timeout: 120000, polling: 250 });
  const compareJob = (await api(server.url + '/api/v1/jobs')).find((j) => j.kind === 'compare');
  check(compareJob && compareJob.status === 'done', `the compare job is done: ${JSON.stringify(compareJob)}`);
  if (compareJob && compareJob.status === 'done') {
    check(compareJob.progress.runs_done === 2 * compareRuns && compareJob.progress.years_done === compareJob.progress.years_total,
      `the compare job's progress is complete: ${JSON.stringify(compareJob.progress)}`);
    await page.click(`#jobs button.view-job[data-job-id="${compareJob.id}"]`);
    await page.waitForFunction((id) => {
      const r = document.getElementById('results-report');
      return r.dataset.jobId === String(id) && r.querySelector('#compare-scorecards') !== null &&
        r.querySelectorAll('canvas').length > 0;
    }, compareJob.id, { timeout: 30000 });
    const model = await api(server.url + compareJob.results.report);
    check(model.kind === 'compare' && model.designs.length === 2, `the compare model has two designs`);
    check(model.runs === compareRuns, `the compare model ran ${model.runs} runs per design, ${compareRuns} asked`);

    // Every chart drew: headline groups (and their bands) and three paths per material.
    const canvases = await canvasInk(page, '#results-report');
    const expectedCharts = model.headline.reduce((n, g) => n + (g.bands ? 2 : 1), 0) + 3 * model.materials.length;
    check(canvases.length === expectedCharts, `compare: ${canvases.length} charts drawn, ${expectedCharts} expected`);
    for (const c of canvases) {
      check(c.width > 0 && c.height > 0 && c.ink > 1000, `compare: chart ${c.id} is empty (${JSON.stringify(c)})`);
    }

    // The verdict leads: the report's first section, on the first screen, with the API's figures.
    const verdict = await page.$eval('#results-report', (report) => {
      const section = report.querySelector('section');
      const table = report.querySelector('#compare-verdict table');
      if (!section || !table) return null;
      window.scrollTo(0, 0);
      section.scrollIntoView();
      const box = table.getBoundingClientRect();
      return {
        first: section.id,
        top: box.top, bottom: box.bottom, screen: window.innerHeight,
        rows: [...table.querySelectorAll('tr[data-key]')].map((tr) => ({
          key: tr.dataset.key,
          values: [...tr.querySelectorAll('td[data-design]')].map((td) => td.dataset.value),
          shown: [...tr.querySelectorAll('td[data-design] .verdict-value')].map((s) => s.textContent) })),
      };
    });
    check(verdict !== null && verdict.first === 'compare-verdict',
      `compare: the verdict is the report's first section (${verdict && verdict.first})`);
    if (verdict) {
      check(verdict.top >= 0 && verdict.bottom <= verdict.screen,
        `compare: the verdict table fits the first screen (${verdict.top}-${verdict.bottom} of ${verdict.screen} px)`);
      check(verdict.rows.length === model.verdict.length && verdict.rows.length >= 5,
        `compare: ${verdict.rows.length} verdict rows shown, ${model.verdict.length} in the API`);
      for (const row of model.verdict) {
        const shown = verdict.rows.find((r) => r.key === row.key);
        check(shown && JSON.stringify(shown.values) === JSON.stringify(row.values.map((v) => v === null ? '' : String(v))) &&
          JSON.stringify(shown.shown) === JSON.stringify(row.displays),
          `compare: verdict ${row.key} shows ${JSON.stringify(shown)}, the API ${JSON.stringify(row.displays)}`);
      }
    }

    // The figures side by side are the API's, line by line and design by design.
    const rows = await page.$$eval('#compare-scorecards tr[data-key]', (trs) => trs.map((tr) => ({
      key: tr.dataset.key,
      values: [...tr.querySelectorAll('td.compare-value')].map((td) => ({ value: td.dataset.value, text: td.textContent })),
      differences: [...tr.querySelectorAll('td.compare-difference')].map((td) => td.dataset.value),
      words: tr.querySelector('td.words').textContent })));
    check(rows.length === model.scorecards.length && rows.length > 0,
      `compare: ${rows.length} lines shown, ${model.scorecards.length} in the API`);
    for (const line of model.scorecards) {
      const shown = rows.find((r) => r.key === line.key);
      check(shown !== undefined, `compare: line ${line.key} is not shown`);
      if (!shown) continue;
      line.values.forEach((value, i) => {
        const cell = shown.values[i];
        check(cell && cell.value === (value === null ? '' : String(value)),
          `compare: ${line.key} design ${i} holds ${cell && cell.value}, the API ${value}`);
        check(cell && cell.text === line.displays[i],
          `compare: ${line.key} design ${i} shows ${cell && cell.text}, the API ${line.displays[i]}`);
      });
      const difference = line.differences[1];
      check(shown.differences[0] === (difference === null ? '' : String(difference)),
        `compare: ${line.key} difference ${shown.differences[0]}, the API ${difference}`);
      check(shown.words === line.sentences.slice(1).join(' '), `compare: ${line.key} says "${shown.words}"`);
    }
    // The downloads: compare.json names the designs, the workbook is a zip, the CSV has units.
    const comparison = await api(server.url + compareJob.results.summary);
    check(JSON.stringify(comparison.designs) === JSON.stringify(model.designs.map((d) => d.name)),
      `compare.json names the designs of the report`);
    const xlsx = Buffer.from(await (await fetch(server.url + compareJob.results.xlsx)).arrayBuffer());
    check(xlsx.subarray(0, 2).toString() === 'PK', 'the compare workbook is an XLSX (zip) file');
    const paths = await (await fetch(server.url + `/api/v1/jobs/${compareJob.id}/paths.csv`)).text();
    check(paths.split('\n')[0].includes('world price [USD/t]'), `paths.csv has units in its header: ${paths.split('\n')[0]}`);
    await page.screenshot({ path: join(artifacts, 'dashboard-compare-report.png'), fullPage: true });
  }
  check(pageErrors.length === 0, `script errors on the page: ${pageErrors.join('; ')}`);
} catch (e) {
  failures.push(e.message);
  console.error(`FAIL: ${e.stack || e.message}`);
} finally {
  if (browser) await browser.close();
  if (server) server.child.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}

if (failures.length) {
  console.error(`dashboard_test: ${failures.length} check(s) failed; screenshots in ${artifacts}`);
  process.exit(1);
}
console.log(`dashboard_test: all checks passed; screenshots in ${artifacts}`);
process.exit(0);
