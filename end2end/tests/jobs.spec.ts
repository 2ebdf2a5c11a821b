import { test, expect, Page } from "@playwright/test";
import { readFileSync } from "node:fs";
import { logInAs, SearchPage, simFault, hydrated } from "./support";

/** Searches cards in `status` and waits until only such rows show. */
async function searchStatus(page: Page, status: string) {
  const search = new SearchPage(page);
  await search.search({ status });
  await expect
    .poll(async () => new Set(await search.statusCells().allTextContents()))
    .toEqual(new Set([status]));
  return search;
}

function toolbar(page: Page) {
  return page.getByRole("toolbar", { name: "Selection" });
}

test.beforeEach(async ({ page }) => {
  await logInAs(page, "operator");
});

test("a selection survives paging and sorting; a new search clears it", async ({ page }) => {
  const search = new SearchPage(page);
  await search.search({});
  const id = ((await search.rows().first().getByRole("link").textContent()) ?? "").trim();
  await page.getByRole("checkbox", { name: `Select ${id}` }).check();
  await expect(toolbar(page)).toContainText("1 selected");
  await page.getByRole("button", { name: "Next page", exact: true }).click();
  await expect(page).toHaveURL(/page=2/);
  await expect(toolbar(page)).toContainText("1 selected");
  await page.getByRole("button", { name: "Previous page", exact: true }).click();
  await expect(page.getByRole("checkbox", { name: `Select ${id}` })).toBeChecked();
  await page.getByRole("link", { name: "Holder" }).click();
  await expect(page).toHaveURL(/sort=holder/);
  await expect(toolbar(page)).toContainText("1 selected");
  // The whole page selected, with more pages: the whole search can be selected.
  await page.getByRole("checkbox", { name: "Select all on this page" }).check();
  await page.getByRole("button", { name: /^Select all \d+ matches$/ }).click();
  await expect(toolbar(page).getByRole("status")).toHaveText("200 selected");
  await toolbar(page).getByRole("button", { name: "Clear selection", exact: true }).click();
  await expect(toolbar(page).getByRole("status")).toHaveText("0 selected");
  await search.rows().first().getByRole("checkbox").check();
  await expect(toolbar(page).getByRole("status")).toHaveText("1 selected");
  await search.search({ status: "Ordered" });
  await expect(toolbar(page).getByRole("status")).toHaveText("0 selected");
});

test("select three cards, run Update card order for 3 cards, see progress and counts, open the job", async ({ page }) => {
  const search = await searchStatus(page, "In production");
  const ids: string[] = [];
  for (let n = 0; n < 3; n++) {
    const id = ((await search.rows().nth(n).getByRole("link").textContent()) ?? "").trim();
    ids.push(id);
    await page.getByRole("checkbox", { name: `Select ${id}` }).check();
  }
  await expect(toolbar(page)).toContainText("3 selected");
  await toolbar(page).getByRole("button", { name: "Update card order", exact: true }).click();
  const d = page.getByRole("dialog", { name: "Update card order for 3 cards" });
  await expect(d).toContainText("3 will be processed.");
  await expect(d.getByRole("button", { name: "Cancel", exact: true })).toBeVisible();
  await page.screenshot({ path: "../docs/screenshots/job-dialog.png" });
  await d.getByRole("button", { name: "Next", exact: true }).click();
  const bar = d.getByRole("progressbar");
  await expect(bar).toHaveAttribute("aria-valuemax", "3");
  await expect(bar).toHaveAttribute("aria-valuenow", "3", { timeout: 15_000 });
  await expect(d.getByRole("status").filter({ hasText: "Done" })).toHaveText("Done: 3 processed");
  const counts = d.getByLabel("Counts");
  for (const label of ["changed", "unchanged", "failed", "skipped"]) {
    await expect(counts).toContainText(label);
  }
  await page.screenshot({ path: "../docs/screenshots/job-progress.png" });
  await d.getByRole("link", { name: "Open the job" }).click();
  await expect(page).toHaveURL(/\/jobs\/\d+$/);
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1, name: "Update card order for 3 cards" })).toBeVisible();
  const items = page.locator("table.job-items tbody tr");
  await expect(items).toHaveCount(3);
  for (const id of ids) {
    await expect(page.locator("table.job-items")).toContainText(id);
  }
  await page.screenshot({ path: "../docs/screenshots/job-page.png", fullPage: true });
  // Export CSV: the job's items, one row each.
  const started = page.waitForEvent("download");
  await page.getByRole("link", { name: "Export CSV", exact: true }).click();
  const file = await started;
  expect(file.suggestedFilename()).toMatch(/^job-\d+-items-\d{8}-\d{4}\.csv$/);
  const lines = readFileSync(await file.path(), "utf8").split("\r\n").filter((l) => l.length > 0);
  expect(lines[0]).toBe("position,item,name,state_before,state_after,outcome,message");
  expect(lines.slice(1).map((l) => l.split(",")[1]).sort()).toEqual([...ids].sort());

  // /jobs lists it, newest first.
  await page.getByRole("link", { name: "JOBS", exact: true }).click();
  await expect(page).toHaveURL(/\/jobs$/);
  const first = page.locator("table.jobs tbody tr").first();
  await expect(first).toContainText("Update card order for 3 cards");
  await expect(first).toContainText("Done");
});

test("stop a job mid-way: the rest are not run, and Run the rest finishes them", async ({ page, request }) => {
  // The last page of cards by ID: the other specs use the first Ordered cards untouched.
  await page.goto("/search?sort=-card_id");
  await hydrated(page);
  await expect(page.getByRole("columnheader", { name: /Card ID/ })).toHaveAttribute("aria-sort", "descending");
  await page.getByRole("checkbox", { name: "Select all on this page" }).check();
  const selected = Number(((await toolbar(page).getByRole("status").textContent()) ?? "").split(" ")[0]);
  expect(selected).toBeGreaterThan(10);
  // GO Cards slows down: each call takes a second.
  await simFault(request, "latency", null, { latencyMs: 1000 });
  try {
    await toolbar(page).getByRole("button", { name: "Update card order", exact: true }).click();
    const d = page.getByRole("dialog", { name: `Update card order for ${selected} cards` });
    await d.getByRole("button", { name: "Next", exact: true }).click();
    await d.getByRole("button", { name: "Stop", exact: true }).click();
    await expect(d.getByRole("status").filter({ hasText: "Stopped" })).toContainText("not run", { timeout: 15_000 });
    const bar = d.getByRole("progressbar");
    const now = await bar.getAttribute("aria-valuenow");
    expect(Number(now)).toBeLessThan(selected);
    await expect(bar).toHaveAttribute("aria-valuemax", now ?? "");
    await simFault(request, "none", null);
    await d.getByRole("button", { name: "Run the rest", exact: true }).click();
    await expect(d.getByRole("status").filter({ hasText: "Done" })).toHaveText(`Done: ${selected} processed`, { timeout: 30_000 });
  } finally {
    await simFault(request, "none", null);
  }
});

test("a batch order for two users", async ({ page }) => {
  await page.goto("/search?for=user");
  await hydrated(page);
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await expect(page.locator("table tbody tr").first()).toBeVisible();
  const rows = page.locator("table tbody tr").filter({
    hasNot: page.getByRole("cell", { name: /Ordered|In production/ }),
  });
  const names: string[] = [];
  for (let n = 0; n < 2; n++) {
    const name = ((await rows.nth(n).getByRole("link").textContent()) ?? "").trim();
    names.push(name);
    await rows.nth(n).getByRole("checkbox", { name: `Select ${name}` }).check();
  }
  await expect(toolbar(page)).toContainText("2 selected");
  await toolbar(page).getByRole("button", { name: "Order cards", exact: true }).click();
  const d = page.getByRole("dialog", { name: "Order cards for 2 users" });
  await expect(d).toContainText("2 will be processed.");
  await expect(d.getByLabel("Article")).toContainText("Employee ID card, MIFARE DESFire EV3");
  await d.getByLabel("Recipient").fill("Card office");
  await d.getByLabel("Address").fill("Storgatan 1");
  await d.getByLabel("Postal code").fill("111 22");
  await d.getByLabel("City").fill("Stockholm");
  await page.screenshot({ path: "../docs/screenshots/batch-order-dialog.png" });
  await d.getByRole("button", { name: "Next", exact: true }).click();
  await expect(d.getByRole("status").filter({ hasText: "Done" })).toHaveText("Done: 2 processed", { timeout: 15_000 });
  await expect(d.getByLabel("Counts")).toContainText("ordered2");
  await d.getByRole("button", { name: "Close", exact: true }).click();
  // Each user now has an open order.
  await page.reload();
  await hydrated(page);
  await expect(page.locator("table tbody tr").filter({ hasText: names[0] }).filter({ hasText: "Ordered" }).first()).toBeVisible();
  await expect(page.locator("table tbody tr").filter({ hasText: names[1] }).filter({ hasText: "Ordered" }).first()).toBeVisible();
});
