/**
 * protobufjs reflection → google.protobuf.FileDescriptorProto (as @bufbuild/protobuf messages), so the
 * descriptors, JSON mapping and binary codec all come from @bufbuild/protobuf. The descriptors carry what
 * protoc would emit for messages, fields, enums, services and extensions; method options are added later
 * (method-options.ts). Source info, reserved ranges and non-method custom options are left out: nothing
 * at run time reads them.
 */
import { create } from "@bufbuild/protobuf";
import { protoCamelCase } from "@bufbuild/protobuf/reflect";
import {
  type DescriptorProto,
  DescriptorProto_ExtensionRangeSchema,
  DescriptorProtoSchema,
  type EnumDescriptorProto,
  EnumDescriptorProtoSchema,
  EnumOptionsSchema,
  EnumValueDescriptorProtoSchema,
  type FieldDescriptorProto,
  FieldDescriptorProtoSchema,
  FieldOptionsSchema,
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  FieldDescriptorProto_Label as Label,
  MessageOptionsSchema,
  MethodDescriptorProtoSchema,
  OneofDescriptorProtoSchema,
  type ServiceDescriptorProto,
  ServiceDescriptorProtoSchema,
  FieldDescriptorProto_Type as Type,
} from "@bufbuild/protobuf/wkt";
import protobuf from "protobufjs";
import { protoError } from "./errors.ts";
import type { ParsedFile } from "./parse.ts";

export interface DescriptorContext {
  /** The file that declares a message or enum, undefined when unknown. */
  fileOf(obj: protobuf.ReflectionObject): string | undefined;
  /** Files whose types `file` may use: itself and everything it imports, transitively. */
  visible(file: string): ReadonlySet<string>;
}

const SCALARS: Readonly<Record<string, Type>> = {
  double: Type.DOUBLE,
  float: Type.FLOAT,
  int64: Type.INT64,
  uint64: Type.UINT64,
  int32: Type.INT32,
  fixed64: Type.FIXED64,
  fixed32: Type.FIXED32,
  bool: Type.BOOL,
  string: Type.STRING,
  bytes: Type.BYTES,
  uint32: Type.UINT32,
  sfixed32: Type.SFIXED32,
  sfixed64: Type.SFIXED64,
  sint32: Type.SINT32,
  sint64: Type.SINT64,
};

/** The descriptor of one parsed file. */
export function fileDescriptor(file: ParsedFile, ctx: DescriptorContext): FileDescriptorProto {
  const out = create(FileDescriptorProtoSchema, {
    name: file.name,
    package: file.package,
    dependency: [...file.imports],
    // protoc leaves `syntax` empty for proto2.
    syntax: file.syntax === "proto3" ? "proto3" : "",
  });
  const conv = converter(file, ctx);
  for (const decl of file.declarations) {
    if (decl instanceof protobuf.Type) out.messageType.push(conv.message(decl));
    else if (decl instanceof protobuf.Enum) out.enumType.push(conv.enumType(decl));
    else if (decl instanceof protobuf.Service) out.service.push(conv.service(decl));
    else if (decl instanceof protobuf.Field) out.extension.push(conv.field(decl, []));
  }
  return out;
}

function converter(file: ParsedFile, ctx: DescriptorContext) {
  const visible = ctx.visible(file.name);
  const fail = (detail: string) => protoError(`file "${file.name}": ${detail}`);

  /** Fully-qualified reference to a message or enum, checked to come from an imported file. */
  const ref = (target: protobuf.ReflectionObject, user: string): string => {
    const from = ctx.fileOf(target);
    if (from === undefined || !visible.has(from)) {
      throw fail(
        `${user} uses "${target.fullName.slice(1)}" from "${from ?? "an unknown file"}", which "${file.name}" does not import`,
      );
    }
    return target.fullName;
  };

  const message = (t: protobuf.Type): DescriptorProto => {
    if ((t as { group?: boolean }).group)
      throw fail(`group "${t.fullName.slice(1)}" is not supported; use a message field`);
    const oneofs = [...t.oneofsArray.filter((o) => !isSynthetic(o)), ...t.oneofsArray.filter(isSynthetic)];
    const out = create(DescriptorProtoSchema, {
      name: t.name,
      oneofDecl: oneofs.map((o) => create(OneofDescriptorProtoSchema, { name: o.name })),
      extensionRange: (t.extensions ?? []).map(([start, end]) =>
        create(DescriptorProto_ExtensionRangeSchema, { start: start as number, end: (end as number) + 1 }),
      ),
    });
    for (const f of t.fieldsArray) {
      if (f instanceof protobuf.MapField) {
        const entry = mapEntry(f);
        out.nestedType.push(entry);
        out.field.push(
          create(FieldDescriptorProtoSchema, {
            name: f.name,
            number: f.id,
            label: Label.REPEATED,
            type: Type.MESSAGE,
            typeName: `${t.fullName}.${entry.name}`,
            jsonName: jsonNameOf(f),
          }),
        );
      } else {
        out.field.push(field(f, oneofs));
      }
    }
    for (const nested of t.nestedArray) {
      if (nested instanceof protobuf.Type) out.nestedType.push(message(nested));
      else if (nested instanceof protobuf.Enum) out.enumType.push(enumType(nested));
      else if (nested instanceof protobuf.Field) out.extension.push(field(nested, []));
    }
    return out;
  };

  const mapEntry = (f: protobuf.MapField): DescriptorProto => {
    const key = SCALARS[f.keyType];
    if (key === undefined)
      throw fail(`map field "${f.fullName.slice(1)}" has key type "${f.keyType}", which is not a scalar`);
    const value = create(FieldDescriptorProtoSchema, {
      name: "value",
      number: 2,
      label: Label.OPTIONAL,
      jsonName: "value",
    });
    typeOf(f, value);
    return create(DescriptorProtoSchema, {
      name: mapEntryName(f.name),
      field: [
        create(FieldDescriptorProtoSchema, {
          name: "key",
          number: 1,
          label: Label.OPTIONAL,
          type: key,
          jsonName: "key",
        }),
        value,
      ],
      options: create(MessageOptionsSchema, { mapEntry: true }),
    });
  };

  /** Sets type and typeName of `out` from the (value) type of `f`. */
  const typeOf = (f: protobuf.FieldBase, out: FieldDescriptorProto) => {
    const scalar = SCALARS[f.type];
    if (scalar !== undefined) {
      out.type = scalar;
      return;
    }
    const target = f.resolvedType;
    if (target instanceof protobuf.Enum) out.type = Type.ENUM;
    else if (target instanceof protobuf.Type) out.type = Type.MESSAGE;
    else
      throw fail(
        `field "${f.fullName.slice(1)}" has type "${f.type}", which is neither a scalar, a message nor an enum`,
      );
    out.typeName = ref(target, `field "${f.fullName.slice(1)}"`);
  };

  const field = (f: protobuf.Field, oneofs: readonly protobuf.OneOf[]): FieldDescriptorProto => {
    const options = f.options ?? {};
    const out = create(FieldDescriptorProtoSchema, {
      name: f.name,
      number: f.id,
      label: f.repeated ? Label.REPEATED : f.required ? Label.REQUIRED : Label.OPTIONAL,
      jsonName: jsonNameOf(f),
    });
    typeOf(f, out);
    if (f.extend !== undefined) {
      const extendee = f.extensionField?.parent;
      if (!extendee) throw fail(`extension "${f.fullName.slice(1)}" extends "${f.extend}", which was not found`);
      out.extendee = ref(extendee, `extension "${f.fullName.slice(1)}"`);
    }
    if (f.partOf) out.oneofIndex = oneofs.indexOf(f.partOf);
    if (options.proto3_optional === true) out.proto3Optional = true;
    if (file.syntax === "proto2" && options.default !== undefined) out.defaultValue = String(options.default);
    if (typeof options.packed === "boolean" || options.deprecated === true) {
      out.options = create(FieldOptionsSchema, {
        ...(typeof options.packed === "boolean" ? { packed: options.packed } : {}),
        ...(options.deprecated === true ? { deprecated: true } : {}),
      });
    }
    return out;
  };

  const enumType = (e: protobuf.Enum): EnumDescriptorProto =>
    create(EnumDescriptorProtoSchema, {
      name: e.name,
      value: Object.entries(e.values).map(([name, number]) => create(EnumValueDescriptorProtoSchema, { name, number })),
      ...(e.options?.allow_alias === true ? { options: create(EnumOptionsSchema, { allowAlias: true }) } : {}),
    });

  const service = (s: protobuf.Service): ServiceDescriptorProto =>
    create(ServiceDescriptorProtoSchema, {
      name: s.name,
      method: s.methodsArray.map((m) => {
        const where = `method "${m.fullName.slice(1)}"`;
        if (!m.resolvedRequestType || !m.resolvedResponseType)
          throw fail(`${where} has an unresolved request or response type`);
        return create(MethodDescriptorProtoSchema, {
          name: m.name,
          inputType: ref(m.resolvedRequestType, where),
          outputType: ref(m.resolvedResponseType, where),
          clientStreaming: m.requestStream === true,
          serverStreaming: m.responseStream === true,
        });
      }),
    });

  return { message, enumType, service, field };
}

/** A proto3 `optional` field lives alone in a oneof protobufjs names `_<field>`. */
function isSynthetic(o: protobuf.OneOf): boolean {
  const only = o.fieldsArray.length === 1 ? o.fieldsArray[0] : undefined;
  return only?.options?.proto3_optional === true;
}

function jsonNameOf(f: protobuf.FieldBase): string {
  const explicit = f.options?.json_name;
  return typeof explicit === "string" ? explicit : protoCamelCase(f.name);
}

/** protoc's name for the entry message of a map field: `my_map` → `MyMapEntry`. */
function mapEntryName(fieldName: string): string {
  return `${fieldName.replace(/(?:^|_)([a-z]?)/g, (_, c: string) => c.toUpperCase())}Entry`;
}
