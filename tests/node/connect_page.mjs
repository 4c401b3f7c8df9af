// A person on the connect page in a real browser: Debian's Chromium,
// headless, driven by puppeteer-core. Opens the link a tool call answered
// with, signs in on the identity provider's own login and consent pages,
// fills the connect form by its label, as a screen reader user would find
// it, and presses Connect.
//
//   node connect_page.mjs '<plan as JSON>'
//
// plan: {url, login, fields: {<label text>: value}, screenshots: dir}
//
// Prints one JSON line: {form: {title, textboxes: [accessible names]},
// done: {status, title, text}}; saves connect-form.png and connected.png
// in `screenshots`. Exits when done, or after 90 seconds.

import puppeteer from 'puppeteer-core';

const plan = JSON.parse(process.argv[2]);
setTimeout(() => {
  console.error('timed out');
  process.exit(2);
}, 90_000).unref();

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  // Root in CI containers: Chromium's sandbox needs user namespaces it may not have.
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 800, height: 700 });
  const submit = async () => {
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[type=submit]')]);
  };
  await page.goto(plan.url, { waitUntil: 'load' });
  // The identity provider: its login page, then its consent page.
  await page.type('input[name=login]', plan.login);
  await page.type('input[name=password]', 'any');
  await submit();
  if (await page.$('input[name=prompt][value=consent]')) await submit();

  // The connect form: every field found by its accessible name.
  const tree = await page.accessibility.snapshot();
  const textboxes = [];
  const walk = (node) => {
    if (node.role === 'textbox') textboxes.push(node.name);
    for (const child of node.children ?? []) walk(child);
  };
  walk(tree);
  const form = { title: await page.title(), textboxes };
  await page.screenshot({ path: `${plan.screenshots}/connect-form.png`, fullPage: true });
  for (const [label, value] of Object.entries(plan.fields)) {
    const [input] = await page.$$(`::-p-aria(${label})`);
    if (!input) throw new Error(`no field labelled ${label}: ${JSON.stringify(textboxes)}`);
    await input.type(value);
  }
  const [response] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.click('button[type=submit]'),
  ]);
  await page.screenshot({ path: `${plan.screenshots}/connected.png`, fullPage: true });
  const done = {
    status: response.status(),
    title: await page.title(),
    text: await page.$eval('main', (main) => main.innerText),
  };
  console.log(JSON.stringify({ form, done }));
} finally {
  await browser.close();
}
