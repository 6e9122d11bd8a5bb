/**
 * `npm run demo`: the whole story on one machine, nothing to install beyond `npm ci`.
 * A local chain with the real SingularityNET contracts, an example AI service, snetd in front of it on
 * its embedded store, and a client paying call by call; then the provider claims the money on-chain.
 */
import { bigintToBytes, bytesToBigint } from "../src/core/numbers.ts";
import { ChannelStateReplySchema, ChannelStateRequestSchema } from "../src/gen/state_service_pb.ts";
import { mpeBalance } from "../tests/kit/client.ts";
import { PROVIDER } from "../tests/kit/contracts.ts";
import { runCli, startDaemon } from "../tests/kit/daemon.ts";
import { daemonRpc } from "../tests/kit/daemon-client.ts";
import { call, echoClient } from "../tests/kit/echo-service.ts";
import { startWorld } from "../tests/kit/world.ts";

const step = (text: string) => console.log(`\n\x1b[1m▶ ${text}\x1b[0m`);
const say = (text: string) => console.log(`  ${text}`);

step("Starting a local Ethereum node (anvil) with the real MPE, Registry and token contracts");
const world = await startWorld({ price: 100n });
let daemon: Awaited<ReturnType<typeof startDaemon>> | undefined;
try {
  say(`chain ${world.anvil.rpcUrl}; MPE ${world.deployment.mpe}; Registry ${world.deployment.registry}`);
  say(`example AI service (gRPC) on ${world.echo.address}; metadata published to the test IPFS at ${world.ipfs.url}`);
  say(`organization "snet-test-org", service "example-service", price ${world.price} cogs per call`);

  step("Starting snetd in front of the service, with its embedded store");
  daemon = await startDaemon({ config: world.daemonConfig({ log: { level: "info" } }) });
  say(
    `snetd listens on ${daemon.endpoint}; heartbeat: ${(await (await fetch(`${daemon.url}/heartbeat`)).text()).trim()}`,
  );

  step("A client deposits 1000 cogs into the escrow and opens a payment channel to the provider");
  const channel = await world.openFundedChannel({ value: 1000n });
  say(
    `channel ${channel.id} opened by ${channel.client.address}, value ${channel.value} cogs, expires at block ${channel.expiration}`,
  );

  step("The client calls the service through snetd, paying each call with a signed, growing amount");
  const client = echoClient(daemon.endpoint);
  const state = daemonRpc(
    daemon.endpoint,
    "/escrow.PaymentChannelStateService/GetChannelState",
    ChannelStateRequestSchema,
    ChannelStateReplySchema,
  );
  for (let i = 1; i <= 5; i++) {
    // A stateless client: ask the daemon what was signed last, then sign that + price.
    const head = await world.head();
    const s = await state.call({
      channelId: bigintToBytes(channel.id, 4),
      signature: channel.stateRequest(head).signature,
      currentBlock: head,
    });
    const last = s.reply?.currentSignedAmount?.length ? bytesToBigint(s.reply.currentSignedAmount) : 0n;
    const amount = last + world.price;
    const r = await call(client, "Echo", { text: `hello #${i}` }, channel.pay(amount));
    say(
      `call ${i}: signed ${amount} cogs → ${r.status.code === 0 ? `OK, service answered "${r.response?.text}"` : `refused: ${r.status.details}`}`,
    );
  }
  const replay = await call(client, "Echo", { text: "again" }, channel.pay(500n));
  say(`replaying the last signature → refused (${replay.status.code}): ${replay.status.details}`);
  const unpaid = await call(client, "Echo", { text: "free?" });
  say(`a call without payment → refused (${unpaid.status.code}): ${unpaid.status.details}`);
  client.close();
  state.close();

  step("The provider claims the signed amount on-chain with `snetd claim`");
  const before = await mpeBalance(world.deployment, PROVIDER.address);
  say(`provider's MPE balance before: ${before} cogs`);
  const claim = await runCli(["claim", "-c", `${daemon.dir}/snetd.config.json`, "--all", "-y"], {
    env: { SNET_PRIVATE_KEY: PROVIDER.privateKey },
    cwd: daemon.dir,
  });
  for (const line of `${claim.stdout}`.trim().split("\n")) say(line);
  const after = await mpeBalance(world.deployment, PROVIDER.address);
  say(`provider's MPE balance after:  ${after} cogs (+${after - before})`);
  if (claim.code !== 0 || after - before !== 500n)
    throw new Error(`the claim did not move 500 cogs (exit ${claim.code}):\n${claim.stderr}`);

  step("Done: 5 calls sold, 500 cogs earned and claimed. Stopping everything.");
} catch (err) {
  if (daemon) console.error(`snetd log:\n${daemon.logs()}`);
  console.error(err);
  process.exitCode = 1;
} finally {
  await daemon?.stop();
  await world.stop();
}
