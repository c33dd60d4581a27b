// modules.h — one Init per source file; binding.cc calls them all to build the exports object.
#pragma once

#include <napi.h>

namespace xvs {

void InitLog(Napi::Env env, Napi::Object exports);
void InitObject(Napi::Env env, Napi::Object exports);
void InitMaps(Napi::Env env, Napi::Object exports);
void InitMmap(Napi::Env env, Napi::Object exports);
void InitRingBuffer(Napi::Env env, Napi::Object exports);
void InitTestRun(Napi::Env env, Napi::Object exports);
void InitNetdev(Napi::Env env, Napi::Object exports);
void InitBtf(Napi::Env env, Napi::Object exports);

}  // namespace xvs
