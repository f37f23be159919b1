/** The CLI's static command table (what `gflow --help` lists without loading commands) says what each command module defines. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commandTableDrift } from '../../cli/index';

test('every command in the table has the name, arguments and description its module defines', () => {
  assert.deepEqual(commandTableDrift(), []);
});
