#!/usr/bin/env node
// The `q-outbox` command: see @q/core's launcher/launch-cli.js for why a committed launcher, and which of
// dist/ and src/ it runs.
import { launchCli } from '@q/core/launch-cli';

await launchCli(import.meta.url, { command: 'q-outbox', pkg: '@q/outbox', entry: 'cli/run' });
