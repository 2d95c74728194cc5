"""numpy's equivalent of the full-statistics pass over a float32 safetensors file, via a memory map.

    /usr/bin/python3 scripts/bench/sparsity_numpy.py FILE

Per tensor: count_nonzero, mean, std, min, max, mean of |w| -- the figures deep-accel reports.
"""
import json
import struct
import sys
import time

import numpy as np


def main(path):
    start = time.perf_counter()
    cpu = time.process_time()
    with open(path, 'rb') as f:
        (header_len,) = struct.unpack('<Q', f.read(8))
        header = json.loads(f.read(header_len))
    data = np.memmap(path, dtype=np.uint8, mode='r', offset=8 + header_len)
    total = 0
    nonzero = 0
    first = None
    for name, info in header.items():
        if name == '__metadata__':
            continue
        assert info['dtype'] == 'F32'
        begin, end = info['data_offsets']
        w = data[begin:end].view(np.float32)
        stats = (np.count_nonzero(w), w.mean(dtype=np.float64), w.std(dtype=np.float64), w.min(), w.max(), np.abs(w).mean(dtype=np.float64))
        if first is None:
            first = stats
        nonzero += stats[0]
        total += w.size
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    size = data.size + 8 + header_len
    print(f'numpy: {total} values, sparsity {1 - nonzero / total:.6f}, {seconds:.3f} s wall, {cpu:.3f} s CPU, {size / seconds / 1e9:.2f} GB/s')
    print(f'first tensor: mean {first[1]} std {first[2]} min {first[3]} max {first[4]} absMean {first[5]} nonzero {first[0]}')


if __name__ == '__main__':
    main(sys.argv[1])
