// ringbuf.cc — RingBuffer: a BPF ring buffer consumed on the main thread. libbpf calls back once per
// record from inside poll()/consume(), and each record reaches JS as a Buffer copy (the ring's memory
// is reused as soon as the callback returns).
#include <bpf/libbpf.h>

#include <cerrno>
#include <optional>

#include "args.h"
#include "errors.h"
#include "modules.h"

namespace xvs {
namespace {

// What the sample callback returns to make libbpf stop when the JS callback threw.
constexpr int kCallbackThrew = -ECANCELED;

class RingBuffer : public Napi::ObjectWrap<RingBuffer> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "RingBuffer",
                       {
                           InstanceMethod<&RingBuffer::Poll>("poll"),
                           InstanceMethod<&RingBuffer::Consume>("consume"),
                           InstanceAccessor<&RingBuffer::EpollFd>("epollFd"),
                           InstanceMethod<&RingBuffer::Close>("close"),
                       });
  }

  explicit RingBuffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RingBuffer>(info) {
    int fd = IntArg(info, 0, "mapFd");
    if (!info[1].IsFunction()) throw ArgError(info, "onRecord", "a function");
    on_record_ = Napi::Persistent(info[1].As<Napi::Function>());
    rb_ = ring_buffer__new(fd, OnSample, this, nullptr);
    if (rb_ == nullptr) throw ErrnoError(info.Env(), errno, "ring_buffer__new");
  }

  ~RingBuffer() override { Release(); }

 private:
  static int OnSample(void* ctx, void* data, size_t size) {
    auto* self = static_cast<RingBuffer*>(ctx);
    if (self->close_after_poll_) return 0;  // closed from an earlier record of this poll: drop the rest
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    try {
      self->on_record_.Call({Napi::Buffer<uint8_t>::Copy(env, static_cast<uint8_t*>(data), size)});
    } catch (const Napi::Error& error) {
      // A C++ exception must not unwind through libbpf's C frames: stop here, rethrow after the poll.
      self->callback_error_.emplace(error);  // copy: a strong reference, primitives stay wrapped
      return kCallbackThrew;
    }
    return 0;
  }

  struct ring_buffer* Opened(Napi::Env env, const char* call) {
    if (rb_ == nullptr || close_after_poll_) throw ErrnoError(env, EBADF, call);
    if (polling_) throw ErrnoError(env, EBUSY, call);  // called again from inside the callback
    return rb_;
  }

  // Runs one libbpf consuming call with the callback armed, then settles what the callback left.
  template <typename Call>
  Napi::Value Drain(Napi::Env env, const char* call, Call consume) {
    struct ring_buffer* rb = Opened(env, call);
    polling_ = true;
    int n = consume(rb);
    polling_ = false;
    if (close_after_poll_) Release();
    if (callback_error_) {
      Napi::Error error = *callback_error_;
      callback_error_.reset();
      throw error;
    }
    // A signal (e.g. SIGCHLD) cutting epoll_wait short is a timeout with nothing consumed, not a failure.
    if (n == -EINTR) n = 0;
    if (n < 0) throw ErrnoError(env, n, call);
    return Napi::Number::New(env, n);
  }

  Napi::Value Poll(const Napi::CallbackInfo& info) {
    int timeout_ms = IntArg(info, 0, "timeoutMs");
    return Drain(info.Env(), "ring_buffer__poll",
                 [timeout_ms](struct ring_buffer* rb) { return ring_buffer__poll(rb, timeout_ms); });
  }

  Napi::Value Consume(const Napi::CallbackInfo& info) {
    return Drain(info.Env(), "ring_buffer__consume", [](struct ring_buffer* rb) { return ring_buffer__consume(rb); });
  }

  Napi::Value EpollFd(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), rb_ == nullptr ? -1 : ring_buffer__epoll_fd(rb_));
  }

  // Idempotent. From inside the callback, the ring is freed once the poll returns.
  void Close(const Napi::CallbackInfo&) {
    if (polling_) {
      close_after_poll_ = true;
    } else {
      Release();
    }
  }

  void Release() {
    if (rb_ != nullptr) ring_buffer__free(rb_);
    rb_ = nullptr;
    close_after_poll_ = false;
    on_record_.Reset();
  }

  struct ring_buffer* rb_ = nullptr;
  Napi::FunctionReference on_record_;
  std::optional<Napi::Error> callback_error_;
  bool polling_ = false;
  bool close_after_poll_ = false;
};

}  // namespace

void InitRingBuffer(Napi::Env env, Napi::Object exports) { exports.Set("RingBuffer", RingBuffer::Define(env)); }

}  // namespace xvs
