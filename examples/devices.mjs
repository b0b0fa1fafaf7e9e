// Simulated web-connected devices: each drifts its readings (temperature, humidity, battery,
// GPS) a little every tick and now and then sends a burst, as a flaky sensor on a page would.

/** A small seeded generator of numbers in [0, 1), so runs can be repeated. */
export function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Device {
  constructor(index, seed = 1, prefix = 'sensor') {
    const rand = mulberry32(seed * 7919 + index);
    this.rand = rand;
    this.id = `${prefix}-${String(index).padStart(3, '0')}`;
    this.seq = 0;
    this.temperature = 18 + rand() * 8;
    this.humidity = 35 + rand() * 30;
    this.battery = 60 + rand() * 40;
    this.lat = 48.85 + (rand() - 0.5) * 0.1;
    this.lon = 2.35 + (rand() - 0.5) * 0.1;
  }

  /** One reading, about 200 bytes of JSON. */
  reading(now = Date.now()) {
    const r = this.rand;
    this.temperature += (r() - 0.5) * 0.3;
    this.humidity = Math.min(100, Math.max(0, this.humidity + (r() - 0.5) * 0.8));
    this.battery = Math.max(0, this.battery - r() * 0.01);
    this.lat += (r() - 0.5) * 1e-5;
    this.lon += (r() - 0.5) * 1e-5;
    return {
      deviceId: this.id,
      seq: this.seq++,
      ts: now,
      temperature: Number(this.temperature.toFixed(2)),
      humidity: Number(this.humidity.toFixed(1)),
      battery: Number(this.battery.toFixed(2)),
      gps: { lat: Number(this.lat.toFixed(6)), lon: Number(this.lon.toFixed(6)) },
      status: this.battery < 15 ? 'low-battery' : 'ok',
    };
  }

  /** Readings due this tick: usually one, sometimes a burst of 5 to 20. */
  tick(now = Date.now()) {
    const burst = this.rand() < 0.01 ? 5 + Math.floor(this.rand() * 16) : 1;
    return Array.from({ length: burst }, () => this.reading(now));
  }
}
