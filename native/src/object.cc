// object.cc — BpfObject: one bpf_object from open to close. load() runs the verifier on a worker thread;
// the JS object is kept alive and not freed until the load has finished.
#include <bpf/libbpf.h>

#include <cerrno>

#include "args.h"
#include "errors.h"
#include "modules.h"
#include "promise_worker.h"

namespace xvs {
namespace {

class BpfObject : public Napi::ObjectWrap<BpfObject> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "BpfObject",
                       {
                           InstanceMethod<&BpfObject::SetMaxEntries>("setMaxEntries"),
                           InstanceMethod<&BpfObject::SetAutoload>("setAutoload"),
                           InstanceMethod<&BpfObject::ReuseMapFd>("reuseMapFd"),
                           InstanceMethod<&BpfObject::MapDef>("mapDef"),
                           InstanceMethod<&BpfObject::Load>("load"),
                           InstanceMethod<&BpfObject::MapFd>("mapFd"),
                           InstanceMethod<&BpfObject::ProgFd>("progFd"),
                           InstanceMethod<&BpfObject::MapNames>("mapNames"),
                           InstanceMethod<&BpfObject::ProgNames>("progNames"),
                           InstanceMethod<&BpfObject::Close>("close"),
                       });
  }

  explicit BpfObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfObject>(info) {
    std::string path = StringArg(info, 0, "path");
    obj_ = bpf_object__open_file(path.c_str(), nullptr);
    if (obj_ == nullptr) throw ErrnoError(info.Env(), errno, "bpf_object__open_file", path);
  }

  ~BpfObject() override { Release(); }

 private:
  class LoadWorker : public PromiseWorker {
   public:
    LoadWorker(Napi::Object receiver, BpfObject* self)
        : PromiseWorker(receiver, "bpf_object__load"), self_(self), obj_(self->obj_) {}

   private:
    int Run() override { return bpf_object__load(obj_); }
    void Settled() override { self_->LoadSettled(); }

    BpfObject* self_;  // alive: the base class holds a reference to its JS object
    struct bpf_object* obj_;
  };

  // The open object, or EBADF naming the call that needed it.
  struct bpf_object* Opened(Napi::Env env, const char* call) {
    if (obj_ == nullptr || close_after_load_) throw ErrnoError(env, EBADF, call);
    return obj_;
  }

  struct bpf_map* FindMap(Napi::Env env, const std::string& name) {
    struct bpf_map* map = bpf_object__find_map_by_name(Opened(env, "bpf_object__find_map_by_name"), name.c_str());
    if (map == nullptr) throw ErrnoError(env, ENOENT, "bpf_object__find_map_by_name", name);
    return map;
  }

  struct bpf_program* FindProgram(Napi::Env env, const std::string& name) {
    struct bpf_program* prog =
        bpf_object__find_program_by_name(Opened(env, "bpf_object__find_program_by_name"), name.c_str());
    if (prog == nullptr) throw ErrnoError(env, ENOENT, "bpf_object__find_program_by_name", name);
    return prog;
  }

  void SetMaxEntries(const Napi::CallbackInfo& info) {
    std::string name = StringArg(info, 0, "mapName");
    uint32_t max_entries = Uint32Arg(info, 1, "maxEntries");
    int err = bpf_map__set_max_entries(FindMap(info.Env(), name), max_entries);
    if (err < 0) throw ErrnoError(info.Env(), err, "bpf_map__set_max_entries", name);
  }

  // Before load: the map uses an existing map (e.g. one pinned by a previous process) instead of
  // creating one; libbpf dups the fd and checks the definitions are compatible at load.
  void ReuseMapFd(const Napi::CallbackInfo& info) {
    std::string name = StringArg(info, 0, "mapName");
    int fd = static_cast<int>(Uint32Arg(info, 1, "fd"));
    int err = bpf_map__reuse_fd(FindMap(info.Env(), name), fd);
    if (err < 0) throw ErrnoError(info.Env(), err, "bpf_map__reuse_fd", name);
  }

  // The map's definition as the object declares it (after setMaxEntries), before or after load.
  Napi::Value MapDef(const Napi::CallbackInfo& info) {
    std::string name = StringArg(info, 0, "mapName");
    struct bpf_map* map = FindMap(info.Env(), name);
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("type", Napi::Number::New(info.Env(), bpf_map__type(map)));
    out.Set("keySize", Napi::Number::New(info.Env(), bpf_map__key_size(map)));
    out.Set("valueSize", Napi::Number::New(info.Env(), bpf_map__value_size(map)));
    out.Set("maxEntries", Napi::Number::New(info.Env(), bpf_map__max_entries(map)));
    out.Set("flags", Napi::Number::New(info.Env(), bpf_map__map_flags(map)));
    return out;
  }

  void SetAutoload(const Napi::CallbackInfo& info) {
    std::string name = StringArg(info, 0, "progName");
    bool autoload = BoolArg(info, 1, "autoload");
    int err = bpf_program__set_autoload(FindProgram(info.Env(), name), autoload);
    if (err < 0) throw ErrnoError(info.Env(), err, "bpf_program__set_autoload", name);
  }

  Napi::Value Load(const Napi::CallbackInfo& info) {
    Opened(info.Env(), "bpf_object__load");
    if (loading_) throw ErrnoError(info.Env(), EBUSY, "bpf_object__load");
    loading_ = true;
    return (new LoadWorker(info.This().As<Napi::Object>(), this))->Start();
  }

  void LoadSettled() {
    loading_ = false;
    if (close_after_load_) Release();
  }

  Napi::Value MapFd(const Napi::CallbackInfo& info) {
    std::string name = StringArg(info, 0, "mapName");
    int fd = bpf_map__fd(FindMap(info.Env(), name));
    // Before load libbpf hands back the placeholder -1, which is not an errno: say "no such fd yet".
    if (fd < 0) throw ErrnoError(info.Env(), fd == -1 ? ENOENT : fd, "bpf_map__fd", name);
    return Napi::Number::New(info.Env(), fd);
  }

  Napi::Value ProgFd(const Napi::CallbackInfo& info) {
    std::string name = StringArg(info, 0, "progName");
    int fd = bpf_program__fd(FindProgram(info.Env(), name));
    if (fd < 0) throw ErrnoError(info.Env(), fd == -1 ? ENOENT : fd, "bpf_program__fd", name);
    return Napi::Number::New(info.Env(), fd);
  }

  Napi::Value MapNames(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    struct bpf_object* obj = Opened(env, "bpf_object__next_map");
    Napi::Array names = Napi::Array::New(env);
    struct bpf_map* map;
    uint32_t i = 0;
    bpf_object__for_each_map(map, obj) names.Set(i++, Napi::String::New(env, bpf_map__name(map)));
    return names;
  }

  Napi::Value ProgNames(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    struct bpf_object* obj = Opened(env, "bpf_object__next_program");
    Napi::Array names = Napi::Array::New(env);
    struct bpf_program* prog;
    uint32_t i = 0;
    bpf_object__for_each_program(prog, obj) names.Set(i++, Napi::String::New(env, bpf_program__name(prog)));
    return names;
  }

  // Idempotent. During a load the object is closed when the load settles (the worker still uses it).
  void Close(const Napi::CallbackInfo&) {
    if (loading_) {
      close_after_load_ = true;
    } else {
      Release();
    }
  }

  void Release() {
    if (obj_ != nullptr) bpf_object__close(obj_);
    obj_ = nullptr;
  }

  struct bpf_object* obj_ = nullptr;
  bool loading_ = false;
  bool close_after_load_ = false;
};

}  // namespace

void InitObject(Napi::Env env, Napi::Object exports) { exports.Set("BpfObject", BpfObject::Define(env)); }

}  // namespace xvs
