// mmap.cc — MmapRegion: a BPF_F_MMAPABLE array map shared with this process as an external ArrayBuffer,
// so counters and config words are read and written without a syscall. close() detaches the
// ArrayBuffer before unmapping, so any view JS still holds reads as empty instead of faulting.
#include <bpf/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "args.h"
#include "errors.h"
#include "modules.h"

namespace xvs {
namespace {

// Owned jointly by the MmapRegion and the ArrayBuffer's finalizer; whichever lets go last unmaps,
// unless close() already did. The ArrayBuffer finalizer may be released from a V8 thread: atomics.
struct Mapping {
  Mapping(void* a, size_t s) : addr(a), size(s) {}
  void Unmap() {
    if (!unmapped.exchange(true)) munmap(addr, size);
  }
  void Release() {
    if (refs.fetch_sub(1) == 1) {
      Unmap();
      delete this;
    }
  }
  void* const addr;
  const size_t size;
  std::atomic<int> refs{2};
  std::atomic<bool> unmapped{false};
};

class MmapRegion : public Napi::ObjectWrap<MmapRegion> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "MmapRegion",
                       {
                           InstanceAccessor<&MmapRegion::Buffer>("buffer"),
                           InstanceAccessor<&MmapRegion::Size>("size"),
                           InstanceMethod<&MmapRegion::Close>("close"),
                       });
  }

  explicit MmapRegion(const Napi::CallbackInfo& info) : Napi::ObjectWrap<MmapRegion>(info) {
    Napi::Env env = info.Env();
    int fd = IntArg(info, 0, "mapFd");
    struct bpf_map_info map_info;
    memset(&map_info, 0, sizeof map_info);
    __u32 len = sizeof map_info;
    int err = bpf_obj_get_info_by_fd(fd, &map_info, &len);
    if (err < 0) throw ErrnoError(env, err, "bpf_obj_get_info_by_fd");

    // The kernel lays array elements out 8-byte aligned and maps whole pages.
    size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    size_t elem = (static_cast<size_t>(map_info.value_size) + 7) & ~size_t{7};
    size_t size = (elem * map_info.max_entries + page - 1) / page * page;
    void* addr = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED) throw ErrnoError(env, errno, "mmap");

    mapping_ = new Mapping(addr, size);
    Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(
        env, addr, size, [](Napi::Env, void*, Mapping* mapping) { mapping->Release(); }, mapping_);
    buffer_ = Napi::Persistent(buffer);
  }

  ~MmapRegion() override {
    // Not closed: the mapping stays as long as the ArrayBuffer is reachable, then goes with it.
    if (mapping_ != nullptr) mapping_->Release();
  }

 private:
  // After close() this is the same ArrayBuffer, detached (byteLength 0).
  Napi::Value Buffer(const Napi::CallbackInfo&) { return buffer_.Value(); }

  Napi::Value Size(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), closed_ ? 0 : static_cast<double>(mapping_->size));
  }

  void Close(const Napi::CallbackInfo&) {
    if (closed_) return;
    closed_ = true;
    buffer_.Value().Detach();
    mapping_->Unmap();
  }

  Mapping* mapping_ = nullptr;
  Napi::Reference<Napi::ArrayBuffer> buffer_;
  bool closed_ = false;
};

}  // namespace

void InitMmap(Napi::Env env, Napi::Object exports) { exports.Set("MmapRegion", MmapRegion::Define(env)); }

}  // namespace xvs
