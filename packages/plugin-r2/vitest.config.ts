import { labelerVitestConfig } from '../../vitest.shared.js';

export default labelerVitestConfig();
