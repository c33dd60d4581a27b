// promise_worker.h — the AsyncWorker "baton" every async export uses: Run() does the libbpf call on a
// worker thread with plain C data only; the promise is settled on the main thread.
#pragma once

#include <napi.h>

#include "errors.h"

namespace xvs {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  // Queue the worker and hand back its promise. The worker deletes itself after settling.
  Napi::Promise Start() {
    Napi::Promise promise = deferred_.Promise();
    Queue();
    return promise;
  }

 protected:
  PromiseWorker(Napi::Env env, const char* syscall)
      : Napi::AsyncWorker(env, syscall), syscall_(syscall), deferred_(Napi::Promise::Deferred::New(env)) {}
  // receiver: a JS object kept alive (strongly referenced) until the worker has settled.
  PromiseWorker(Napi::Object receiver, const char* syscall)
      : Napi::AsyncWorker(receiver.Env(), syscall),
        syscall_(syscall),
        deferred_(Napi::Promise::Deferred::New(receiver.Env())),
        receiver_(Napi::Persistent(receiver)) {}

  // Worker thread: no JS values. Returns 0 or a negative errno; may change syscall_ to name the
  // call that failed.
  virtual int Run() = 0;
  // Main thread, on success: the value the promise resolves to.
  virtual Napi::Value Result(Napi::Env env) { return env.Undefined(); }
  // Main thread, before settling either way.
  virtual void Settled() {}

  const char* syscall_;

 private:
  void Execute() override { err_ = Run(); }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Settled();
    if (err_ < 0) {
      deferred_.Reject(ErrnoError(env, err_, syscall_).Value());
    } else {
      deferred_.Resolve(Result(env));
    }
  }

  // Execute never calls SetError, but keep the promise honest if the base class ever does.
  void OnError(const Napi::Error& error) override {
    Settled();
    deferred_.Reject(error.Value());
  }

  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference receiver_;  // released with the worker, on the main thread, after settling
  int err_ = 0;
};

}  // namespace xvs
