import { test, expect, APIRequestContext, Page } from "@playwright/test";
import { createHmac, randomUUID } from "node:crypto";
import { logInAs, SearchPage, hydrated } from "./support";

// The live desk on one server: a signed GO Cards webhook changes a card, and an open search,
// an open profile and an open process dialog show it within 2 s, with no reload.

/** The key start-app.sh gives the server (`GOCARDS_WEBHOOK_SECRET`). */
const WEBHOOK_SECRET = "e2e-webhook-secret-5d1c9b7a40-7f3e2a91";

/** Posts a signed GO Cards event for `cardId`, as GO Cards would. */
export async function signedWebhook(request: APIRequestContext, baseURL: string, cardId: string, status: string) {
  const body = JSON.stringify({
    eventId: `E-${randomUUID()}`,
    created: new Date().toISOString(),
    apiVersion: "2.0.0",
    topic: `CARD_${status}`,
    data: { cardId, status, updated: new Date().toISOString() },
  });
  const signature = "sha256=" + createHmac("sha256", WEBHOOK_SECRET).update(body).digest("hex");
  const res = await request.post(`${baseURL}/webhooks/gocards`, {
    data: body,
    headers: { "content-type": "application/json", "x-gocards-signature": signature },
  });
  expect(res.status(), `webhook ${status} for ${cardId}: ${await res.text()}`).toBeLessThan(300);
}

async function liveOn(page: Page) {
  await expect(page.getByRole("banner").getByRole("status")).toHaveText("Live");
}

test("a webhook's change shows in an open search, profile and dialog within 2 s", async ({ page, request, baseURL }) => {
  await logInAs(page, "operator");
  const search = new SearchPage(page);
  await search.search({ status: "Ordered" });
  await expect(search.statusCells().first()).toHaveText("Ordered");
  await liveOn(page);

  // The search: the row's status changes in place and the row says it no longer matches.
  const first = search.rows().first();
  const id = ((await first.getByRole("link").textContent()) ?? "").trim();
  const reloads: string[] = [];
  page.on("framenavigated", (frame) => reloads.push(frame.url()));
  await signedWebhook(request, baseURL!, id, "IN_PRODUCTION");
  const row = page.getByRole("row", { name: new RegExp(id) });
  await expect(row.locator("td:nth-child(4)")).toContainText("In production", { timeout: 2_000 });
  await expect(row).toContainText("changed");
  await page.screenshot({ path: "../docs/screenshots/live-search.png" });
  expect(reloads, "no reload").toEqual([]);

  // The profile, with the process dialog open on it.
  const other = ((await search.rows().nth(1).getByRole("link").textContent()) ?? "").trim();
  await search.rows().nth(1).getByRole("link").click();
  await expect(page).toHaveURL(new RegExp(`/cards/${other}$`));
  await hydrated(page);
  await liveOn(page);
  await expect(page.getByTestId("card-status")).toHaveText("Ordered");
  await page.getByRole("button", { name: "Update card order", exact: true }).click();
  const dialog = page.getByRole("dialog", { name: "Update card order" });
  await expect(dialog).toBeVisible();

  await signedWebhook(request, baseURL!, other, "PRODUCED");
  await expect(dialog.getByRole("alert")).toHaveText("This card changed meanwhile: it is now Produced.", { timeout: 2_000 });
  await expect(dialog.getByRole("button", { name: "Next", exact: true })).toBeDisabled();
  await expect(page.getByTestId("card-status")).toHaveText("Produced", { timeout: 2_000 });
  const history = page.getByRole("table").last();
  await expect(history.locator("tbody tr").first()).toContainText("Ordered → Produced");
  await expect(history.locator("tbody tr").first()).toContainText("webhook");
  // The commands depend on the state: none are enabled for a Produced card.
  await expect(page.getByRole("complementary", { name: "What do you want to do?" })).toContainText(
    "No commands are enabled for a card in state Produced.",
  );
  await page.screenshot({ path: "../docs/screenshots/live-dialog.png" });
  await dialog.getByRole("button", { name: "Cancel", exact: true }).click();
  await expect(dialog).toBeHidden();
});

test("the stream needs a session, and the top bar says when it is live", async ({ page, request, baseURL }) => {
  const anonymous = await request.get(`${baseURL}/events`);
  expect(anonymous.status()).toBe(401);
  await logInAs(page, "operator");
  await liveOn(page);
});
