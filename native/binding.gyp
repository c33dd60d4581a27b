# native/binding.gyp — builds xvs_native.node, the thin node-addon-api binding over libbpf.
# C++ exceptions are on (NAPI_CPP_EXCEPTIONS): every failure is thrown as a Napi::Error.
{
  "targets": [
    {
      "target_name": "xvs_native",
      "sources": [
        "src/binding.cc",
        "src/errors.cc",
        "src/log.cc",
        "src/object.cc",
        "src/maps.cc",
        "src/mmap.cc",
        "src/ringbuf.cc",
        "src/testrun.cc",
        "src/netdev.cc",
        "src/btf.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=c++17", "-std=gnu++20", "-std=c++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-missing-field-initializers", "-Wno-unused-parameter"],
      "libraries": ["-lbpf", "-lelf", "-lz"]
    }
  ]
}
