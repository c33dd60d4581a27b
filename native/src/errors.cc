// errors.cc — builds the JS Error for a failed libbpf call. `code` is libuv's name for the errno,
// exactly what Node's util.getSystemErrorName() gives, with a few kernel-internal errnos added.
#include "errors.h"

#include <uv.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace xvs {
namespace {

// Errnos the BPF subsystem returns that are not in userspace errno.h, so libuv has no name for them.
const char* KernelInternalErrnoName(int err) {
  switch (err) {
    case 512: return "ERESTARTSYS";
    case 524: return "ENOTSUPP";
    default: return nullptr;
  }
}

std::string ErrnoName(int err) {
  if (const char* name = KernelInternalErrnoName(err)) return name;
  char buf[64];
  uv_err_name_r(-err, buf, sizeof buf);  // libuv's codes are negated errnos on Unix
  return buf;
}

std::string ErrnoMessage(int err) {
  char buf[128];
  // GNU strerror_r: returns a pointer that may or may not be buf.
  return strerror_r(err, buf, sizeof buf);
}

}  // namespace

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& detail) {
  if (err < 0) err = -err;
  if (err == 0) err = EINVAL;  // a failure reported without an errno: do not throw "errno 0"
  std::string message = std::string(syscall) + ": " + ErrnoMessage(err);
  if (!detail.empty()) message += ", '" + detail + "'";
  Napi::Error error = Napi::Error::New(env, message);
  Napi::Object obj = error.Value();
  obj.Set("errno", Napi::Number::New(env, err));
  obj.Set("code", Napi::String::New(env, ErrnoName(err)));
  obj.Set("syscall", Napi::String::New(env, syscall));
  return error;
}

}  // namespace xvs
