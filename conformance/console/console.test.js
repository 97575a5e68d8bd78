// End-to-end tests of Vigil's admin console in headless Chromium, against a
// running server (run.sh starts one). They sign in, make a risky session
// through the OAuth endpoints, find it, read its timeline, terminate it and
// check the result through introspection and the audit log; check that a
// read-only administrator cannot act and that a cross-site form post is
// refused; edit records through the forms; go through the console with the
// keyboard alone; watch the sessions list refresh itself; run axe-core on
// every page; and screenshot every page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = require("axe-core").source;

const base = process.env.VIGIL_URL;
const adminToken = process.env.VIGIL_ADMIN_TOKEN;
const readOnlyToken = process.env.VIGIL_READONLY_TOKEN;
const artifacts = process.env.CONSOLE_ARTIFACTS || "console-artifacts";
mkdirSync(artifacts, { recursive: true });

// The walkthrough's clients (examples/vigil.yaml).
const agent = { id: "ticket-agent", secret: "ticket-agent-example-secret-change-me-0001" };
const desk = { id: "support-desk", secret: "support-desk-example-secret-change-me-0002" };
const ticketsAPI = { id: "tickets-api", secret: "tickets-api-example-secret-change-me-00003" };

let browser;
let admin; // the signed-in administrator's page
const risky = {}; // the risky session: sid, tokens
const benign = {};

function basic(c) {
  return "Basic " + Buffer.from(`${encodeURIComponent(c.id)}:${encodeURIComponent(c.secret)}`).toString("base64");
}

async function token(client, form) {
  const res = await fetch(`${base}/oauth2/token`, {
    method: "POST",
    headers: { Authorization: basic(client), "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form),
  });
  return { status: res.status, body: await res.json() };
}

async function introspect(tok) {
  const res = await fetch(`${base}/oauth2/introspect`, {
    method: "POST",
    headers: { Authorization: basic(ticketsAPI), "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: tok }),
  });
  assert.equal(res.status, 200);
  return res.json();
}

async function adminAPI(path) {
  const res = await fetch(base + path, { headers: { Authorization: `Bearer ${adminToken}` } });
  assert.equal(res.status, 200, `GET ${path}`);
  return res.json();
}

const exchange = (subject, scope) => ({
  grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
  subject_token: subject,
  subject_token_type: "urn:ietf:params:oauth:token-type:access_token",
  audience: "https://tickets.example",
  scope,
});

async function sessionOf(clientID) {
  const { sessions } = await adminAPI(`/admin/sessions?client=${clientID}`);
  return sessions[0].sid;
}

// shot writes a full-page screenshot of page as NAME.png.
async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

// axeCheck runs axe-core on the page and fails on serious or critical
// violations (WCAG 2.x A and AA rules, plus best practices).
async function axeCheck(page, name) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`),
    [],
    `axe on ${name}`,
  );
}

async function visit(page, path, name) {
  const res = await page.goto(base + path);
  assert.equal(res.status(), 200, `GET ${path}`);
  await axeCheck(page, name);
  await shot(page, name);
}

async function signIn(context, credential) {
  const page = await context.newPage();
  await page.goto(`${base}/console/login`);
  await page.getByLabel("Admin credential").fill(credential);
  await Promise.all([page.waitForURL(/\/console\/overview$/), page.getByRole("button", { name: "Sign in" }).click()]);
  return page;
}

before(async () => {
  assert.ok(base && adminToken && readOnlyToken, "VIGIL_URL, VIGIL_ADMIN_TOKEN and VIGIL_READONLY_TOKEN are required");
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });

  // Three clean sessions of the support desk, each ended by revoking its
  // token: the risk engine learns the desk's baseline from them.
  for (let i = 0; i < 3; i++) {
    const t = await token(desk, { grant_type: "client_credentials" });
    assert.equal(t.status, 200, JSON.stringify(t.body));
    const res = await fetch(`${base}/oauth2/revoke`, {
      method: "POST",
      headers: { Authorization: basic(desk), "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: t.body.access_token }),
    });
    assert.equal(res.status, 200);
  }

  // A benign session and a risky one: the agent exchanges its token for
  // one tool call, then asks twice for a scope beyond its registration (an
  // escalation attempt each time).
  let r = await token(desk, { grant_type: "client_credentials" });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  benign.sid = await sessionOf(desk.id);

  r = await token(agent, { grant_type: "client_credentials", scope: "tickets:read kb:read" });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  risky.access = r.body.access_token;
  const ex = await token(agent, exchange(risky.access, "tickets:read"));
  assert.equal(ex.status, 200, JSON.stringify(ex.body));
  risky.exchanged = ex.body.access_token;
  for (let i = 0; i < 2; i++) {
    const bad = await token(agent, exchange(risky.access, "tickets:admin"));
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
  }
  risky.sid = await sessionOf(agent.id);
  assert.equal((await introspect(risky.exchanged)).active, true, "the exchanged token is active before termination");
});

after(async () => {
  await browser?.close();
});

test("the sign-in page refuses a wrong credential, then signs the admin in", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${base}/console/login`);
  await axeCheck(page, "login");
  await shot(page, "login");
  await page.getByLabel("Admin credential").fill("vat_not-a-credential");
  await page.getByRole("button", { name: "Sign in" }).click();
  await assert.doesNotReject(page.getByRole("alert").filter({ hasText: "not valid" }).waitFor());
  admin = await signIn(context, adminToken);
  assert.match(await admin.locator("#who").innerText(), /admin/);
  await axeCheck(admin, "overview");
  await shot(admin, "overview");
});

test("the risky session is found by filter", async () => {
  await admin.goto(`${base}/console/sessions`);
  await admin.getByLabel("Client").selectOption(agent.id);
  await admin.getByLabel("Action").selectOption("allow");
  await admin.getByLabel("Text").fill("escalation");
  await Promise.all([admin.waitForURL(/client=ticket-agent/), admin.getByRole("button", { name: "Filter" }).click()]);
  const rows = admin.locator("#sessions-table tbody tr");
  assert.equal(await rows.count(), 1);
  assert.match(await rows.first().innerText(), /scope\.escalation_attempt/);
  assert.equal(await admin.locator(`a[href="/console/sessions/${risky.sid}"]`).count(), 1);
  assert.equal(await admin.locator(`a[href="/console/sessions/${benign.sid}"]`).count(), 0);
  await axeCheck(admin, "sessions");
  await shot(admin, "sessions");

  // The benign session does not match the text, but is listed without it.
  await admin.goto(`${base}/console/sessions?client=${desk.id}&q=escalation`);
  assert.equal(await admin.locator("#sessions-table tbody tr").count(), 0);
  await admin.goto(`${base}/console/sessions?client=${desk.id}`);
  assert.equal(await admin.locator(`a[href="/console/sessions/${benign.sid}"]`).count(), 1);
});

test("the session page shows the score chart with thresholds and the reasons", async () => {
  await admin.goto(`${base}/console/sessions?client=${agent.id}&q=escalation`);
  await Promise.all([admin.waitForURL(new RegExp(`/console/sessions/${risky.sid}$`)),
    admin.locator(`a[href="/console/sessions/${risky.sid}"]`).click()]);
  const chart = admin.locator("svg#score-chart");
  assert.equal(await chart.getAttribute("role"), "img");
  assert.equal(await chart.locator("line.threshold").count(), 4, "four thresholds drawn");
  const { events } = await adminAPI(`/admin/sessions/${risky.sid}`);
  const judged = events.filter((e) => e.level || e.score);
  assert.ok(judged.length >= 3, `judged events: ${judged.length}`);
  assert.equal(await chart.locator("circle.score-point").count(), judged.length, "one point per judged event");
  const timeline = await admin.locator("#events-table").innerText();
  assert.match(timeline, /scope\.escalation_attempt/);
  assert.match(timeline, /asked beyond/);
  const tree = await admin.locator("#token-tree").innerText();
  assert.match(tree, /access_token/);
  assert.match(tree, /audiences: https:\/\/tickets\.example/);
  await axeCheck(admin, "session");
  await shot(admin, "session");
});

test("terminating the session revokes its tokens and is audited under the admin's name", async () => {
  await admin.getByLabel("Reason for terminating").fill("escalation attempts: e2e test");
  await Promise.all([admin.waitForURL(/done=terminated/), admin.getByRole("button", { name: "Terminate session" }).click()]);
  assert.match(await admin.getByRole("status").first().innerText(), /terminated/);
  assert.match(await admin.locator("#session-status").innerText(), /terminated/);
  assert.equal((await introspect(risky.exchanged)).active, false, "exchanged token after termination");
  assert.equal((await introspect(risky.access)).active, false, "session token after termination");

  await admin.goto(`${base}/console/audit?sid=${risky.sid}`);
  const rows = admin.locator("#audit-table tbody tr").filter({ hasText: "escalation attempts: e2e test" });
  const adminRow = rows.filter({ has: admin.locator("td.actor", { hasText: "admin" }) });
  assert.equal(await adminRow.count(), 1, "one audit record of the termination by the admin");
  assert.match(await adminRow.innerText(), /terminated/);
  assert.match(await adminRow.innerText(), /console/);
  await axeCheck(admin, "audit");
  await shot(admin, "audit");

  await visit(admin, "/console/overview", "overview");
  assert.equal(await admin.locator(`#main a[href="/console/sessions/${risky.sid}"]`).count(), 1, "listed among recent terminations");
});

test("the token tree shows a delegated exchange: its parent and its act chain", async () => {
  // The support desk's token as subject, the agent's as actor (the desk
  // names the agent in may_act): the exchanged token joins the desk's session.
  const sub = await token(desk, { grant_type: "client_credentials" });
  const act = await token(agent, { grant_type: "client_credentials", scope: "tickets:read" });
  assert.equal(sub.status, 200, JSON.stringify(sub.body));
  assert.equal(act.status, 200, JSON.stringify(act.body));
  const tool = await token(agent, { ...exchange(sub.body.access_token, "tickets:read"),
    actor_token: act.body.access_token, actor_token_type: "urn:ietf:params:oauth:token-type:access_token" });
  assert.equal(tool.status, 200, JSON.stringify(tool.body));
  const { sid, act: actClaim } = await introspect(tool.body.access_token);
  assert.equal(actClaim?.sub, agent.id);
  await admin.goto(`${base}/console/sessions/${sid}`);
  const items = admin.locator("#token-tree > li");
  assert.equal(await items.count(), 2, "the desk's token and the exchanged one");
  assert.match(await items.nth(0).getAttribute("class"), /depth-0/);
  assert.match(await items.nth(0).innerText(), /client support-desk/);
  assert.match(await items.nth(1).getAttribute("class"), /depth-1/);
  const child = await items.nth(1).innerText();
  assert.match(child, /exchanged from .+ \(token exchange\)/);
  assert.match(child, /act chain: ticket-agent/);
  assert.match(child, /bearer/, "no DPoP binding on this token");
  await axeCheck(admin, "session-delegated");
});

test("clients, resources, issuers and policy pages render, and a draft policy is checked", async () => {
  await visit(admin, "/console/clients", "clients");
  await admin.goto(`${base}/console/clients/${agent.id}`);
  assert.equal(await admin.locator(`#main a[href="/console/sessions/${risky.sid}"]`).count(), 1, "among the agent's recent sessions");
  await visit(admin, `/console/clients/${desk.id}`, "client");
  assert.equal(await admin.locator("svg#hours rect.heat").count(), 168);
  assert.ok(await admin.locator("svg#hours rect.heat-5").count() >= 1, "the hour the desk's sessions opened is marked");
  await visit(admin, "/console/resources", "resources");
  await visit(admin, "/console/resource?audience=https%3A%2F%2Ftickets.example", "resource");
  await visit(admin, "/console/issuers", "issuers");
  await visit(admin, "/console/policy", "policy");

  await admin.getByLabel(/Draft policy/).fill("thresholds:\n  low: 10\n  medium: 5\n");
  await admin.getByRole("button", { name: "Check" }).click();
  assert.match(await admin.locator("#check-result").innerText(), /threshold/i);
  await admin.getByLabel(/Draft policy/).fill("report_only: true\n");
  await admin.getByRole("button", { name: "Check" }).click();
  assert.match(await admin.locator("#check-result").innerText(), /policy ok \(report-only/);

  await admin.goto(`${base}/console/policy`);
  await admin.getByRole("button", { name: /Switch to report-only/ }).click();
  await assert.doesNotReject(admin.getByRole("button", { name: /Yes, switch to report-only/ }).waitFor());
  await axeCheck(admin, "policy-confirm");
  await shot(admin, "policy-confirm");
  await admin.getByRole("link", { name: "Cancel" }).click();
  assert.match(await admin.locator("#policy-mode").innerText(), /enforced/);
});

test("records are created, edited and deleted with the admin API's validation", async () => {
  await visit(admin, "/console/issuer?issuer=https%3A%2F%2Fci.example", "issuer");
  assert.match(await admin.getByLabel(/The whole record as JSON/).inputValue(), /"issuer": "https:\/\/ci\.example"/);

  // A new resource: refused while the API refuses it, then created.
  const audience = "https://e2e-reports.example";
  await admin.goto(`${base}/console/resources`);
  await admin.getByLabel(/The resource as JSON/).fill(JSON.stringify({ audience, sensitivity: 9 }));
  await admin.getByRole("button", { name: "Create resource" }).click();
  assert.match(await admin.getByRole("alert").innerText(), /sensitivity/);
  assert.match(await admin.getByLabel(/The resource as JSON/).inputValue(), /"sensitivity":9/, "the draft is kept");
  await admin.getByLabel(/The resource as JSON/).fill(JSON.stringify({ audience, sensitivity: 2 }));
  await Promise.all([admin.waitForURL(/done=created/), admin.getByRole("button", { name: "Create resource" }).click()]);
  assert.equal((await adminAPI(`/admin/resources?audience=${encodeURIComponent(audience)}`)).sensitivity, 2);

  // Edited: an invalid change is refused and nothing changes; a valid one is saved.
  const editor = admin.getByLabel(/The whole record as JSON/);
  await editor.fill(JSON.stringify({ audience, sensitivity: -1 }));
  await admin.getByRole("button", { name: "Save" }).click();
  assert.match(await admin.getByRole("alert").innerText(), /sensitivity/);
  assert.equal((await adminAPI(`/admin/resources?audience=${encodeURIComponent(audience)}`)).sensitivity, 2);
  await editor.fill(JSON.stringify({ audience, sensitivity: 3 }));
  await Promise.all([admin.waitForURL(/done=saved/), admin.getByRole("button", { name: "Save" }).click()]);
  assert.equal((await adminAPI(`/admin/resources?audience=${encodeURIComponent(audience)}`)).sensitivity, 3);

  // Deleted, and each change is audited under the admin's name.
  await admin.getByRole("button", { name: "Delete" }).click();
  await Promise.all([admin.waitForURL(/\/console\/resources\?done=deleted/), admin.getByRole("button", { name: "Yes, delete the resource" }).click()]);
  const res = await fetch(`${base}/admin/resources?audience=${encodeURIComponent(audience)}`, { headers: { Authorization: `Bearer ${adminToken}` } });
  assert.equal(res.status, 404);
  await admin.goto(`${base}/console/audit?type=admin&actor=admin&q=${encodeURIComponent(audience)}`);
  assert.equal(await admin.locator("#audit-table tbody tr").count(), 3, "created, updated and deleted, by admin");

  // A new client: its generated secret is shown once, then it is deleted.
  await admin.goto(`${base}/console/clients`);
  await admin.getByLabel(/The client as JSON/).fill(JSON.stringify({ id: "e2e-agent", kind: "agent",
    grant_types: ["client_credentials"], scopes: ["tickets:read"], audiences: ["https://tickets.example"] }));
  await admin.getByRole("button", { name: "Create client" }).click();
  const secret = await admin.getByLabel("Client secret").inputValue();
  assert.ok(secret.length >= 32, "a generated secret is shown");
  await axeCheck(admin, "client-created");
  await shot(admin, "client-created");
  const t = await token({ id: "e2e-agent", secret }, { grant_type: "client_credentials" });
  assert.equal(t.status, 200, "the shown secret is the client's");
  await Promise.all([admin.waitForURL(/\/console\/clients\/e2e-agent$/), admin.getByRole("link", { name: "Continue to the client" }).click()]);
  await admin.getByRole("button", { name: "Delete" }).click();
  await axeCheck(admin, "delete-confirm");
  await shot(admin, "delete-confirm");
  await Promise.all([admin.waitForURL(/\/console\/clients\?done=deleted/), admin.getByRole("button", { name: "Yes, delete the client" }).click()]);
  assert.equal((await token({ id: "e2e-agent", secret }, { grant_type: "client_credentials" })).status, 401, "deleted");

  // A page that does not exist says so, accessibly.
  const res404 = await admin.goto(`${base}/console/sessions/ses_does-not-exist`);
  assert.equal(res404.status(), 404);
  await axeCheck(admin, "not-found");
  await shot(admin, "not-found");
});

test("a narrow window keeps every page usable", async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await signIn(context, adminToken);
  for (const path of ["/console/overview", `/console/sessions?client=${agent.id}`, `/console/sessions/${risky.sid}`,
    "/console/clients", `/console/clients/${desk.id}`, "/console/resources",
    "/console/resource?audience=https%3A%2F%2Ftickets.example", "/console/issuers",
    "/console/issuer?issuer=https%3A%2F%2Fci.example", "/console/audit", "/console/policy"]) {
    await page.goto(base + path);
    // Nothing sticks out of the window (wide tables scroll inside their
    // own box), and the navigation's last link is on screen.
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `${path} is ${width}px wide in a 390px window`);
    const policy = await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Policy" }).boundingBox();
    assert.ok(policy && policy.x >= 0 && policy.x + policy.width <= 390, `${path}: the navigation fits`);
    if (path.startsWith("/console/sessions?")) await shot(page, "sessions-narrow");
    if (path.startsWith("/console/sessions/")) await shot(page, "session-narrow");
  }
  await context.close();
});

// tabTo presses Tab until the focused element satisfies want (a function
// of its tag, id, text, label and type), and checks that the focus is
// visible (the style sheet's outline).
async function tabTo(page, what, want) {
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press("Tab");
    const el = await page.evaluate(() => {
      const a = document.activeElement;
      const s = getComputedStyle(a);
      return { tag: a.tagName.toLowerCase(), id: a.id, text: (a.innerText || a.value || "").trim(), label: a.getAttribute("aria-label") || "",
        type: a.getAttribute("type") || "", outline: s.outlineStyle, width: parseFloat(s.outlineWidth) };
    });
    if (want(el)) {
      assert.ok(el.outline !== "none" && el.width >= 2, `focus on ${what} is visible (outline ${el.outline} ${el.width}px)`);
      return el;
    }
  }
  assert.fail(`Tab never reached ${what}`);
}

test("the console is usable with the keyboard alone", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${base}/console/login`);
  await tabTo(page, "the skip link", (e) => e.text === "Skip to content");
  await tabTo(page, "the credential field", (e) => e.id === "token");
  await page.keyboard.type(adminToken);
  await Promise.all([page.waitForURL(/\/console\/overview$/), page.keyboard.press("Enter")]);

  // The skip link moves the focus to the page's content.
  await tabTo(page, "the skip link", (e) => e.text === "Skip to content");
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(() => document.activeElement.id), "main");

  // Navigation, the filters and the list.
  await page.keyboard.press("Shift+Tab");
  await tabTo(page, "the Sessions link", (e) => e.tag === "a" && e.text === "Sessions");
  await Promise.all([page.waitForURL(/\/console\/sessions$/), page.keyboard.press("Enter")]);
  await tabTo(page, "the client filter", (e) => e.id === "f-client");
  await page.keyboard.type(agent.id);
  await tabTo(page, "the text filter", (e) => e.id === "f-q");
  await page.keyboard.type("escalation");
  await Promise.all([page.waitForURL(/q=escalation/), page.keyboard.press("Enter")]);
  assert.match(page.url(), /client=ticket-agent/);
  await tabTo(page, "the session's link", (e) => e.tag === "a" && risky.sid.startsWith(e.text.replace("…", "")));
  await Promise.all([page.waitForURL(new RegExp(`/console/sessions/${risky.sid}$`)), page.keyboard.press("Enter")]);

  assert.equal(await page.locator("#terminate-form").count(), 0, "a terminated session offers no termination");
  assert.equal(await page.locator("#terminated-note").count(), 1);

  // A live session's actions are reached in order.
  await page.goto(`${base}/console/sessions/${benign.sid}`);
  await tabTo(page, "the termination reason", (e) => e.id === "term-reason");
  await tabTo(page, "Terminate session", (e) => e.tag === "button" && e.text === "Terminate session");
  await tabTo(page, "the signal type", (e) => e.id === "sig-type");
  await tabTo(page, "Send signal", (e) => e.tag === "button" && e.text === "Send signal");

  // The report-only switch and its confirmation, cancelled.
  await page.goto(`${base}/console/policy`);
  await tabTo(page, "the report-only switch", (e) => e.tag === "button" && /Switch to report-only/.test(e.text));
  await Promise.all([page.waitForURL(/\/console\/policy\/mode$/), page.keyboard.press("Enter")]);
  await tabTo(page, "the confirmation", (e) => e.tag === "button" && /Yes, switch to report-only/.test(e.text));
  await tabTo(page, "Cancel", (e) => e.tag === "a" && e.text === "Cancel");
  await Promise.all([page.waitForURL(/\/console\/policy$/), page.keyboard.press("Enter")]);
  assert.match(await page.locator("#policy-mode").innerText(), /enforced/);
  await context.close();
});

test("the sessions list refreshes itself while asked to", async () => {
  const context = await browser.newContext();
  const page = await signIn(context, adminToken);
  await page.goto(`${base}/console/sessions?client=${agent.id}`);
  await page.getByLabel("Refresh every 15 s").check();
  assert.match(page.url(), /refresh=1/);
  // The page reloads itself (auto=1 marks the reload: it does not count as
  // the administrator's activity for the idle timeout).
  await page.waitForURL(/auto=1/, { timeout: 30_000 });
  assert.ok(await page.getByLabel("Refresh every 15 s").isChecked(), "still checked after the reload");
  assert.equal(await page.locator(`a[href="/console/sessions/${risky.sid}"]`).count(), 1);
  await page.getByLabel("Refresh every 15 s").uncheck();
  assert.doesNotMatch(page.url(), /refresh=1/);
  await context.close();
});

test("a session's link opened before signing in leads to that session after sign-in", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/console/sessions/${risky.sid}`);
  assert.match(page.url(), /\/console\/login\?next=/);
  await page.getByLabel("Admin credential").fill(adminToken);
  await Promise.all([page.waitForURL(new RegExp(`/console/sessions/${risky.sid}$`)), page.getByRole("button", { name: "Sign in" }).click()]);
  assert.equal(await page.locator("svg#score-chart").count(), 1);
  await context.close();
});

test("a read-only administrator can look but not act", async () => {
  const context = await browser.newContext();
  const page = await signIn(context, readOnlyToken);
  assert.match(await page.locator("#who").innerText(), /auditor\s+read-only/);
  await page.goto(`${base}/console/sessions/${benign.sid}`);
  assert.equal(await page.locator("#terminate-form").count(), 0, "no terminate form");
  assert.equal(await page.locator("#read-only-note").count(), 1);
  // The console refuses the action even when the form is posted directly
  // with the session's own CSRF token.
  const csrf = await page.locator('input[name="csrf"]').first().inputValue();
  const res = await context.request.post(`${base}/console/sessions/${benign.sid}/terminate`, {
    form: { csrf, reason: "read-only attempt" }, maxRedirects: 0,
  });
  assert.equal(res.status(), 403);
  const { session } = await adminAPI(`/admin/sessions/${benign.sid}`);
  assert.equal(session.status, "active");
  await context.close();
});

test("a cross-site form post is refused", async () => {
  // An attacker's page on another site (localhost, not 127.0.0.1) posts a
  // form to the console while the admin is signed in.
  const target = `${base}/console/sessions/${benign.sid}/terminate`;
  const evil = createServer((req, res) => {
    res.setHeader("Content-Type", "text/html");
    res.end(`<!doctype html><html lang="en"><title>evil</title><form method="post" action="${target}">
      <input name="reason" value="forged"><input name="csrf" value="guess"><button id="go">win a prize</button></form></html>`);
  });
  await new Promise((ok) => evil.listen(0, "127.0.0.1", ok));
  try {
    const page = await admin.context().newPage();
    await page.goto(`http://localhost:${evil.address().port}/`);
    const [res] = await Promise.all([page.waitForResponse(target), page.click("#go")]);
    assert.equal(res.status(), 403, "the console refuses the cross-site post");
    const { session } = await adminAPI(`/admin/sessions/${benign.sid}`);
    assert.equal(session.status, "active");
    await page.close();
  } finally {
    evil.close();
  }
});

test("signing out ends the session", async () => {
  await admin.goto(`${base}/console/overview`);
  await Promise.all([admin.waitForURL(/\/console\/login$/), admin.getByRole("button", { name: "Sign out" }).click()]);
  await admin.goto(`${base}/console/sessions`);
  assert.match(admin.url(), /\/console\/login/);
  const { records } = await adminAPI("/admin/audit?order=newest&limit=50");
  const mine = records.filter((r) => r.type === "admin" && r.actor === "admin" && r.reason === "console");
  assert.ok(mine.some((r) => r.outcome === "signed out"), "sign-out audited under the admin's name");
  assert.ok(mine.some((r) => r.outcome === "signed in"), "sign-in audited under the admin's name");
});
