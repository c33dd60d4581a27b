// log.cc — setLogLevel: where libbpf's own messages (verifier logs, warnings) go. They are printed to
// stderr at or above the chosen level (default 'warn'), unless a LibbpfLogCapture holds them back.
#include <bpf/libbpf.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>

#include "args.h"
#include "log.h"
#include "modules.h"

namespace xvs {
namespace {

constexpr int kSilent = -1;

// Read from libbpf's print callback, which also runs on worker threads (bpf_object__load).
std::atomic<int> g_max_level{LIBBPF_WARN};
thread_local LibbpfLogCapture* t_capture = nullptr;

int Print(enum libbpf_print_level level, const char* format, va_list args) {
  if (static_cast<int>(level) > g_max_level.load(std::memory_order_relaxed)) return 0;
  char line[1024];
  vsnprintf(line, sizeof line, format, args);
  if (t_capture != nullptr) {
    t_capture->Append(line);
    return 0;
  }
  return fputs(line, stderr);
}

void SetLogLevel(const Napi::CallbackInfo& info) {
  std::string level = StringArg(info, 0, "level");
  if (level == "silent") {
    g_max_level = kSilent;
  } else if (level == "warn") {
    g_max_level = LIBBPF_WARN;
  } else if (level == "info") {
    g_max_level = LIBBPF_INFO;
  } else if (level == "debug") {
    g_max_level = LIBBPF_DEBUG;
  } else {
    throw ArgError(info, "level", "'silent', 'warn', 'info' or 'debug'");
  }
}

}  // namespace

LibbpfLogCapture::LibbpfLogCapture() : outer_(t_capture) { t_capture = this; }

LibbpfLogCapture::~LibbpfLogCapture() { t_capture = outer_; }

void LibbpfLogCapture::Replay() {
  if (lines_.empty()) return;
  if (outer_ != nullptr) {
    outer_->Append(lines_.c_str());
  } else {
    fputs(lines_.c_str(), stderr);
  }
  lines_.clear();
}

void InitLog(Napi::Env env, Napi::Object exports) {
  libbpf_set_print(Print);
  exports.Set("setLogLevel", Napi::Function::New<SetLogLevel>(env, "setLogLevel"));
}

}  // namespace xvs
