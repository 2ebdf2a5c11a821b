import { test, expect, Page, Browser, BrowserContext } from "@playwright/test";
import { logInAs, hydrated, serverCli, simFault, SIM_URL } from "./support";

const MAY_HAVE_BEEN_PLACED =
  "GO Cards did not answer in time. The order may have been placed; Next tries again with the same order, so nothing is ordered twice.";

/**
 * Opens, through the user search, the profile of the n-th user with no open order, and
 * returns their name. The demo gives each person one card.
 */
async function openUserWithoutOpenOrder(page: Page, n: number): Promise<string> {
  await page.goto("/search?for=user");
  await hydrated(page);
  await page.getByLabel("Search for").selectOption({ label: "User" });
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await expect(page.locator("table tbody tr").first()).toBeVisible();
  const rows = page.locator("table tbody tr").filter({
    hasNot: page.getByRole("cell", { name: /Ordered|In production/ }),
  });
  const link = rows.nth(n).getByRole("link");
  const name = ((await link.textContent()) ?? "").trim();
  await link.click();
  await expect(page).toHaveURL(/\/users\/\d+$/);
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
  return name;
}

async function fillAddress(page: Page) {
  const d = page.getByRole("dialog", { name: "Order card" });
  await d.getByLabel("Address").fill("Storgatan 1");
  await d.getByLabel("Postal code").fill("111 22");
  await d.getByLabel("City").fill("Stockholm");
  return d;
}

/** The profile's "Cards" section. */
function cardsTable(page: Page) {
  return page.getByRole("region", { name: "Cards", exact: true });
}

test("order a card: it is in the user's Cards table and in a card search", async ({ page }) => {
  await logInAs(page, "operator");
  const name = await openUserWithoutOpenOrder(page, 0);
  await page.getByRole("button", { name: "Order card", exact: true }).click();
  const d = page.getByRole("dialog", { name: "Order card" });
  await expect(d).toContainText(name);
  await expect(d.getByLabel("Article")).toContainText("Employee ID card, MIFARE DESFire EV3");
  await expect(d.getByLabel("Recipient")).toHaveValue(name);
  await expect(d.getByLabel("Country")).toHaveValue("SE");
  await expect(d.getByRole("button", { name: "Next", exact: true })).toBeVisible();
  await expect(d.getByRole("button", { name: "Cancel", exact: true })).toBeVisible();
  // Next with an address missing says which field, and orders nothing.
  await d.getByRole("button", { name: "Next", exact: true }).click();
  await expect(d.getByRole("alert")).toContainText("Address is required.");
  await fillAddress(page);
  await page.screenshot({ path: "../docs/screenshots/order-dialog.png" });
  await d.getByRole("button", { name: "Next", exact: true }).click();
  const status = d.getByRole("status");
  await expect(status).toContainText(/Card ordered: CA\d{10}-\w{8} is Ordered/);
  const cardId = ((await status.textContent()) ?? "").match(/CA\d{10}-\w{8}/)?.[0] ?? "";
  await page.screenshot({ path: "../docs/screenshots/order-outcome.png" });
  await d.getByRole("button", { name: "Close", exact: true }).click();
  await expect(d).toBeHidden();
  // The Cards table shows it without a reload.
  const row = cardsTable(page).getByRole("row", { name: new RegExp(cardId) });
  await expect(row).toContainText("Ordered");
  await page.screenshot({ path: "../docs/screenshots/user-profile-ordered.png", fullPage: true });
  // And a card search finds it.
  const lastName = name.split(" ").slice(1).join(" ");
  await page.goto("/search");
  await hydrated(page);
  await page.getByLabel("Status").selectOption({ label: "Ordered" });
  await page.getByLabel("Last name").fill(lastName);
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await expect(page.getByRole("row", { name: new RegExp(cardId) })).toContainText("Ordered");
  // A second order for the same person is refused: the first is open.
  await page.getByRole("row", { name: new RegExp(cardId) }).getByRole("link").click();
  await hydrated(page);
  await page.getByRole("link", { name, exact: true }).click();
  await hydrated(page);
  await page.getByRole("button", { name: "Order card", exact: true }).click();
  await fillAddress(page);
  await page.getByRole("dialog", { name: "Order card" }).getByRole("button", { name: "Next", exact: true }).click();
  await expect(page.getByRole("dialog", { name: "Order card" }).getByRole("alert")).toHaveText(
    `${name} already has an open card order: ${cardId}.`,
  );
});

test("a lost reply: the operator presses Next again, and GO Cards has one order", async ({ page, request }) => {
  await logInAs(page, "operator");
  await openUserWithoutOpenOrder(page, 1);
  const before: Array<{ idempotencyKey: string; cardIds: string[] }> = await request.get(`${SIM_URL}/sim/orders`).then((r) => r.json());
  // GO Cards places the order and answers after the desk's timeout (1.5 s), once.
  await simFault(request, "timeout", null, { latencyMs: 3000, path: "/api/order", times: 1 });
  try {
    await page.getByRole("button", { name: "Order card", exact: true }).click();
    const d = await fillAddress(page);
    await d.getByRole("button", { name: "Next", exact: true }).click();
    await expect(d.getByRole("alert")).toHaveText(MAY_HAVE_BEEN_PLACED);
    await page.screenshot({ path: "../docs/screenshots/order-lost-reply.png" });
    await d.getByRole("button", { name: "Next", exact: true }).click();
    await expect(d.getByRole("status")).toContainText("Card ordered");
    const cardId = ((await d.getByRole("status").textContent()) ?? "").match(/CA\d{10}-\w{8}/)?.[0] ?? "";
    const after: Array<{ idempotencyKey: string; cardIds: string[] }> = await request.get(`${SIM_URL}/sim/orders`).then((r) => r.json());
    expect(after.length).toBe(before.length + 1);
    expect(after.filter((o) => o.cardIds.includes(cardId)).length).toBe(1);
    await d.getByRole("button", { name: "Close", exact: true }).click();
    await expect(
      cardsTable(page).getByRole("row").filter({ has: page.getByRole("cell", { name: "Ordered", exact: true }) }),
    ).toHaveCount(1);
  } finally {
    await simFault(request, "none", null);
  }
});

// Contexts made here are not closed by Playwright; their pages would keep their live streams
// open, and keep reacting to events, through the rest of the suite.
const opened: BrowserContext[] = [];
test.afterEach(async () => {
  for (const context of opened.splice(0)) await context.close();
});

async function newPage(browser: Browser, who: "admin" | "operator") {
  const context = await browser.newContext();
  opened.push(context);
  const page = await context.newPage();
  await logInAs(page, who);
  return page;
}

test("the admin enables Order card on Users › User, and the operator sees it appear", async ({ browser }) => {
  serverCli("commands", "disable", "order-card", "--entity", "user");
  const operator = await newPage(browser, "operator");
  await openUserWithoutOpenOrder(operator, 2);
  await expect(operator.getByRole("button", { name: "Order card", exact: true })).toHaveCount(0);
  await expect(operator.getByText("No commands are enabled for users.")).toBeVisible();

  const admin = await newPage(browser, "admin");
  await admin.goto("/admin/users");
  await hydrated(admin);
  await expect(admin.getByRole("heading", { level: 1, name: "Users › User" })).toBeVisible();
  await admin.getByRole("button", { name: "New", exact: true }).click();
  // A card process cannot go on the user list: the server says where it belongs.
  await admin.getByLabel("Process").selectOption({ label: "Update card order" });
  await admin.getByRole("button", { name: "Save", exact: true }).click();
  await expect(admin.getByRole("alert")).toContainText("Update card order cannot be enabled on Users › User: it acts on cards.");
  await admin.getByLabel("Process").selectOption({ label: "Order card" });
  await admin.getByRole("button", { name: "Save", exact: true }).click();
  await expect(admin.getByRole("main").getByRole("status")).toHaveText("Saved.");
  await admin.screenshot({ path: "../docs/screenshots/admin-users-user.png", fullPage: true });

  await operator.reload();
  await hydrated(operator);
  await expect(operator.getByRole("button", { name: "Order card", exact: true })).toBeVisible();
});
