import { test, expect } from "@playwright/test";
import { LoginPage, logInAs, hydrated, USERS } from "./support";

test("an anonymous visitor is sent to the login page", async ({ page }) => {
  await page.goto("/search?status=ordered");
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole("button", { name: "Log in", exact: true })).toBeVisible();
  await page.goto("/cards/CA2600000001-AAAAAAAA");
  await expect(page).toHaveURL(/\/login$/);
});

test("a wrong password gets a message that gives nothing away", async ({ page }) => {
  const login = new LoginPage(page);
  await login.open();
  await login.logIn(USERS.operator.username, "not-the-password");
  await expect(page.getByRole("alert")).toHaveText("Invalid username or password");
  await expect(page).toHaveURL(/\/login$/);
  await login.logIn("nobody-by-this-name", "whatever-it-is");
  await expect(page.getByRole("alert")).toHaveText("Invalid username or password");
});

test("an operator logs in with the right password, and logs out", async ({ page }) => {
  await logInAs(page, "operator");
  await expect(page.getByRole("heading", { name: "Search" })).toBeVisible();
  await expect(page.getByText("operator (operator)")).toBeVisible();
  await expect(page.getByText("Demo: simulated GO Cards")).toBeVisible();
  await page.getByRole("button", { name: "Log out", exact: true }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/search");
  await expect(page).toHaveURL(/\/login$/);
});

test("a logged-in user who opens the login page goes to the search", async ({ page }) => {
  await logInAs(page, "admin");
  await page.goto("/login");
  await expect(page).toHaveURL(/\/search$/);
  await hydrated(page);
});
