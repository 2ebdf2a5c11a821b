import { test, expect, Page } from "@playwright/test";
import { readFileSync } from "node:fs";
import { logInAs, SearchPage, hydrated } from "./support";

const CARD_HEADER =
  "card_id,first_name,last_name,email,employee_id,status,ordered_at,last_checked_at,gocards_status,failure_reason";

/** Clicks the link named `name` and reads the file it downloads. */
async function download(page: Page, name: string): Promise<{ filename: string; lines: string[] }> {
  const started = page.waitForEvent("download");
  await page.getByRole("link", { name, exact: true }).click();
  const file = await started;
  const path = await file.path();
  const text = readFileSync(path, "utf8");
  // RFC 4180 records end in CRLF; the demo data has no line breaks inside a cell.
  const lines = text.split("\r\n").filter((line) => line.length > 0);
  return { filename: file.suggestedFilename(), lines };
}

test("Export CSV downloads every match of the card search", async ({ page }) => {
  await logInAs(page, "operator");
  const search = new SearchPage(page);
  await search.search({ status: "Ordered" });
  await expect(page).toHaveURL(/status=ordered/);
  await expect
    .poll(async () => new Set(await search.statusCells().allTextContents()))
    .toEqual(new Set(["Ordered"]));
  const shown = await search.rows().count();
  const link = page.getByRole("link", { name: "Export CSV", exact: true });
  await expect(link).toHaveAttribute("href", "/export/cards.csv?status=ordered");

  const { filename, lines } = await download(page, "Export CSV");
  expect(filename).toMatch(/^cards-\d{8}-\d{4}\.csv$/);
  expect(lines[0]).toBe(CARD_HEADER);
  const rows = lines.slice(1).map((line) => line.split(","));
  expect(rows.length).toBeGreaterThanOrEqual(shown);
  for (const row of rows) {
    expect(row[0]).toMatch(/^CA\d{10}-[A-Z0-9]{8}$/);
    expect(row[5]).toBe("ordered");
    expect(row[6]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  }
  // The page's first card is in the file.
  const first = (await page.locator("table tbody tr td:nth-child(2)").first().textContent())?.trim();
  expect(rows.map((row) => row[0])).toContain(first);
});

test("the user search and a card's history export too, and an admin sees the exports in the audit log", async ({ page }) => {
  await logInAs(page, "operator");
  await page.goto("/search?for=user&last_name=B");
  await hydrated(page);
  await expect(page.locator("table tbody tr").first()).toBeVisible();
  const users = await download(page, "Export CSV");
  expect(users.filename).toMatch(/^users-\d{8}-\d{4}\.csv$/);
  expect(users.lines[0]).toBe("user_id,first_name,last_name,email,employee_id,cards");
  expect(users.lines.length).toBeGreaterThan(1);

  await page.goto("/search");
  await hydrated(page);
  const cardId = (await page.locator("table tbody tr td:nth-child(2)").first().textContent())?.trim() ?? "";
  await page.goto(`/cards/${cardId}`);
  await hydrated(page);
  const history = await download(page, "Export history");
  expect(history.filename).toMatch(new RegExp(`^history-${cardId}-\\d{8}-\\d{4}\\.csv$`));
  expect(history.lines[0]).toBe("at,kind,source,actor,from_status,to_status,gocards_status,detail,repeats,last_at");

  await page.context().clearCookies();
  await logInAs(page, "admin");
  await page.goto("/admin/audit");
  await hydrated(page);
  await expect(page.getByRole("cell", { name: "export users" }).first()).toBeVisible();
  const audit = await download(page, "Export CSV");
  expect(audit.filename).toMatch(/^audit-\d{8}-\d{4}\.csv$/);
  expect(audit.lines[0]).toBe("at,actor,action,detail");
  expect(audit.lines.some((line) => line.includes(",operator,export card history,card " + cardId))).toBe(true);
});
