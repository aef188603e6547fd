#!/bin/bash
# GPU check for SaeMl: a self-contained, trimmed SaeMl.Benchmarks publish (no libtorch inside, in ./app
# beside this script) run against a machine's own PyTorch libtorch. Every step tolerates the failure of
# the last; everything is logged to $OUT/log.txt. How to publish and run it: docs/gpu.md.
set -u
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
LOG=$OUT/log.txt
exec > >(tee -a "$LOG") 2>&1
START=$(date +%s)
DEADLINE=${DEADLINE:-560}          # seconds of script time; each step's timeout is cut to fit (about 2 minutes on an H100)
HERE=$(cd "$(dirname "$0")" && pwd)
APPDIR=$HERE/app
elapsed() { echo $(( $(date +%s) - START )); }
sec() { echo; echo "===== [t+$(elapsed)s] $*"; }
# run NAME MAXSECONDS command...: runs with a timeout that fits the deadline; logs the exit code
run() {
  local name=$1 max=$2; shift 2
  local left=$(( DEADLINE - $(elapsed) - 5 ))
  local t=$(( max < left ? max : left ))
  if [ "$t" -lt 10 ]; then echo "SKIPPED $name: only ${left}s left"; return 99; fi
  sec "$name (timeout ${t}s): $*"
  timeout -k 5 "$t" "$@"
  local rc=$?
  echo "----- $name: exit $rc after t+$(elapsed)s"
  return $rc
}

sec machine
nvidia-smi 2>&1 | head -20
uname -r; grep PRETTY /etc/os-release; nproc; free -g | head -2
strings /usr/lib/x86_64-linux-gnu/libstdc++.so.6 2>/dev/null | grep -c GLIBCXX_3.4.32 | sed 's/^/libstdc++ has GLIBCXX_3.4.32: /'

if [ ! -e "$APPDIR/SaeMl.Benchmarks" ]; then
  echo "error: $APPDIR/SaeMl.Benchmarks is missing; publish the benchmarks into app/ beside this script (docs/gpu.md)"
  exit 2
fi
. "$HERE/torch-env.sh"
export TMPDIR=/tmp
chmod +x "$APPDIR/SaeMl.Benchmarks" 2>/dev/null

run torch-python 60 env PYTHONUNBUFFERED=1 "$PY" -c "
import torch, time
print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available(), 'cudnn', torch.backends.cudnn.version())
print(torch.cuda.get_device_name(0), torch.cuda.get_device_properties(0))
print('cxx11 abi', torch._C._GLIBCXX_USE_CXX11_ABI, 'tf32 matmul', torch.backends.cuda.matmul.allow_tf32)
a = torch.randn(4096, 4096, device='cuda'); b = torch.randn(4096, 4096, device='cuda')
a @ b; torch.cuda.synchronize(); t = time.time()
for _ in range(20): c = a @ b
torch.cuda.synchronize(); dt = (time.time() - t) / 20
print('fp32 4096^3 matmul %.2f ms, %.1f TFLOP/s' % (dt * 1e3, 2 * 4096**3 / dt / 1e12))
print('max |cuda - cpu|', (c.cpu() - a.cpu() @ b.cpu()).abs().max().item())
"

sec "libtorch files and LibTorchSharp's undefined symbols against this libtorch"
readelf -d "$TORCHLIB/libtorch.so" | grep -E 'NEEDED|RPATH|RUNPATH'
readelf -d "$TORCHLIB/libtorch_cuda.so" | grep -E 'RPATH|RUNPATH'
ldd -r "$APPDIR/libLibTorchSharp.so" > /tmp/ldd.txt 2>&1
grep -c 'undefined symbol' /tmp/ldd.txt | sed 's/^/undefined symbols: /'
grep -E 'not found' /tmp/ldd.txt
grep 'undefined symbol' /tmp/ldd.txt | sed -e 's/^\s*undefined symbol: //' -e 's/\s*(.*$//' | c++filt | head -60
cp /tmp/ldd.txt "$OUT/ldd-libtorchsharp.txt"

# (a) and (d): CUDA through TorchSharp, and CPU against CUDA from the same seed
run agreement 150 "$APPDIR/SaeMl.Benchmarks" device-agreement --device cuda
AGREEMENT=$?
# The same with most latents dead, so that the AuxK term runs on both devices.
run agreement-auxk 150 "$APPDIR/SaeMl.Benchmarks" device-agreement --device cuda --latents 32768 --k 8
AGREEMENT=$(( AGREEMENT | $? ))

# (b) SAE training throughput, CUDA then CPU, the documented setting (d = 768, B = 512, M = 16)
run sae-train-cuda 90 "$APPDIR/SaeMl.Benchmarks" sae-train --steps 5 --device cuda
run sae-train-cpu 130 "$APPDIR/SaeMl.Benchmarks" sae-train --steps 5 --device cpu

# (c) exact search, CUDA then CPU (200,000 x 768 corpus, 2,000 queries, top 100)
run exact-search-cuda 60 "$APPDIR/SaeMl.Benchmarks" exact-search --repeats 3 --device cuda
run exact-search-cpu 60 "$APPDIR/SaeMl.Benchmarks" exact-search --repeats 3 --device cpu

sec "done"
nvidia-smi --query-gpu=name,memory.used,memory.total,temperature.gpu --format=csv
exit $AGREEMENT
