// maps.cc — map element and batch operations, object info, pinning and fds: each export is one libbpf
// call on a raw fd. Buffers are used in place; checking their sizes against the map's key/value sizes
// is the TypeScript facade's job (it knows them from mapInfo).
#include <bpf/bpf.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "args.h"
#include "errors.h"
#include "modules.h"

namespace xvs {
namespace {

struct bpf_map_batch_opts BatchOpts(uint64_t elem_flags) {
  struct bpf_map_batch_opts opts;
  memset(&opts, 0, sizeof opts);
  opts.sz = sizeof opts;
  opts.elem_flags = elem_flags;
  return opts;
}

Napi::Value MapLookup(const Napi::CallbackInfo& info) {
  int fd = IntArg(info, 0, "fd");
  Bytes key = BufferArg(info, 1, "key");
  Bytes value = BufferArg(info, 2, "value");
  uint64_t flags = FlagsArg(info, 3, "flags");
  int err = bpf_map_lookup_elem_flags(fd, key.data, value.data, flags);
  if (err == -ENOENT) return Napi::Boolean::New(info.Env(), false);
  if (err < 0) throw ErrnoError(info.Env(), err, "bpf_map_lookup_elem");
  return Napi::Boolean::New(info.Env(), true);
}

void MapUpdate(const Napi::CallbackInfo& info) {
  int fd = IntArg(info, 0, "fd");
  Bytes key = BufferArg(info, 1, "key");
  Bytes value = BufferArg(info, 2, "value");
  uint64_t flags = FlagsArg(info, 3, "flags");
  int err = bpf_map_update_elem(fd, key.data, value.data, flags);
  if (err < 0) throw ErrnoError(info.Env(), err, "bpf_map_update_elem");
}

Napi::Value MapDelete(const Napi::CallbackInfo& info) {
  int fd = IntArg(info, 0, "fd");
  Bytes key = BufferArg(info, 1, "key");
  int err = bpf_map_delete_elem(fd, key.data);
  if (err == -ENOENT) return Napi::Boolean::New(info.Env(), false);
  if (err < 0) throw ErrnoError(info.Env(), err, "bpf_map_delete_elem");
  return Napi::Boolean::New(info.Env(), true);
}

Napi::Value MapGetNextKey(const Napi::CallbackInfo& info) {
  int fd = IntArg(info, 0, "fd");
  void* key = OptionalBufferArg(info, 1, "key");
  Bytes next_key = BufferArg(info, 2, "nextKey");
  int err = bpf_map_get_next_key(fd, key, next_key.data);
  if (err == -ENOENT) return Napi::Boolean::New(info.Env(), false);
  if (err < 0) throw ErrnoError(info.Env(), err, "bpf_map_get_next_key");
  return Napi::Boolean::New(info.Env(), true);
}

// ENOENT is how the kernel says "this was the last batch"; count still holds what was filled.
Napi::Value MapLookupBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = IntArg(info, 0, "fd");
  void* in_batch = OptionalBufferArg(info, 1, "inBatch");
  Bytes out_batch = BufferArg(info, 2, "outBatch");
  Bytes keys = BufferArg(info, 3, "keys");
  Bytes values = BufferArg(info, 4, "values");
  uint32_t count = Uint32Arg(info, 5, "count");
  struct bpf_map_batch_opts opts = BatchOpts(0);
  int err = bpf_map_lookup_batch(fd, in_batch, out_batch.data, keys.data, values.data, &count, &opts);
  if (err < 0 && err != -ENOENT) throw ErrnoError(env, err, "bpf_map_lookup_batch");
  Napi::Object result = Napi::Object::New(env);
  result.Set("count", Napi::Number::New(env, count));
  result.Set("done", Napi::Boolean::New(env, err == -ENOENT));
  return result;
}

Napi::Value MapUpdateBatch(const Napi::CallbackInfo& info) {
  int fd = IntArg(info, 0, "fd");
  Bytes keys = BufferArg(info, 1, "keys");
  Bytes values = BufferArg(info, 2, "values");
  uint32_t count = Uint32Arg(info, 3, "count");
  struct bpf_map_batch_opts opts = BatchOpts(FlagsArg(info, 4, "flags"));
  int err = bpf_map_update_batch(fd, keys.data, values.data, &count, &opts);
  if (err < 0) throw ErrnoError(info.Env(), err, "bpf_map_update_batch");
  return Napi::Number::New(info.Env(), count);
}

Napi::Value MapDeleteBatch(const Napi::CallbackInfo& info) {
  int fd = IntArg(info, 0, "fd");
  Bytes keys = BufferArg(info, 1, "keys");
  uint32_t count = Uint32Arg(info, 2, "count");
  struct bpf_map_batch_opts opts = BatchOpts(0);
  int err = bpf_map_delete_batch(fd, keys.data, &count, &opts);
  if (err < 0) throw ErrnoError(info.Env(), err, "bpf_map_delete_batch");
  return Napi::Number::New(info.Env(), count);
}

Napi::Value MapInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = IntArg(info, 0, "fd");
  struct bpf_map_info map_info;
  memset(&map_info, 0, sizeof map_info);
  __u32 len = sizeof map_info;
  int err = bpf_obj_get_info_by_fd(fd, &map_info, &len);
  if (err < 0) throw ErrnoError(env, err, "bpf_obj_get_info_by_fd");
  Napi::Object result = Napi::Object::New(env);
  result.Set("id", Napi::Number::New(env, map_info.id));
  result.Set("name", Napi::String::New(env, map_info.name));
  result.Set("type", Napi::Number::New(env, map_info.type));
  result.Set("keySize", Napi::Number::New(env, map_info.key_size));
  result.Set("valueSize", Napi::Number::New(env, map_info.value_size));
  result.Set("maxEntries", Napi::Number::New(env, map_info.max_entries));
  result.Set("flags", Napi::Number::New(env, map_info.map_flags));
  return result;
}

Napi::Value ProgInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = IntArg(info, 0, "fd");
  struct bpf_prog_info prog_info;
  memset(&prog_info, 0, sizeof prog_info);
  __u32 len = sizeof prog_info;
  int err = bpf_obj_get_info_by_fd(fd, &prog_info, &len);
  if (err < 0) throw ErrnoError(env, err, "bpf_obj_get_info_by_fd");
  Napi::Object result = Napi::Object::New(env);
  result.Set("id", Napi::Number::New(env, prog_info.id));
  result.Set("name", Napi::String::New(env, prog_info.name));
  result.Set("type", Napi::Number::New(env, prog_info.type));
  return result;
}

void ObjPin(const Napi::CallbackInfo& info) {
  int fd = IntArg(info, 0, "fd");
  std::string path = StringArg(info, 1, "path");
  int err = bpf_obj_pin(fd, path.c_str());
  if (err < 0) throw ErrnoError(info.Env(), err, "bpf_obj_pin", path);
}

Napi::Value ObjGet(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info, 0, "path");
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) throw ErrnoError(info.Env(), fd, "bpf_obj_get", path);
  return Napi::Number::New(info.Env(), fd);
}

void CloseFd(const Napi::CallbackInfo& info) {
  int fd = IntArg(info, 0, "fd");
  if (close(fd) < 0) throw ErrnoError(info.Env(), errno, "close");
}

// A second mount on the same directory would stack another, empty bpffs over pinned objects.
void MountBpffs(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info, 0, "path");
  struct statfs fs;
  if (statfs(path.c_str(), &fs) < 0) throw ErrnoError(info.Env(), errno, "statfs", path);
  if (fs.f_type == BPF_FS_MAGIC) return;
  if (mount("bpffs", path.c_str(), "bpf", 0, nullptr) < 0) throw ErrnoError(info.Env(), errno, "mount", path);
}

}  // namespace

void InitMaps(Napi::Env env, Napi::Object exports) {
  exports.Set("mapLookup", Napi::Function::New<MapLookup>(env, "mapLookup"));
  exports.Set("mapUpdate", Napi::Function::New<MapUpdate>(env, "mapUpdate"));
  exports.Set("mapDelete", Napi::Function::New<MapDelete>(env, "mapDelete"));
  exports.Set("mapGetNextKey", Napi::Function::New<MapGetNextKey>(env, "mapGetNextKey"));
  exports.Set("mapLookupBatch", Napi::Function::New<MapLookupBatch>(env, "mapLookupBatch"));
  exports.Set("mapUpdateBatch", Napi::Function::New<MapUpdateBatch>(env, "mapUpdateBatch"));
  exports.Set("mapDeleteBatch", Napi::Function::New<MapDeleteBatch>(env, "mapDeleteBatch"));
  exports.Set("mapInfo", Napi::Function::New<MapInfo>(env, "mapInfo"));
  exports.Set("progInfo", Napi::Function::New<ProgInfo>(env, "progInfo"));
  exports.Set("objPin", Napi::Function::New<ObjPin>(env, "objPin"));
  exports.Set("objGet", Napi::Function::New<ObjGet>(env, "objGet"));
  exports.Set("closeFd", Napi::Function::New<CloseFd>(env, "closeFd"));
  exports.Set("mountBpffs", Napi::Function::New<MountBpffs>(env, "mountBpffs"));
}

}  // namespace xvs
