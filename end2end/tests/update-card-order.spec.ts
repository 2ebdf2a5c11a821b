import { test, expect, Page } from "@playwright/test";
import { logInAs, SearchPage, simStatus, simFault, hydrated, serverCli, SIM_URL } from "./support";

/** Opens the n-th card in `status` from the search and returns its id. */
async function openCard(page: Page, status: string, n: number): Promise<string> {
  const search = new SearchPage(page);
  await search.search({ status });
  await expect
    .poll(async () => new Set(await search.statusCells().allTextContents()))
    .toEqual(new Set([status]));
  const link = search.rows().nth(n).getByRole("link");
  const id = (await link.textContent())?.trim() ?? "";
  await link.click();
  await expect(page).toHaveURL(new RegExp(`/cards/${id}$`));
  await hydrated(page);
  await expect(page.getByRole("heading", { name: `Card ${id}` })).toBeVisible();
  return id;
}

function dialog(page: Page) {
  return page.getByRole("dialog", { name: "Update card order" });
}

async function runProcess(page: Page) {
  await page.getByRole("button", { name: "Update card order", exact: true }).click();
  const d = dialog(page);
  await expect(d).toBeVisible();
  await expect(d.getByRole("button", { name: "Cancel", exact: true })).toBeVisible();
  await d.getByRole("button", { name: "Next", exact: true }).click();
  return d;
}

test.beforeEach(async ({ page }) => {
  await logInAs(page, "operator");
});

test("Ordered → In production, shown in the profile and the result list without a reload", async ({ page, request }) => {
  const id = await openCard(page, "Ordered", 0);
  await simStatus(request, id, "IN_PRODUCTION");
  await page.getByRole("button", { name: "Update card order", exact: true }).click();
  const d = dialog(page);
  await expect(d).toContainText(id);
  await expect(d).toContainText("Ordered");
  await page.screenshot({ path: "../docs/screenshots/process-dialog.png" });
  await d.getByRole("button", { name: "Next", exact: true }).click();
  await expect(d.getByRole("status")).toHaveText("Status updated: Ordered → In production");
  await page.screenshot({ path: "../docs/screenshots/process-outcome.png" });
  await d.getByRole("button", { name: "Close", exact: true }).click();
  await expect(d).toBeHidden();
  await expect(page.getByTestId("card-status")).toHaveText("In production");
  await expect(page.getByRole("table").last()).toContainText("manual, by operator");
  await page.screenshot({ path: "../docs/screenshots/card-profile.png", fullPage: true });
  await page.getByRole("link", { name: "← Back to the search" }).click();
  await new SearchPage(page).search({ status: "In production", lastName: "" });
  await expect(page.getByRole("row", { name: new RegExp(id) })).toContainText("In production");
});

test("Produced, Failed with its reason, and no change", async ({ page, request }) => {
  const produced = await openCard(page, "Ordered", 1);
  await simStatus(request, produced, "DELIVERED");
  let d = await runProcess(page);
  await expect(d.getByRole("status")).toHaveText("Status updated: Ordered → Produced");
  await d.getByRole("button", { name: "Close", exact: true }).click();
  await expect(page.getByTestId("card-status")).toHaveText("Produced");
  // A Produced card offers no Update card order.
  await expect(page.getByRole("button", { name: "Update card order", exact: true })).toHaveCount(0);

  await page.goto("/search");
  await hydrated(page);
  const failed = await openCard(page, "In production", 0);
  await simStatus(request, failed, "FAILED", "embossing fault");
  d = await runProcess(page);
  await expect(d.getByRole("status")).toHaveText("Status updated: In production → Failed (reason: embossing fault)");
  await d.getByRole("button", { name: "Close", exact: true }).click();
  await expect(page.getByTestId("card-status")).toHaveText("Failed");

  await page.goto("/search");
  await hydrated(page);
  const same = await openCard(page, "Ordered", 2);
  await simStatus(request, same, "ORDERED");
  d = await runProcess(page);
  await expect(d.getByRole("status")).toHaveText("No change: GO Cards reports ORDERED");
});

test("GO Cards down: the error is shown and the card is unchanged", async ({ page, request }) => {
  const id = await openCard(page, "Ordered", 3);
  await simFault(request, "error500", id);
  try {
    const d = await runProcess(page);
    await expect(d.getByRole("alert")).toHaveText(
      "GO Cards is unavailable (error 500). The card is unchanged; try again later.",
    );
    await d.getByRole("button", { name: "Close", exact: true }).click();
    await expect(page.getByTestId("card-status")).toHaveText("Ordered");
  } finally {
    await simFault(request, "none", null);
  }
});

test("Cancel closes the process and nothing is asked or written", async ({ page, request }) => {
  const id = await openCard(page, "Ordered", 4);
  const before = await request.get(`${SIM_URL}/sim/calls`).then((r) => r.json());
  await page.getByRole("button", { name: "Update card order", exact: true }).click();
  await dialog(page).getByRole("button", { name: "Cancel", exact: true }).click();
  await expect(dialog(page)).toBeHidden();
  const after = await request.get(`${SIM_URL}/sim/calls`).then((r) => r.json());
  expect(after.length).toBe(before.length);
  await expect(page.getByText("Nothing has happened to this card yet.")).toBeVisible();
  await expect(page.getByTestId("card-status")).toHaveText("Ordered");
  expect(id).toMatch(/^CA\d{10}-/);
});

test("the command is absent when disabled for the state", async ({ page }) => {
  serverCli("commands", "disable", "update-card-order", "--state", "in_production");
  try {
    await openCard(page, "In production", 1);
    await expect(page.getByRole("button", { name: "Update card order", exact: true })).toHaveCount(0);
    // The demo's other process on the tab stays.
    await expect(page.getByRole("button", { name: "Abort card order", exact: true })).toBeVisible();
    serverCli("commands", "disable", "abort-card-order", "--state", "in_production");
    await page.reload();
    await hydrated(page);
    await expect(page.getByText("No commands are enabled for a card in state In production.")).toBeVisible();
  } finally {
    serverCli("commands", "enable", "update-card-order", "--state", "in_production");
    serverCli("commands", "enable", "abort-card-order", "--state", "in_production");
  }
});
