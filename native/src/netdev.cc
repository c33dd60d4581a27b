// netdev.cc — attaching programs to network devices: XDP through netlink (bpf_xdp_*) and tc through a
// clsact qdisc (bpf_tc_*; libbpf 1.1 has no TCX). Attach calls run on a worker thread because a driver
// may reconfigure its queues when XDP is added.
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include <cerrno>
#include <cstring>

#include "args.h"
#include "errors.h"
#include "log.h"
#include "modules.h"
#include "promise_worker.h"

namespace xvs {
namespace {

class XdpAttachWorker : public PromiseWorker {
 public:
  XdpAttachWorker(Napi::Env env, int ifindex, int prog_fd, uint32_t flags)
      : PromiseWorker(env, "bpf_xdp_attach"), ifindex_(ifindex), prog_fd_(prog_fd), flags_(flags) {}

 private:
  int Run() override { return bpf_xdp_attach(ifindex_, prog_fd_, flags_, nullptr); }

  const int ifindex_;
  const int prog_fd_;
  const uint32_t flags_;
};

Napi::Value XdpAttach(const Napi::CallbackInfo& info) {
  int ifindex = IntArg(info, 0, "ifindex");
  int prog_fd = IntArg(info, 1, "progFd");
  uint32_t flags = Uint32Arg(info, 2, "flags");
  return (new XdpAttachWorker(info.Env(), ifindex, prog_fd, flags))->Start();
}

void XdpDetach(const Napi::CallbackInfo& info) {
  int ifindex = IntArg(info, 0, "ifindex");
  uint32_t flags = Uint32Arg(info, 1, "flags");
  int err = bpf_xdp_detach(ifindex, flags, nullptr);
  if (err < 0) throw ErrnoError(info.Env(), err, "bpf_xdp_detach");
}

Napi::Value XdpQuery(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int ifindex = IntArg(info, 0, "ifindex");
  struct bpf_xdp_query_opts opts;
  memset(&opts, 0, sizeof opts);
  opts.sz = sizeof opts;
  int err = bpf_xdp_query(ifindex, 0, &opts);
  if (err < 0) throw ErrnoError(env, err, "bpf_xdp_query");
  Napi::Object result = Napi::Object::New(env);
  result.Set("mode", Napi::Number::New(env, opts.attach_mode));
  result.Set("progId", Napi::Number::New(env, opts.prog_id));
  result.Set("drvProgId", Napi::Number::New(env, opts.drv_prog_id));
  result.Set("skbProgId", Napi::Number::New(env, opts.skb_prog_id));
  return result;
}

struct bpf_tc_hook TcHook(int ifindex, enum bpf_tc_attach_point attach_point) {
  struct bpf_tc_hook hook;
  memset(&hook, 0, sizeof hook);
  hook.sz = sizeof hook;
  hook.ifindex = ifindex;
  hook.attach_point = attach_point;
  return hook;
}

struct bpf_tc_opts TcOpts(uint32_t handle, uint32_t priority) {
  struct bpf_tc_opts opts;
  memset(&opts, 0, sizeof opts);
  opts.sz = sizeof opts;
  opts.handle = handle;
  opts.priority = priority;
  return opts;
}

// 0 would let the kernel choose, and then the caller could not name the filter again.
uint32_t HandleArg(const Napi::CallbackInfo& info, size_t i) {
  double handle = NumberArg(info, i, "handle");
  if (!(handle >= 1 && handle <= 0xffffffff)) throw Napi::RangeError::New(info.Env(), "handle must be 1..0xffffffff");
  return static_cast<uint32_t>(handle);
}

uint32_t PriorityArg(const Napi::CallbackInfo& info, size_t i) {
  double priority = NumberArg(info, i, "priority");
  if (!(priority >= 1 && priority <= 0xffff)) throw Napi::RangeError::New(info.Env(), "priority must be 1..65535");
  return static_cast<uint32_t>(priority);
}

// "Nothing there" for a tc query or detach: ENOENT for a missing filter, but the kernel answers
// EINVAL when the clsact qdisc or the whole chain is missing. The arguments were range-checked above,
// so EINVAL cannot be a bad handle or priority.
bool NothingThere(int err) { return err == -ENOENT || err == -EINVAL; }

enum bpf_tc_attach_point DirectionArg(const Napi::CallbackInfo& info, size_t i) {
  std::string direction = StringArg(info, i, "direction");
  if (direction == "ingress") return BPF_TC_INGRESS;
  if (direction == "egress") return BPF_TC_EGRESS;
  throw ArgError(info, "direction", "'ingress' or 'egress'");
}

// Two calls, one operation: the clsact qdisc is created on first use and shared afterwards.
class TcAttachWorker : public PromiseWorker {
 public:
  TcAttachWorker(Napi::Env env, int ifindex, int prog_fd, enum bpf_tc_attach_point direction, uint32_t handle,
                 uint32_t priority)
      : PromiseWorker(env, "bpf_tc_attach"), hook_(TcHook(ifindex, direction)), opts_(TcOpts(handle, priority)) {
    opts_.prog_fd = prog_fd;
    // Like XDP attach without UPDATE_IF_NOEXIST: a program already at (handle, priority) is replaced.
    opts_.flags = BPF_TC_F_REPLACE;
  }

 private:
  int Run() override {
    int err;
    {
      LibbpfLogCapture log;  // an existing qdisc makes libbpf log the kernel's refusal: not news
      err = bpf_tc_hook_create(&hook_);
      if (err != -EEXIST) log.Replay();
    }
    if (err < 0 && err != -EEXIST) {
      syscall_ = "bpf_tc_hook_create";
      return err;
    }
    return bpf_tc_attach(&hook_, &opts_);
  }

  struct bpf_tc_hook hook_;
  struct bpf_tc_opts opts_;
};

Napi::Value TcAttach(const Napi::CallbackInfo& info) {
  int ifindex = IntArg(info, 0, "ifindex");
  int prog_fd = IntArg(info, 1, "progFd");
  enum bpf_tc_attach_point direction = DirectionArg(info, 2);
  uint32_t handle = HandleArg(info, 3);
  uint32_t priority = PriorityArg(info, 4);
  return (new TcAttachWorker(info.Env(), ifindex, prog_fd, direction, handle, priority))->Start();
}

Napi::Value TcDetach(const Napi::CallbackInfo& info) {
  int ifindex = IntArg(info, 0, "ifindex");
  enum bpf_tc_attach_point direction = DirectionArg(info, 1);
  struct bpf_tc_hook hook = TcHook(ifindex, direction);
  struct bpf_tc_opts opts = TcOpts(HandleArg(info, 2), PriorityArg(info, 3));
  LibbpfLogCapture log;
  int err = bpf_tc_detach(&hook, &opts);
  if (NothingThere(err)) return Napi::Boolean::New(info.Env(), false);
  log.Replay();
  if (err < 0) throw ErrnoError(info.Env(), err, "bpf_tc_detach");
  return Napi::Boolean::New(info.Env(), true);
}

Napi::Value TcQuery(const Napi::CallbackInfo& info) {
  int ifindex = IntArg(info, 0, "ifindex");
  enum bpf_tc_attach_point direction = DirectionArg(info, 1);
  struct bpf_tc_hook hook = TcHook(ifindex, direction);
  struct bpf_tc_opts opts = TcOpts(HandleArg(info, 2), PriorityArg(info, 3));
  LibbpfLogCapture log;
  int err = bpf_tc_query(&hook, &opts);
  if (NothingThere(err)) return Napi::Number::New(info.Env(), 0);
  log.Replay();
  if (err < 0) throw ErrnoError(info.Env(), err, "bpf_tc_query");
  return Napi::Number::New(info.Env(), opts.prog_id);
}

// Idempotent: no clsact qdisc (ENOENT, or EINVAL once one was removed) is nothing to remove.
void TcHookDestroy(const Napi::CallbackInfo& info) {
  struct bpf_tc_hook hook =
      TcHook(IntArg(info, 0, "ifindex"), static_cast<enum bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS));
  LibbpfLogCapture log;
  int err = bpf_tc_hook_destroy(&hook);
  if (NothingThere(err)) return;
  log.Replay();
  if (err < 0) throw ErrnoError(info.Env(), err, "bpf_tc_hook_destroy");
}

}  // namespace

void InitNetdev(Napi::Env env, Napi::Object exports) {
  exports.Set("xdpAttach", Napi::Function::New<XdpAttach>(env, "xdpAttach"));
  exports.Set("xdpDetach", Napi::Function::New<XdpDetach>(env, "xdpDetach"));
  exports.Set("xdpQuery", Napi::Function::New<XdpQuery>(env, "xdpQuery"));
  exports.Set("tcAttach", Napi::Function::New<TcAttach>(env, "tcAttach"));
  exports.Set("tcDetach", Napi::Function::New<TcDetach>(env, "tcDetach"));
  exports.Set("tcQuery", Napi::Function::New<TcQuery>(env, "tcQuery"));
  exports.Set("tcHookDestroy", Napi::Function::New<TcHookDestroy>(env, "tcHookDestroy"));
}

}  // namespace xvs
