// Run under each entry point's export condition: sign the AWS get-vanilla vector, then put one
// record into the kinesalite at $ENDPOINT. Prints what it did as JSON.
import { KinesisProducer, signRequest } from 'kinesis-edge';

const signed = await signRequest({
  method: 'GET',
  url: 'https://example.amazonaws.com/',
  region: 'us-east-1',
  service: 'service',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
  date: '2015-08-30T12:36:00Z',
});
const producer = new KinesisProducer({
  region: 'us-east-1',
  streamName: process.env.STREAM,
  endpoint: process.env.ENDPOINT,
  credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' },
});
const result = await producer.put({ data: `hello from ${process.env.ENTRY}`, partitionKey: process.env.ENTRY });
await producer.close();
console.log(JSON.stringify({ authorization: signed.authorization, result }));
