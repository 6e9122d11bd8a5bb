/**
 * Training as the service's protos describe it (protocol/upstreams.md#training-activation, §9.2): a method is
 * trainable when its input has a field of type `training.ModelID`; its options 50001–50008 are what
 * `training.Daemon/get_method_metadata` returns.
 */
import { type DescMethod, getExtension } from "@bufbuild/protobuf";
import type { MethodOptions } from "@bufbuild/protobuf/wkt";
import {
  dataset_description,
  dataset_files_type,
  dataset_max_count_files,
  dataset_max_size_mb,
  dataset_max_size_single_file_mb,
  dataset_type,
  default_model_id,
  ModelIDSchema,
  max_models_per_user,
} from "../../gen/training_pb.ts";
import type { CompiledProtos } from "./compile.ts";

export interface TrainableMethod {
  /** Service name without package, as the reference keys `trainingMethods`. */
  readonly serviceName: string;
  /** `<package>.<Service>`. */
  readonly service: string;
  readonly method: string;
  readonly desc: DescMethod;
}

/** Methods whose input has a `training.ModelID` field, in file order (trainingInProto = any found). */
export function trainableMethods(protos: CompiledProtos): TrainableMethod[] {
  const out: TrainableMethod[] = [];
  for (const file of protos.files) {
    for (const service of file.services) {
      for (const method of service.methods) {
        const usesModelId = method.input.fields.some((f) => f.message?.typeName === ModelIDSchema.typeName);
        if (usesModelId)
          out.push({ serviceName: service.name, service: service.typeName, method: method.name, desc: method });
      }
    }
  }
  return out;
}

/** The values of options 50001–50008 (training.MethodMetadata fields); unset options read as zero. */
export interface TrainingOptions {
  readonly defaultModelId: string;
  readonly maxModelsPerUser: bigint;
  readonly datasetMaxSizeMb: bigint;
  readonly datasetMaxCountFiles: bigint;
  readonly datasetMaxSizeSingleFileMb: bigint;
  readonly datasetFilesType: string;
  readonly datasetType: string;
  readonly datasetDescription: string;
}

export function trainingOptions(method: DescMethod): TrainingOptions {
  const o: MethodOptions | undefined = method.proto.options;
  const read = <T>(ext: Parameters<typeof getExtension>[1], zero: T): T => (o ? (getExtension(o, ext) as T) : zero);
  return {
    defaultModelId: read(default_model_id, ""),
    maxModelsPerUser: read(max_models_per_user, 0n),
    datasetMaxSizeMb: read(dataset_max_size_mb, 0n),
    datasetMaxCountFiles: read(dataset_max_count_files, 0n),
    datasetMaxSizeSingleFileMb: read(dataset_max_size_single_file_mb, 0n),
    datasetFilesType: read(dataset_files_type, ""),
    datasetType: read(dataset_type, ""),
    datasetDescription: read(dataset_description, ""),
  };
}
