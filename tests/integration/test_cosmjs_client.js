// The stock cosmjs client (npm @cosmjs/stargate + @cosmjs/proto-signing), driven by
// tests/integration/test_cosmjs.py against a real node's CometBFT RPC.
//
// Input: one JSON object on stdin {rpc, denom, gasPrice, mnemonics: [sender, submitter],
// recipient, amount, job: {modelId, prompt, maxNewTokens, redundancy, maxFee, deadlineBlocks}}.
// Output: one JSON object on stdout with what each step saw. Every fee is "auto": cosmjs
// simulates through abci_query (/cosmos.tx.v1beta1.Service/Simulate) and scales the gas.
//
// MsgSubmitJob is encoded by hand with cosmjs' BinaryWriter, field numbers from
// proto/infera/inference/v1/tx.proto (and Decoding, Coin from their .proto files).
"use strict";

const { DirectSecp256k1HdWallet, Registry } = require("@cosmjs/proto-signing");
const { SigningStargateClient, GasPrice, defaultRegistryTypes } = require("@cosmjs/stargate");
const { BinaryReader, BinaryWriter } = require("cosmjs-types/binary");

const SUBMIT_JOB_URL = "/infera.inference.v1.MsgSubmitJob";
const DECODING_MODE_GREEDY = 1;

const MsgSubmitJob = {
  encode(m, writer = BinaryWriter.create()) {
    writer.uint32(10).string(m.submitter); // 1: submitter
    writer.uint32(18).string(m.modelId); // 2: model_id
    writer.uint32(26).bytes(m.prompt); // 3: prompt
    writer.uint32(34).fork().uint32(8).int32(m.decodingMode).ldelim(); // 4: decoding.mode
    writer.uint32(40).uint32(m.maxNewTokens); // 5: max_new_tokens
    writer.uint32(48).uint32(m.redundancy); // 6: redundancy
    writer.uint32(58).fork().uint32(10).string(m.maxFee.denom); // 7: max_fee.denom
    writer.uint32(18).string(m.maxFee.amount).ldelim(); // 7: max_fee.amount
    if (m.deadlineBlocks) writer.uint32(64).uint32(m.deadlineBlocks); // 8: deadline_blocks
    return writer;
  },
  decode() {
    throw new Error("not needed: the test only signs MsgSubmitJob");
  },
  fromPartial(m) {
    return m;
  },
};

function jobIdOf(msgResponse) {
  // MsgSubmitJobResponse { uint64 job_id = 1; }
  const reader = new BinaryReader(msgResponse.value);
  let jobId = "0";
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === 1) jobId = reader.uint64().toString();
    else reader.skipType(tag & 7);
  }
  return jobId;
}

async function wallet(mnemonic) {
  const w = await DirectSecp256k1HdWallet.fromMnemonic(mnemonic, { prefix: "infera" });
  const [account] = await w.getAccounts();
  return { w, address: account.address };
}

async function main() {
  const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const registry = new Registry([...defaultRegistryTypes, [SUBMIT_JOB_URL, MsgSubmitJob]]);
  const options = { registry, gasPrice: GasPrice.fromString(input.gasPrice + input.denom) };
  const out = {};

  const sender = await wallet(input.mnemonics[0]);
  const client = await SigningStargateClient.connectWithSigner(input.rpc, sender.w, options);
  out.chainId = await client.getChainId();
  out.recipientBefore = (await client.getBalance(input.recipient, input.denom)).amount;
  const amount = [{ denom: input.denom, amount: String(input.amount) }];
  const sent = await client.sendTokens(sender.address, input.recipient, amount, "auto");
  out.send = {
    code: sent.code,
    hash: sent.transactionHash,
    height: sent.height,
    gasUsed: Number(sent.gasUsed),
    gasWanted: Number(sent.gasWanted),
  };
  out.recipientAfter = (await client.getBalance(input.recipient, input.denom)).amount;
  const found = await client.getTx(sent.transactionHash);
  out.getTx = found && { code: found.code, height: found.height, hash: found.hash };

  const submitter = await wallet(input.mnemonics[1]);
  const jobClient = await SigningStargateClient.connectWithSigner(input.rpc, submitter.w, options);
  const j = input.job;
  const msg = {
    typeUrl: SUBMIT_JOB_URL,
    value: {
      submitter: submitter.address,
      modelId: j.modelId,
      prompt: new TextEncoder().encode(j.prompt),
      decodingMode: DECODING_MODE_GREEDY,
      maxNewTokens: j.maxNewTokens,
      redundancy: j.redundancy,
      maxFee: { denom: input.denom, amount: String(j.maxFee) },
      deadlineBlocks: j.deadlineBlocks,
    },
  };
  const submitted = await jobClient.signAndBroadcast(submitter.address, [msg], "auto");
  out.submitJob = {
    code: submitted.code,
    hash: submitted.transactionHash,
    rawLog: submitted.rawLog || "",
    jobId: submitted.msgResponses.length ? jobIdOf(submitted.msgResponses[0]) : null,
    msgResponseType: submitted.msgResponses.length ? submitted.msgResponses[0].typeUrl : null,
  };
  client.disconnect();
  jobClient.disconnect();
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  process.stdout.write(JSON.stringify({ error: String(err && err.stack ? err.stack : err) }));
  process.exit(1);
});
