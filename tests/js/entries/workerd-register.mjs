import { register } from 'node:module';

register('./workerd-hooks.mjs', import.meta.url);
