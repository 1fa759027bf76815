#!/usr/bin/env node
// tools/ort_run.js - run an ONNX model in ONNX Runtime (onnxruntime-node)
// on an input batch stored as .npy, the way people deploy ONNX models.
//
//   node tools/ort_run.js MODEL.onnx X.npy EXPECTED.npy
//       compares ONNX Runtime's output with EXPECTED (|a - b| <= 1e-5 +
//       1e-4 |b| element by element); exit 0 when all agree
//   node tools/ort_run.js MODEL.onnx X.npy --labels LABELS.npy
//       prints the accuracy of the output's argmax against the labels
//
// onnxruntime-node is looked up in .cache/npm (tools/deps.sh onnxrt puts
// it there), then wherever Node's own resolution finds it.
'use strict';
const fs = require('fs');
const path = require('path');

function loadOrt() {
    const local = path.join(__dirname, '..', '.cache', 'npm', 'node_modules', 'onnxruntime-node');
    try {
        return require(local);
    } catch (e) {
        return require('onnxruntime-node');
    }
}

// .npy version 1/2, '<f4' or '<f8', C order
function readNpy(file) {
    const b = fs.readFileSync(file);
    if (b.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(file + ': not a .npy file');
    const major = b[6];
    const hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
    const hstart = major === 1 ? 10 : 12;
    const header = b.toString('latin1', hstart, hstart + hlen);
    const descr = /'descr':\s*'([^']*)'/.exec(header)[1];
    if (/'fortran_order':\s*True/.test(header)) throw new Error(file + ': Fortran order');
    const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',')
        .map(s => s.trim()).filter(s => s.length).map(Number);
    const n = shape.reduce((a, c) => a * c, 1);
    const off = hstart + hlen;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
        if (descr === '<f4') data[i] = b.readFloatLE(off + 4 * i);
        else if (descr === '<f8') data[i] = b.readDoubleLE(off + 8 * i);
        else throw new Error(file + ': dtype ' + descr + ' not handled');
    }
    return { shape, data };
}

async function main() {
    const args = process.argv.slice(2);
    if (args.length < 3) {
        console.error('usage: ort_run.js MODEL.onnx X.npy (EXPECTED.npy | --labels LABELS.npy)');
        process.exit(2);
    }
    const ort = loadOrt();
    const session = await ort.InferenceSession.create(args[0], { logSeverityLevel: 3 });
    const x = readNpy(args[1]);
    const feeds = {};
    feeds[session.inputNames[0]] = new ort.Tensor('float32', x.data, x.shape);
    const result = await session.run(feeds);
    const y = result[session.outputNames[0]];
    const name = path.basename(args[0]);
    if (args[2] === '--labels') {
        const labels = readNpy(args[3]).data;
        const n = y.dims[0], k = y.dims[1];
        let right = 0;
        for (let r = 0; r < n; r++) {
            let best = 0;
            for (let c = 1; c < k; c++)
                if (y.data[r * k + c] > y.data[r * k + best]) best = c;
            if (best === labels[r]) right++;
        }
        console.log(`${name}: ONNX Runtime ${ort.env.versions ? ort.env.versions.common : ''} ` +
                    `accuracy ${(right / n).toFixed(4)} on ${n} samples`);
        return;
    }
    const want = readNpy(args[2]);
    if (want.data.length !== y.data.length) {
        console.error(`${name}: ONNX Runtime gave ${y.data.length} values [${y.dims}], ` +
                      `expected ${want.data.length} [${want.shape}]`);
        process.exit(1);
    }
    let worst = 0, bad = -1;
    for (let i = 0; i < y.data.length; i++) {
        const d = Math.abs(y.data[i] - want.data[i]);
        if (!(d <= 1e-5 + 1e-4 * Math.abs(want.data[i])) && bad < 0) bad = i;
        if (d > worst || Number.isNaN(d)) worst = d;
    }
    if (bad >= 0) {
        console.error(`${name}: element ${bad}: ONNX Runtime ${y.data[bad]}, libmlp ${want.data[bad]}`);
        process.exit(1);
    }
    console.log(`${name}: ONNX Runtime agrees on ${y.data.length} values (max |diff| ${worst.toExponential(2)})`);
}

main().catch(e => {
    console.error(path.basename(process.argv[2] || '') + ': ' + e.message);
    process.exit(1);
});
