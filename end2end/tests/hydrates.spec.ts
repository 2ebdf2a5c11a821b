import { test, expect } from "@playwright/test";
import { hydrated, logInAs, SearchPage } from "./support";

// The page comes alive in every build mode the README names: `make run` (release, WASM
// split), `make watch` / `cargo leptos watch` and `cargo leptos end-to-end` (debug, no split),
// and `cargo leptos build --release` (no split). `make test` runs this file against each
// (`make e2e-modes`); the rest of the suite runs on the `make run` build.

test("the page hydrates, searches, and opens every settings page", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });

  await logInAs(page, "admin");
  const search = new SearchPage(page);
  await search.search({ status: "Ordered" });
  await expect(search.rows().first()).toBeVisible();
  await expect(search.statusCells().first()).toHaveText("Ordered");

  // Client-side navigation into the settings view and through each of its pages: with the
  // splitter these are lazy WASM chunks, without it ordinary routes.
  await page.getByRole("link", { name: "ADMIN", exact: true }).click();
  await expect(page).toHaveURL(/\/admin\/cards$/);
  await expect(page.getByRole("tab", { name: "Ordered", exact: true })).toBeVisible();
  const nav = page.getByRole("navigation", { name: "Settings" });
  for (const [link, heading] of [
    ["GO Cards connection", "GO Cards connection"],
    ["GO Cards batch sync", "GO Cards batch sync"],
    ["User", "Users › User"],
    ["Accounts", "Accounts"],
    ["Audit log", "Audit log"],
  ]) {
    await nav.getByRole("link", { name: link, exact: true }).click();
    await expect(page.getByRole("heading", { level: 1, name: heading, exact: true })).toBeVisible();
  }

  // A settings page loaded directly hydrates too, and its controls work.
  await page.goto("/admin/accounts");
  await hydrated(page);
  // Any operator's row (other specs may have added operators before this one runs).
  const operatorRow = page
    .getByRole("row")
    .filter({ has: page.getByRole("cell", { name: "operator", exact: true }) })
    .first();
  await operatorRow.getByRole("button", { name: "Reset password", exact: true }).click();
  await expect(operatorRow.getByLabel("New password")).toBeVisible();
  await operatorRow.getByRole("button", { name: "Cancel", exact: true }).click();
  await expect(operatorRow.getByRole("button", { name: "Reset password", exact: true })).toBeVisible();

  expect(errors, "no script errors").toEqual([]);
  await expect(page.locator(".start-failed")).toHaveCount(0);
});

test("a page whose browser code cannot start says so", async ({ page }) => {
  await page.route("**/pkg/*.wasm", (route) => route.fulfill({ status: 404, body: "gone" }));
  await page.goto("/login");
  const notice = page.getByRole("alert");
  await expect(notice).toContainText("The page could not start; reload.");
  await expect(notice.getByRole("button", { name: "Reload", exact: true })).toBeVisible();
  await expect(page.locator("body[data-hydrated]")).toHaveCount(0);
  await page.screenshot({ path: "../docs/screenshots/start-failed.png" });
});
