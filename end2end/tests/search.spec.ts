import { test, expect } from "@playwright/test";
import { logInAs, SearchPage, hydrated } from "./support";

test.beforeEach(async ({ page }) => {
  await logInAs(page, "operator");
});

test("the search form has every field, and Status offers every state plus Any", async ({ page }) => {
  await expect(page.getByLabel("Search for")).toHaveValue("card");
  const options = await page.getByLabel("Status").locator("option").allTextContents();
  expect(options).toEqual([
    "Any", "Registered", "Processing", "Ordered", "In production", "Produced",
    "Failed", "Aborted", "Active", "Inactive", "Expired", "Locked",
  ]);
  for (const label of ["First name", "Last name", "Email", "Employee ID"]) {
    await expect(page.getByLabel(label)).toBeVisible();
  }
  for (const header of ["Card ID", "Holder", "Status", "Ordered", "Last checked"]) {
    await expect(page.getByRole("columnheader", { name: header })).toBeVisible();
  }
});

test("search by status shows only cards in that state, and lives in the URL", async ({ page }) => {
  const search = new SearchPage(page);
  await search.search({ status: "In production" });
  await expect(page).toHaveURL(/status=in_production/);
  await expect(search.rows().first()).toBeVisible();
  // The rows of the page before may still be shown for a moment: wait for the new ones.
  await expect
    .poll(async () => new Set(await search.statusCells().allTextContents()))
    .toEqual(new Set(["In production"]));
  await page.screenshot({ path: "../docs/screenshots/search.png", fullPage: true });
  await page.reload();
  await hydrated(page);
  await expect(page.getByLabel("Status")).toHaveValue("in_production");
  await expect
    .poll(async () => new Set(await search.statusCells().allTextContents()))
    .toEqual(new Set(["In production"]));
});

test("search by last name is a case-insensitive prefix, including å, ä, ö", async ({ page }) => {
  const search = new SearchPage(page);
  await search.search({ lastName: "öST" });
  await expect(search.rows().first()).toBeVisible();
  await expect
    .poll(async () => {
      const holders = await page.locator("table tbody tr td:nth-child(3)").allTextContents();
      return holders.length > 0 && holders.every((h) => / Östberg$/.test(h));
    })
    .toBe(true);
});

test("paging moves through the results, and back and forward keep the search", async ({ page }) => {
  const search = new SearchPage(page);
  await search.search({ status: "Any" });
  await expect(search.rows()).toHaveCount(50);
  const first = await search.rows().first().locator("td").nth(1).textContent();
  await expect(page.getByRole("button", { name: "Previous page", exact: true })).toBeDisabled();
  await page.getByRole("button", { name: "Next page", exact: true }).click();
  await expect(page).toHaveURL(/page=2/);
  await expect(page.getByText("Page 2")).toBeVisible();
  const second = await search.rows().first().locator("td").nth(1).textContent();
  expect(second).not.toEqual(first);
  await page.goBack();
  await expect(page.getByText("Page 1")).toBeVisible();
  await page.goForward();
  await expect(page.getByText("Page 2")).toBeVisible();
});

test("sorting by a column header orders the rows", async ({ page }) => {
  const search = new SearchPage(page);
  await search.search({ status: "Ordered" });
  await page.getByRole("columnheader", { name: "Ordered" }).getByRole("link").click();
  await expect(page).toHaveURL(/sort=ordered/);
  await page.getByRole("columnheader", { name: "Ordered" }).getByRole("link").click();
  await expect(page).toHaveURL(/sort=-ordered/);
  await expect(page.getByRole("columnheader", { name: "Ordered" })).toHaveAttribute("aria-sort", "descending");
  await expect
    .poll(async () => {
      const dates = await page.locator("table tbody tr td:nth-child(5)").allTextContents();
      return dates.length > 0 && dates.join("|") === [...dates].sort().reverse().join("|");
    })
    .toBe(true);
});

test("a search that finds nothing says so", async ({ page }) => {
  const search = new SearchPage(page);
  await search.search({ lastName: "Zzyzx" });
  await expect(page.getByText("No cards found")).toBeVisible();
});

test("bad input in the URL gets a message, not an error page", async ({ page }) => {
  const res = await page.goto("/search?status=shipped&page=99999999&last_name=" + "x".repeat(300));
  expect(res?.status()).toBe(200);
  await expect(page.getByRole("alert")).toContainText("Unknown status");
  await page.goto("/search?last_name=" + "x".repeat(300));
  await expect(page.getByRole("alert")).toContainText("too long");
  await page.goto("/search?page=99999999");
  await expect(page.getByRole("alert")).toContainText("Narrow the search");
});
