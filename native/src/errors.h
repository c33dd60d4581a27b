// errors.h — the one way a failed libbpf call or syscall becomes a JS Error
// ({ errno, code, syscall }, message "<syscall>: <strerror>").
#pragma once

#include <napi.h>

#include <string>

namespace xvs {

// err: a negative libbpf return or a positive errno (0 is treated as EINVAL). detail, if given, is
// appended to the message like Node's fs errors do with a path ("…: No such file or directory, 'x'").
Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& detail = "");

}  // namespace xvs
