import { inject } from 'vitest';
import { connect } from '../../../test-support/conformance/adapters/redis.js';
import { conformanceSuite } from '../../../test-support/conformance/suite.js';

conformanceSuite('redis', () => connect({ url: inject('redisUrl') }));
