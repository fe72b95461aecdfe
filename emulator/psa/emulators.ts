import { autotaskEmulator } from './autotask/index.js';
import { connectwiseEmulator } from './connectwise/index.js';
import { haloEmulator } from './halo/index.js';

/** Every PSA the emulator can play, by the name --psa takes. */
export const psaEmulators = {
  connectwise: connectwiseEmulator,
  autotask: autotaskEmulator,
  halo: haloEmulator,
} as const;
