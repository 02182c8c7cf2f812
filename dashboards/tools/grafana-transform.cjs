// Run a panel's transformations with Grafana's own code (@grafana/data), offline.
//
// stdin:  {"transformations": [...panel.transformations], "frames": [{"name", "refId", "fields": [
//            {"name", "type", "config", "values"}]}]}
// stdout: {"frames": [{"name", "refId", "fields": [{"name", "displayName", "type", "values"}]}]}
//
// Only the transformer modules are loaded (the package index pulls in browser-only code); they are
// registered the way Grafana registers its standard transformers. Values that are missing in a row
// are sent as null and turned into undefined, which is what Grafana's MutableDataFrame (and so the
// Tempo data source's span table) holds for an attribute a span does not have.
'use strict';

const path = require('path');

const DIST = path.join(__dirname, 'node_modules', '@grafana', 'data', 'dist', 'cjs');
const load = (module) => require(path.join(DIST, module));

const TRANSFORMERS = [
  'calculateField',
  'convertFieldType',
  'ensureColumns',
  'filterByValue',
  'groupBy',
  'joinByField',
  'limit',
  'merge',
  'noop',
  'organize',
  'reduce',
  'sortBy',
];

function registry() {
  const { standardTransformersRegistry } = load('transformations/standardTransformersRegistry.cjs');
  const infos = {};
  for (const name of TRANSFORMERS) {
    for (const value of Object.values(load(`transformations/transformers/${name}.cjs`))) {
      if (value && typeof value === 'object' && value.id && value.operator) {
        infos[value.id] = value;
      }
    }
  }
  standardTransformersRegistry.setInit(() =>
    Object.values(infos).map((info) => ({ id: info.id, name: info.name, transformation: info }))
  );
  return infos;
}

function readStdin() {
  return new Promise((resolve, reject) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => (text += chunk));
    process.stdin.on('end', () => resolve(text));
    process.stdin.on('error', reject);
  });
}

async function main() {
  const infos = registry();
  const { transformDataFrame } = load('transformations/transformDataFrame.cjs');
  const { MutableDataFrame } = load('dataframe/MutableDataFrame.cjs');
  const { getFieldDisplayName } = load('field/fieldState.cjs');
  // transformDataFrame reads window.__grafanaSceneContext; nothing else here touches the DOM.
  globalThis.window = globalThis.window || {};

  const request = JSON.parse(await readStdin());
  const unknown = request.transformations.map((t) => t.id).filter((id) => !infos[id]);
  if (unknown.length) {
    throw new Error(`transformations not loaded by grafana-transform.cjs: ${unknown.join(', ')}`);
  }
  const frames = request.frames.map((frame) => {
    const rows = frame.fields.length ? frame.fields[0].values.length : 0;
    const mutable = new MutableDataFrame({
      name: frame.name,
      refId: frame.refId,
      fields: frame.fields.map((f) => ({ name: f.name, type: f.type, config: f.config || {} })),
    });
    for (let row = 0; row < rows; row++) {
      const record = {};
      for (const f of frame.fields) {
        const value = f.values[row];
        if (value !== null) {
          record[f.name] = value;
        }
      }
      mutable.add(record);
    }
    return mutable;
  });
  const ctx = { interpolate: (text) => text };
  const output = await new Promise((resolve, reject) => {
    transformDataFrame(request.transformations, frames, ctx).subscribe({ next: resolve, error: reject });
  });
  const result = output.map((frame) => ({
    name: frame.name,
    refId: frame.refId,
    fields: frame.fields.map((field) => ({
      name: field.name,
      displayName: getFieldDisplayName(field, frame, output),
      type: field.type,
      values: Array.from(field.values, (v) => (v === undefined || Number.isNaN(v) ? null : v)),
    })),
  }));
  process.stdout.write(JSON.stringify({ frames: result }));
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
