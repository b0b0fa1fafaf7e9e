// A module service worker: service workers refuse top-level await, so it imports the inlined,
// synchronously instantiated entry.
import { KinesisProducer } from '/pkg/inline.js';
import { putFrom } from '/tests/js/workers/put.js';

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
self.addEventListener('message', (e) => e.waitUntil(putFrom(KinesisProducer, e.data, e.ports[0])));
