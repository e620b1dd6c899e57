import { pvlabProject } from '../../vitest.shared.ts';

export default pvlabProject('wasm-guest');
