import { expect, Page, APIRequestContext } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { execFileSync } from "node:child_process";
import path from "node:path";

export const SIM_URL = `http://127.0.0.1:${process.env.E2E_SIM_PORT ?? "4011"}`;
export const USERS = {
  admin: { username: "admin", password: "e2e-admin-pass" },
  operator: { username: "operator", password: "e2e-operator-pass" },
};

const E2E_DIR = process.env.E2E_DIR ?? "/tmp/carddesk-e2e";
// The binary start-app.sh runs (E2E_PROFILE, else the newer build).
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const SERVER: string = require("../scripts/server-bin.js").serverBin();

/** Runs the server's command line against the test database. */
export function serverCli(...args: string[]): string {
  return execFileSync(SERVER, args, {
    env: {
      ...process.env,
      DATABASE_URL: `sqlite://${E2E_DIR}/cards.db?mode=rwc`,
      DATA_DIR: E2E_DIR,
    },
    encoding: "utf8",
  });
}

/**
 * Waits until the WASM has hydrated the page, then checks it with axe-core: every page the
 * suite lands on, in the state it lands in, has no accessibility violation (operations.md).
 */
export async function hydrated(page: Page) {
  try {
    await page.locator("body[data-hydrated]").waitFor({ timeout: 20_000 });
  } catch (error) {
    throw new Error(`${page.url()} did not hydrate: ${error}\n${await whatThePageSaw(page)}`);
  }
  await noAxeViolations(page);
}

/** The page's console, its errors and its unfinished or failed requests, for a failure. */
async function whatThePageSaw(page: Page): Promise<string> {
  const lines: string[] = [];
  for (const m of await page.consoleMessages()) lines.push(`console ${m.type()}: ${m.text()}`);
  for (const e of await page.pageErrors()) lines.push(`page error: ${e}`);
  for (const r of await page.requests()) {
    const response = await r.response();
    const failure = r.failure();
    if (failure || !response || response.status() >= 400) {
      lines.push(`request ${r.method()} ${r.url()}: ${failure?.errorText ?? (response ? response.status() : "no response")}`);
    }
  }
  return lines.join("\n");
}

/**
 * Fails with each violation axe-core finds on the page (WCAG 2.x A and AA, and axe's best
 * practices). Checked again for a few seconds first, so that a page caught mid-change (a lazy
 * page still arriving after a move within the app, a "Loading…" about to go) is judged once
 * it has settled; a violation that stays fails.
 */
export async function noAxeViolations(page: Page) {
  const violations = async () => {
    const results = await new AxeBuilder({ page })
      .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"])
      .analyze();
    return results.violations.map(
      (v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 5).join(", ")}`,
    );
  };
  await expect.poll(violations, { message: `axe-core on ${page.url()}`, timeout: 10_000, intervals: [250, 500, 1000] }).toEqual([]);
}

/** The login page, as a person uses it. */
export class LoginPage {
  constructor(private page: Page) {}

  async open() {
    await this.page.goto("/login");
    await hydrated(this.page);
  }

  async logIn(username: string, password: string) {
    await this.page.getByLabel("Username").fill(username);
    await this.page.getByLabel("Password").fill(password);
    await this.page.getByRole("button", { name: "Log in", exact: true }).click();
  }
}

export async function logInAs(page: Page, who: keyof typeof USERS) {
  const login = new LoginPage(page);
  await login.open();
  await login.logIn(USERS[who].username, USERS[who].password);
  await expect(page).toHaveURL(/\/search/);
  await hydrated(page);
}

/** The SEARCH tab. */
export class SearchPage {
  constructor(private page: Page) {}

  async search(fields: { status?: string; firstName?: string; lastName?: string; email?: string; employeeId?: string }) {
    const p = this.page;
    if (fields.status !== undefined) await p.getByLabel("Status").selectOption({ label: fields.status });
    if (fields.firstName !== undefined) await p.getByLabel("First name").fill(fields.firstName);
    if (fields.lastName !== undefined) await p.getByLabel("Last name").fill(fields.lastName);
    if (fields.email !== undefined) await p.getByLabel("Email").fill(fields.email);
    if (fields.employeeId !== undefined) await p.getByLabel("Employee ID").fill(fields.employeeId);
    await p.getByRole("button", { name: "Search", exact: true }).click();
  }

  rows() {
    return this.page.locator("table tbody tr");
  }

  statusCells() {
    return this.page.locator("table tbody tr td:nth-child(4)");
  }
}

/**
 * Forces the simulator's status for one card. The demo simulator would push the change to
 * the app at once (a signed webhook); the tests turn that off first, so that the change
 * reaches the card only through the command or the sync under test.
 */
export async function simStatus(request: APIRequestContext, cardId: string, status: string, failureReason: string | null = null) {
  const off = await request.post(`${SIM_URL}/sim/webhook`, { data: { url: null } });
  expect(off.ok(), "sim webhook off").toBeTruthy();
  const res = await request.post(`${SIM_URL}/sim/cards/${cardId}/status`, { data: { status, failureReason } });
  expect(res.ok(), `sim status ${status} for ${cardId}`).toBeTruthy();
}

export async function simFault(request: APIRequestContext, mode: string, cardId: string | null, extra: Record<string, unknown> = {}) {
  const res = await request.post(`${SIM_URL}/sim/faults`, {
    data: { mode, cardId, probability: 1.0, latencyMs: 0, retryAfter: 7, ...extra },
  });
  expect(res.ok(), `sim fault ${mode}`).toBeTruthy();
}
