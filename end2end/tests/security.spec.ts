import { test, expect, Browser, Response } from "@playwright/test";
import { hydrated, logInAs } from "./support";

// The GO Cards client secret an admin stores and the webhook key the server is started with
// (scripts/start-app.sh) never reach the browser: not in any page, script, WASM, style sheet
// or server-function reply the browser receives while operators and admins use the app.

const WEBHOOK_SECRET = "e2e-webhook-secret-5d1c9b7a40-7f3e2a91";
const CLIENT_SECRET = "e2e-stored-client-secret-91ab3f";

async function recordResponses(browser: Browser, who: "admin" | "operator", paths: string[]) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const seen: { url: string; body: Buffer }[] = [];
  const pending: Promise<void>[] = [];
  page.on("response", (response: Response) => {
    // The live stream never ends; its events are cards' states, checked in live.spec.ts.
    if (new URL(response.url()).pathname === "/events") return;
    pending.push(
      response
        .body()
        .then((body) => {
          seen.push({ url: response.url(), body });
        })
        .catch(() => undefined), // redirects have no body
    );
  });
  await logInAs(page, who);
  for (const path of paths) {
    await page.goto(path);
    await hydrated(page);
    // Not "networkidle": the page's live stream stays open. The top bar says Live once the
    // page is hydrated and its stream is up; the page's own calls are done by then or soon.
    await expect(page.getByRole("banner").getByRole("status")).toHaveText("Live");
    await page.waitForTimeout(300);
  }
  await Promise.all(pending);
  await context.close();
  return seen;
}

test("secrets never reach the browser: pages, scripts, WASM, server-function replies", async ({ browser, page, request }) => {
  // The admin stores a client secret (no base URL: the demo simulator stays in use).
  await logInAs(page, "admin");
  await page.goto("/admin/gocards");
  await hydrated(page);
  await page.getByLabel("Client secret", { exact: true }).fill(CLIENT_SECRET);
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByTestId("save-result")).toContainText("Saved.");

  await page.goto("/search?status=ordered");
  const cardHref = await page.locator("table tbody tr a").first().getAttribute("href");
  expect(cardHref).toMatch(/^\/cards\//);
  const adminSeen = await recordResponses(browser, "admin", [
    "/search?status=ordered",
    cardHref ?? "/search",
    "/admin/cards",
    "/admin/gocards",
    "/admin/sync",
    "/admin/users",
    "/admin/accounts",
    "/admin/audit",
  ]);
  const operatorSeen = await recordResponses(browser, "operator", ["/search?status=in_production", cardHref ?? "/search"]);
  const assets = [];
  // The names carry content hashes: read them from the page.
  const html = await (await request.get("/login")).text();
  const named = [...new Set(html.match(/\/pkg\/carddesk[^"' ]*\.(wasm|js|css)/g) ?? [])];
  expect(named.length, `the page names its WASM, JS and CSS: ${named}`).toBeGreaterThanOrEqual(3);
  for (const asset of named) {
    const res = await request.get(asset);
    expect(res.ok(), asset).toBeTruthy();
    assets.push({ url: asset, body: await res.body() });
  }
  const all = [...adminSeen, ...operatorSeen, ...assets];
  const urls = all.map((s) => new URL(s.url, "http://x").pathname);
  // What was checked covers pages, the WASM and server-function replies.
  expect(urls.some((u) => /^\/pkg\/carddesk\.[^/]*\.wasm$/.test(u)), "the WASM").toBeTruthy();
  expect(urls).toContain("/admin/gocards");
  expect(urls.some((u) => u.startsWith("/api/"))).toBeTruthy();
  for (const { url, body } of all) {
    for (const secret of [CLIENT_SECRET, WEBHOOK_SECRET]) {
      expect(body.includes(secret), `${secret} in ${url}`).toBeFalsy();
    }
  }
});
