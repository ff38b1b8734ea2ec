/**
 * Headless Chromium for the browser tests: Debian's /usr/bin/chromium (or
 * CHROMIUM_PATH) driven by playwright-core, with a fresh empty profile and
 * no traffic of its own (no updates, sync or background fetches), plus the
 * axe-core accessibility check and screenshots as test artifacts.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import axe from 'axe-core';
import type { Teardown } from './local-cluster.js';
import { REPO_ROOT } from './api-processes.js';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Why the browser tests cannot run here, or undefined. */
export const CHROMIUM_MISSING = existsSync(CHROMIUM_PATH) ? undefined : `no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)`;
export const ARTIFACTS_DIR = path.join(REPO_ROOT, '.artifacts', 'screenshots');

export async function startBrowser(t: Teardown): Promise<BrowserContext> {
  const profile = mkdtempSync(path.join(tmpdir(), 'k8s-job-manager-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1000, height: 720 },
  });
  t.teardown(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  });
  return context;
}

export interface AxeViolation {
  id: string;
  impact?: string | null;
  help: string;
  nodes: Array<{ target: unknown }>;
}

/** The axe-core violations of the page as it is now (WCAG 2.1 A/AA and best practices). */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: axe.source });
  // Evaluated in the page (no DOM types here): WCAG 2.1 A/AA rules and best practices.
  const violations = (await page.evaluate(`axe
    .run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } })
    .then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) })))`)) as AxeViolation[];
  return violations.map((v) => `${v.id} (${v.impact ?? 'n/a'}): ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`);
}

/**
 * Saves a screenshot as a test artifact (.artifacts/screenshots); with
 * UPDATE_SCREENSHOTS=1 also into docs/ for the README.
 */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const file = path.join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  if (process.env.UPDATE_SCREENSHOTS) await page.screenshot({ path: path.join(REPO_ROOT, 'docs', `screenshot-${name}.png`), fullPage: false });
  return file;
}
