// What every peer measurement shares, in Node and in the browser: the target, the credentials
// and the readings.
export const REGION = 'us-east-1';
export const STREAM = 'bench';
export const ENDPOINT = 'https://kinesis.us-east-1.amazonaws.com';
export const CREDENTIALS = { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench-secret-key', sessionToken: 'bench-token' };

/** 500 readings of ~200 bytes of JSON each, as a device dashboard would produce them. */
export function readings(n = 500, seed = 1) {
  return Array.from({ length: n }, (_, i) => ({
    data: {
      deviceId: `device-${(seed * 31 + i) % 64}`,
      ts: 1_764_000_000_000 + i * 250,
      temperature: 20 + ((i * 7) % 100) / 10,
      humidity: 40 + ((i * 13) % 300) / 10,
      battery: 100 - (i % 50),
      lat: 48.8566 + i / 1e5,
      lon: 2.3522 - i / 1e5,
      status: i % 17 === 0 ? 'burst' : 'ok',
      fw: '1.4.2',
    },
    partitionKey: `device-${(seed * 31 + i) % 64}`,
  }));
}

/** The canned answer to a batch: 500 records stored. */
export const ok500 = JSON.stringify({
  FailedRecordCount: 0,
  Records: Array.from({ length: 500 }, (_, i) => ({ SequenceNumber: `${i}`, ShardId: 'shardId-000000000000' })),
});
