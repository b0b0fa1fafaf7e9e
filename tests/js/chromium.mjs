// Test support: Debian's Chromium (installed by scripts/setup.sh), driven by playwright-core.
// Never a browser a tool downloads; background networking off, so it reaches nothing but the
// pages the tests serve on 127.0.0.1.
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
}
