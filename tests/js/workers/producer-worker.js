// A dedicated module worker: the browser entry (top-level await, wasm fetched next to it). It
// says when it is ready: messages sent while its modules still evaluate can be lost.
import { KinesisProducer } from '/pkg/browser.js';
import { putFrom } from './put.js';

self.onmessage = (e) => putFrom(KinesisProducer, e.data, e.ports[0]);
self.postMessage('ready');
