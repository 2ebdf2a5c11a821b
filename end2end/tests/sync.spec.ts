import { test, expect, Page } from "@playwright/test";
import { logInAs, SearchPage, simStatus, simFault, hydrated } from "./support";

// Scheduled jobs > GO Cards batch sync: an admin runs it now, watches the progress bar and
// reads the final counts; an operator's search then shows the new statuses.

async function orderedIds(page: Page, count: number): Promise<string[]> {
  const search = new SearchPage(page);
  await search.search({ status: "Ordered" });
  await expect
    .poll(async () => new Set(await search.statusCells().allTextContents()))
    .toEqual(new Set(["Ordered"]));
  const ids: string[] = [];
  for (let n = 0; n < count; n++) {
    ids.push(((await search.rows().nth(n).getByRole("link").textContent()) ?? "").trim());
  }
  return ids;
}

// Whatever happens, GO Cards is fast again for the specs that follow.
test.afterEach(async ({ request }) => {
  await simFault(request, "none", null);
});

test("Run now shows live progress, then the counts; the operator sees the new statuses", async ({ browser, request }) => {
  const operator = await (await browser.newContext()).newPage();
  await logInAs(operator, "operator");
  const ids = await orderedIds(operator, 2);
  await simStatus(request, ids[0], "IN_PRODUCTION");
  await simStatus(request, ids[1], "FAILED", "Photo rejected");
  // Slow GO Cards down (1 s a call, under the app's 1.5 s timeout) so the run lasts long
  // enough to watch.
  await simFault(request, "latency", null, { latencyMs: 1000 });

  const admin = await (await browser.newContext()).newPage();
  await logInAs(admin, "admin");
  await admin.goto("/admin/sync");
  await hydrated(admin);
  await expect(admin.getByRole("heading", { name: "GO Cards batch sync" })).toBeVisible();
  await expect(admin.getByRole("link", { name: "GO Cards batch sync" })).toHaveAttribute("aria-current", "page");

  const runNow = admin.getByRole("button", { name: "Run now", exact: true });
  await runNow.click();
  await expect(admin.getByRole("progressbar", { name: "Sync progress" })).toBeVisible();
  await expect(runNow).toBeDisabled();
  await expect(admin.getByTestId("sync-status")).toHaveText(/Starting…|Running/);
  await admin.screenshot({ path: "../docs/screenshots/admin-sync-running.png" });

  await expect(admin.getByTestId("sync-status")).toHaveText("Idle", { timeout: 20_000 });
  await simFault(request, "none", null);
  await expect(admin.getByRole("progressbar", { name: "Sync progress" })).toBeHidden();
  await expect(admin.getByRole("heading", { name: "Last run (completed)" })).toBeVisible();
  await expect(admin.getByText("started by admin")).toBeVisible();
  for (const name of ["checked", "changed", "unchanged", "failed"]) {
    await expect(admin.getByTestId(`count-${name}`)).toHaveText(/^\d+$/);
  }
  expect(Number(await admin.getByTestId("count-changed").textContent())).toBeGreaterThanOrEqual(2);
  expect(Number(await admin.getByTestId("count-failed").textContent())).toBe(0);
  await admin.screenshot({ path: "../docs/screenshots/admin-sync.png", fullPage: true });

  // The operator's open search (Ordered) no longer lists the cards that moved on; their
  // profiles show the new statuses.
  await operator.reload();
  await hydrated(operator);
  await expect(operator.getByRole("link", { name: ids[0], exact: true })).toHaveCount(0);
  await expect(operator.getByRole("link", { name: ids[1], exact: true })).toHaveCount(0);
  await operator.goto(`/cards/${ids[0]}`);
  await hydrated(operator);
  await expect(operator.getByTestId("card-status")).toHaveText("In production");
  await operator.goto(`/cards/${ids[1]}`);
  await hydrated(operator);
  await expect(operator.getByTestId("card-status")).toHaveText("Failed");
  // Contexts made here are not closed by Playwright; their pages would keep their live
  // streams open, and keep reacting to events, through the rest of the suite.
  await operator.context().close();
  await admin.context().close();
});

test("operators cannot open the sync view", async ({ page }) => {
  await logInAs(page, "operator");
  await page.goto("/admin/sync");
  await expect(page.getByRole("heading", { name: "Not allowed" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Run now" })).toHaveCount(0);
});
