// SPDX-License-Identifier: GPL-3.0-or-later
//
// A warm Groth16 prover: a separate program (GPL-3.0, like the snarkjs library it loads) that
// Infera runs as a subprocess and talks to over pipes; no Apache-2.0 Infera code imports it or
// snarkjs. It loads snarkjs, the circuit's witness generator (wasm) and its proving key (zkey)
// ONCE, then answers one proof per request, so a proof costs the witness and the prover's work
// only (no node start-up, module load, curve set-up or key parsing from disk).
//
//   node prover.cjs <snarkjs main.cjs> <circuit.wasm> <circuit.zkey>
//   stdin:  one JSON object per line: {"id": N, "input": {...}}    (snarkjs input.json)
//   stdout: one JSON object per line: {"id": N, "proof": {...}, "public": [...],
//            "witness_ms": W, "prove_ms": P}  or  {"id": N, "error": "..."}
//   The first line written is {"ready": true} once everything is loaded.
"use strict";

const fs = require("fs");
const readline = require("readline");

async function main() {
    const [snarkjsMain, wasmPath, zkeyPath] = process.argv.slice(2);
    const snarkjs = require(snarkjsMain);
    const wasm = { type: "mem", data: new Uint8Array(fs.readFileSync(wasmPath)) };
    const zkey = { type: "mem", data: new Uint8Array(fs.readFileSync(zkeyPath)) };
    // Build the BN254 curve (wasm and its worker threads) before the first request; ffjavascript
    // caches it in globalThis, where snarkjs finds it.
    const ffjavascript = require(require.resolve("ffjavascript", { paths: [snarkjsMain] }));
    await ffjavascript.buildBn128();
    process.stdout.write(JSON.stringify({ ready: true }) + "\n");
    const lines = readline.createInterface({ input: process.stdin });
    for await (const line of lines) {
        let id = null;
        try {
            const request = JSON.parse(line);
            id = request.id;
            const t0 = process.hrtime.bigint();
            const wtns = { type: "mem" };
            await snarkjs.wtns.calculate(request.input, wasm, wtns);
            const t1 = process.hrtime.bigint();
            const { proof, publicSignals } = await snarkjs.groth16.prove(zkey, wtns);
            const t2 = process.hrtime.bigint();
            process.stdout.write(JSON.stringify({
                id, proof, public: publicSignals,
                witness_ms: Number(t1 - t0) / 1e6, prove_ms: Number(t2 - t1) / 1e6,
            }) + "\n");
        } catch (err) {
            process.stdout.write(JSON.stringify({ id, error: String(err && err.message || err) }) + "\n");
        }
    }
    process.exit(0);
}

main().catch((err) => { process.stderr.write(String(err) + "\n"); process.exit(1); });
