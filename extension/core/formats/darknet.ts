/**
 * Darknet `.weights` with its `.cfg` companion.
 *
 * The .weights file is a header (major, minor, revision as int32; `seen` as int64 when
 * major*10+minor >= 2, else int32) followed by float32 parameters in layer order with no names or
 * shapes: those come from walking the .cfg, tracking the channel count (and height/width, which
 * [connected] layers need) through route/shortcut/maxpool/upsample/reorg. The walk must account
 * for every byte of the file; any disagreement is an error naming both files.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { BoundedReader } from './reader';
import { contiguousTensor } from './source';
import { type OpenOptions, type OpenedWeightFile, type TensorSource, WeightFileError, type WeightFormatParser } from './types';

const MAX_CFG_BYTES = 16 * 1024 * 1024;

export interface CfgSection {
  type: string;
  /** 1-based line of the section header, for messages. */
  line: number;
  options: Map<string, string>;
}

/** Parses a darknet .cfg: [section] headers, key=value lines, '#' and ';' comments. */
export function parseDarknetCfg(text: string, file: string): CfgSection[] {
  const sections: CfgSection[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (line === '') return;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      sections.push({ type: header[1].trim().toLowerCase(), line: index + 1, options: new Map() });
      return;
    }
    const equals = line.indexOf('=');
    if (equals < 0) throw new WeightFileError(file, `line ${index + 1}: expected [section] or key=value, got "${line.slice(0, 40)}"`);
    if (sections.length === 0) throw new WeightFileError(file, `line ${index + 1}: option before the first [section]`);
    sections[sections.length - 1].options.set(line.slice(0, equals).trim().toLowerCase(), line.slice(equals + 1).trim());
  });
  return sections;
}

interface Dims {
  c: number;
  h: number;
  w: number;
}

interface PlannedTensor {
  name: string;
  shape: number[];
  numel: number;
}

/** The tensors a cfg implies, in file order, with the layer index of each. */
export function planDarknetTensors(sections: CfgSection[], cfgFile: string): PlannedTensor[] {
  if (sections.length === 0 || (sections[0].type !== 'net' && sections[0].type !== 'network')) {
    throw new WeightFileError(cfgFile, 'the first section must be [net]');
  }
  const net = sections[0];
  const where = (section: CfgSection) => `[${section.type}] at line ${section.line}`;
  const int = (section: CfgSection, key: string, fallback: number): number => {
    const text = section.options.get(key);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isSafeInteger(value)) throw new WeightFileError(cfgFile, `${where(section)}: ${key}=${text} is not an integer`);
    return value;
  };
  const positive = (section: CfgSection, key: string, fallback: number): number => {
    const value = int(section, key, fallback);
    if (value < 1 || value > 1 << 24) throw new WeightFileError(cfgFile, `${where(section)}: ${key}=${value} is out of range`);
    return value;
  };
  const extent = (section: CfgSection, key: string): number => {
    const value = int(section, key, 0);
    if (value < 0 || value > 1 << 24) throw new WeightFileError(cfgFile, `${where(section)}: ${key}=${value} is out of range`);
    return value;
  };
  // Height and width may stay 0 (unknown) until a [connected] layer needs them.
  let current: Dims = { c: positive(net, 'channels', 3), h: extent(net, 'height'), w: extent(net, 'width') };
  const outputs: Dims[] = [];
  const planned: PlannedTensor[] = [];
  const add = (section: CfgSection, name: string, shape: number[]) => {
    // Channel counts come from arithmetic over the cfg (route groups, reorg): a layer can be left
    // with none, and a tensor with a dimension below 1 is no tensor the file could hold.
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 1)) {
      throw new WeightFileError(cfgFile, `${where(section)}: ${name} would have shape [${shape.join(', ')}]; every dimension must be at least 1`);
    }
    const numel = shape.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(numel)) throw new WeightFileError(cfgFile, `${name}: shape [${shape.join(', ')}] is too large`);
    planned.push({ name, shape, numel });
  };
  const layerAt = (section: CfgSection, index: number, reference: number): Dims => {
    const target = reference < 0 ? index + reference : reference;
    if (!Number.isInteger(target) || target < 0 || target >= index) {
      throw new WeightFileError(cfgFile, `${where(section)}: refers to layer ${reference}, which does not precede layer ${index}`);
    }
    return outputs[target];
  };

  sections.slice(1).forEach((section, index) => {
    const prefix = `layer${index}`;
    switch (section.type) {
      case 'convolutional':
      case 'conv': {
        if (section.options.has('share_index')) throw new WeightFileError(cfgFile, `${where(section)}: share_index is not supported`);
        const filters = positive(section, 'filters', 1);
        const size = positive(section, 'size', 1);
        const strideX = positive(section, 'stride_x', int(section, 'stride', 1));
        const strideY = positive(section, 'stride_y', int(section, 'stride', 1));
        const groups = positive(section, 'groups', 1);
        const dilation = positive(section, 'dilation', 1);
        const padding = int(section, 'pad', 0) ? Math.floor(size / 2) : int(section, 'padding', 0);
        if (current.c % groups !== 0) throw new WeightFileError(cfgFile, `${where(section)}: ${current.c} input channels are not divisible by groups=${groups}`);
        add(section, `${prefix}.conv.bias`, [filters]);
        if (int(section, 'batch_normalize', 0)) {
          add(section, `${prefix}.bn.scale`, [filters]);
          add(section, `${prefix}.bn.running_mean`, [filters]);
          add(section, `${prefix}.bn.running_var`, [filters]);
        }
        add(section, `${prefix}.conv.weight`, [filters, current.c / groups, size, size]);
        const span = (size - 1) * dilation + 1;
        current = {
          c: filters,
          h: Math.floor((current.h + 2 * padding - span) / strideY) + 1,
          w: Math.floor((current.w + 2 * padding - span) / strideX) + 1,
        };
        break;
      }
      case 'connected': {
        const outputsCount = positive(section, 'output', 1);
        const inputs = current.c * current.h * current.w;
        if (current.c < 1 || current.h < 1 || current.w < 1) throw new WeightFileError(cfgFile, `${where(section)}: input size is ${current.c}x${current.h}x${current.w}; set height/width/channels in [net]`);
        add(section, `${prefix}.fc.bias`, [outputsCount]);
        add(section, `${prefix}.fc.weight`, [outputsCount, inputs]);
        if (int(section, 'batch_normalize', 0)) {
          add(section, `${prefix}.bn.scale`, [outputsCount]);
          add(section, `${prefix}.bn.running_mean`, [outputsCount]);
          add(section, `${prefix}.bn.running_var`, [outputsCount]);
        }
        current = { c: outputsCount, h: 1, w: 1 };
        break;
      }
      case 'batchnorm':
        add(section, `${prefix}.bn.scale`, [current.c]);
        add(section, `${prefix}.bn.running_mean`, [current.c]);
        add(section, `${prefix}.bn.running_var`, [current.c]);
        break;
      case 'maxpool':
      case 'max': {
        const stride = positive(section, 'stride', 1);
        const strideX = positive(section, 'stride_x', stride);
        const strideY = positive(section, 'stride_y', stride);
        const size = positive(section, 'size', stride);
        const padding = int(section, 'padding', size - 1);
        current = {
          c: current.c,
          h: Math.floor((current.h + padding - size) / strideY) + 1,
          w: Math.floor((current.w + padding - size) / strideX) + 1,
        };
        break;
      }
      case 'avgpool':
      case 'avg':
        current = { c: current.c, h: 1, w: 1 };
        break;
      case 'upsample': {
        const stride = int(section, 'stride', 2);
        if (stride === 0) throw new WeightFileError(cfgFile, `${where(section)}: stride=0`);
        current = stride > 0
          ? { c: current.c, h: current.h * stride, w: current.w * stride }
          : { c: current.c, h: Math.floor(current.h / -stride), w: Math.floor(current.w / -stride) };
        break;
      }
      case 'reorg': {
        const stride = positive(section, 'stride', 1);
        current = int(section, 'reverse', 0)
          ? { c: Math.floor(current.c / (stride * stride)), h: current.h * stride, w: current.w * stride }
          : { c: current.c * stride * stride, h: Math.floor(current.h / stride), w: Math.floor(current.w / stride) };
        break;
      }
      case 'route': {
        const layers = (section.options.get('layers') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
        if (layers.length === 0) throw new WeightFileError(cfgFile, `${where(section)}: route needs layers=`);
        const sources = layers.map((text) => {
          const reference = Number(text);
          if (!Number.isInteger(reference)) throw new WeightFileError(cfgFile, `${where(section)}: layers=${text} is not an integer`);
          return layerAt(section, index, reference);
        });
        const groups = positive(section, 'groups', 1);
        const channels = sources.reduce((sum, dims) => sum + dims.c, 0);
        current = { c: Math.floor(channels / groups), h: sources[0].h, w: sources[0].w };
        break;
      }
      case 'shortcut': {
        const weightsType = section.options.get('weights_type') ?? 'none';
        if (weightsType !== 'none') throw new WeightFileError(cfgFile, `${where(section)}: shortcut weights_type=${weightsType} is not supported`);
        for (const text of (section.options.get('from') ?? '').split(',')) {
          if (text.trim() !== '') layerAt(section, index, Number(text.trim()));
        }
        break;
      }
      case 'scale_channels':
      case 'sam':
        layerAt(section, index, int(section, 'from', -1));
        break;
      case 'yolo':
      case 'region':
      case 'detection':
      case 'gaussian_yolo':
      case 'dropout':
      case 'softmax':
      case 'cost':
      case 'logistic':
      case 'l2norm':
      case 'activation':
      case 'empty':
      case 'silence':
        break;
      default:
        throw new WeightFileError(cfgFile, `${where(section)}: layer type [${section.type}] is not supported`);
    }
    outputs.push(current);
  });
  return planned;
}

async function findCfg(file: string, options?: OpenOptions): Promise<string> {
  if (options?.companion) return options.companion;
  const candidate = path.join(path.dirname(file), `${path.basename(file, path.extname(file))}.cfg`);
  try {
    await fs.access(candidate);
    return candidate;
  } catch {
    throw new WeightFileError(file, `a Darknet .weights file needs its .cfg: put ${path.basename(candidate)} next to it or pass the cfg as the companion file`);
  }
}

async function openDarknet(file: string, options?: OpenOptions): Promise<OpenedWeightFile> {
  const cfgFile = await findCfg(file, options);
  const cfgReader = await BoundedReader.open(cfgFile);
  let cfgText: string;
  try {
    if (cfgReader.size > MAX_CFG_BYTES) throw new WeightFileError(cfgFile, `cfg of ${cfgReader.size} bytes exceeds the ${MAX_CFG_BYTES}-byte limit`);
    cfgText = new TextDecoder().decode(await cfgReader.read(0, cfgReader.size, 'cfg'));
  } finally {
    await cfgReader.close();
  }
  const planned = planDarknetTensors(parseDarknetCfg(cfgText, cfgFile), cfgFile);

  const reader = await BoundedReader.open(file);
  try {
    if (reader.size < 16) throw new WeightFileError(file, `only ${reader.size} bytes; too short for a Darknet header`);
    const header = new DataView((await reader.read(0, 20 <= reader.size ? 20 : 16, 'Darknet header')).buffer);
    const major = header.getInt32(0, true);
    const minor = header.getInt32(4, true);
    const revision = header.getInt32(8, true);
    const wideSeen = major * 10 + minor >= 2 && major < 1000 && minor < 1000;
    const dataStart = wideSeen ? 20 : 16;
    if (reader.size < dataStart) throw new WeightFileError(file, `only ${reader.size} bytes; a version ${major}.${minor} Darknet header takes ${dataStart}`);
    const seen = wideSeen ? Number(header.getBigInt64(12, true)) : header.getInt32(12, true);
    const expectedBytes = dataStart + planned.reduce((sum, t) => sum + t.numel, 0) * 4;
    if (expectedBytes !== reader.size) {
      const what = expectedBytes > reader.size ? 'is shorter than' : 'is longer than';
      throw new WeightFileError(
        file,
        `${what} ${path.basename(cfgFile)} implies: ${planned.length} tensors need ${expectedBytes} bytes (header ${dataStart} + ${(expectedBytes - dataStart) / 4} floats) but the file has ${reader.size}; wrong .cfg or truncated file`,
      );
    }
    const tensors: TensorSource[] = [];
    let offset = dataStart;
    for (const tensor of planned) {
      tensors.push(contiguousTensor({ name: tensor.name, dtype: 'float32', shape: tensor.shape, numel: tensor.numel, source: reader, byteOffset: offset, fileByteOffset: offset, layout: tensor.shape.length === 4 ? 'OIHW' : undefined }));
      offset += tensor.numel * 4;
    }
    return {
      file,
      format: 'darknet',
      fileBytes: reader.size,
      tensors,
      warnings: [],
      metadata: { version: `${major}.${minor}.${revision}`, seen: String(seen), cfg: cfgFile },
      companions: [cfgFile],
      close: () => reader.close(),
    };
  } catch (error) {
    await reader.close();
    throw error;
  }
}

export const darknetParser: WeightFormatParser = {
  format: 'darknet',
  sniff(head, fileName) {
    // No magic number: only the extension identifies the format, checked against a plausible version header.
    if (!/\.weights$/i.test(fileName) || head.length < 16) return false;
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const major = view.getInt32(0, true);
    const minor = view.getInt32(4, true);
    return major >= 0 && major < 100000 && minor >= 0 && minor < 100000;
  },
  open: (file: string, options?: OpenOptions) => openDarknet(file, options),
};
