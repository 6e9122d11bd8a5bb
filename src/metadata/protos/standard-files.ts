/**
 * Files a service's protos may import without shipping them (protocol/upstreams.md#proto-files): Google's
 * well-known files, the daemon's training.proto and pricing.proto. Their descriptors come from
 * @bufbuild/protobuf and src/gen, never from the archive, except pricing.proto, which only fills in
 * when the archive has none (providers copy it into their archive, sometimes with their own additions).
 */
import type { DescFile } from "@bufbuild/protobuf";
import {
  file_google_protobuf_any,
  file_google_protobuf_api,
  file_google_protobuf_descriptor,
  file_google_protobuf_duration,
  file_google_protobuf_empty,
  file_google_protobuf_field_mask,
  file_google_protobuf_source_context,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
  file_google_protobuf_type,
  file_google_protobuf_wrappers,
} from "@bufbuild/protobuf/wkt";
import { file_pricing } from "../../gen/pricing_pb.ts";
import { file_training } from "../../gen/training_pb.ts";

/** In dependency order. */
const WELL_KNOWN: readonly DescFile[] = [
  file_google_protobuf_descriptor,
  file_google_protobuf_any,
  file_google_protobuf_duration,
  file_google_protobuf_empty,
  file_google_protobuf_field_mask,
  file_google_protobuf_source_context,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
  file_google_protobuf_wrappers,
  file_google_protobuf_type,
  file_google_protobuf_api,
];

export interface StandardFiles {
  /** Descriptors to compile against, in dependency order. */
  readonly files: readonly DescFile[];
  /** Archive files dropped because a standard file of the same name wins. */
  readonly replaced: readonly string[];
}

/**
 * The standard files for a set of sources. The reference compiles training with its own training.proto
 * "replacing any provider file of that name"; well-known files are replaced so the JSON mapping of
 * Timestamp, Struct, Any… sees the descriptors it expects.
 */
export function standardFiles(sourceNames: Iterable<string>): StandardFiles {
  const names = new Set(sourceNames);
  const files = [...WELL_KNOWN, file_training];
  if (!names.has(file_pricing.proto.name)) files.push(file_pricing);
  const replaced = files.map((f) => f.proto.name).filter((n) => names.has(n));
  return { files, replaced };
}
