import { connect } from '../../../test-support/conformance/adapters/log.js';
import { conformanceSuite } from '../../../test-support/conformance/suite.js';

conformanceSuite('log', () => connect());
