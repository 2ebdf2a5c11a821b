import { test, expect, Page } from "@playwright/test";
import { logInAs, SearchPage, simStatus, hydrated, SIM_URL } from "./support";

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
  return page.getByRole("dialog", { name: "Abort card order" });
}

test.beforeEach(async ({ page }) => {
  await logInAs(page, "operator");
});

test("abort an Ordered card: it becomes Aborted, with the reason in its history", async ({ page }) => {
  const id = await openCard(page, "Ordered", 8);
  await page.getByRole("button", { name: "Abort card order", exact: true }).click();
  const d = dialog(page);
  await expect(d).toContainText(id);
  // The reason is required: Next without one says so and asks nothing.
  await d.getByRole("button", { name: "Next", exact: true }).click();
  await expect(d.getByRole("alert")).toHaveText("Reason is required: say why the order is aborted.");
  await d.getByLabel("Reason").fill("Employee left before the card was made");
  await page.screenshot({ path: "../docs/screenshots/abort-dialog.png" });
  await d.getByRole("button", { name: "Next", exact: true }).click();
  // The whole dialog first: if the outcome is another one, the failure shows what it says.
  await expect(d).toContainText("Order aborted: Ordered → Aborted");
  await expect(d.getByRole("status")).toHaveText("Order aborted: Ordered → Aborted");
  await d.getByRole("button", { name: "Close", exact: true }).click();
  await expect(d).toBeHidden();
  await expect(page.getByTestId("card-status")).toHaveText("Aborted");
  await expect(page.getByRole("table").last()).toContainText("Abort card order: Employee left before the card was made");
  await expect(page.getByRole("table").last()).toContainText("CANCELLED");
  // Aborted is no open order: neither process is offered any more.
  await expect(page.getByRole("button", { name: "Abort card order", exact: true })).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Update card order", exact: true })).toHaveCount(0);
});

test("abort a card GO Cards has already produced: the message says so and the card is unchanged", async ({ page, request }) => {
  const id = await openCard(page, "Ordered", 9);
  await simStatus(request, id, "PRODUCED");
  await page.getByRole("button", { name: "Abort card order", exact: true }).click();
  const d = dialog(page);
  await d.getByLabel("Reason").fill("Ordered twice by mistake");
  await d.getByRole("button", { name: "Next", exact: true }).click();
  await expect(d.getByRole("alert")).toHaveText(
    "GO Cards can no longer cancel this order: it reports PRODUCED. Run Update card order to bring the card up to date.",
  );
  await page.screenshot({ path: "../docs/screenshots/abort-too-late.png" });
  await d.getByRole("button", { name: "Close", exact: true }).click();
  await expect(page.getByTestId("card-status")).toHaveText("Ordered");
  const card = await request.get(`${SIM_URL}/sim/calls`).then((r) => r.json());
  expect(card.some(([method, path]: [string, string]) => method === "POST" && path === `/api/card/${id}/cancel`)).toBeTruthy();
});

test("Cancel asks GO Cards nothing", async ({ page, request }) => {
  await openCard(page, "In production", 6);
  const before = await request.get(`${SIM_URL}/sim/calls`).then((r) => r.json());
  await page.getByRole("button", { name: "Abort card order", exact: true }).click();
  await dialog(page).getByLabel("Reason").fill("never mind");
  await dialog(page).getByRole("button", { name: "Cancel", exact: true }).click();
  await expect(dialog(page)).toBeHidden();
  const after = await request.get(`${SIM_URL}/sim/calls`).then((r) => r.json());
  expect(after.length).toBe(before.length);
  await expect(page.getByTestId("card-status")).toHaveText("In production");
});
