#!/usr/bin/python3
"""tools/gen_portable.py - the foreign-written fixtures of tests/test_portable.c,
made by numpy and by hand (struct), not by libmlp, in tests/fixtures/portable/:

  numpy_f32.npy   float32 '<f4' shape (3, 4), value i * 0.25 - 1 at flat
                  index i (exact in float), written by numpy.save
  idx_f32.idx     IDX f32 (magic 0x00000D02), 2 x 3, value (i - 2) * 1.5
  idx_i16.idx     IDX i16 (magic 0x00000B01), 5 values -300, -1, 0, 7, 32767
  idx_i32.idx     IDX i32 (magic 0x00000C01), 3 values -70000, 1, 2147483647

IDX stores numbers big-endian, .npy here little-endian: a reader that
forgets to swap on one kind of host reads different values there. The
libmlp-written fixtures (a seeded model file, seeded random tensors, the
model's outputs) come from `build/tests/test_portable --write` on x86-64.
Run from the repository root: /usr/bin/python3 tools/gen_portable.py
"""
import struct

import numpy as np

D = "tests/fixtures/portable/"

np.save(D + "numpy_f32.npy", (np.arange(12, dtype=np.float32) * 0.25 - 1).reshape(3, 4))

with open(D + "idx_f32.idx", "wb") as f:
    f.write(struct.pack(">BBBB", 0, 0, 0x0D, 2) + struct.pack(">II", 2, 3))
    f.write(struct.pack(">6f", *[(i - 2) * 1.5 for i in range(6)]))
with open(D + "idx_i16.idx", "wb") as f:
    f.write(struct.pack(">BBBB", 0, 0, 0x0B, 1) + struct.pack(">I", 5))
    f.write(struct.pack(">5h", -300, -1, 0, 7, 32767))
with open(D + "idx_i32.idx", "wb") as f:
    f.write(struct.pack(">BBBB", 0, 0, 0x0C, 1) + struct.pack(">I", 3))
    f.write(struct.pack(">3i", -70000, 1, 2147483647))
