import { connect } from '../../../test-support/conformance/adapters/kafka.js';
import { conformanceSuite } from '../../../test-support/conformance/suite.js';

const external = process.env.KAFKA_BROKERS;
conformanceSuite('kafka', () => connect(external ? { brokers: external.split(',') } : {}));
