/** What the Chromium suites share: where Debian's Chromium is, its headless flags, a free local port. */
import { createServer as createNetServer } from 'node:net';

export const CHROMIUM = '/usr/lib/chromium/chromium';

export const BASE_FLAGS = [
  '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run', '--disable-quic', '--headless=new',
];

/** A TCP port free on 127.0.0.1 right now (for a Vite dev server). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}
