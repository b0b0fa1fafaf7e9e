// Pages that close, sleep or come back online. When a page is hidden or goes away, buffered
// readings leave at once in keepalive requests, which outlive the page, within the 64 KiB of
// keepalive bodies a document may have in flight: shared by the page's producers.

/** Keepalive request bodies a document may have in flight at once (the Fetch standard's limit). */
const KEEPALIVE_BUDGET = 64 * 1024;
/** Drivers of this document that flush on unload: they share the keepalive budget. */
const unloading = new Set();

/**
 * On a page, when it is hidden or going away: `prepare()` (false: nothing to do), then the
 * driver sends what fits the budget left by the page's other producers. Returns the unlisten.
 */
export function listenToLifecycle(driver, prepare) {
  const doc = globalThis.document;
  if (!doc?.addEventListener || !globalThis.addEventListener) return () => {};
  const flush = () => {
    if (!prepare()) return;
    let others = 0;
    for (const other of unloading) if (other !== driver) others += other.keepaliveBytes;
    driver.unload(Math.max(0, KEEPALIVE_BUDGET - others));
  };
  const onVisibility = () => doc.visibilityState === 'hidden' && flush();
  doc.addEventListener('visibilitychange', onVisibility);
  globalThis.addEventListener('pagehide', flush);
  unloading.add(driver);
  return () => {
    unloading.delete(driver);
    doc.removeEventListener('visibilitychange', onVisibility);
    globalThis.removeEventListener('pagehide', flush);
  };
}

/** Where the host tells (pages and their workers), call `online` when the network is back. */
export function listenForOnline(online) {
  if (!('onLine' in (globalThis.navigator ?? {})) || !globalThis.addEventListener) return () => {};
  globalThis.addEventListener('online', online);
  return () => globalThis.removeEventListener('online', online);
}
