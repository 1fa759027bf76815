#!/usr/bin/env python3
"""bench/compare.py - libmlp's bench/train and bench/infer beside PyTorch,
ONNX Runtime (inference) and FANN (when built), interleaved in one run,
with the ratios.

    python3 bench/compare.py BENCHDIR [--epochs N] [--seeds 1,2,3]
                             [--nets 784-256-10,...] [--repeats R]

BENCHDIR holds the built train, infer and (optionally) peers/fann_bench and
peers/ort_bench. Training (bench/train.c says what each net trains on):
784-256-10, 784-512-256-10 and 784-1024-1024-10 on Fashion-MNIST (the
last on its first 10000 images), 20-64-64-1 on a synthetic regression at
batch 32; per seed, net and thread count libmlp runs, then PyTorch in each
of its settings, so both see the same moments of a shared machine. The
time of one epoch excludes loading (median over epochs, then over seeds).
PyTorch at 1 thread: torch.set_num_threads(1) with the OpenMP/BLAS pools
pinned to 1; on 2 cores the best of set_num_threads(2) with and without
OMP_WAIT_POLICY=passive and set_num_threads(1) with the pools unpinned
(Debian's build then runs its products on both cores). Its best setting
is compared.
Inference: 784-256-10 and 2-4-1 at batch 1 and 256, 1 and 2 threads; the
best of 7 loops in each process, the median over R repeats (default 3) of
libmlp, ONNX Runtime (C API, same layer sizes in an ONNX file written
here, graph optimisations on, intra-op threads = threads) and PyTorch
(the faster of a module call and bare addmm/relu under no_grad). At
batch 1 every weight is used once, so the time one core takes to read
them from cache (bench/infer's read_us) is a floor no engine goes under
on one core: `detail infer ... read_us=... over_read=...`.
Same bits: libmlp's results do not depend on the thread count, so each
seed's trained weights (bench/train's hash of their bits) must be equal
at 1 and 2 threads: `detail train net=N weights_same_at_1_and_2_threads=yes`
(or no, with the seeds that differ).
Speed-up of 2 threads over 1: speedup_2t is the median 1-thread epoch over
the median 2-thread epoch (separate processes, the figures of the ratio
lines); speedup_2t_paired is the median over seeds of bench/train's
"pairs" figure: after its timed epochs each 2-thread run trains 3 epochs
at 1 thread and 3 at 2, alternated in the one process, and takes the
median of the 3 pairs' speed-ups. A pair shares the host's moment, so
the paired figure moves less with the host's other guests.
Efficiency: the epoch's matrix-product FLOPs / (threads x one core's FMA
peak x epoch time), the peak measured by each bench/train process (the
best of 25 loops, which other processes only ever lower) and, for the
run, the median of those: on a VM a few processes catch the core at a
higher clock than the epochs run at (of 24 on the Intel Xeon, 21 at
174-178 GFLOP/s and 3 at 187-190), and the highest would then be the
peak of a moment, not of the run. `detail peak` prints their range.
Peak memory: ru_maxrss of each child process (getrusage). The machine's
one-minute load average at the start and the end is printed too: figures
taken while other processes ran are not comparable; so is the range of
bench/train's round_trip_ns over the 2-thread runs (a cache line between
the two threads and back: on a VM the host may put the two vCPUs on one
chiplet or on two, and 2-thread figures follow).
The last lines have a fixed form:
    peak cpu="..." fma_gflops_per_core=...
    ratio train net=N threads=T ours_s=... torch_s=... ratio=... efficiency=...
    scaling train net=N speedup_2t=... speedup_2t_paired=...
    ratio infer net=N threads=T batch=B ours_us=... ort_us=... torch_us=...
          speedup_vs_ort=... speedup_vs_torch=...
"""
import os, re, statistics, subprocess, sys, tempfile

DATA = os.environ.get("MLP_FASHION_DIR", ".cache/fashion-mnist")
NETS = ("784-256-10", "784-512-256-10", "784-1024-1024-10", "20-64-64-1")
INFER_NETS = ("784-256-10", "2-4-1")
PAIRS = 3  # epochs at 1 and at 2 threads alternated in each 2-thread run

TORCH_TRAIN = r'''
import sys, time, struct, statistics
import numpy as np, torch
threads, net, epochs, seed, data = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
sizes = [int(s) for s in net.split("-")]
torch.set_num_threads(threads)
def idx(path, limit=None):
    b = open(path, "rb").read()
    nd = b[3]
    dims = struct.unpack(">" + "I" * nd, b[4:4 + 4 * nd])
    a = np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)
    return a[:limit] if limit else a
def regression(first, n):
    # bench/train.c's synthetic rows: an integer hash of the element index
    i = np.arange(first * 20, (first + n) * 20, dtype=np.uint64)
    h = (i * np.uint64(2654435761)) & np.uint64(0xffffffff)
    x = (h.astype(np.float32) / np.float32(4294967296.0) * 2 - 1).reshape(n, 20)
    y = np.sin(x[:, 0]) + x[:, 1] * x[:, 2] - 0.5 * x[:, 3] ** 2 + 0.25 * x[:, 4]
    return torch.tensor(x), torch.tensor(y.astype(np.float32)).reshape(n, 1)
if net == "20-64-64-1":
    xtr, ytr = regression(0, 65536)
    xte, yte = regression(65536, 4096)
    batch, lr, lossf = 32, 0.05, torch.nn.MSELoss()
else:
    limit = 10000 if net == "784-1024-1024-10" else None
    xtr = torch.tensor(idx(data + "/train-images-idx3-ubyte", limit).reshape(-1, 784), dtype=torch.float32) / 255
    ytr = torch.tensor(idx(data + "/train-labels-idx1-ubyte", limit), dtype=torch.int64)
    xte = torch.tensor(idx(data + "/t10k-images-idx3-ubyte").reshape(-1, 784), dtype=torch.float32) / 255
    yte = torch.tensor(idx(data + "/t10k-labels-idx1-ubyte"), dtype=torch.int64)
    batch, lr, lossf = 256, 0.1, torch.nn.CrossEntropyLoss()
torch.manual_seed(seed)
layers = []
for i in range(len(sizes) - 1):
    layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
    if i + 2 < len(sizes):
        layers.append(torch.nn.ReLU())
net_ = torch.nn.Sequential(*layers)
opt = torch.optim.SGD(net_.parameters(), lr=lr)
n = xtr.shape[0]
times = []
for e in range(epochs):
    t0 = time.perf_counter()
    perm = torch.randperm(n)
    for b in range(0, n, batch):
        i = perm[b:b + batch]
        l = lossf(net_(xtr[i]), ytr[i])
        opt.zero_grad()
        l.backward()
        opt.step()
    times.append(time.perf_counter() - t0)
with torch.no_grad():
    if net == "20-64-64-1":
        fig = "test_mse=%.4f" % lossf(net_(xte), yte).item()
    else:
        fig = "test_acc=%.4f" % (net_(xte).argmax(1) == yte).float().mean().item()
print("torch_train epoch_s=%.4f %s" % (statistics.median(times), fig))
'''

TORCH_INFER = r'''
import sys, time, torch
threads = int(sys.argv[1])
torch.set_num_threads(threads)
for name, sizes in (("784-256-10", [784, 256, 10]), ("2-4-1", [2, 4, 1])):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers).eval()
    w = [(l.weight.t().contiguous(), l.bias) for l in layers if isinstance(l, torch.nn.Linear)]
    def bare(x):
        h = torch.relu(torch.addmm(w[0][1], x, w[0][0]))
        return torch.addmm(w[1][1], h, w[1][0])
    for batch in (1, 256):
        x = torch.rand(batch, sizes[0])
        best = 1e9
        with torch.no_grad():
            for f in (net, bare):
                it = 1
                while True:
                    t0 = time.perf_counter()
                    for _ in range(it):
                        f(x)
                    if time.perf_counter() - t0 > 0.005:
                        break
                    it *= 2
                it *= 4
                for r in range(7):
                    t0 = time.perf_counter()
                    for _ in range(it):
                        f(x)
                    best = min(best, (time.perf_counter() - t0) / it / batch)
        print("torch_infer net=%s threads=%d batch=%d us_per_sample=%.4f" % (name, threads, batch, best * 1e6))
'''


def run(cmd, env=None):
    """Run cmd; return its stdout (stderr shown on failure)."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                       universal_newlines=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        raise SystemExit("compare: %s failed" % " ".join(cmd))
    return p.stdout


def peak_run(cmd, env=None):
    """stdout and peak RSS (MiB) of one command. ru_maxrss of children is the
    max over all children ever waited for, so each command runs under its own
    small wrapper process that reports its child's figure."""
    wrap = ("import resource, subprocess, sys\n"
            "p = subprocess.run(sys.argv[1:])\n"
            "print('peak_mib=%.1f' % (resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0))\n"
            "sys.exit(p.returncode)\n")
    out = run([sys.executable, "-c", wrap] + cmd, env)
    m = re.search(r"peak_mib=([\d.]+)", out)
    return out, float(m.group(1)) if m else float("nan")


def field(line, key):
    m = re.search(r"\b" + key + r"=([-\d.e]+)", line)
    return float(m.group(1)) if m else float("nan")


def sfield(line, key):
    m = re.search(r"\b" + key + r'=("[^"]*"|\S+)', line)
    return m.group(1).strip('"') if m else ""


def med(v):
    return statistics.median(v) if v else float("nan")


def write_onnx(path, sizes, seed=1):
    """An ONNX file of the ReLU MLP `sizes` (Gemm, Relu, ..., Gemm, as
    PyTorch exports nn.Linear), random weights."""
    import numpy as np
    import onnx
    from onnx import helper, TensorProto, numpy_helper
    rng = np.random.default_rng(seed)
    nodes, inits, cur = [], [], "x"
    for i in range(len(sizes) - 1):
        w = (rng.standard_normal((sizes[i + 1], sizes[i])) / np.sqrt(sizes[i])).astype(np.float32)
        b = (rng.standard_normal(sizes[i + 1]) * 0.1).astype(np.float32)
        inits += [numpy_helper.from_array(w, "w%d" % i), numpy_helper.from_array(b, "b%d" % i)]
        out = "y" if i + 2 == len(sizes) else "g%d" % i
        nodes.append(helper.make_node("Gemm", [cur, "w%d" % i, "b%d" % i], [out], transB=1))
        cur = out
        if i + 2 < len(sizes):
            nodes.append(helper.make_node("Relu", [cur], ["h%d" % i]))
            cur = "h%d" % i
    g = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", sizes[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", sizes[-1]])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, path)


def train_side_by_side(bdir, nets, seeds, epochs):
    """Interleaved training runs. Returns ours, theirs, peaks, peak MiB."""
    ours, theirs, peaks, paired = {}, {}, [], {}
    ours_peak = torch_peak = 0.0
    # PyTorch settings per thread count: (torch.set_num_threads, pinned
    # OpenMP/BLAS pools, OMP_WAIT_POLICY=passive)
    settings = {1: ((1, True, False),),
                2: ((2, True, False), (2, True, True), (1, False, False))}
    for si, s in enumerate(seeds):
        env = dict(os.environ, MLP_BENCH_EPOCHS=str(epochs),
                   MLP_BENCH_PHASES="1" if si == 0 else "0", MLP_BENCH_PAIRS=str(PAIRS))
        for net in nets:
            for t in (1, 2):
                out, pk = peak_run([os.path.join(bdir, "train"), str(s), net, str(t)], env)
                ours_peak = max(ours_peak, pk)
                for line in out.splitlines():
                    if line.startswith("peak "):
                        peaks.append((field(line, "fma_gflops_per_core"), sfield(line, "cpu"),
                                      sfield(line, "kernel")))
                    elif line.startswith(("train ", "phases ", "products ", "pairs ")):
                        print(line)
                    if line.startswith("pairs "):
                        paired.setdefault(net, []).append(field(line, "speedup_2t"))
                    if line.startswith("train "):
                        fig = field(line, "test_acc")
                        if fig != fig:
                            fig = field(line, "test_mse")
                        ours.setdefault((net, t), []).append(
                            (field(line, "epoch_s"), fig, field(line, "gflop"),
                             field(line, "round_trip_ns"), s, sfield(line, "weights")))
                for tt, pinned, passive in settings[t]:
                    e = dict(os.environ)
                    if pinned:
                        e.update(OMP_NUM_THREADS=str(tt), OPENBLAS_NUM_THREADS=str(tt),
                                 MKL_NUM_THREADS=str(tt))
                    if passive:
                        e["OMP_WAIT_POLICY"] = "passive"
                    name = "set_num_threads(%d)%s%s" % (tt, "" if pinned else " unpinned",
                                                        " OMP_WAIT_POLICY=passive" if passive else "")
                    out, pk = peak_run([sys.executable, "-c", TORCH_TRAIN, str(tt), net,
                                        str(epochs), str(s), DATA], e)
                    torch_peak = max(torch_peak, pk)
                    line = [l for l in out.splitlines() if l.startswith("torch_train")][0]
                    print("torch net=%s threads=%d setting=\"%s\" seed=%d %s" %
                          (net, t, name, s, line[len("torch_train "):]))
                    fig = field(line, "test_acc")
                    if fig != fig:
                        fig = field(line, "test_mse")
                    theirs.setdefault((net, t, name), []).append((field(line, "epoch_s"), fig))
                sys.stdout.flush()
    return ours, theirs, peaks, paired, ours_peak, torch_peak


def infer_side_by_side(bdir, repeats):
    """Interleaved inference runs: {(net, threads, batch): [us]} per engine,
    and libmlp's figure for reading the weights once (bench/infer's read_us)."""
    oi, ri, ti, rd = {}, {}, {}, {}
    ort = os.path.join(bdir, "peers", "ort_bench")
    have_ort = os.access(ort, os.X_OK)
    if not have_ort:
        print("bench: %s not built, ONNX Runtime skipped (make bench-ort)" % ort)
    tmp = tempfile.mkdtemp(prefix="mlp-bench-")
    models = {}
    if have_ort:
        try:
            for net in INFER_NETS:
                models[net] = os.path.join(tmp, net + ".onnx")
                write_onnx(models[net], [int(s) for s in net.split("-")])
        except ImportError:
            print("bench: python3 has no onnx module, ONNX Runtime skipped")
            have_ort = False
    for r in range(repeats):
        out, _ = peak_run([os.path.join(bdir, "infer")])
        for l in out.splitlines():
            if l.startswith("infer "):
                print(l)
                key = (sfield(l, "net"), int(field(l, "threads")), int(field(l, "batch")))
                oi.setdefault(key, []).append(field(l, "us_per_sample"))
                rd.setdefault(key, []).append(field(l, "read_us"))
        if have_ort:
            for net in INFER_NETS:
                sizes = net.split("-")
                for batch in (1, 256):
                    for t in (1, 2):
                        out = run([ort, models[net], net, sizes[0], sizes[-1], str(batch), str(t)])
                        for l in out.splitlines():
                            if l.startswith("ort_infer"):
                                print(l)
                                ri.setdefault((net, t, batch), []).append(
                                    field(l, "us_per_sample"))
        for t in (1, 2):
            ts = str(t)
            out = run([sys.executable, "-c", TORCH_INFER, ts],
                      dict(os.environ, OMP_NUM_THREADS=ts, OPENBLAS_NUM_THREADS=ts,
                           MKL_NUM_THREADS=ts))
            for l in out.splitlines():
                if l.startswith("torch_infer"):
                    print(l)
                    key = (sfield(l, "net"), int(field(l, "threads")), int(field(l, "batch")))
                    ti.setdefault(key, []).append(field(l, "us_per_sample"))
        sys.stdout.flush()
    for f in models.values():
        os.unlink(f)
    os.rmdir(tmp)
    return oi, ri, ti, rd


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    bdir = sys.argv[1]
    epochs, seeds, nets, repeats = 3, [1, 2, 3], list(NETS), 3
    a = sys.argv[2:]
    while a:
        if a[0] == "--epochs":
            epochs = int(a[1]); a = a[2:]
        elif a[0] == "--seeds":
            seeds = [int(s) for s in a[1].split(",")]; a = a[2:]
        elif a[0] == "--nets":
            nets = a[1].split(","); a = a[2:]
        elif a[0] == "--repeats":
            repeats = int(a[1]); a = a[2:]
        else:
            raise SystemExit("compare: unknown argument " + a[0])

    load_start = os.getloadavg()[0]
    ours, theirs, peaks, paired, ours_peak, torch_peak = train_side_by_side(bdir, nets, seeds,
                                                                           epochs)
    oi, ri, ti, rd = infer_side_by_side(bdir, repeats)

    fann = os.path.join(bdir, "peers", "fann_bench")
    fi, fann_peak = {}, float("nan")
    if os.access(fann, os.X_OK):
        out3, fann_peak = peak_run([fann, DATA, str(epochs)])
        for l in out3.splitlines():
            if l.startswith("fann"):
                print(l)
            if l.startswith("fann_infer"):
                fi[sfield(l, "net")] = field(l, "us_per_sample")

    print()
    peak = med([p[0] for p in peaks])
    cpu = peaks[0][1] if peaks else "unknown"
    kernel = peaks[0][2] if peaks else "unknown"
    best = {}
    for net in nets:
        for t in (1, 2):
            cands = [(med([x[0] for x in r]), med([x[1] for x in r]), name)
                     for (n2, t2, name), r in theirs.items() if n2 == net and t2 == t]
            if cands:
                best[(net, t)] = min(cands)
            o = ours.get((net, t))
            if o and (net, t) in best:
                b = best[(net, t)]
                print("detail train net=%s threads=%d torch_setting=\"%s\" ours_fig=%.4f "
                      "torch_fig=%.4f kernel=%s" %
                      (net, t, b[2], med([x[1] for x in o]), b[1], kernel))
    for net in nets:
        # every result is the same at any thread count: so are the
        # trained weights (bench/train's hash of their bits), seed by seed
        w1 = dict((x[4], x[5]) for x in ours.get((net, 1), []))
        w2 = dict((x[4], x[5]) for x in ours.get((net, 2), []))
        both = [s for s in sorted(w1) if s in w2 and w1[s] and w2[s]]
        if both:
            differ = [str(s) for s in both if w1[s] != w2[s]]
            print("detail train net=%s weights_same_at_1_and_2_threads=%s" %
                  (net, "no(seeds=%s)" % ",".join(differ) if differ else "yes"))
    for net, t, batch in sorted(oi):
        if batch == 1 and t == 1 and rd.get((net, t, batch)):
            # one sample uses every weight once: reading them on one core
            # is the floor of one core
            o1, r1 = med(oi[(net, t, batch)]), med(rd[(net, t, batch)])
            print("detail infer net=%s threads=1 batch=1 ours_us=%.4f read_us=%.4f "
                  "over_read=%.2f" % (net, o1, r1, o1 / r1))
        if net in fi and t == 1 and batch == 1:
            print("detail infer net=%s fann_us=%.4f speedup_vs_fann=%.2f" %
                  (net, fi[net], fi[net] / med(oi[(net, t, batch)])))
    print("peak_mib ours=%.0f torch=%.0f fann=%.0f" % (ours_peak, torch_peak, fann_peak))
    # other processes' load: figures taken under load are not comparable
    # where the host put the threads of the 2-thread runs (bench/train's
    # round_trip_ns: about 60-150 ns on one chiplet, several times that
    # across); a VM's vCPUs may move between runs
    trips = sorted(x[3] for (n2, t2), r in ours.items() if t2 == 2 for x in r if x[3] == x[3])
    print("machine load_start=%.2f load_end=%.2f cpus=%d round_trip_ns_2t=%s" %
          (load_start, os.getloadavg()[0], os.cpu_count() or 0,
           "%.0f-%.0f,median=%.0f" % (trips[0], trips[-1], med(trips)) if trips else "nan"))
    if peaks:
        print("detail peak processes=%d fma_gflops_per_core_min=%.1f median=%.1f max=%.1f" %
              (len(peaks), min(p[0] for p in peaks), peak, max(p[0] for p in peaks)))
    print('peak cpu="%s" fma_gflops_per_core=%.1f' % (cpu, peak))
    for net in nets:
        for t in (1, 2):
            o = ours.get((net, t))
            if not o or (net, t) not in best:
                continue
            o_s = med([x[0] for x in o])
            gflop = o[0][2]
            print("ratio train net=%s threads=%d ours_s=%.4f torch_s=%.4f ratio=%.2f "
                  "efficiency=%.2f" % (net, t, o_s, best[(net, t)][0], o_s / best[(net, t)][0],
                                      gflop / (t * peak * o_s)))
    for net in nets:
        if (net, 1) in ours and (net, 2) in ours:
            print("scaling train net=%s speedup_2t=%.2f speedup_2t_paired=%.2f" %
                  (net, med([x[0] for x in ours[(net, 1)]]) / med([x[0] for x in ours[(net, 2)]]),
                   med(paired.get(net, []))))
    for net in INFER_NETS:
        for t in (1, 2):
            for batch in (1, 256):
                key = (net, t, batch)
                if key not in oi:
                    continue
                o, r, p = med(oi[key]), med(ri.get(key, [])), med(ti.get(key, []))
                print("ratio infer net=%s threads=%d batch=%d ours_us=%.4f ort_us=%.4f "
                      "torch_us=%.4f speedup_vs_ort=%.2f speedup_vs_torch=%.2f" %
                      (net, t, batch, o, r, p, r / o, p / o))


if __name__ == "__main__":
    main()
