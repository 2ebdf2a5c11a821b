import { test, expect, Page } from "@playwright/test";
import { logInAs, hydrated, noAxeViolations, SearchPage } from "./support";

// axe-core on every page and dialog of the desk (operations.md). `hydrated()` checks each
// page any spec lands on; this spec also opens what the others only pass through: the
// process dialogs, a selection's job dialog, user search results, and every settings page.

async function openDialog(page: Page, button: string, dialog: string) {
  await page.getByRole("button", { name: button, exact: true }).click();
  const d = page.getByRole("dialog", { name: dialog });
  await expect(d).toBeVisible();
  await noAxeViolations(page);
  await d.getByRole("button", { name: "Cancel", exact: true }).click();
  await expect(d).toBeHidden();
}

test("the operator's pages and dialogs have no axe-core violation", async ({ page }) => {
  await page.goto("/login");
  await hydrated(page);
  // A failed log-in's message.
  await page.getByLabel("Username").fill("operator");
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Log in", exact: true }).click();
  await expect(page.getByRole("alert")).toBeVisible();
  await noAxeViolations(page);

  await logInAs(page, "operator");
  const search = new SearchPage(page);
  await search.search({ status: "Ordered" });
  await expect(search.statusCells().first()).toHaveText("Ordered");
  await noAxeViolations(page);
  // A selection's job dialog.
  await search.rows().first().getByRole("checkbox").check();
  await search.rows().nth(1).getByRole("checkbox").check();
  await openDialog(page, "Update card order", "Update card order for 2 cards");

  // A card's profile and its process dialogs.
  const link = search.rows().nth(20).getByRole("link");
  const id = ((await link.textContent()) ?? "").trim();
  await link.click();
  await expect(page).toHaveURL(new RegExp(`/cards/${id}$`));
  await hydrated(page);
  await openDialog(page, "Update card order", "Update card order");
  await openDialog(page, "Abort card order", "Abort card order");

  // User search, a profile, Order card.
  await page.goto("/search?for=user");
  await hydrated(page);
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await expect(page.locator("table tbody tr").first()).toBeVisible();
  await noAxeViolations(page);
  const user = page.locator("table tbody tr").filter({ hasNot: page.getByRole("cell", { name: /Ordered|In production/ }) }).first().getByRole("link");
  await user.click();
  await expect(page).toHaveURL(/\/users\/\d+$/);
  await hydrated(page);
  await openDialog(page, "Order card", "Order card");

  // The jobs.
  await page.goto("/jobs");
  await hydrated(page);
});

test("the settings pages have no axe-core violation", async ({ page }) => {
  await logInAs(page, "admin");
  for (const path of ["/admin/cards", "/admin/gocards", "/admin/sync", "/admin/users", "/admin/accounts", "/admin/audit"]) {
    await page.goto(path);
    await hydrated(page);
  }
});
