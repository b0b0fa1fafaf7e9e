// The dashboard: simulated devices (and a real one over Web Serial, where the browser has it)
// stream readings through kinesis-edge; the charts come from the producer's stats and receipts
// (per shard, against the shard limits), the stream's own CloudWatch metrics sit beside them,
// and a KinesisReader shows what the stream holds.
import { KinesisProducer, KinesisReader, isKinesisEdgeError } from 'kinesis-edge';
import { Device } from './devices.mjs';
import { TimeChart, format } from './charts.js';
import { ShardView } from './shards.js';
import { STREAM_METRICS, cloudWatchEndpoint, streamMetrics } from './cloudwatch.js';

const $ = (id) => document.getElementById(id);
const form = $('settings');
const decoder = new TextDecoder();
const encoder = new TextEncoder();
/** How often the shard map and CloudWatch are read again (CloudWatch's Kinesis metrics are per minute). */
const SLOW_REFRESH_MS = 60_000;

const charts = {
  rate: new TimeChart($('c-rate'), { title: 'Readings sent and acknowledged', unit: 'perSecond', series: [{ name: 'sent' }, { name: 'acknowledged' }] }),
  batch: new TimeChart($('c-batch'), { title: 'Per PutRecords call', unit: 'records', series: [{ name: 'readings' }, { name: 'Kinesis records' }] }),
  latency: new TimeChart($('c-latency'), { title: 'Request latency', unit: 'ms', series: [{ name: 'p50' }, { name: 'p99' }] }),
  retries: new TimeChart($('c-retries'), { title: 'Retries and throttles', unit: 'perSecond', series: [{ name: 'retries' }, { name: 'throttles' }] }),
  buffer: new TimeChart($('c-buffer'), { title: 'Buffered and in flight', unit: 'records', series: [{ name: 'buffered' }, { name: 'in flight' }] }),
};
const metric = (id) => STREAM_METRICS.find((m) => m.id === id);
const cloudWatchCharts = [
  ['c-cw-records', 'Stream writes', 'records', ['incomingRecords', 'throttledRecords', 'writeExceeded']],
  ['c-cw-bytes', 'Stream bytes in', 'bytes', ['incomingBytes']],
  ['c-cw-age', 'Consumers behind (maximum iterator age)', 'ms', ['iteratorAge']],
].map(([el, title, unit, ids]) => ({ ids, chart: new TimeChart($(el), { title, unit, windowSeconds: 3600, dots: true, series: ids.map((id) => ({ name: metric(id).name })) }) }));
const shards = new ShardView({ table: $('shard-rows'), records: $('c-shard-records'), bytes: $('c-shard-bytes'), note: $('shard-note') });

const state = { producer: null, ticker: null, sampler: null, refresher: null, reader: null, serial: null, last: null, latest: [], shards, cloudWatch: { state: 'not read', values: null } };
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
    cloudWatch: cloudWatchEndpoint(f.endpoint.value, f.region.value, f.cloudWatchEndpoint.value),
    devices: Number(f.devices.value),
    hot: Number(f.hot.value),
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
  // What a shard counts against its limit: the data's bytes (the producer sends JSON) and the key's.
  const bytes = encoder.encode(JSON.stringify(reading)).length + encoder.encode(partitionKey).length;
  state.producer
    .put({ data: reading, partitionKey })
    .then((receipt) => shards.acknowledged(receipt, bytes))
    .catch(showError);
}

function sample() {
  const s = state.producer.stats();
  const last = state.last ?? s;
  const now = Date.now();
  const seconds = state.lastAt ? (now - state.lastAt) / 1000 : 1;
  const perSecond = (key) => (s[key] - last[key]) / seconds;
  const requests = s.requests - last.requests;
  charts.rate.push(now, perSecond('recordsSent'), perSecond('recordsAcknowledged'));
  charts.batch.push(now, requests ? (s.recordsSent - last.recordsSent) / requests : null, requests ? (s.kinesisRecordsSent - last.kinesisRecordsSent) / requests : null);
  charts.latency.push(now, s.latencyP50Ms, s.latencyP99Ms);
  charts.retries.push(now, perSecond('retries'), perSecond('throttles'));
  charts.buffer.push(now, s.bufferedRecords + s.waitingRecords, s.inFlightRecords);
  shards.sample(now);
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
  state.lastAt = now;
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

/** The stream's CloudWatch metrics; any failure shows as "unavailable", since they are optional. */
async function readCloudWatch(stream, endpoint) {
  const note = $('cw-note');
  try {
    const { times, values } = await streamMetrics({ endpoint, region: stream.region, credentials: stream.credentials, streamName: stream.streamName });
    state.cloudWatch = { state: 'available', values: { times, ...values } };
    for (const { chart, ids } of cloudWatchCharts) chart.set(times, ids.map((id) => values[id]));
    $('cw-charts').hidden = false;
    note.textContent = times.length ? `${new URL(endpoint).host}, last hour` : `${new URL(endpoint).host}: no data points in the last hour`;
  } catch (e) {
    state.cloudWatch = { state: 'unavailable', reason: e.message, values: null };
    $('cw-charts').hidden = true;
    note.textContent = `unavailable at ${new URL(endpoint).host} (${e.message})`;
  }
}

/** What changes slowly: the shard map (reshards) and CloudWatch's per-minute metrics. */
function refresh({ stream, cloudWatch }) {
  shards.loadMap(stream);
  readCloudWatch(stream, cloudWatch);
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
  const config = settings();
  const { stream, devices, rate, hot, aggregation } = config;
  try {
    state.producer = new KinesisProducer({ ...stream, aggregation });
  } catch (e) {
    showError(e);
    return;
  }
  state.last = null;
  state.lastAt = null;
  shards.reset();
  refresh(config);
  state.refresher = setInterval(() => refresh(config), SLOW_REFRESH_MS);
  const fleet = Array.from({ length: devices }, (_, i) => new Device(i, Date.now() % 1000, 'web'));
  // One device far busier than the rest, to see a hot shard: its key always maps to one shard.
  const hotDevice = new Device(0, Date.now() % 1000, 'web-hot');
  let hotDue = 0;
  state.ticker = setInterval(() => {
    for (const device of fleet) for (const reading of device.tick()) put(reading, device.id);
    for (hotDue += hot / rate; hotDue >= 1; hotDue -= 1) put(hotDevice.reading(), hotDevice.id);
  }, 1000 / rate);
  state.sampler = setInterval(sample, 1000);
  state.reader = new AbortController();
  read(stream, state.reader.signal);
  $('start').disabled = true;
  $('stop').disabled = false;
  $('status').textContent = `streaming: ${devices} devices × ${rate}/s${hot ? ` and a hot device at ${hot}/s` : ''}`;
}

async function stop() {
  clearInterval(state.ticker);
  $('stop').disabled = true;
  $('status').textContent = 'flushing…';
  await state.producer.close().catch(showError);
  sample();
  clearInterval(state.sampler);
  clearInterval(state.refresher);
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
