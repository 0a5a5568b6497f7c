// ONNX protobuf messages through onnx-proto (protobufjs code generated from the official onnx.proto).
import onnxProto from 'onnx-proto';

export const { onnx } = onnxProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;
export type ModelProto = onnxProto.onnx.IModelProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;

const A = onnx.AttributeProto.AttributeType;
export const DT = onnx.TensorProto.DataType;

export const attrInt = (name: string, i: number): AttributeProto => ({ name, type: A.INT, i });
export const attrFloat = (name: string, f: number): AttributeProto => ({ name, type: A.FLOAT, f });
export const attrInts = (name: string, ints: number[]): AttributeProto => ({ name, type: A.INTS, ints });
export const attrString = (name: string, s: string): AttributeProto => ({ name, type: A.STRING, s: new TextEncoder().encode(s) });
export const attrTensor = (name: string, t: TensorProto): AttributeProto => ({ name, type: A.TENSOR, t });

const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));

/** float32 tensor (raw little-endian data). */
export function floatTensor(name: string, dims: readonly number[], data: Float32Array): TensorProto {
  return { name, dims: [...dims], dataType: DT.FLOAT, rawData: bytes(data) };
}

/** int64 tensor (raw little-endian data). */
export function int64Tensor(name: string, dims: readonly number[], data: ArrayLike<number>): TensorProto {
  return { name, dims: [...dims], dataType: DT.INT64, rawData: bytes(BigInt64Array.from(Array.from(data), (v) => BigInt(v))) };
}

/** A tensor value (float unless `elemType` says otherwise) with named (dynamic) or fixed dims. */
export function valueInfo(name: string, dims: (number | string)[], elemType: number = DT.FLOAT): ValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

export function encodeModel(m: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(m).finish();
}

export function decodeModel(b: Uint8Array): onnxProto.onnx.ModelProto {
  return onnx.ModelProto.decode(b);
}
