// btf.cc — reads struct layouts and enums from an object file's BTF, so the TypeScript codecs can be
// checked against what the BPF C compiler actually laid out (xvs_abi.h is the source of truth).
#include <bpf/btf.h>

#include <cerrno>
#include <memory>

#include "args.h"
#include "errors.h"
#include "modules.h"

namespace xvs {
namespace {

struct BtfDeleter {
  void operator()(struct btf* btf) const { btf__free(btf); }
};
using BtfPtr = std::unique_ptr<struct btf, BtfDeleter>;

BtfPtr ParseBtf(Napi::Env env, const std::string& path) {
  struct btf* btf = btf__parse(path.c_str(), nullptr);
  if (btf == nullptr) throw ErrnoError(env, errno, "btf__parse", path);
  return BtfPtr(btf);
}

const struct btf_type* FindType(Napi::Env env, const struct btf* btf, const std::string& name, __u32 kind) {
  __s32 id = btf__find_by_name_kind(btf, name.c_str(), kind);
  if (id < 0) throw ErrnoError(env, id, "btf__find_by_name_kind", name);
  return btf__type_by_id(btf, id);
}

Napi::Value BtfStructLayout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info, 0, "objPath");
  std::string name = StringArg(info, 1, "structName");
  BtfPtr btf = ParseBtf(env, path);
  const struct btf_type* type = FindType(env, btf.get(), name, BTF_KIND_STRUCT);

  Napi::Array members = Napi::Array::New(env);
  const struct btf_member* member = btf_members(type);
  for (__u16 i = 0; i < btf_vlen(type); i++, member++) {
    __s64 size = btf__resolve_size(btf.get(), member->type);
    if (size < 0) throw ErrnoError(env, static_cast<int>(size), "btf__resolve_size", name);
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("name", Napi::String::New(env, btf__name_by_offset(btf.get(), member->name_off)));
    entry.Set("offset", Napi::Number::New(env, btf_member_bit_offset(type, i) / 8));
    entry.Set("size", Napi::Number::New(env, static_cast<double>(size)));
    members.Set(i, entry);
  }
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("name", Napi::String::New(env, name));
  layout.Set("size", Napi::Number::New(env, type->size));
  layout.Set("members", members);
  return layout;
}

// BTF_KIND_ENUM (32-bit) first, then BTF_KIND_ENUM64; the kind flag says whether values are signed.
Napi::Value BtfEnum(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info, 0, "objPath");
  std::string name = StringArg(info, 1, "enumName");
  BtfPtr btf = ParseBtf(env, path);
  bool is64 = btf__find_by_name_kind(btf.get(), name.c_str(), BTF_KIND_ENUM) < 0 &&
              btf__find_by_name_kind(btf.get(), name.c_str(), BTF_KIND_ENUM64) >= 0;
  const struct btf_type* type = FindType(env, btf.get(), name, is64 ? BTF_KIND_ENUM64 : BTF_KIND_ENUM);
  bool is_signed = btf_kflag(type);

  Napi::Object values = Napi::Object::New(env);
  for (__u16 i = 0; i < btf_vlen(type); i++) {
    double value;
    __u32 name_off;
    if (is64) {
      const struct btf_enum64* e = btf_enum64(type) + i;
      __u64 raw = btf_enum64_value(e);
      value = is_signed ? static_cast<double>(static_cast<__s64>(raw)) : static_cast<double>(raw);
      name_off = e->name_off;
    } else {
      const struct btf_enum* e = btf_enum(type) + i;
      value = is_signed ? static_cast<double>(e->val) : static_cast<double>(static_cast<__u32>(e->val));
      name_off = e->name_off;
    }
    values.Set(btf__name_by_offset(btf.get(), name_off), Napi::Number::New(env, value));
  }
  return values;
}

}  // namespace

void InitBtf(Napi::Env env, Napi::Object exports) {
  exports.Set("btfStructLayout", Napi::Function::New<BtfStructLayout>(env, "btfStructLayout"));
  exports.Set("btfEnum", Napi::Function::New<BtfEnum>(env, "btfEnum"));
}

}  // namespace xvs
