// The dashboard: simulated devices (and a real one over Web Serial, where the browser has it)
// stream readings through kinesis-edge; the charts come from the producer's stats, and a
// KinesisReader shows what the stream holds.
import { KinesisProducer, KinesisReader, isKinesisEdgeError } from 'kinesis-edge';
import { Device } from './devices.mjs';
import { LineChart, format } from './charts.js';

const $ = (id) => document.getElementById(id);
const form = $('settings');
const decoder = new TextDecoder();

const charts = {
  rate: new LineChart($('c-rate'), { title: 'Records per second', series: [{ name: 'sent', color: '#ff9900' }, { name: 'acknowledged', color: '#3fb950' }] }),
  batch: new LineChart($('c-batch'), { title: 'Per PutRecords call', series: [{ name: 'readings', color: '#58a6ff' }, { name: 'Kinesis records', color: '#d2a8ff' }] }),
  latency: new LineChart($('c-latency'), { title: 'Request latency', unit: ' ms', series: [{ name: 'p50', color: '#3fb950' }, { name: 'p99', color: '#ff9900' }] }),
  retries: new LineChart($('c-retries'), { title: 'Retries and throttles per second', series: [{ name: 'retries', color: '#ff9900' }, { name: 'throttles', color: '#f85149' }] }),
  buffer: new LineChart($('c-buffer'), { title: 'Buffered and in flight', series: [{ name: 'buffered', color: '#58a6ff' }, { name: 'in flight', color: '#d2a8ff' }] }),
};

const state = { producer: null, ticker: null, sampler: null, reader: null, serial: null, last: null, latest: [] };
// For the end-to-end tests: what the page is doing, without scraping the DOM.
window.__dashboard = state;

/** Settings: the form, filled from the demo server's /config.json when there is one. */
async function loadDefaults() {
  const defaults = { endpoint: 'http://127.0.0.1:4567', region: 'us-east-1', streamName: 'device-readings', accessKeyId: 'AKIDDEMO', secretAccessKey: 'demo-secret' };
  try {
    Object.assign(defaults, await (await fetch('config.json')).json());
  } catch {
    // Served without the demo: the local emulator's defaults.
  }
  for (const [name, value] of Object.entries(defaults)) if (form.elements[name]) form.elements[name].value = value;
}

function settings() {
  const f = form.elements;
  const credentials = { accessKeyId: f.accessKeyId.value, secretAccessKey: f.secretAccessKey.value };
  if (f.sessionToken.value) credentials.sessionToken = f.sessionToken.value;
  return {
    stream: { region: f.region.value, streamName: f.streamName.value, endpoint: f.endpoint.value, credentials },
    devices: Number(f.devices.value),
    rate: Number(f.rate.value),
    aggregation: f.aggregation.checked,
  };
}

function showError(e) {
  const li = document.createElement('li');
  li.textContent = isKinesisEdgeError(e) ? `${e.code}: ${e.message}` : String(e?.message ?? e);
  const list = $('errors');
  list.prepend(li);
  while (list.children.length > 5) list.lastChild.remove();
}

function put(reading, partitionKey) {
  state.producer.put({ data: reading, partitionKey }).catch(showError);
}

function sample() {
  const s = state.producer.stats();
  const last = state.last ?? s;
  const requests = s.requests - last.requests;
  charts.rate.push(s.recordsSent - last.recordsSent, s.recordsAcknowledged - last.recordsAcknowledged);
  charts.batch.push(requests ? (s.recordsSent - last.recordsSent) / requests : 0, requests ? (s.kinesisRecordsSent - last.kinesisRecordsSent) / requests : 0);
  charts.latency.push(s.latencyP50Ms ?? 0, s.latencyP99Ms ?? 0);
  charts.retries.push(s.retries - last.retries, s.throttles - last.throttles);
  charts.buffer.push(s.bufferedRecords + s.waitingRecords, s.inFlightRecords);
  const set = (id, v) => ($(id).textContent = v);
  set('k-accepted', format(s.recordsAccepted));
  set('k-acked', format(s.recordsAcknowledged));
  set('k-failed', format(s.recordsFailed));
  set('k-buffered', format(s.bufferedRecords + s.waitingRecords));
  set('k-requests', format(s.requests));
  set('k-retries', format(s.retries));
  set('k-latency', s.latencyP50Ms === null ? '–' : `${s.latencyP50Ms}/${s.latencyP99Ms}`);
  set('k-packing', s.kinesisRecordsAcknowledged ? format(s.recordsPerKinesisRecord) : '–');
  set('k-units', format(s.putPayloadUnits));
  set('k-mode', s.aggregation);
  state.last = s;
}

function showLatest(records) {
  state.latest = [...records.reverse(), ...state.latest].slice(0, 12);
  const rows = state.latest.map((r) => {
    let reading = {};
    try {
      reading = JSON.parse(decoder.decode(r.data));
    } catch {
      // Not JSON: shown without values.
    }
    const cells = [
      new Date(r.arrivedAt).toLocaleTimeString(),
      r.partitionKey,
      reading.temperature ?? '–',
      reading.humidity ?? '–',
      reading.battery ?? '–',
      r.shardId.replace('shardId-', ''),
      `…${r.sequenceNumber.slice(-8)}${r.subSequenceNumber === undefined ? '' : ` / ${r.subSequenceNumber}`}`,
    ];
    const tr = document.createElement('tr');
    for (const c of cells) tr.append(Object.assign(document.createElement('td'), { textContent: c }));
    return tr;
  });
  $('latest').replaceChildren(...rows);
}

async function read(stream, signal) {
  try {
    const reader = new KinesisReader(stream);
    for await (const batch of reader.records({ from: 'LATEST', pollMs: 1000, signal })) if (batch.length) showLatest(batch);
  } catch (e) {
    if (!signal.aborted) showError(e);
  }
}

function start() {
  if (!form.reportValidity()) return;
  const { stream, devices, rate, aggregation } = settings();
  try {
    state.producer = new KinesisProducer({ ...stream, aggregation });
  } catch (e) {
    showError(e);
    return;
  }
  state.last = null;
  const fleet = Array.from({ length: devices }, (_, i) => new Device(i, Date.now() % 1000, 'web'));
  state.ticker = setInterval(() => {
    for (const device of fleet) for (const reading of device.tick()) put(reading, device.id);
  }, 1000 / rate);
  state.sampler = setInterval(sample, 1000);
  state.reader = new AbortController();
  read(stream, state.reader.signal);
  $('start').disabled = true;
  $('stop').disabled = false;
  $('status').textContent = `streaming: ${devices} devices × ${rate}/s`;
}

async function stop() {
  clearInterval(state.ticker);
  $('stop').disabled = true;
  $('status').textContent = 'flushing…';
  await state.producer.close().catch(showError);
  sample();
  clearInterval(state.sampler);
  state.reader.abort();
  state.serial?.cancel().catch(() => {});
  $('start').disabled = false;
  $('status').textContent = 'stopped';
}

/** A real device on a serial port that writes one JSON reading per line. */
async function connectSerial() {
  // Serial readings go through the running producer; start one if the dashboard is stopped.
  if (!$('start').disabled) start();
  if (!$('start').disabled) return; // the settings are not valid: the form says why
  try {
    const port = await navigator.serial.requestPort();
    await port.open({ baudRate: 115_200 });
    $('status').textContent = 'serial device connected';
    const lines = port.readable.pipeThrough(new TextDecoderStream()).getReader();
    state.serial = lines;
    let pending = '';
    for (;;) {
      const { value, done } = await lines.read();
      if (done) break;
      pending += value;
      const complete = pending.split('\n');
      pending = complete.pop();
      for (const line of complete.filter((l) => l.trim())) {
        try {
          const reading = JSON.parse(line);
          put(reading, String(reading.deviceId ?? 'serial-device'));
        } catch {
          showError(new Error(`serial: not a JSON line: ${line.slice(0, 60)}`));
        }
      }
    }
  } catch (e) {
    showError(e);
  }
}

$('start').addEventListener('click', start);
$('stop').addEventListener('click', stop);
if ('serial' in navigator) $('serial').addEventListener('click', connectSerial);
else {
  $('serial').disabled = true;
  $('serial').title = 'Web Serial is not available in this browser';
}
await loadDefaults();
if (new URLSearchParams(location.search).has('autostart')) start();
