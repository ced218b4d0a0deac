import { inject } from 'vitest';
import { connect } from '../../../test-support/conformance/adapters/amqp.js';
import { conformanceSuite } from '../../../test-support/conformance/suite.js';

conformanceSuite('amqp', () => connect({ url: inject('amqpUrl') }));
