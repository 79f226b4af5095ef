import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSessionState, sessionFile, writeSessionState } from './session-state';

describe('a simulator session file', () => {
  const folder = mkdtempSync(join(tmpdir(), 'wf-simulator-session-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('keeps what a session remembers, and starts afresh without one', () => {
    const file = sessionFile('demo one', folder);
    expect(file).toBe(join(folder, 'demo_one.json'));
    expect(readSessionState(file)).toEqual({ parameters: {}, sessionParameters: {}, esContexts: [] });
    const state = { parameters: { date: '2026-12-07' }, sessionParameters: { visits: 1 }, esContexts: [{ name: 'x' }] };
    writeSessionState(file, state);
    expect(readSessionState(file)).toEqual(state);
  });

  it.each([
    ['{"parameters": {', /is not a simulator session \(.*JSON.*\): delete it to start the session afresh$/],
    ['[]', /is not a simulator session \(not a JSON object\)/],
    ['{"parameters": {"date": 7}}', /\("parameters" is not an object of strings\)/],
    ['{"sessionParameters": []}', /\("sessionParameters" is not an object\)/],
    ['{"esContexts": {}}', /\("esContexts" is not an array\)/],
  ])('names a file that holds %s, and says what to do', (text, message) => {
    const file = join(folder, 'corrupt.json');
    writeFileSync(file, text);
    expect(() => readSessionState(file)).toThrow(`${file} is not a simulator session`);
    expect(() => readSessionState(file)).toThrow(message);
  });
});
