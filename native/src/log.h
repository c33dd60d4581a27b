// log.h — holding back libbpf's messages for calls whose failure can be an expected answer (a query
// that finds nothing logs the kernel's "not found"): they are printed only if the caller says so.
#pragma once

#include <string>

namespace xvs {

// While alive, libbpf messages on this thread are buffered instead of printed. Replay() prints them
// (at the level set by setLogLevel); otherwise they are dropped with the capture.
class LibbpfLogCapture {
 public:
  LibbpfLogCapture();
  ~LibbpfLogCapture();
  LibbpfLogCapture(const LibbpfLogCapture&) = delete;
  LibbpfLogCapture& operator=(const LibbpfLogCapture&) = delete;

  void Replay();
  void Append(const char* line) { lines_ += line; }

 private:
  std::string lines_;
  LibbpfLogCapture* outer_;
};

}  // namespace xvs
