// binding.cc — module entry point of xvs_native.node: assembles the exports declared in index.d.ts.
#include <napi.h>

#include "modules.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  xvs::InitLog(env, exports);
  xvs::InitObject(env, exports);
  xvs::InitMaps(env, exports);
  xvs::InitMmap(env, exports);
  xvs::InitRingBuffer(env, exports);
  xvs::InitTestRun(env, exports);
  xvs::InitNetdev(env, exports);
  xvs::InitBtf(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(xvs_native, Init)
