#!/usr/bin/env node
// tools/ort_run.js - run an ONNX model in ONNX Runtime (onnxruntime-node)
// on an input batch stored as .npy, the way people deploy ONNX models.
//
//   node tools/ort_run.js MODEL.onnx X.npy EXPECTED.npy
//       compares ONNX Runtime's output with EXPECTED (|a - b| <= 1e-5 +
//       1e-4 |b| element by element); exit 0 when all agree
//   node tools/ort_run.js MODEL.onnx X.npy --labels LABELS.npy
//       prints the accuracy of the output's argmax against the labels
//   node tools/ort_run.js --check DIR...
//       compares every DIR/NAME.onnx that has NAME.x.npy and NAME.y.npy
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

// Compare ONNX Runtime's output for model with want; returns an error or null.
async function compare(ort, model, x, want) {
    const session = await ort.InferenceSession.create(model, { logSeverityLevel: 3 });
    const feeds = {};
    feeds[session.inputNames[0]] = new ort.Tensor('float32', x.data, x.shape);
    const y = (await session.run(feeds))[session.outputNames[0]];
    const name = path.basename(model);
    if (want.data.length !== y.data.length)
        return `${name}: ONNX Runtime gave ${y.data.length} values [${y.dims}], expected ` +
               `${want.data.length} [${want.shape}]`;
    let worst = 0;
    for (let i = 0; i < y.data.length; i++) {
        const d = Math.abs(y.data[i] - want.data[i]);
        if (!(d <= 1e-5 + 1e-4 * Math.abs(want.data[i])))
            return `${name}: element ${i}: ONNX Runtime ${y.data[i]}, expected ${want.data[i]}`;
        worst = Math.max(worst, d);
    }
    console.log(`${name}: ONNX Runtime agrees on ${y.data.length} values ` +
                `(max |diff| ${worst.toExponential(2)})`);
    return null;
}

async function main() {
    const args = process.argv.slice(2);
    if (args[0] === '--check' && args.length >= 2) {
        // every NAME.onnx in the directories that has NAME.x.npy and NAME.y.npy
        const ort = loadOrt();
        let failed = 0, ran = 0;
        for (const dir of args.slice(1)) {
            for (const f of fs.readdirSync(dir).filter(f => f.endsWith('.onnx')).sort()) {
                const base = path.join(dir, f.slice(0, -5));
                if (!fs.existsSync(base + '.x.npy') || !fs.existsSync(base + '.y.npy')) continue;
                ran++;
                let err;
                try {
                    err = await compare(ort, base + '.onnx', readNpy(base + '.x.npy'),
                                        readNpy(base + '.y.npy'));
                } catch (e) {
                    err = f + ': ' + e.message;
                }
                if (err) {
                    console.error(err);
                    failed++;
                }
            }
        }
        console.log(`ort_run: ${ran} models, ${failed} disagree`);
        process.exit(failed || !ran ? 1 : 0);
    }
    if (args.length < 3) {
        console.error('usage: ort_run.js MODEL.onnx X.npy (EXPECTED.npy | --labels LABELS.npy)\n' +
                      '       ort_run.js --check DIR...');
        process.exit(2);
    }
    const ort = loadOrt();
    const x = readNpy(args[1]);
    if (args[2] !== '--labels') {
        const err = await compare(ort, args[0], x, readNpy(args[2]));
        if (err) {
            console.error(err);
            process.exit(1);
        }
        return;
    }
    const session = await ort.InferenceSession.create(args[0], { logSeverityLevel: 3 });
    const feeds = {};
    feeds[session.inputNames[0]] = new ort.Tensor('float32', x.data, x.shape);
    const y = (await session.run(feeds))[session.outputNames[0]];
    const labels = readNpy(args[3]).data;
    const n = y.dims[0], k = y.dims[1];
    let right = 0;
    for (let r = 0; r < n; r++) {
        let best = 0;
        for (let c = 1; c < k; c++)
            if (y.data[r * k + c] > y.data[r * k + best]) best = c;
        if (best === labels[r]) right++;
    }
    console.log(`${path.basename(args[0])}: ONNX Runtime accuracy ${(right / n).toFixed(4)} ` +
                `on ${n} samples`);
}

main().catch(e => {
    console.error(path.basename(process.argv[2] || '') + ': ' + e.message);
    process.exit(1);
});
