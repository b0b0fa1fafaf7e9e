// Shared by both workers: put one record with the producer the worker imported, reply on `port`.
export async function putFrom(KinesisProducer, { endpoint, stream, runtime }, port) {
  try {
    const producer = new KinesisProducer({
      region: 'us-east-1',
      streamName: stream,
      endpoint,
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' },
    });
    const result = await producer.put({ data: `hello from a ${runtime}`, partitionKey: runtime });
    await producer.close();
    port.postMessage({ ok: true, result, hasWindow: typeof window !== 'undefined' });
  } catch (e) {
    port.postMessage({ ok: false, error: `${e.code ?? ''} ${e.message}` });
  }
}
