/**
 * What the service's protos say about training (protocol/upstreams.md#training-activation,
 * protocol/upstreams.md#training-rpcs): which methods are trainable (their input has a training.ModelID
 * field) and the options 50001–50008 of every method, keyed by bare service name and method name as the
 * reference and snet-sdk-python 6.0.0 name them.
 */
import type { CompiledProtos } from "../metadata/protos/compile.ts";
import { type TrainingOptions, trainableMethods, trainingOptions } from "../metadata/protos/training.ts";

export interface TrainingCatalog {
  /** True when some method is trainable (`trainingInProto`). */
  readonly inProto: boolean;
  /** Bare service name → trainable method names, in file order. */
  readonly methods: ReadonlyMap<string, readonly string[]>;
  /** Whether `service` (bare or `<package>.<Service>`) has the trainable `method`. */
  isTrainable(service: string, method: string): boolean;
  /** Options of any method of the service's files; undefined for a method they do not define. */
  options(service: string, method: string): TrainingOptions | undefined;
}

const key = (service: string, method: string) => `${service}\u0000${method}`;

/** The catalogue of compiled protos; an empty one when the service has none. */
export function trainingCatalog(protos: CompiledProtos | undefined): TrainingCatalog {
  const options = new Map<string, TrainingOptions>();
  const trainable = new Set<string>();
  const methods = new Map<string, string[]>();
  for (const file of protos?.files ?? []) {
    for (const service of file.services) {
      for (const method of service.methods) {
        const o = trainingOptions(method);
        options.set(key(service.name, method.name), o);
        options.set(key(service.typeName, method.name), o);
      }
    }
  }
  for (const m of protos ? trainableMethods(protos) : []) {
    trainable.add(key(m.serviceName, m.method));
    trainable.add(key(m.service, m.method));
    const list = methods.get(m.serviceName) ?? [];
    list.push(m.method);
    methods.set(m.serviceName, list);
  }
  return {
    inProto: methods.size > 0,
    methods,
    isTrainable: (service, method) => trainable.has(key(service, method)),
    options: (service, method) => options.get(key(service, method)),
  };
}
