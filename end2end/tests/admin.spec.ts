import { test, expect, Page, Browser, BrowserContext } from "@playwright/test";
import { spawn, ChildProcess } from "node:child_process";
import { logInAs, LoginPage, SearchPage, hydrated, serverCli, SERVER, USERS } from "./support";

// The seeded demo enables Update card order on Ordered and In production, and the other
// spec files rely on it: every test here that changes it puts it back.
test.describe.configure({ mode: "serial" });

const STANDALONE_SIM = `127.0.0.1:${process.env.E2E_STANDALONE_SIM_PORT ?? "4012"}`;
let standaloneSim: ChildProcess | undefined;

test.beforeAll(async () => {
  // A GO Cards simulator of its own, with the standalone credentials, for Test connection.
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith("GOCARDS_")) delete env[name];
  standaloneSim = spawn(SERVER, ["gocards-sim", "--addr", STANDALONE_SIM], { env, stdio: "ignore" });
  await expect
    .poll(async () => fetch(`http://${STANDALONE_SIM}/oauth/token`).then(() => true, () => false), { timeout: 10_000 })
    .toBe(true);
});

test.afterAll(async () => {
  standaloneSim?.kill();
  restoreDemoCommands();
});

function restoreDemoCommands() {
  for (const state of ["ordered", "in_production"]) {
    serverCli("commands", "enable", "update-card-order", "--state", state);
    serverCli("commands", "enable", "abort-card-order", "--state", state);
  }
}

// Contexts made here are not closed by Playwright; their pages would keep their live streams
// open, and keep reacting to events, through the rest of the suite.
const opened: BrowserContext[] = [];
test.afterEach(async () => {
  for (const context of opened.splice(0)) await context.close();
});

async function newPage(browser: Browser, who: keyof typeof USERS): Promise<Page> {
  const context = await browser.newContext();
  opened.push(context);
  const page = await context.newPage();
  await logInAs(page, who);
  return page;
}

async function openCardsTab(page: Page, label: string) {
  if (!page.url().endsWith("/admin/cards")) {
    await page.goto("/admin/cards");
    await hydrated(page);
  }
  const tab = page.getByRole("tab", { name: label, exact: true });
  await tab.click();
  await expect(tab).toHaveAttribute("aria-selected", "true");
  return page.getByRole("tabpanel");
}

/** Sets one tab's list to Update card order (or to nothing) and saves it. */
async function setTab(page: Page, label: string, enabled: boolean) {
  const panel = await openCardsTab(page, label);
  const remove = panel.getByRole("button", { name: "Remove", exact: true });
  while ((await remove.count()) > 0) await remove.first().click();
  if (enabled) {
    await panel.getByRole("button", { name: "New", exact: true }).click();
    await expect(panel.getByLabel("Process")).toHaveValue("update-card-order");
  }
  await panel.getByRole("button", { name: "Save", exact: true }).click();
  await expect(panel.getByRole("status")).toHaveText("Saved.");
  await expect(panel.getByText("Unsaved changes")).toHaveCount(0);
}

/** Whether the operator sees Update card order on the first card in `status`. */
async function operatorSeesCommand(page: Page, status: string): Promise<boolean> {
  await page.goto("/search");
  await hydrated(page);
  const search = new SearchPage(page);
  await search.search({ status });
  await expect.poll(async () => new Set(await search.statusCells().allTextContents())).toEqual(new Set([status]));
  await search.rows().first().getByRole("link").click();
  await expect(page).toHaveURL(/\/cards\//);
  await expect(page.getByRole("heading", { name: "What do you want to do?" })).toBeVisible();
  await expect(page.getByTestId("card-status")).toHaveText(status);
  return (await page.getByRole("button", { name: "Update card order", exact: true }).count()) > 0;
}

test("an operator who opens the settings view is not allowed, and has no ADMIN tab", async ({ page }) => {
  await logInAs(page, "operator");
  await expect(page.getByRole("link", { name: "ADMIN", exact: true })).toHaveCount(0);
  const res = await page.goto("/admin/cards");
  expect(res?.status()).toBe(403);
  await expect(page.getByRole("heading", { name: "Not allowed" })).toBeVisible();
  await expect(page.getByRole("tab")).toHaveCount(0);
  await page.screenshot({ path: "../docs/screenshots/admin-not-allowed.png" });
});

test("Additional Commands: enabled per state, seen by operators at once, refused where they cannot apply", async ({ browser }) => {
  const admin = await newPage(browser, "admin");
  const operator = await newPage(browser, "operator");
  try {
    await admin.getByRole("link", { name: "ADMIN", exact: true }).click();
    await expect(admin).toHaveURL(/\/admin\/cards$/);
    await hydrated(admin);
    // A client-side navigation: the tabs come with the page's data, a moment later.
    await expect(admin.getByRole("tab")).toHaveCount(11);
    const tabs = await admin.getByRole("tab").allTextContents();
    expect(tabs.map((t) => t.trim())).toEqual([
      "Registered", "Processing", "Ordered", "In production", "Produced",
      "Failed", "Aborted", "Active", "Inactive", "Expired", "Locked",
    ]);

    // Start from nothing enabled.
    await setTab(admin, "Ordered", false);
    await setTab(admin, "In production", false);
    expect(await operatorSeesCommand(operator, "Ordered")).toBe(false);

    // Ordered only.
    await setTab(admin, "Ordered", true);
    await admin.screenshot({ path: "../docs/screenshots/admin-cards.png", fullPage: true });
    expect(await operatorSeesCommand(operator, "Ordered")).toBe(true);
    expect(await operatorSeesCommand(operator, "In production")).toBe(false);

    // In production too.
    await setTab(admin, "In production", true);
    expect(await operatorSeesCommand(operator, "In production")).toBe(true);

    // Refused on the Produced tab; nothing is stored.
    const produced = await openCardsTab(admin, "Produced");
    await produced.getByRole("button", { name: "New", exact: true }).click();
    await expect(produced.getByText("Unsaved changes")).toBeVisible();
    const processes = await produced.getByLabel("Process").locator("option").allTextContents();
    // Every process is offered; the server says which cannot go here.
    expect(processes).toEqual(["Update card order", "Abort card order", "Order card"]);
    await produced.getByRole("button", { name: "Save", exact: true }).click();
    await expect(produced.getByRole("alert")).toHaveText(
      "Update card order cannot be enabled on the Produced tab: it only acts on cards that are Ordered or In production.",
    );
    await admin.screenshot({ path: "../docs/screenshots/admin-cards-refused.png", fullPage: true });
    await produced.getByRole("button", { name: "Remove", exact: true }).click();
    await expect(produced.getByText("Unsaved changes")).toHaveCount(0);
    await admin.reload();
    await hydrated(admin);
    const reloaded = await openCardsTab(admin, "Produced");
    await expect(reloaded.getByLabel("Process")).toHaveCount(0);

    // Disabled everywhere: gone.
    await setTab(admin, "Ordered", false);
    await setTab(admin, "In production", false);
    expect(await operatorSeesCommand(operator, "Ordered")).toBe(false);
    expect(await operatorSeesCommand(operator, "In production")).toBe(false);

    // Back to the demo's set-up, through the view.
    await setTab(admin, "Ordered", true);
    await setTab(admin, "In production", true);
    expect(await operatorSeesCommand(operator, "Ordered")).toBe(true);
  } finally {
    restoreDemoCommands();
  }
});

test("unsaved changes are flagged, and leaving asks first", async ({ page }) => {
  await logInAs(page, "admin");
  const panel = await openCardsTab(page, "Registered");
  await panel.getByRole("button", { name: "New", exact: true }).click();
  await expect(panel.getByText("Unsaved changes")).toBeVisible();
  let asked = "";
  page.once("dialog", async (dialog) => {
    asked = dialog.type();
    await dialog.dismiss();
  });
  await page.getByRole("link", { name: "Accounts", exact: true }).click();
  await expect.poll(() => asked).toBe("beforeunload");
  await expect(page).toHaveURL(/\/admin\/cards$/);
  await panel.getByRole("button", { name: "Remove", exact: true }).click();
  await expect(panel.getByText("Unsaved changes")).toHaveCount(0);
  await page.getByRole("link", { name: "Accounts", exact: true }).click();
  await expect(page).toHaveURL(/\/admin\/accounts$/);
});

test("GO Cards connection: test success and each failure, refused input, save and audit", async ({ page }) => {
  await logInAs(page, "admin");
  await page.goto("/admin/gocards");
  await hydrated(page);
  await expect(page.getByText("Demo mode: the app uses the built-in GO Cards simulator.")).toBeVisible();
  // GOCARDS_TIMEOUT_MS is set for the suite: read-only and marked.
  await expect(page.getByLabel("Timeout (ms)")).toHaveValue("1500");
  await expect(page.getByLabel("Timeout (ms)")).toHaveAttribute("readonly", "");
  await expect(page.getByText("set by environment")).toBeVisible();
  await expect(page.getByLabel("Client secret")).toHaveAttribute("type", "password");

  const fill = async (fields: Record<string, string>) => {
    for (const [label, value] of Object.entries(fields)) await page.getByLabel(label, { exact: true }).fill(value);
  };
  const result = page.getByTestId("test-result");
  const testButton = page.getByRole("button", { name: "Test connection", exact: true });

  await fill({
    "Base URL": `http://${STANDALONE_SIM}`,
    "Client ID": "demo-client",
    "Client secret": "demo-secret",
    "Organisation ID": "DEMO-ORG",
  });
  await expect(page.getByText("Unsaved changes")).toBeVisible();
  await testButton.click();
  await expect(result).toHaveText(
    `Connection works: GO Cards at http://${STANDALONE_SIM}/ issued a token and answered an API call for organisation DEMO-ORG.`,
  );
  await expect(result).toHaveAttribute("role", "status");
  await page.screenshot({ path: "../docs/screenshots/admin-gocards.png", fullPage: true });

  await fill({ "Client secret": "wrong-secret" });
  await testButton.click();
  await expect(result).toHaveText(`Wrong credentials: GO Cards at http://${STANDALONE_SIM}/ rejected the client ID or client secret.`);
  await expect(result).toHaveAttribute("role", "alert");

  await fill({ "Client secret": "demo-secret", "Organisation ID": "OTHER-ORG" });
  await testButton.click();
  await expect(result).toHaveText(
    `Wrong organisation: GO Cards at http://${STANDALONE_SIM}/ accepted the credentials but refused organisation OTHER-ORG.`,
  );

  await fill({ "Base URL": "http://127.0.0.1:9", "Organisation ID": "DEMO-ORG" });
  await testButton.click();
  await expect(result).toHaveText("Could not reach GO Cards at http://127.0.0.1:9/. Check the base URL and the network.");

  // Refused input: a message by the field, nothing stored.
  await fill({ "Base URL": "ftp://cards.example" });
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByText("Base URL must start with http:// or https://.")).toBeVisible();
  await expect(page.getByLabel("Base URL")).toHaveAttribute("aria-invalid", "true");

  // Save without a base URL: demo mode stays, the client id is stored and audited.
  await fill({ "Base URL": "", "Client ID": "e2e-client", "Client secret": "", "Organisation ID": "" });
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByTestId("save-result")).toHaveText(
    "Saved. No base URL is set, so the app uses the built-in GO Cards simulator (demo mode).",
  );
  await expect(page.getByText("Unsaved changes")).toHaveCount(0);
  await expect(page.getByLabel("Client ID")).toHaveValue("e2e-client");

  await page.getByRole("link", { name: "Audit log", exact: true }).click();
  await expect(page).toHaveURL(/\/admin\/audit$/);
  const first = page.getByRole("row").nth(1);
  await expect(first).toContainText("admin");
  await expect(first).toContainText("set gocards.client_id");
  await expect(first).toContainText("Client ID: (none) → e2e-client");
  await expect(page.getByRole("table")).not.toContainText("demo-secret");
  await page.screenshot({ path: "../docs/screenshots/admin-audit.png", fullPage: true });
});

test("Accounts: an added operator logs in, and disabling them ends their session", async ({ browser }) => {
  const admin = await newPage(browser, "admin");
  await admin.goto("/admin/accounts");
  await hydrated(admin);
  await admin.getByLabel("Username").fill("e2e-newop");
  await admin.getByLabel("Initial password").fill("e2e-newop-pass");
  await admin.getByLabel("Role").selectOption({ label: "Operator" });
  await admin.getByRole("button", { name: "Add user", exact: true }).click();
  await expect(admin.getByRole("main").getByRole("status")).toHaveText("Added operator e2e-newop. They can log in now.");
  const row = admin.getByRole("row", { name: /e2e-newop/ });
  await expect(row).toContainText("Enabled");

  const newop = await (await browser.newContext()).newPage();
  const login = new LoginPage(newop);
  await login.open();
  await login.logIn("e2e-newop", "e2e-newop-pass");
  await expect(newop).toHaveURL(/\/search/);
  await hydrated(newop);

  await row.getByRole("button", { name: "Disable", exact: true }).click();
  await expect(admin.getByRole("main").getByRole("status")).toHaveText("Disabled e2e-newop. Their sessions have ended.");
  await expect(row).toContainText("Disabled");
  await admin.screenshot({ path: "../docs/screenshots/admin-users.png", fullPage: true });

  await newop.reload();
  await expect(newop).toHaveURL(/\/login$/);

  // The last enabled admin stays.
  const adminRow = admin.getByRole("row", { name: /^admin / });
  await adminRow.getByRole("button", { name: "Disable", exact: true }).click();
  await expect(admin.getByRole("alert")).toHaveText(
    "admin is the last enabled admin and cannot be disabled. Make another user an admin first.",
  );
});
