"""circom2 + snarkjs as separate programs (GPL-3.0: run as subprocesses, never imported).

`make install` puts them under ``$INFERA_CACHE/zk-tools-<versions>/`` (scripts/install.sh).
Compiled circuits and their Groth16 keys are cached under ``$INFERA_CACHE/zk-circuits/<sha256 of
the circom source>/`` so tests and benchmarks compile and set up each circuit once.

The keys come from a single-party setup with fixed entropy: FOR DEVELOPMENT ONLY. Whoever knows
the setup's toxic waste can forge proofs; a real network imports keys from a multi-party ceremony.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import select
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SNARKJS_VERSION = "0.7.6"
CIRCOM2_VERSION = "0.2.23"
TOOLS_KEY = f"zk-tools-snarkjs{SNARKJS_VERSION}-circom2-{CIRCOM2_VERSION}"
PTAU_POWER = 13  # 2^13 = 8192 constraints at most
DEV_ENTROPY = "infera-dev-entropy"  # public on purpose: dev keys are forgeable by anyone


def cache_dir() -> Path:
    return Path(os.environ.get("INFERA_CACHE", Path.home() / ".cache" / "infera"))


def _tool(name: str) -> Path | None:
    path = cache_dir() / TOOLS_KEY / "node_modules" / ".bin" / name
    return path if path.exists() and shutil.which("node") else None


def snarkjs_path() -> Path | None:
    """The cached snarkjs, or None when `make install` has not installed it (or no node)."""
    return _tool("snarkjs")


def circom_path() -> Path | None:
    return _tool("circom2")


def is_available() -> bool:
    return snarkjs_path() is not None and circom_path() is not None


def _run(args: list[str], cwd: Path, timeout: int = 600) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {done.stdout[-2000:]} {done.stderr[-2000:]}")
    return done.stdout


def ptau_path(power: int = PTAU_POWER) -> Path:
    """Phase-1 powers of tau (dev, one contribution), made once and cached (~4 min for 2^13)."""
    folder = cache_dir() / "zk-ptau"
    final = folder / f"pot{power}_final.ptau"
    if final.exists():
        return final
    folder.mkdir(parents=True, exist_ok=True)
    sj = str(snarkjs_path())
    p0, p1 = folder / f"pot{power}_0.ptau", folder / f"pot{power}_1.ptau"
    _run([sj, "powersoftau", "new", "bn128", str(power), str(p0)], folder)
    _run(
        [sj, "powersoftau", "contribute", str(p0), str(p1), "--name=dev", f"-e={DEV_ENTROPY}"],
        folder,
    )
    tmp = folder / f"pot{power}_final.ptau.tmp"
    _run([sj, "powersoftau", "prepare", "phase2", str(p1), str(tmp)], folder)
    tmp.rename(final)
    return final


@dataclass(frozen=True)
class Circuit:
    """A compiled circuit with its dev Groth16 keys."""

    folder: Path
    name: str
    constraints: int

    @property
    def wasm(self) -> Path:
        return self.folder / f"{self.name}_js" / f"{self.name}.wasm"

    @property
    def zkey(self) -> Path:
        return self.folder / f"{self.name}.zkey"

    @property
    def vk_json(self) -> Path:
        return self.folder / "verification_key.json"

    def verification_key(self) -> dict[str, Any]:
        return json.loads(self.vk_json.read_text())


def circuit_hash(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()


def compile_circuit(
    source: str, name: str = "circuit", entropy: str = DEV_ENTROPY, power: int = PTAU_POWER
) -> Circuit:
    """Compile ``source`` (circom 2) and make dev keys over a 2^power ptau; cached by the
    source's hash, the entropy and (when not the default) the power."""
    tag = "" if power == PTAU_POWER else f"\0ptau{power}"
    key = circuit_hash(source + "\0" + entropy + tag)[:16]
    folder = cache_dir() / "zk-circuits" / key
    done = folder / ".complete"
    if done.exists():
        return Circuit(folder=folder, name=name, constraints=int(done.read_text()))
    tmp = folder.with_suffix(".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    (tmp / f"{name}.circom").write_text(source)
    # circom2 runs under WASI and sees only its working folder: circomlib is copied in, and
    # sources include "circomlib/<file>.circom".
    lib = cache_dir() / TOOLS_KEY / "node_modules" / "circomlib" / "circuits"
    if lib.exists():
        shutil.copytree(lib, tmp / "circomlib")
    _run([str(circom_path()), f"{name}.circom", "--r1cs", "--wasm", "-o", "."], tmp)
    sj = str(snarkjs_path())
    info = _run([sj, "r1cs", "info", f"{name}.r1cs"], tmp)
    constraints = int(info.split("# of Constraints:")[1].split()[0])
    _run([sj, "groth16", "setup", f"{name}.r1cs", str(ptau_path(power)), "k0.zkey"], tmp)
    _run([sj, "zkey", "contribute", "k0.zkey", f"{name}.zkey", "--name=dev", f"-e={entropy}"], tmp)
    _run([sj, "zkey", "export", "verificationkey", f"{name}.zkey", "verification_key.json"], tmp)
    (tmp / ".complete").write_text(str(constraints))
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return Circuit(folder=folder, name=name, constraints=constraints)


@dataclass(frozen=True)
class ProofResult:
    proof: dict[str, Any]  # snarkjs proof.json
    public: list[str]  # snarkjs public.json (decimal strings)
    seconds: float  # wall time of the whole call (cold: `snarkjs groth16 fullprove`)
    witness_seconds: float = 0.0  # warm prover only: witness generation (wasm), in node
    prove_seconds: float = 0.0  # warm prover only: the Groth16 prover, in node


class SnarkjsProver:
    """The prover interface: ``prove(circuit, inputs)``; this one runs snarkjs fullprove."""

    def prove(self, circuit: Circuit, inputs: dict[str, Any], workdir: Path) -> ProofResult:
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "input.json").write_text(json.dumps(inputs))
        start = time.perf_counter()
        _run(
            [
                str(snarkjs_path()),
                "groth16",
                "fullprove",
                "input.json",
                str(circuit.wasm),
                str(circuit.zkey),
                "proof.json",
                "public.json",
            ],
            workdir,
        )
        seconds = time.perf_counter() - start
        proof = json.loads((workdir / "proof.json").read_text())
        public = json.loads((workdir / "public.json").read_text())
        return ProofResult(proof=proof, public=public, seconds=seconds)


PROVER_SCRIPT = Path(__file__).with_name("prover.cjs")  # GPL-3.0, a separate program
WARM_START_TIMEOUT_S = 60  # loading snarkjs, the wasm and the zkey
WARM_PROOF_TIMEOUT_S = 120  # one proof


class WarmSnarkjsProver:
    """The prover interface over a long-lived node process (prover.cjs) per circuit: snarkjs,
    the witness generator and the proving key are loaded once, so a proof costs the witness and
    the Groth16 prover only (bench/bench_zk.py: ~0.25 s against ~0.8 s for a cold fullprove).
    Thread-safe (one request at a time per circuit); `close()` ends the processes."""

    def __init__(self) -> None:
        self._processes: dict[Path, subprocess.Popen[str]] = {}
        self._lock = threading.Lock()
        self._next_id = 0

    def _process(self, circuit: Circuit) -> subprocess.Popen[str]:
        process = self._processes.get(circuit.folder)
        if process is not None and process.poll() is None:
            return process
        main = cache_dir() / TOOLS_KEY / "node_modules" / "snarkjs" / "build" / "main.cjs"
        args = ["node", str(PROVER_SCRIPT), str(main), str(circuit.wasm), str(circuit.zkey)]
        process = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, bufsize=1,
        )  # fmt: skip
        if json.loads(self._read_line(process, WARM_START_TIMEOUT_S)).get("ready") is not True:
            raise RuntimeError("prover.cjs did not start")
        self._processes[circuit.folder] = process
        return process

    @staticmethod
    def _read_line(process: subprocess.Popen[str], timeout: float) -> str:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        line = process.stdout.readline() if ready else ""
        if not line:
            process.kill()
            raise RuntimeError("prover.cjs exited or timed out")
        return line

    def prove(self, circuit: Circuit, inputs: dict[str, Any], workdir: Path) -> ProofResult:
        with self._lock:
            process = self._process(circuit)
            self._next_id += 1
            start = time.perf_counter()
            assert process.stdin is not None
            process.stdin.write(json.dumps({"id": self._next_id, "input": inputs}) + "\n")
            process.stdin.flush()
            reply = json.loads(self._read_line(process, WARM_PROOF_TIMEOUT_S))
            seconds = time.perf_counter() - start
        if reply.get("id") != self._next_id or "error" in reply:
            raise RuntimeError(f"prover.cjs: {reply.get('error', 'out of step')}")
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "proof.json").write_text(json.dumps(reply["proof"]))
        (workdir / "public.json").write_text(json.dumps(reply["public"]))
        return ProofResult(
            proof=reply["proof"],
            public=reply["public"],
            seconds=seconds,
            witness_seconds=float(reply["witness_ms"]) / 1000,
            prove_seconds=float(reply["prove_ms"]) / 1000,
        )

    def start(self, circuit: Circuit) -> float:
        """Start (or find) the circuit's process; returns the seconds it took (0 when warm)."""
        begin = time.perf_counter()
        with self._lock:
            self._process(circuit)
        return time.perf_counter() - begin

    def close(self) -> None:
        with self._lock:
            for process in self._processes.values():
                if process.stdin is not None:
                    process.stdin.close()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
            self._processes.clear()


class CeremonyError(RuntimeError):
    """A zkey that `snarkjs zkey verify` does not accept for the circuit and phase-1 file."""


@dataclass(frozen=True)
class Ceremony:
    """A phase-2 (circuit-specific) ceremony that `snarkjs zkey verify` accepted."""

    contributions: tuple[str, ...]  # contributor names, in the order they contributed
    vk: dict[str, Any]  # the verification_key.json exported from the verified zkey


ANSI = re.compile(r"\x1b\[[0-9;]*m")
CONTRIBUTION = re.compile(r"contribution #([0-9]{1,6}) ([\x20-\x7e]*):")


def verify_ceremony(r1cs: Path, ptau: Path, zkey: Path, workdir: Path) -> Ceremony:
    """Run ``snarkjs zkey verify <r1cs> <ptau> <zkey>``: the zkey must derive from this circuit
    and this phase-1 file by a valid chain of contributions. The chain cannot re-check any of
    this; whoever registers a key as non-dev checks it here. Raises CeremonyError otherwise."""
    workdir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [str(snarkjs_path()), "zkey", "verify", str(r1cs), str(ptau), str(zkey)],
        cwd=workdir, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    out = ANSI.sub("", done.stdout + done.stderr)
    # snarkjs 0.7.6 exits 0 after some failures ("H section does not match"): read its verdict.
    if done.returncode != 0 or "ZKey Ok!" not in out or "[ERROR]" in out:
        errors = [line for line in out.splitlines() if "ERROR" in line or "rror:" in line]
        raise CeremonyError("; ".join(errors)[-500:] or "snarkjs zkey verify failed")
    numbered = sorted((int(n), name) for n, name in CONTRIBUTION.findall(out))
    _run([str(snarkjs_path()), "zkey", "export", "verificationkey", str(zkey), "vk.json"], workdir)
    vk = json.loads((workdir / "vk.json").read_text())
    return Ceremony(contributions=tuple(name for _, name in numbered), vk=vk)


def contribute(zkey_in: Path, zkey_out: Path, name: str, entropy: str) -> None:
    """One phase-2 contribution (``snarkjs zkey contribute``); tests build ceremonies with it."""
    _run([str(snarkjs_path()), "zkey", "contribute", str(zkey_in), str(zkey_out),
          f"--name={name}", f"-e={entropy}"], zkey_out.parent)  # fmt: skip


def public_signals(circuit: Circuit, inputs: dict[str, Any], workdir: Path) -> list[str]:
    """The circuit's public signals for ``inputs`` (outputs first), from its witness alone: how
    a job's submitter computes the input commitment it declares (no proof, ~0.3 s)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "input.json").write_text(json.dumps(inputs))
    sj = str(snarkjs_path())
    _run([sj, "wtns", "calculate", str(circuit.wasm), "input.json", "w.wtns"], workdir)
    _run([sj, "wtns", "export", "json", "w.wtns", "w.json"], workdir)
    witness = json.loads((workdir / "w.json").read_text())  # [1, public..., private...]
    count = int(circuit.verification_key()["nPublic"])
    return [str(v) for v in witness[1 : 1 + count]]


def snarkjs_verify(
    vk: dict[str, Any], proof: dict[str, Any], public: list[Any], workdir: Path
) -> bool:
    """snarkjs' own verdict (`snarkjs groth16 verify`), for differential tests."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name, data in (("vk.json", vk), ("proof.json", proof), ("public.json", public)):
        (workdir / name).write_text(json.dumps(data))
    done = subprocess.run(
        [str(snarkjs_path()), "groth16", "verify", "vk.json", "public.json", "proof.json"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode == 0 and "OK!" in done.stdout
