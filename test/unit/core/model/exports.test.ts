import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runModel } from '../../../../extension/core/requests/model';
import { modelTestBench } from './helpers';
import { fixture } from '../../../paths';

const { backend: newBackend, folder } = modelTestBench('model-exports');

const NET = fixture('onnx', 'prune_net.onnx');
/** The ONNX node names, as onnx (Python) wrote them: what Netron and Model Explorer name the nodes. */
const NODES = (JSON.parse(readFileSync(fixture('onnx', 'prune_net.expected.json'), 'utf8')) as { nodes: string[] }).nodes;

/**
 * Netron's reading of an attachment: a file whose JSON has signature 'netron:attachment'; each item
 * of `metrics` with a kind and a target is filed under `${kind}::${target}`, the first value of a
 * name kept; a node finds its items under 'node::' + the first line of its name.
 */
function netronLookup(data: unknown): Map<string, Map<string, { value: unknown; type?: string }>> {
  const parsed = data as { signature?: string; metrics?: { kind?: string; target?: string; name: string; value: unknown; type?: string }[] };
  assert.equal(parsed.signature, 'netron:attachment');
  assert.ok(Array.isArray(parsed.metrics));
  const entries = new Map<string, Map<string, { value: unknown; type?: string }>>();
  for (const item of parsed.metrics) {
    assert.ok(item.kind && 'target' in item, 'Netron drops items without kind and target');
    assert.ok(!item.target!.includes('\n') && !item.name.includes('\n'));
    const key = `${item.kind}::${item.target}`;
    if (!entries.has(key)) entries.set(key, new Map());
    const named = entries.get(key)!;
    assert.ok(!named.has(item.name), `${key}: '${item.name}' twice (Netron keeps one)`);
    named.set(item.name, { value: item.value, ...(item.type ? { type: item.type } : {}) });
  }
  return entries;
}

test('Netron attachment and Model Explorer node data: every figure on the node of its layer, keyed by the graph\'s node names', async () => {
  const netron = join(folder, 'prune_net.netron.json');
  const explorer = join(folder, 'prune_net.model-explorer.json');
  const report = await runModel(
    { file: NET, workspace: join(folder, 'ws'), budgetMs: 0, warmupMs: 0, algos: ['im2col'], exportNetron: netron, exportModelExplorer: explorer },
    { backend: newBackend() },
  );
  const entries = netronLookup(JSON.parse(readFileSync(netron, 'utf8')));
  for (const key of entries.keys()) {
    const [kind, target] = key.split('::') as [string, string];
    if (kind === 'model') assert.equal(target, '');
    else assert.ok(NODES.includes(target), `${target} is a node of the graph`);
  }
  assert.equal(entries.get('model::')!.get('deep-accel FLOPs')!.value, report.total.flops);
  assert.equal(entries.get('model::')!.get('deep-accel sum of best ms')!.value, report.total.bestMs);
  for (const layer of report.layers) {
    const node = entries.get(`node::${layer.name}`)!;
    assert.equal(node.get('deep-accel FLOPs')!.value, layer.flops);
    assert.equal(node.get('deep-accel params')!.value, layer.params);
    assert.deepEqual(node.get('deep-accel weight sparsity'), { value: layer.sparsity!.element, type: 'percentage' });
    assert.equal(node.get('deep-accel best ms')!.value, layer.best!.msMedian);
    assert.equal(node.get('deep-accel best algorithm')!.value, `${layer.best!.algo} (${layer.best!.layout})`);
    assert.equal(node.get('deep-accel pruned 50% FLOPs')!.value, layer.pruned!.flops);
    assert.equal(node.get('deep-accel pruned 50% speedup')!.value, layer.pruned!.speedup);
  }
  assert.equal(entries.get('node::c1')!.get('deep-accel Winograd tile')!.value, 'F(4,3)');

  // Model Explorer's GraphNodeData: results by node id, each a numeric value; gradient stops from 0 to 1.
  const data = JSON.parse(readFileSync(explorer, 'utf8')) as { results: Record<string, { value: unknown }>; gradient: { stop: number; bgColor: string }[] };
  assert.deepEqual(Object.keys(data.results).sort(), report.layers.map((l) => l.name).sort());
  for (const id of Object.keys(data.results)) assert.ok(NODES.includes(id), id);
  for (const layer of report.layers) assert.equal(data.results[layer.name]!.value, layer.best!.msMedian);
  const stops = data.gradient.map((g) => g.stop);
  assert.equal(stops[0], 0);
  assert.equal(stops.at(-1), 1);
  assert.ok(data.gradient.every((g) => /^#[0-9a-f]{6}$/.test(g.bgColor)));
  assert.ok(report.notes.some((n) => n.startsWith(`Netron attachment: ${netron} (`)), report.notes.join('\n'));

  // Untimed, Model Explorer gets the FLOPs.
  const flopsOnly = join(folder, 'flops.json');
  const untimed = await runModel({ file: NET, time: false, exportModelExplorer: flopsOnly });
  const byFlops = JSON.parse(readFileSync(flopsOnly, 'utf8')) as { results: Record<string, { value: number }> };
  for (const layer of untimed.layers) assert.equal(byFlops.results[layer.name]!.value, layer.flops);
});

test('export paths are checked before any work: never the model, always .json', async () => {
  await assert.rejects(runModel({ file: NET, time: false, exportNetron: NET }), /--export-netron .*prune_net\.onnx is the input file itself/);
  await assert.rejects(runModel({ file: NET, time: false, exportModelExplorer: join(folder, 'x.txt') }), /--export-model-explorer .*x\.txt: the output is written as JSON, so its name must end in \.json/);
  await assert.rejects(runModel({ file: NET, time: false, exportNetron: join(folder, 'no-such-folder', 'x.json') }), /the folder .* does not exist or is not writable/);
});

test('unnamed ONNX nodes: the layer is named by its output tensor, and its figures go where Netron and Model Explorer find them', async () => {
  // onnx (Python) wrote Convs with and without names; the expected file lists them as onnx.load reads them.
  const file = fixture('onnx', 'unnamed_nodes.onnx');
  const graph = JSON.parse(readFileSync(fixture('onnx', 'unnamed_nodes.expected.json'), 'utf8')) as { convs: { name: string; output: string }[]; values: string[] };
  const netron = join(folder, 'unnamed.netron.json');
  const explorer = join(folder, 'unnamed.model-explorer.json');
  const report = await runModel({ file, time: false, exportNetron: netron, exportModelExplorer: explorer });
  // Netron shows an unnamed node without a name and its output edge by the tensor's name: the report's name for the layer.
  assert.deepEqual(report.layers.map((l) => l.name), graph.convs.map((c) => c.name || c.output));
  // Netron looks a node's metrics up by its name only when it has one (metadata.Attachment in its
  // source), so an unnamed node's figures go on its output value, shown when the edge is selected.
  const entries = netronLookup(JSON.parse(readFileSync(netron, 'utf8')));
  const named = new Set(graph.convs.map((c) => c.name).filter((n) => n !== ''));
  for (const key of entries.keys()) {
    const [kind, target] = key.split('::') as [string, string];
    if (kind === 'model') assert.equal(target, '');
    else if (kind === 'node') assert.ok(named.has(target), `node::${target}: no node of the graph has that name`);
    else assert.ok(kind === 'value' && graph.values.includes(target), key);
  }
  for (const [i, conv] of graph.convs.entries()) {
    const figures = entries.get(conv.name ? `node::${conv.name}` : `value::${conv.output}`);
    assert.ok(figures, `the figures of ${conv.name || conv.output}`);
    assert.equal(figures.get('deep-accel FLOPs')!.value, report.layers[i]!.flops);
  }
  // Model Explorer keys node data by node id or by any output tensor name of the node: the name where the node has one.
  const data = JSON.parse(readFileSync(explorer, 'utf8')) as { results: Record<string, { value: number }> };
  assert.deepEqual(Object.keys(data.results), graph.convs.map((c) => c.name || c.output));
  for (const [i, conv] of graph.convs.entries()) assert.equal(data.results[conv.name || conv.output]!.value, report.layers[i]!.flops);
  assert.deepEqual(report.layers.map((l) => l.graphNode), graph.convs);
});
