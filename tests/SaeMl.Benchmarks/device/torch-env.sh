# Sourced by the GPU scripts: finds the machine's PyTorch (PY) and its libtorch (TORCHLIB, or set it), and puts
# libtorch and PyTorch's NVIDIA libraries on LD_LIBRARY_PATH for a SaeMl publish made with TorchBackend=external.
PY=${PY:-/opt/torch/.venv/bin/python3}
[ -x "$PY" ] || PY=python3
TORCHLIB=${TORCHLIB:-}
[ -n "$TORCHLIB" ] || TORCHLIB=$("$PY" -c "import torch, os; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))" 2>/dev/null)
if [ ! -e "$TORCHLIB/libtorch.so" ]; then
  TORCHLIB=$(dirname "$(find /opt/torch/.venv -name libtorch_cuda.so -path '*torch/lib/*' 2>/dev/null | head -1)")
fi
if [ ! -e "$TORCHLIB/libtorch.so" ]; then
  echo "error: no PyTorch libtorch found (looked under /opt/torch/.venv and python3's torch); set TORCHLIB to a torch/lib folder"
  exit 2
fi
SITE=$(dirname "$(dirname "$TORCHLIB")")
echo "python $PY; torch/lib $TORCHLIB; site-packages $SITE"
ls "$TORCHLIB"
NVLIBS=$(find "$SITE/nvidia" -maxdepth 3 -type d -name lib 2>/dev/null | sort | tr '\n' ':')
export LD_LIBRARY_PATH=$TORCHLIB:${NVLIBS%:}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
