// Everything the package exports, for every runtime entry point (each initialises the wasm first).
export { KinesisProducer } from './producer.js';
export { signRequest } from './sign.js';
export { isKinesisEdgeError } from './errors.js';
export { KinesisReader } from './reader.js';
export { fromCognitoIdentityPool } from './cognito.js';
export { deaggregate } from './deaggregate.js';
export { signDeviceRequest } from './device-sign.js';
