import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeItem, encodeItem, parseNotebook, stringifyNotebook, type StoredNotebook } from '../../../../extension/core/notebook/notebookFile';

test('JSON outputs are stored as JSON, text as text, binary as base64, and all decode to the same bytes', () => {
  const json = new TextEncoder().encode('{"m":4,"AT":[["1","-1/6"]]}');
  const storedJson = encodeItem('application/vnd.deep-accel.winograd+json', json);
  assert.deepEqual(storedJson, { mime: 'application/vnd.deep-accel.winograd+json', data: { m: 4, AT: [['1', '-1/6']] } });
  assert.deepEqual(JSON.parse(new TextDecoder().decode(decodeItem(storedJson))), { m: 4, AT: [['1', '-1/6']] });

  const text = new TextEncoder().encode('F(4,3) verified');
  assert.deepEqual(encodeItem('text/plain', text), { mime: 'text/plain', data: 'F(4,3) verified' });
  assert.deepEqual(decodeItem(encodeItem('text/plain', text)), text);

  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff]);
  const storedPng = encodeItem('image/png', png);
  assert.deepEqual(storedPng, { mime: 'image/png', data: 'iVBORwD/', base64: true });
  assert.deepEqual(decodeItem(storedPng), png);
});

test('a notebook survives stringify and parse unchanged', () => {
  const notebook: StoredNotebook = {
    deepAccelNotebook: 1,
    metadata: { author: 'test' },
    cells: [
      { kind: 'markdown', language: 'markdown', source: '# Title' },
      { kind: 'code', language: 'deep-accel', source: 'winograd F(2,3)', outputs: [{ items: [{ mime: 'text/plain', data: 'ok' }] }] },
    ],
  };
  assert.deepEqual(parseNotebook(stringifyNotebook(notebook)), notebook);
  assert.deepEqual(parseNotebook(''), { deepAccelNotebook: 1, cells: [] }, 'an empty new file is an empty notebook');
});

test('a file that is not a Deep Accel notebook gets a clear error', () => {
  assert.throws(() => parseNotebook('{ nope'), /not a Deep Accel notebook: the file is not valid JSON/);
  assert.throws(() => parseNotebook('{"cells": 3}'), /expected an object with a "cells" array/);
  assert.throws(() => parseNotebook('{"deepAccelNotebook": 9, "cells": []}'), /unsupported format version 9/);
  assert.throws(() => parseNotebook('{"deepAccelNotebook": 1, "cells": [{"kind": "code"}]}'), /cell 1 needs a "kind" of code or markdown and a string "source"/);
});
