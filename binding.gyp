{
  "variables": {
    # libtorch's headers and libraries; scripts/build-addon.js passes both (-Dtorch_include=... -Dtorch_lib=...)
    # from the platform. These defaults serve a bare `node-gyp rebuild` on Debian.
    "torch_include%": "/usr/include",
    "torch_lib%": "/usr/lib/<!(gcc -print-multiarch)"
  },
  "targets": [
    {
      "target_name": "lightsr_torch",
      "sources": [
        "src/backends/torch/addon/main.cc",
        "src/backends/torch/addon/ops.cc",
        "src/backends/torch/addon/optim.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<(torch_include)/torch/csrc/api/include",
        "<(torch_include)"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-O2", "-fexceptions", "-frtti", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "ldflags": ["-Wl,-rpath,<(torch_lib)"],
      "libraries": ["-L<(torch_lib)", "-ltorch", "-ltorch_cpu", "-lc10"]
    }
  ]
}
