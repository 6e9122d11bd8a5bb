"""snet-sdk-python 6.0.0's training client against snetd (tests/training/sdk-python.test.ts).

    python sdk_training.py <world.json> <client index> <work dir>

Drives every training.Daemon RPC the SDK has, as a user of the SDK would, and prints one line
`RESULT <json>`: what each step returned, or {"error", "trace"} at the first failure.
"""
import json
import os
import sys
import traceback
import zipfile

from snet import sdk
from snet.sdk import PaymentStrategyType
from snet.sdk.config import configure
from snet.sdk.exceptions import NoSuchModelError


def model_view(m):
    return {
        "model_id": m.model_id,
        "status": m.status.name,
        "name": m.name,
        "description": m.description,
        "grpc_method_name": m.grpc_method_name,
        "grpc_service_name": m.grpc_service_name,
        "address_list": list(m.address_list),
        "is_public": m.is_public,
        "created_by_address": m.created_by_address,
        "created_date": m.created_date,
    }


def main():
    world_file, client_index, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(world_file) as f:
        info = json.load(f)
    client = info["clients"][client_index]
    configure(
        private_key=client["privateKey"],
        eth_rpc_endpoint=info["rpcUrl"],
        ipfs_endpoint=info["ipfsMultiaddr"],
        concurrency=False,
        force_update=True,
        mpe_contract_address=info["mpe"],
        token_contract_address=info["token"],
        registry_contract_address=info["registry"],
    )
    out = {}
    try:
        service_client = sdk.SnetSDK().create_service_client(
            info["orgId"], info["serviceId"], info["groupName"], payment_strategy_type=PaymentStrategyType.PAID_CALL
        )
        t = service_client.training
        md = t.get_training_metadata()
        out["metadata"] = {"enabled": md.training_enabled, "in_proto": md.training_in_proto, "methods": md.training_methods}
        mm = t.get_method_metadata("draw")
        out["method_metadata"] = {"default_model_id": mm.default_model_id, "max_models_per_user": mm.max_models_per_user, "dataset_files_type": mm.dataset_files_type}

        model = t.create_model("draw", "sdk model", "made by the SDK", addresses_with_access=[info["clients"][0]["address"]])
        out["created"] = model_view(model)
        model_id = model.model_id
        out["all_models"] = [model_view(m) for m in t.get_all_models()]
        out["updated"] = model_view(t.update_model(model_id, model_name="sdk model v2", description="renamed"))
        out["got"] = model_view(t.get_model(model_id))

        validate_price = t.validate_model_price(model_id)
        out["validate_price"] = validate_price
        dataset = os.path.join(work, "dataset.zip")
        with zipfile.ZipFile(dataset, "w") as z:
            for i in range(3):
                z.writestr(f"picture{i}.png", os.urandom(700_000))
        out["dataset_bytes"] = os.path.getsize(dataset)
        out["uploaded"] = t.upload_and_validate(model_id, dataset, validate_price).name

        train_price = t.train_model_price(model_id)
        out["train_price"] = train_price
        out["trained"] = t.train_model(model_id, train_price).name

        try:
            t.get_model("no-such-model")
            out["missing"] = "no error"
        except NoSuchModelError as e:
            out["missing"] = f"NoSuchModelError: {e}"

        out["deleted"] = t.delete_model(model_id).name
        try:
            t.get_model(model_id)
            out["after_delete"] = "no error"
        except NoSuchModelError as e:
            out["after_delete"] = f"NoSuchModelError: {e}"
    except Exception as e:  # report, do not crash: the test shows the error next to the daemon log
        out["error"] = f"{type(e).__name__}: {e}"
        out["trace"] = traceback.format_exc()[-3000:]
    print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
