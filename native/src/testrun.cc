// testrun.cc — progTestRun: BPF_PROG_TEST_RUN on a worker thread, for packet fixtures, per-packet cost
// and (with live frames) as an in-kernel packet generator.
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "args.h"
#include "errors.h"
#include "modules.h"
#include "promise_worker.h"

// Bookworm's uapi headers are older than the kernels xvs runs on.
#ifndef BPF_F_TEST_XDP_LIVE_FRAMES
#define BPF_F_TEST_XDP_LIVE_FRAMES (1U << 1)
#endif

namespace xvs {
namespace {

class TestRunWorker : public PromiseWorker {
 public:
  TestRunWorker(Napi::Env env, int prog_fd, Bytes data, uint32_t data_out_size, int repeat, uint32_t flags,
                uint32_t ingress_ifindex, bool has_ingress_ifindex, uint32_t batch_size)
      : PromiseWorker(env, "bpf_prog_test_run_opts"),
        prog_fd_(prog_fd),
        data_in_(data.data, data.data + data.length),
        repeat_(repeat),
        flags_(flags),
        batch_size_(batch_size),
        has_ctx_(has_ingress_ifindex) {
    // Live frames go out to the device; the kernel refuses data_out (and ctx_out) in that mode.
    if ((flags & BPF_F_TEST_XDP_LIVE_FRAMES) == 0) data_out_.resize(data_out_size);
    memset(&ctx_, 0, sizeof ctx_);
    // The kernel wants data = 0 (no metadata), data_end = the packet length.
    ctx_.data_end = static_cast<__u32>(data_in_.size());
    ctx_.ingress_ifindex = ingress_ifindex;
  }

 private:
  int Run() override {
    struct bpf_test_run_opts opts;
    memset(&opts, 0, sizeof opts);
    opts.sz = sizeof opts;
    opts.data_in = data_in_.data();
    opts.data_size_in = static_cast<__u32>(data_in_.size());
    if (!data_out_.empty()) {
      opts.data_out = data_out_.data();
      opts.data_size_out = static_cast<__u32>(data_out_.size());
    }
    if (has_ctx_) {
      opts.ctx_in = &ctx_;
      opts.ctx_size_in = sizeof ctx_;
    }
    opts.repeat = repeat_;
    opts.flags = flags_;
    opts.batch_size = batch_size_;
    int err = bpf_prog_test_run_opts(prog_fd_, &opts);
    retval_ = opts.retval;
    duration_ = opts.duration;
    data_out_len_ = std::min<size_t>(opts.data_size_out, data_out_.size());
    return err;
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object result = Napi::Object::New(env);
    result.Set("retval", Napi::Number::New(env, retval_));
    result.Set("duration", Napi::Number::New(env, duration_));
    result.Set("dataOut", Napi::Buffer<uint8_t>::Copy(env, data_out_.data(), data_out_len_));
    return result;
  }

  const int prog_fd_;
  const std::vector<uint8_t> data_in_;  // copied: the JS Buffer may change while the worker runs
  std::vector<uint8_t> data_out_;
  struct xdp_md ctx_;
  const int repeat_;
  const uint32_t flags_;
  const uint32_t batch_size_;
  const bool has_ctx_;
  uint32_t retval_ = 0;
  uint32_t duration_ = 0;
  size_t data_out_len_ = 0;
};

// Reads an optional numeric field of the options object; undefined means the default.
uint32_t OptionalUint32(const Napi::Object& opts, const char* name, uint32_t fallback) {
  Napi::Value value = opts.Get(name);
  if (value.IsUndefined()) return fallback;
  if (!value.IsNumber()) throw Napi::TypeError::New(opts.Env(), std::string("opts.") + name + " must be a number");
  return value.As<Napi::Number>().Uint32Value();
}

Napi::Value ProgTestRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int prog_fd = IntArg(info, 0, "progFd");
  if (!info[1].IsObject()) throw ArgError(info, "opts", "an object");
  Napi::Object opts = info[1].As<Napi::Object>();
  Napi::Value data = opts.Get("data");
  if (!data.IsTypedArray()) throw Napi::TypeError::New(env, "opts.data must be a Buffer");
  Bytes bytes = BytesOf(data);
  bool has_ingress_ifindex = !opts.Get("ingressIfindex").IsUndefined();
  uint32_t ingress_ifindex = OptionalUint32(opts, "ingressIfindex", 0);
  uint32_t data_out_size = OptionalUint32(opts, "dataOutSize", static_cast<uint32_t>(bytes.length) + 256);
  int repeat = static_cast<int>(OptionalUint32(opts, "repeat", 1));
  uint32_t flags = OptionalUint32(opts, "flags", 0);
  uint32_t batch_size = OptionalUint32(opts, "batchSize", 0);
  auto* worker = new TestRunWorker(env, prog_fd, bytes, data_out_size, repeat, flags, ingress_ifindex,
                                   has_ingress_ifindex, batch_size);
  return worker->Start();
}

}  // namespace

void InitTestRun(Napi::Env env, Napi::Object exports) {
  exports.Set("progTestRun", Napi::Function::New<ProgTestRun>(env, "progTestRun"));
}

}  // namespace xvs
