import { test, expect } from "@playwright/test";
import { logInAs, hydrated } from "./support";

test.beforeEach(async ({ page }) => {
  await logInAs(page, "operator");
});

test("Search for User: by last-name prefix, the columns, a profile and its card links", async ({ page }) => {
  // The choice of User hides Status at once, and lives in the URL.
  await page.getByLabel("Search for").selectOption({ label: "User" });
  await expect(page.getByLabel("Status")).toHaveCount(0);
  await page.getByLabel("Last name").fill("BE");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await expect(page).toHaveURL(/for=user/);
  await expect(page).toHaveURL(/last_name=BE/);
  for (const header of ["Name", "Email", "Employee ID", "Cards"]) {
    // A sortable header carries its arrow: "Name ▲".
    await expect(page.getByRole("columnheader", { name: new RegExp(`^${header}( [▲▼])?$`) })).toBeVisible();
  }
  const rows = page.locator("table tbody tr");
  await expect(rows.first()).toBeVisible();
  // Every name starts its last name with "be", whatever the case.
  await expect
    .poll(async () => {
      const names = await page.locator("table tbody tr td:nth-child(2)").allTextContents();
      return names.length > 0 && names.every((n) => /^\S+ Be/i.test(n));
    })
    .toBe(true);
  // The Cards column names each card by its state.
  const cards = await page.locator("table tbody tr td:nth-child(5)").first().textContent();
  expect(cards).toMatch(/^(Registered|Processing|Ordered|In production|Produced|Failed|Aborted|Active|Inactive|Expired|Locked)(, .+)?$/);
  await page.screenshot({ path: "../docs/screenshots/user-search.png", fullPage: true });

  // After a reload the choice is kept, and Status stays hidden.
  await page.reload();
  await hydrated(page);
  await expect(page.getByLabel("Search for")).toHaveValue("user");
  await expect(page.getByLabel("Status")).toHaveCount(0);

  // Sorting by Email.
  await page.getByRole("link", { name: "Email", exact: true }).click();
  await expect(page).toHaveURL(/sort=email/);
  await expect(page.getByRole("columnheader", { name: /Email/ })).toHaveAttribute("aria-sort", "ascending");

  // The name opens the profile.
  const first = page.locator("table tbody tr td:nth-child(2) a").first();
  const name = (await first.textContent()) ?? "";
  await first.click();
  await expect(page).toHaveURL(/\/users\/\d+$/);
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
  const cardsTable = page.getByRole("table");
  for (const header of ["Card ID", "Status", "Ordered"]) {
    await expect(cardsTable.getByRole("columnheader", { name: header, exact: true })).toBeVisible();
  }
  await expect(page.getByRole("heading", { name: "Cards", exact: true })).toBeVisible();
  await page.screenshot({ path: "../docs/screenshots/user-profile.png", fullPage: true });

  // A card ID links to the card's profile.
  const cardLink = cardsTable.locator("tbody tr td:nth-child(1) a").first();
  const cardId = (await cardLink.textContent()) ?? "";
  await cardLink.click();
  await expect(page).toHaveURL(new RegExp(`/cards/${cardId}$`));
  await expect(page.getByRole("heading", { name: `Card ${cardId}` })).toBeVisible();
});

test("no users found, and an unknown user is a clear not-found page", async ({ page }) => {
  await page.goto("/search?for=user&last_name=zzzz");
  await hydrated(page);
  await expect(page.getByRole("main").getByRole("status")).toHaveText("No users found");
  const res = await page.goto("/users/1");
  expect(res?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "User not found" })).toBeVisible();
  await expect(page.getByRole("alert")).toContainText("No user 1 exists");
});
