"""snet-sdk-python (5.0.0 or 6.0.0) calls against an interop world (tests/interop/interop-world.ts).

    python sdk_calls.py <world.json> <strategy: default|paid|prepaid|free> <calls> <client index>

Prints one line `RESULT <json>`: a list with, per call, {"ok", "text", "payer", "type"} (what the echo
service saw) or {"ok": false, "error", "trace"}; the first failure ends the list.
"""
import importlib.metadata
import json
import sys
import traceback

from snet import sdk
from snet.sdk import PaymentStrategyType

STRATEGIES = {
    "default": PaymentStrategyType.DEFAULT,
    "paid": PaymentStrategyType.PAID_CALL,
    "prepaid": PaymentStrategyType.PREPAID_CALL,
    "free": PaymentStrategyType.FREE_CALL,
}


def main():
    world_file, strategy, calls, client_index = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    with open(world_file) as f:
        info = json.load(f)
    client = info["clients"][client_index]
    settings = dict(
        private_key=client["privateKey"],
        eth_rpc_endpoint=info["rpcUrl"],
        ipfs_endpoint=info["ipfsMultiaddr"],
        # With concurrency off, the default strategy falls back to escrow instead of prepaid.
        concurrency=strategy != "paid",
        force_update=True,
        mpe_contract_address=info["mpe"],
        token_contract_address=info["token"],
        registry_contract_address=info["registry"],
    )
    strategy_type = STRATEGIES[strategy]
    if importlib.metadata.version("snet-sdk").startswith("5."):
        service_client = sdk.SnetSDK(sdk.config.Config(**settings)).create_service_client(
            info["orgId"], info["serviceId"], info["groupName"], payment_strategy_type=strategy_type
        )
    else:
        # 6.0.0 reads one global configuration (also from SNET_* variables) and takes no Config object.
        from snet.sdk.config import configure
        configure(**settings)
        service_client = sdk.SnetSDK().create_service_client(
            info["orgId"], info["serviceId"], info["groupName"], payment_strategy_type=strategy_type
        )
    results = []
    for i in range(calls):
        try:
            reply = service_client.call_rpc("Echo", "EchoRequest", text=f"sdk {strategy} {i}")
            results.append({
                "ok": True,
                "text": reply.text,
                "payer": reply.metadata.get("snet-user-address"),
                "type": reply.metadata.get("snet-payment-type"),
            })
        except Exception as e:  # report, do not crash: the test shows the error next to the daemon log
            results.append({"ok": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-3000:]})
            break
    print("RESULT " + json.dumps(results), flush=True)


if __name__ == "__main__":
    main()
