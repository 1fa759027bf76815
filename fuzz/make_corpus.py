#!/usr/bin/env python3
"""make_corpus.py - writes the .npy, IDX and CSV seeds of fuzz/corpus/
(valid files from NumPy and struct, and broken ones). Run from the
repository root. The model seeds (fuzz/corpus/model/) were written by
mlp_model_save_mem for three models in file format 1 (a linear 2-3;
4-8-8-3 with relu, dropout, prelu; one layer of every activation), plus
copies of the 4-8-8-3 file cut in half, cut to its header, with a flipped
byte, a bad magic and trailing garbage; and for two models in format 2
(every_kind_v2: standardize, linear without bias, per-feature prelu,
leaky relu 0.2, dropout, linear, gelu, softmax, also cut in half;
no_linear_v2: prelu, standardize, log-softmax)."""
import io
import os
import struct

import numpy as np

root = 'fuzz/corpus'


def put(target, name, data):
    os.makedirs(os.path.join(root, target), exist_ok=True)
    with open(os.path.join(root, target, name), 'wb') as f:
        f.write(data)


def npy_bytes(a):
    b = io.BytesIO()
    np.save(b, a, allow_pickle=False)
    return b.getvalue()


def npy_raw(header, data=b''):
    h = header.encode('latin1')
    h += b' ' * (64 - (10 + len(h) + 1) % 64) + b'\n'
    return b'\x93NUMPY\x01\x00' + struct.pack('<H', len(h)) + h + data


def npy():
    put('npy', 'f4_1d.npy', npy_bytes(np.array([1.5, -2.0, 3.25], dtype='<f4')))
    put('npy', 'f4_2d.npy', npy_bytes(np.arange(12, dtype='<f4').reshape(3, 4) / 7))
    put('npy', 'f4_be_2d.npy', npy_bytes(np.arange(6, dtype='>f4').reshape(2, 3) - 2.5))
    put('npy', 'f8_2d.npy', npy_bytes(np.linspace(-1, 1, 10).reshape(2, 5)))
    put('npy', 'f4_scalar.npy', npy_bytes(np.array(3.5, dtype='<f4')))
    put('npy', 'f4_4d.npy', npy_bytes(np.ones((1, 2, 3, 2), dtype='<f4')))
    put('npy', 'f4_empty.npy', npy_bytes(np.zeros((0, 3), dtype='<f4')))
    put('npy', 'i4_unsupported.npy', npy_bytes(np.arange(4, dtype='<i4')))
    put('npy', 'fortran_order.npy',
        npy_bytes(np.asfortranarray(np.arange(6, dtype='<f4').reshape(2, 3))))
    v = npy_bytes(np.arange(6, dtype='<f4'))
    put('npy', 'truncated_data.npy', v[:-5])
    put('npy', 'bad_magic.npy', b'\x93NUMPZ' + v[6:])
    d = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }"
    put('npy', 'five_dims.npy', npy_raw(d % '(1, 1, 1, 1, 1)', b'\0' * 4))
    put('npy', 'huge_dim.npy', npy_raw(d % '(4611686018427387904, 4)', b'\0' * 16))
    put('npy', 'neg_dim.npy', npy_raw(d % '(-1, 4)', b'\0' * 16))
    put('npy', 'f8_out_of_range.npy', npy_bytes(np.array([[0.5, 1e300], [2, 3]])))
    put('npy', 'f4_inf.npy', npy_bytes(np.array([1, np.inf, -np.inf], dtype='<f4')))
    put('npy', 'f4_be_nan.npy', npy_bytes(np.array([[np.nan, 1]], dtype='>f4')))
    put('npy', 'v2_header.npy', b'\x93NUMPY\x02\x00' + struct.pack('<I', 118)
        + (d % '(2,)').encode().ljust(117) + b'\n' + b'\0' * 8)


def idx_bytes(code, dims, payload):
    return (struct.pack('>BBBB', 0, 0, code, len(dims))
            + b''.join(struct.pack('>I', k) for k in dims) + payload)


def idx():
    put('idx', 'u8_images_2x3x3.idx', idx_bytes(0x08, [2, 3, 3], bytes(range(0, 18 * 14, 14))))
    put('idx', 'u8_labels_5.idx', idx_bytes(0x08, [5], bytes([0, 9, 3, 1, 7])))
    put('idx', 'i8_4.idx', idx_bytes(0x09, [4], struct.pack('>4b', -128, -1, 0, 127)))
    put('idx', 'i16_2x2.idx', idx_bytes(0x0B, [2, 2], struct.pack('>4h', -300, 0, 7, 32767)))
    put('idx', 'i32_3.idx', idx_bytes(0x0C, [3], struct.pack('>3i', -70000, 1, 2**31 - 1)))
    put('idx', 'f32_2x2.idx', idx_bytes(0x0D, [2, 2], struct.pack('>4f', 0.5, -1.25, 3e10, 0)))
    put('idx', 'f64_3.idx', idx_bytes(0x0E, [3], struct.pack('>3d', 1.0 / 3, -2.5, 1e300)))
    put('idx', 'empty_dim.idx', idx_bytes(0x08, [0, 28], b''))
    put('idx', 'short_payload.idx', idx_bytes(0x08, [2, 3, 3], bytes(10)))
    put('idx', 'long_payload.idx', idx_bytes(0x08, [2], bytes(5)))
    put('idx', 'bad_type.idx', idx_bytes(0x07, [2], bytes(2)))
    put('idx', 'bad_magic.idx', b'\x01\x00\x08\x01' + struct.pack('>I', 2) + bytes(2))
    put('idx', 'too_many_dims.idx', idx_bytes(0x08, [1, 1, 1, 1, 1], bytes(1)))
    put('idx', 'huge_dims.idx', idx_bytes(0x0E, [0xffffffff] * 3, bytes(8)))
    # values that are not finite floats, refused unless allowed
    put('idx', 'f64_out_of_range_2x2.idx',
        idx_bytes(0x0E, [2, 2], struct.pack('>4d', 1, 2, 3, -1e300)))
    put('idx', 'f32_nan_inf.idx',
        idx_bytes(0x0D, [3], struct.pack('>3f', 1, float('nan'), float('inf'))))


def csv():
    seeds = {
        'plain.csv': b'1,2,3\n4,5,6\n',
        'header.csv': b'a,b\n0.5,-1e3\n2.25,+7\n',
        'semicolon_bad.csv': b'1.5;2\r\n',
        'crlf.csv': b'1,2\r\n3,4\r\n',
        'no_final_newline.csv': b'1,2\n3,4',
        'special_values.csv': b'-0.0,inf\n1e-40,nan\n',
        'spaces.csv': b' 1 , 2\n3,\t4\n',
        'blank_line.csv': b'1,2\n\n3,4\n',
        'ragged.csv': b'1,2,3\n4,5\n',
        'not_a_number.csv': b'1,x\n',
        'empty.csv': b'',
        'empty_field.csv': b'1,,2\n',
        'one_column.csv': b'7\n8\n9\n',
        'overflow.csv': b'1e999,1\n',
        'bom.csv': b'\xef\xbb\xbfa,b\n1,2\n',
        'cr_only.csv': b'1,2\r3,4\r',
        'mixed_line_ends.csv': b'1,2\r3,4\n5,6\r\n\r\n',
        'nul_in_field.csv': b'1,7\x009\n',
        'utf16le.csv': '1,2\n3,4\n'.encode('utf-16-le'),
        'utf16le_bom.csv': '1,2\n3,4\n'.encode('utf-16'),
        'long_number.csv': b'0.' + b'1' * 300 + b'e-20,' + b'9' * 60 + b'e-30\n',
        'nan_mid_file.csv': b'1,2\n3,NaN\n5,6\n',
        'negative_overflow.csv': b'1,-3.5e38\n',
        'hex_float.csv': b'0x1p3,1\n',
    }
    for name, data in seeds.items():
        put('csv', name, data)


if __name__ == '__main__':
    npy()
    idx()
    csv()
