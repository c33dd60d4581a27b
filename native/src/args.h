// args.h — argument readers shared by the exported functions; a wrong JS type is a TypeError
// (a programming error), never an errno.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace xvs {

struct Bytes {
  uint8_t* data;
  size_t length;
};

inline Napi::TypeError ArgError(const Napi::CallbackInfo& info, const char* name, const char* expected) {
  return Napi::TypeError::New(info.Env(), std::string(name) + " must be " + expected);
}

inline double NumberArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) throw ArgError(info, name, "a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

inline int32_t IntArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) throw ArgError(info, name, "a number");
  return info[i].As<Napi::Number>().Int32Value();
}

inline uint32_t Uint32Arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) throw ArgError(info, name, "a number");
  return info[i].As<Napi::Number>().Uint32Value();
}

// Flags are optional everywhere; undefined means 0.
inline uint64_t FlagsArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info[i].IsUndefined()) return 0;
  if (!info[i].IsNumber()) throw ArgError(info, name, "a number");
  return static_cast<uint64_t>(info[i].As<Napi::Number>().Int64Value());
}

inline std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsString()) throw ArgError(info, name, "a string");
  return info[i].As<Napi::String>().Utf8Value();
}

inline bool BoolArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsBoolean()) throw ArgError(info, name, "a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

// Any typed array (Buffer is a Uint8Array): its bytes, honouring byteOffset.
inline Bytes BytesOf(Napi::Value value) {
  Napi::TypedArray array = value.As<Napi::TypedArray>();
  auto* base = static_cast<uint8_t*>(array.ArrayBuffer().Data());
  return Bytes{base == nullptr ? nullptr : base + array.ByteOffset(), array.ByteLength()};
}

inline Bytes BufferArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsTypedArray()) throw ArgError(info, name, "a Buffer");
  return BytesOf(info[i]);
}

// A Buffer or null/undefined (the kernel's "start from the beginning").
inline void* OptionalBufferArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  return BufferArg(info, i, name).data;
}

}  // namespace xvs
