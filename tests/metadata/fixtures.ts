// Metadata documents shaped like snet-cli 3.0 output (protocol/metadata.md), for tests.
import vectors from "../vectors/signatures.json" with { type: "json" };

/** base64 of keccak256("snetd test group 1"), the group of the signature vectors. */
export const GROUP_ID_BASE64 = vectors.constants.group_id_base64;
export const PAYMENT_ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
export const MPE_ADDRESS = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
export const FREE_CALL_SIGNER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";

export function orgMetadata(overrides: Record<string, unknown> = {}) {
  return {
    org_name: "Test Org",
    org_id: "snet-test-org",
    org_type: "individual",
    description: { description: "", short_description: "", url: "" },
    assets: {},
    contacts: [],
    groups: [
      {
        group_name: "default_group",
        group_id: GROUP_ID_BASE64,
        payment: {
          payment_address: PAYMENT_ADDRESS,
          payment_expiration_threshold: 100,
          payment_channel_storage_type: "etcd",
          payment_channel_storage_client: {
            connection_timeout: "5s",
            request_timeout: "3s",
            endpoints: ["http://127.0.0.1:2379"],
          },
        },
      },
    ],
    ...overrides,
  };
}

export function serviceMetadata(overrides: Record<string, unknown> = {}) {
  return {
    version: 1,
    display_name: "Example",
    encoding: "proto",
    service_type: "grpc",
    mpe_address: MPE_ADDRESS,
    service_api_source: "ipfs://QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o",
    groups: [
      {
        group_name: "default_group",
        group_id: GROUP_ID_BASE64,
        pricing: [{ price_model: "fixed_price", price_in_cogs: 100, default: true }],
        endpoints: ["http://127.0.0.1:7000"],
        daemon_addresses: [],
        free_calls: 0,
        free_call_signer_address: "",
      },
    ],
    ...overrides,
  };
}
