import { test, expect, Page, Response, BrowserContext } from "@playwright/test";
import { logInAs, hydrated, SearchPage } from "./support";

// Bytes on the wire, as the browser counts them (operations.md): a first and a repeat visit
// to /login, /search and a card profile. `make wire` prints the same table (WIRE_REPORT);
// BENCHMARKS.md has the figures.

type Visit = { page: string; visit: string; bytes: number; wasm: number; js: number; css: number; html: number; other: number; downloaded: string[] };

function watch(page: Page): Response[] {
  const seen: Response[] = [];
  page.on("response", (response) => seen.push(response));
  return seen;
}

function kindOf(path: string, contentType: string): "wasm" | "js" | "css" | "html" | "other" {
  if (path.endsWith(".wasm")) return "wasm";
  if (path.endsWith(".js")) return "js";
  if (path.endsWith(".css")) return "css";
  if (contentType.startsWith("text/html")) return "html";
  return "other";
}

/** What the responses so far cost on the wire: headers and (encoded) bodies. */
async function count(page: string, visit: string, responses: Response[]): Promise<Visit> {
  const out: Visit = { page, visit, bytes: 0, wasm: 0, js: 0, css: 0, html: 0, other: 0, downloaded: [] };
  for (const response of responses) {
    const path = new URL(response.url()).pathname;
    // The live stream never ends; its few bytes are not the page's.
    if (path === "/events") continue;
    const sizes = await response.request().sizes();
    const bytes = sizes.responseBodySize + sizes.responseHeadersSize;
    const kind = kindOf(path, (await response.allHeaders())["content-type"] ?? "");
    out[kind] += bytes;
    out.bytes += bytes;
    if (sizes.responseBodySize > 0 && kind !== "html" && kind !== "other") out.downloaded.push(path);
  }
  return out;
}

async function forgetCache(context: BrowserContext, page: Page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.clearBrowserCache");
  await cdp.detach();
}

async function visitTwice(context: BrowserContext, name: string, path: string, ready: (page: Page) => Promise<void>): Promise<Visit[]> {
  const visits: Visit[] = [];
  for (const visit of ["first", "repeat"]) {
    const page = await context.newPage();
    if (visit === "first") await forgetCache(context, page);
    const responses = watch(page);
    await page.goto(path);
    await hydrated(page);
    await ready(page);
    // Anything the page fetches once it runs (server functions, lazy chunks).
    await page.waitForTimeout(300);
    visits.push(await count(name, visit, responses));
    await page.close();
  }
  return visits;
}

test("a first visit to /search stays within 350 KB, and a repeat visit downloads no WASM, JS or CSS", async ({ browser }) => {
  const context = await browser.newContext();
  const visits: Visit[] = [];
  visits.push(...(await visitTwice(context, "/login", "/login", async (page) => {
    await expect(page.getByRole("button", { name: "Log in", exact: true })).toBeVisible();
  })));
  const login = await context.newPage();
  await logInAs(login, "operator");
  const search = new SearchPage(login);
  await search.search({ status: "Ordered" });
  const cardId = ((await search.rows().first().getByRole("link").textContent()) ?? "").trim();
  await login.close();
  visits.push(...(await visitTwice(context, "/search", "/search", async (page) => {
    await expect(page.getByRole("button", { name: "Search", exact: true })).toBeVisible();
  })));
  visits.push(...(await visitTwice(context, "card profile", `/cards/${cardId}`, async (page) => {
    await expect(page.getByRole("heading", { name: `Card ${cardId}` })).toBeVisible();
  })));
  await context.close();

  const kb = (n: number) => (n / 1024).toFixed(1);
  const table = visits.map((v) => `${v.page.padEnd(13)} ${v.visit.padEnd(7)} ${kb(v.bytes).padStart(7)} KB  (wasm ${kb(v.wasm)}, js ${kb(v.js)}, css ${kb(v.css)}, html ${kb(v.html)}, other ${kb(v.other)})`);
  console.log(["bytes on the wire, as the browser counts them:", ...table].join("\n"));
  if (process.env.WIRE_REPORT) require("fs").writeFileSync(process.env.WIRE_REPORT, JSON.stringify(visits, null, 2));

  for (const v of visits.filter((v) => v.visit === "repeat")) {
    expect(v.downloaded, `${v.page}: a repeat visit downloads no WASM, JS or CSS`).toEqual([]);
  }
  const firstSearch = visits.find((v) => v.page === "/search" && v.visit === "first")!;
  expect(firstSearch.wasm, "the WASM came compressed").toBeLessThan(400 * 1024);
  expect(firstSearch.bytes, "a first visit to /search, in all").toBeLessThanOrEqual(350 * 1024);
});
