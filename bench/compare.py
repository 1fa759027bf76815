#!/usr/bin/env python3
"""bench/compare.py - the same recipes in PyTorch (and FANN when built), in
the same run as libmlp's bench/train and bench/infer, with the ratios.

    python3 bench/compare.py BENCHDIR [--epochs N] [--seeds 1,2,3]

BENCHDIR holds the built train, infer and (optionally) peers/fann_bench.
Training: Fashion-MNIST from .cache/fashion-mnist, 784-256-10 and
784-512-256-10 ReLU, softmax cross-entropy, SGD lr 0.1, batch 256, shuffled
each epoch; the time of one epoch excludes loading (median over epochs);
accuracy is the test accuracy after the epochs, median over the seeds.
PyTorch runs at 1 thread (torch.set_num_threads(1), OpenMP/BLAS pools
pinned to 1) and on 2 cores (set_num_threads(2) with and without
OMP_WAIT_POLICY=passive, and set_num_threads(1) with the pools unpinned,
which Debian's build runs on both cores); its best setting is compared.
Peak memory: ru_maxrss of each child process (getrusage).
"""
import os, re, statistics, subprocess, sys

DATA = os.environ.get("MLP_FASHION_DIR", ".cache/fashion-mnist")

TORCH_TRAIN = r'''
import sys, time, struct, statistics
import numpy as np, torch
threads, sizes, epochs, seed, data = int(sys.argv[1]), [int(s) for s in sys.argv[2].split("-")], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
torch.set_num_threads(threads)
def idx(path):
    b = open(path, "rb").read()
    nd = b[3]
    dims = struct.unpack(">" + "I" * nd, b[4:4 + 4 * nd])
    return np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)
xtr = torch.tensor(idx(data + "/train-images-idx3-ubyte").reshape(-1, 784), dtype=torch.float32) / 255
ytr = torch.tensor(idx(data + "/train-labels-idx1-ubyte"), dtype=torch.int64)
xte = torch.tensor(idx(data + "/t10k-images-idx3-ubyte").reshape(-1, 784), dtype=torch.float32) / 255
yte = torch.tensor(idx(data + "/t10k-labels-idx1-ubyte"), dtype=torch.int64)
torch.manual_seed(seed)
layers = []
for i in range(len(sizes) - 1):
    layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
    if i + 2 < len(sizes):
        layers.append(torch.nn.ReLU())
net = torch.nn.Sequential(*layers)
opt = torch.optim.SGD(net.parameters(), lr=0.1)
lossf = torch.nn.CrossEntropyLoss()
n = xtr.shape[0]
times = []
for e in range(epochs):
    t0 = time.perf_counter()
    perm = torch.randperm(n)
    for b in range(0, n, 256):
        i = perm[b:b + 256]
        l = lossf(net(xtr[i]), ytr[i])
        opt.zero_grad()
        l.backward()
        opt.step()
    times.append(time.perf_counter() - t0)
with torch.no_grad():
    acc = (net(xte).argmax(1) == yte).float().mean().item()
print("torch_train epoch_s=%.4f test_acc=%.4f" % (statistics.median(times), acc))
'''

TORCH_INFER = r'''
import sys, time, torch
torch.set_num_threads(1)
for name, sizes in (("784-256-10", [784, 256, 10]), ("2-4-1", [2, 4, 1])):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers).eval()
    x = torch.rand(1, sizes[0])
    w = [(l.weight.t().contiguous(), l.bias) for l in layers if isinstance(l, torch.nn.Linear)]
    def bare(x):
        h = torch.relu(torch.addmm(w[0][1], x, w[0][0]))
        return torch.addmm(w[1][1], h, w[1][0])
    for kind, f in (("module", net), ("bare", bare)):
        best = 1e9
        with torch.no_grad():
            for r in range(5):
                it = 20000
                t0 = time.perf_counter()
                for _ in range(it):
                    f(x)
                best = min(best, (time.perf_counter() - t0) / it)
        print("torch_infer net=%s kind=%s us_per_sample=%.3f" % (name, kind, best * 1e6))
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
    m = re.search(key + r"=([\d.]+)", line)
    return float(m.group(1)) if m else float("nan")


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    bdir = sys.argv[1]
    epochs = 3
    seeds = [1, 2, 3]
    a = sys.argv[2:]
    while a:
        if a[0] == "--epochs":
            epochs = int(a[1]); a = a[2:]
        elif a[0] == "--seeds":
            seeds = [int(s) for s in a[1].split(",")]; a = a[2:]
        else:
            raise SystemExit("compare: unknown argument " + a[0])
    env = dict(os.environ, MLP_BENCH_EPOCHS=str(epochs))

    # ours: bench/train prints both nets at 1 and 2 threads for one seed
    ours = {}   # (net, threads) -> list of (epoch_s, acc)
    ours_peak = 0.0
    for s in seeds:
        out, peak = peak_run([os.path.join(bdir, "train"), str(s)], env)
        ours_peak = max(ours_peak, peak)
        for line in out.splitlines():
            if line.startswith("train "):
                print(line)
                net = re.search(r"net=(\S+)", line).group(1)
                t = int(field(line, "threads"))
                ours.setdefault((net, t), []).append((field(line, "epoch_s"), field(line, "test_acc")))

    theirs = {}
    torch_peak = 0.0
    # PyTorch settings per thread count: (torch.set_num_threads, pinned
    # OpenMP/BLAS pools, OMP_WAIT_POLICY=passive). torch.set_num_threads(1)
    # alone still lets Debian's build run its products on both cores
    # (process CPU time = 2x wall), so at 1 thread the pools are pinned to
    # 1, and that unpinned setting is one of the 2-core candidates.
    settings = {1: ((1, True, False),),
                2: ((2, True, False), (2, True, True), (1, False, False))}
    for net in ("784-256-10", "784-512-256-10"):
        for t in (1, 2):
            for tt, pinned, passive in settings[t]:
                e = dict(os.environ)
                if pinned:
                    e.update(OMP_NUM_THREADS=str(tt), OPENBLAS_NUM_THREADS=str(tt),
                             MKL_NUM_THREADS=str(tt))
                if passive:
                    e["OMP_WAIT_POLICY"] = "passive"
                name = "set_num_threads(%d)%s%s" % (tt, "" if pinned else " unpinned",
                                                    " OMP_WAIT_POLICY=passive" if passive else "")
                for s in seeds:
                    out, peak = peak_run([sys.executable, "-c", TORCH_TRAIN, str(tt), net,
                                          str(epochs), str(s), DATA], e)
                    torch_peak = max(torch_peak, peak)
                    line = [l for l in out.splitlines() if l.startswith("torch_train")][0]
                    print("torch net=%s threads=%d setting=\"%s\" seed=%d %s" %
                          (net, t, name, s, line[len("torch_train "):]))
                    theirs.setdefault((net, t, name), []).append(
                        (field(line, "epoch_s"), field(line, "test_acc")))

    print()
    for net in ("784-256-10", "784-512-256-10"):
        for t in (1, 2):
            o = ours.get((net, t), [])
            if not o:
                continue
            o_s = statistics.median(x[0] for x in o)
            o_acc = statistics.median(x[1] for x in o)
            best = None
            for (n2, t2, name), r in theirs.items():
                if n2 != net or t2 != t:
                    continue
                cand = (statistics.median(x[0] for x in r), statistics.median(x[1] for x in r), name)
                if best is None or cand[0] < best[0]:
                    best = cand
            print("ratio train net=%s threads=%d ours_s=%.3f torch_s=%.3f (%s) ratio=%.2f "
                  "ours_acc=%.4f torch_acc=%.4f" %
                  (net, t, o_s, best[0], best[2], o_s / best[0], o_acc, best[1]))

    # inference
    out, _ = peak_run([os.path.join(bdir, "infer")])
    oi = {re.search(r"net=(\S+)", l).group(1): field(l, "us_per_sample")
          for l in out.splitlines() if l.startswith("infer ")}
    out2, _ = peak_run([sys.executable, "-c", TORCH_INFER],
                       dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                            MKL_NUM_THREADS="1"))
    ti = {}
    for l in out2.splitlines():
        if l.startswith("torch_infer"):
            print(l)
            net = re.search(r"net=(\S+)", l).group(1)
            ti[net] = min(ti.get(net, 1e9), field(l, "us_per_sample"))
    fann = os.path.join(bdir, "peers", "fann_bench")
    fi = {}
    fann_peak = float("nan")
    if os.access(fann, os.X_OK):
        out3, fann_peak = peak_run([fann, DATA, str(epochs)])
        for l in out3.splitlines():
            if l.startswith("fann"):
                print(l)
            if l.startswith("fann_infer"):
                fi[re.search(r"net=(\S+)", l).group(1)] = field(l, "us_per_sample")
    for net, us in oi.items():
        print("ratio infer net=%s ours_us=%.3f torch_best_us=%.3f speedup_vs_torch=%.2f%s" %
              (net, us, ti.get(net, float("nan")), ti.get(net, float("nan")) / us,
               (" fann_us=%.3f speedup_vs_fann=%.2f" % (fi[net], fi[net] / us)) if net in fi else ""))
    print("peak_mib ours=%.0f torch=%.0f fann=%.0f" % (ours_peak, torch_peak, fann_peak))


if __name__ == "__main__":
    main()
