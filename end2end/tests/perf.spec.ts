import { test, expect, Browser, Page } from "@playwright/test";
import fs from "node:fs";
import path from "node:path";
import { USERS, hydrated, logInAs } from "./support";

// Front-end timings in headless Chromium, from the page's own performance timeline:
// - ttfb: the document's first byte (navigation timing `responseStart`);
// - hydrateStart: the WASM is fetched, compiled and started (mark `carddesk:hydrate-start`);
// - hydrated: the page is hydrated and its handlers are live (mark `carddesk:hydrated`,
//   set by the app's first effect, the same moment `body[data-hydrated]` appears).
// All in ms since the navigation started. "cold" is a new browser context each time (empty
// HTTP cache); "warm" reloads the page, as an operator moving between pages does.
//
// `make test` runs this with PERF_RUNS=3 and checks the marks exist and come in order; the
// figures in BENCHMARKS.md come from `make bench-frontend` (PERF_RUNS=30), which writes
// end2end/test-results/perf.json and prints the table.

const RUNS = Number(process.env.PERF_RUNS ?? "3");

type Sample = { ttfb: number; hydrateStart: number; hydrated: number };

async function sample(page: Page): Promise<Sample> {
  await hydrated(page);
  return page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
    const mark = (name: string) => performance.getEntriesByName(name)[0]?.startTime ?? NaN;
    return {
      ttfb: nav.responseStart,
      hydrateStart: mark("carddesk:hydrate-start"),
      hydrated: mark("carddesk:hydrated"),
    };
  });
}

async function storageFor(browser: Browser, who: keyof typeof USERS | null) {
  const context = await browser.newContext();
  if (who) await logInAs(await context.newPage(), who);
  const state = await context.storageState();
  await context.close();
  return state;
}

function percentile(values: number[], q: number) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.round((sorted.length - 1) * q))];
}

test("pages hydrate, and how long it takes", async ({ browser }) => {
  test.setTimeout(60_000 + RUNS * 8_000);
  const operator = await storageFor(browser, "operator");
  const admin = await storageFor(browser, "admin");
  const anonymous = await storageFor(browser, null);

  // A card to open: the first result of the operator's usual search.
  const probe = await browser.newContext({ storageState: operator });
  const probePage = await probe.newPage();
  await probePage.goto("/search?status=ordered");
  const href = await probePage.locator("table tbody tr a").first().getAttribute("href");
  await probe.close();
  expect(href).toMatch(/^\/cards\//);

  const pages: [string, string, typeof operator][] = [
    ["log-in", "/login", anonymous],
    ["search", "/search?status=ordered", operator],
    ["card profile", href ?? "/search", operator],
    ["settings", "/admin/cards", admin],
  ];
  const results: Record<string, Record<string, Sample[]>> = {};
  for (const [name, url, storageState] of pages) {
    results[name] = { cold: [], warm: [] };
    for (let i = 0; i < RUNS; i++) {
      const context = await browser.newContext({ storageState });
      const page = await context.newPage();
      await page.goto(url);
      results[name].cold.push(await sample(page));
      await page.reload();
      results[name].warm.push(await sample(page));
      await context.close();
    }
  }

  const lines = ["page          load  ttfb p50  hydrate-start p50  hydrated p50 / p95 / max (ms)"];
  for (const [name, runs] of Object.entries(results)) {
    for (const [load, samples] of Object.entries(runs)) {
      for (const s of samples) {
        expect(s.hydrateStart, `${name} ${load}: the WASM started`).toBeGreaterThan(0);
        expect(s.hydrated, `${name} ${load}: hydrated after it started`).toBeGreaterThanOrEqual(s.hydrateStart);
        expect(s.hydrateStart).toBeGreaterThanOrEqual(s.ttfb);
      }
      const of = (k: keyof Sample) => samples.map((s) => s[k]);
      const f = (n: number) => n.toFixed(1).padStart(7);
      lines.push(
        `${name.padEnd(13)} ${load.padEnd(5)} ${f(percentile(of("ttfb"), 0.5))}  ${f(percentile(of("hydrateStart"), 0.5))}` +
          `            ${f(percentile(of("hydrated"), 0.5))} / ${f(percentile(of("hydrated"), 0.95))} / ${f(Math.max(...of("hydrated")))}`,
      );
    }
  }
  console.log(`front-end timings, ${RUNS} run(s) per page:\n${lines.join("\n")}`);
  const out = path.resolve(__dirname, "../test-results");
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, "perf.json"), JSON.stringify({ runs: RUNS, results }, null, 2));
});
