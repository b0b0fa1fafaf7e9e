// The per-shard view: what the producer's receipts say each shard acknowledged (readings, the
// Kinesis records that carried them, and their bytes of data and partition key), as rates
// against the shard write limits so a hot shard stands out, and each shard's hash key range
// from ListShards.
import { signedPost } from './aws.js';
import { POINTS, TimeChart, format, formatBytes } from './charts.js';

/** Kinesis's write limits per shard (provisioned mode). */
export const SHARD_LIMITS = { records: 1000, bytes: 1024 * 1024 };
/** From this share of either limit a shard shows as hot. */
const HOT = 0.8;
const KEYSPACE = 2n ** 128n;
/** Sequence numbers remembered per shard to count each aggregated Kinesis record once. */
const RECENT = 2048;

/** Every open shard of the stream: `[{ shardId, start, end }]` (hash keys as BigInt), by ListShards. */
export async function listShards({ endpoint, region, streamName, credentials }) {
  const headers = { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Kinesis_20131202.ListShards' };
  const shards = [];
  let input = { StreamName: streamName };
  for (;;) {
    const answer = await signedPost({ url: endpoint, region, service: 'kinesis', credentials, headers, body: JSON.stringify(input) });
    let page;
    try {
      page = JSON.parse(answer.text);
    } catch {
      page = {};
    }
    if (!answer.ok) throw new Error(`ListShards: ${String(page.__type ?? `HTTP ${answer.status}`).split('#').pop()}${page.message ? `: ${page.message}` : ''}`);
    for (const s of page.Shards ?? []) {
      if (s.SequenceNumberRange?.EndingSequenceNumber) continue; // closed by a reshard: takes no writes
      shards.push({ shardId: s.ShardId, start: BigInt(s.HashKeyRange.StartingHashKey), end: BigInt(s.HashKeyRange.EndingHashKey) });
    }
    if (!page.NextToken) return shards;
    input = { NextToken: page.NextToken };
  }
}

const share = (key) => Number((key * 10_000n) / KEYSPACE) / 100;

export class ShardView {
  /** `table`: a tbody; `records`, `bytes`: chart containers; `note`: where the map's state shows. */
  constructor({ table, records, bytes, note }) {
    this.el = { table, records, bytes, note };
    this.reset();
  }

  reset() {
    /** shardId -> { readings, kinesisRecords, bytes, recent, last, rate } */
    this.shards = new Map();
    /** The shard map: [{ shardId, start, end }], null until ListShards answered. */
    this.map = null;
    this.history = { times: [], rates: new Map() };
    this.chartShards = '';
    this.lastSample = null;
  }

  #shard(shardId) {
    let s = this.shards.get(shardId);
    if (!s) {
      s = { readings: 0, kinesisRecords: 0, bytes: 0, recent: new Set(), last: null, rate: { readings: 0, kinesisRecords: 0, bytes: 0 } };
      this.shards.set(shardId, s);
    }
    return s;
  }

  /** A put's receipt (`{ shardId, sequenceNumber }`) for a reading of `bytes` (data + key). */
  acknowledged({ shardId, sequenceNumber }, bytes) {
    const s = this.#shard(shardId);
    s.readings += 1;
    s.bytes += bytes;
    // The readings of one aggregated Kinesis record share its sequence number and settle
    // together: a short memory of recent numbers counts each Kinesis record once.
    if (!s.recent.has(sequenceNumber)) {
      s.kinesisRecords += 1;
      s.recent.add(sequenceNumber);
      if (s.recent.size > RECENT) s.recent.delete(s.recent.values().next().value);
    }
  }

  async loadMap(stream) {
    try {
      this.map = await listShards(stream);
      for (const { shardId } of this.map) this.#shard(shardId);
      this.el.note.textContent = `${this.map.length} open shards; limits per shard: ${format(SHARD_LIMITS.records)} records/s and ${formatBytes(SHARD_LIMITS.bytes)}/s`;
    } catch (e) {
      // Without kinesis:ListShards the rates still show, per shard the receipts name.
      this.el.note.textContent = `shard map unavailable: ${e.message}`;
    }
    this.render();
  }

  /** Rates since the previous sample, then the table and the charts. */
  sample(now = Date.now()) {
    const seconds = this.lastSample === null ? 0 : (now - this.lastSample) / 1000;
    this.lastSample = now;
    for (const s of this.shards.values()) {
      const totals = { readings: s.readings, kinesisRecords: s.kinesisRecords, bytes: s.bytes };
      if (s.last && seconds > 0) for (const k of Object.keys(totals)) s.rate[k] = (totals[k] - s.last[k]) / seconds;
      s.last = totals;
    }
    const { times, rates } = this.history;
    times.push(now);
    for (const [id, s] of this.shards) {
      if (!rates.has(id)) rates.set(id, { records: times.slice(1).map(() => null), bytes: times.slice(1).map(() => null) });
      rates.get(id).records.push(s.rate.kinesisRecords);
      rates.get(id).bytes.push(s.rate.bytes);
    }
    if (times.length > POINTS) {
      times.shift();
      for (const r of rates.values()) (r.records.shift(), r.bytes.shift());
    }
    this.render();
  }

  /** Shards in key order (the map's), then any the receipts named that the map lacks. */
  #ordered() {
    const mapped = (this.map ?? []).map((m) => m.shardId);
    return [...mapped, ...[...this.shards.keys()].filter((id) => !mapped.includes(id)).sort()];
  }

  render() {
    const ids = this.#ordered();
    const rows = ids.map((id) => this.#row(id, this.#shard(id), this.map?.find((m) => m.shardId === id)));
    this.el.table.replaceChildren(...rows);
    this.#charts(ids);
  }

  #row(id, s, range) {
    const tr = document.createElement('tr');
    const use = Math.max(s.rate.kinesisRecords / SHARD_LIMITS.records, s.rate.bytes / SHARD_LIMITS.bytes);
    tr.className = use >= HOT ? 'hot' : '';
    Object.assign(tr.dataset, { shard: id, readings: s.readings, kinesisRecords: s.kinesisRecords, bytes: s.bytes });
    if (range) Object.assign(tr.dataset, { start: range.start, end: range.end });
    const cell = (content, title) => {
      const td = document.createElement('td');
      td.append(content);
      if (title) td.title = title;
      return td;
    };
    const meter = (value, limit, text) => {
      const div = document.createElement('div');
      div.className = 'meter';
      const bar = document.createElement('i');
      bar.style.width = `${Math.min(100, (value / limit) * 100).toFixed(1)}%`;
      div.append(bar, `${text} · ${((value / limit) * 100).toFixed(1)}%`);
      return div;
    };
    tr.append(
      cell(id.replace('shardId-', '')),
      range
        ? cell(`${share(range.start)}% – ${share(range.end + 1n)}%`, `hash keys ${range.start} to ${range.end}`)
        : cell('–', 'not in the shard map'),
      cell(meter(s.rate.kinesisRecords, SHARD_LIMITS.records, `${format(s.rate.kinesisRecords)}/s`)),
      cell(meter(s.rate.bytes, SHARD_LIMITS.bytes, `${formatBytes(s.rate.bytes)}/s`)),
      cell(`${format(s.rate.readings)}/s`),
      cell(`${format(s.readings)} / ${format(s.kinesisRecords)} / ${formatBytes(s.bytes)}`),
    );
    return tr;
  }

  /** The charts have a series per shard: made again when the set of shards changes. */
  #charts(ids) {
    const key = ids.join(',');
    if (key !== this.chartShards) {
      this.chartShards = key;
      this.recordsChart?.destroy();
      this.bytesChart?.destroy();
      const series = ids.map((id) => ({ name: id.replace('shardId-', 'shard ') }));
      this.recordsChart = new TimeChart(this.el.records, {
        title: 'Kinesis records acknowledged per shard',
        unit: 'perSecond',
        series,
        limit: { value: SHARD_LIMITS.records, label: `shard limit ${format(SHARD_LIMITS.records)} records/s` },
      });
      this.bytesChart = new TimeChart(this.el.bytes, {
        title: 'Bytes acknowledged per shard (data + partition keys)',
        unit: 'bytesPerSecond',
        series,
        limit: { value: SHARD_LIMITS.bytes, label: `shard limit ${formatBytes(SHARD_LIMITS.bytes)}/s` },
      });
    }
    const { times, rates } = this.history;
    const column = (id, k) => rates.get(id)?.[k] ?? times.map(() => null);
    this.recordsChart.set(times, ids.map((id) => column(id, 'records')));
    this.bytesChart.set(times, ids.map((id) => column(id, 'bytes')));
  }
}
