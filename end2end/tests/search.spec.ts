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
  const states = await search.statusCells().allTextContents();
  expect(states.length).toBeGreaterThan(0);
  expect(new Set(states)).toEqual(new Set(["In production"]));
  await page.screenshot({ path: "../docs/screenshots/search.png", fullPage: true });
  await page.reload();
  await hydrated(page);
  await expect(page.getByLabel("Status")).toHaveValue("in_production");
  expect(new Set(await search.statusCells().allTextContents())).toEqual(new Set(["In production"]));
});

test("search by last name is a case-insensitive prefix, including å, ä, ö", async ({ page }) => {
  const search = new SearchPage(page);
  await search.search({ lastName: "öST" });
  await expect(search.rows().first()).toBeVisible();
  const holders = await page.locator("table tbody tr td:nth-child(2)").allTextContents();
  expect(holders.length).toBeGreaterThan(0);
  for (const h of holders) expect(h).toMatch(/ Östberg$/);
});

test("paging moves through the results, and back and forward keep the search", async ({ page }) => {
  const search = new SearchPage(page);
  await search.search({ status: "Any" });
  await expect(search.rows()).toHaveCount(50);
  const first = await search.rows().first().locator("td").first().textContent();
  await expect(page.getByRole("button", { name: "Previous page", exact: true })).toBeDisabled();
  await page.getByRole("button", { name: "Next page", exact: true }).click();
  await expect(page).toHaveURL(/page=2/);
  await expect(page.getByText("Page 2")).toBeVisible();
  const second = await search.rows().first().locator("td").first().textContent();
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
  const dates = await page.locator("table tbody tr td:nth-child(4)").allTextContents();
  const sorted = [...dates].sort().reverse();
  expect(dates).toEqual(sorted);
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
  await expect(page.getByText("No cards found")).toBeVisible();
});
